import { readFileSync } from 'node:fs';

/**
 * Of a V8 CPU profile's busy samples (not idle, not "program"), how many have a frame whose
 * function name matches `frames` on their stack. Throws when the file is not a CPU profile.
 */
export function profileShare(file: string, frames: RegExp): { hit: number; busy: number } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: Array<{ id: number; callFrame: { functionName: string; url: string }; children?: number[] }>;
    samples: number[];
  };
  const parent = new Map<number, number>();
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const onStack = (id: number) => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur))
      if (frames.test(byId.get(cur)!.callFrame.functionName)) return true;
    return false;
  };
  let busy = 0;
  let hit = 0;
  const memo = new Map<number, boolean>();
  for (const s of p.samples) {
    const name = byId.get(s)!.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') continue;
    busy++;
    const l = memo.get(s) ?? onStack(s);
    memo.set(s, l);
    if (l) hit++;
  }
  return { hit, busy };
}
