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

/**
 * The one order in which statements lock contacts by their key (account, number): two statements
 * that insert or lock the same new contacts in this order wait for each other instead of deadlocking.
 */
export function compareContactKeys(
  a: { accountId: string; to: string },
  b: { accountId: string; to: string },
): number {
  if (a.accountId !== b.accountId) return a.accountId < b.accountId ? -1 : 1;
  return a.to < b.to ? -1 : a.to > b.to ? 1 : 0;
}

/**
 * SQL: the contact (alias `c`) has had the account's first message — stored, or claimed in the last
 * minute by a message still on its way (after that a claim whose message never came is given up,
 * and the footer is due again).
 */
export const FIRST_MESSAGE_TAKEN = `(c.first_message_id IS NOT NULL
  AND (c.first_message_at >= now() - interval '1 minute'
       OR EXISTS (SELECT 1 FROM messages m WHERE m.id = c.first_message_id)))`;
