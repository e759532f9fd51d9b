/**
 * Column-wise parameters for `unnest($1::type[], $2::type[], …)`: one array per column, so a whole
 * batch is one statement with a fixed number of parameters.
 */
export function columns(n: number): unknown[][] {
  return Array.from({ length: n }, () => []);
}

export function pushRow(cols: unknown[][], row: readonly unknown[]): void {
  for (let i = 0; i < row.length; i++) cols[i]!.push(row[i]);
}
