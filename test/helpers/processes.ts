import { type ChildProcess, spawn } from 'node:child_process';

const ORPHAN_GUARD = new URL('./orphan-guard.mjs', import.meta.url).href;

export interface Child {
  child: ChildProcess;
  lines: string[];
  /** First stdout line (JSON) that satisfies `pred`. */
  waitLine(
    pred: (o: Record<string, unknown>) => boolean,
    timeoutMs: number,
  ): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}

/** Runs an entry point of this repo (TypeScript under tsx, or built JavaScript), collecting JSON log lines. */
export function runTs(
  script: string,
  args: string[],
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Child {
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...nodeArgs, '--import', ORPHAN_GUARD, ...loader, script, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
    // stdin stays open for the child's lifetime: its closing tells the child we are gone.
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buf = '';
  const waiters: Array<() => void> = [];
  const onData = (d: Buffer) => {
    buf += d;
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      nl = buf.indexOf('\n');
    }
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const waitLine = async (pred: (o: Record<string, unknown>) => boolean, timeoutMs: number) => {
    const until = Date.now() + timeoutMs;
    for (let i = 0; ; ) {
      for (; i < lines.length; i++) {
        try {
          const o = JSON.parse(lines[i]!) as Record<string, unknown>;
          if (pred(o)) return o;
        } catch {
          // not a JSON line
        }
      }
      if (Date.now() > until || child.exitCode !== null)
        throw new Error(`${script}: no matching line in ${timeoutMs} ms:\n${lines.slice(-20).join('\n')}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 100);
      });
    }
  };
  return { child, lines, waitLine, exited };
}
