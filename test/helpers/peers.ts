import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** Third-party SMPP peers (Net::SMPP, Kannel) laid beside the repo as ../shared/peers. */
export const PEERS_DIR = path.resolve(process.cwd(), '..', 'shared', 'peers');

/** Why the peers cannot run here, or undefined when they can. */
export function peersMissing(): string | undefined {
  if (!existsSync(path.join(PEERS_DIR, 'netsmpp', 'smsc.pl'))) return `no peers at ${PEERS_DIR}`;
  if (spawnSync('perl', ['-MNet::SMPP', '-e', '1']).status !== 0)
    return 'perl Net::SMPP missing: run bash ../shared/peers/install.sh';
  if (!existsSync('/usr/sbin/bearerbox')) return 'Kannel missing: run bash ../shared/peers/install.sh';
  return undefined;
}

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export async function waitPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Proc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
  stop: () => Promise<void>;
}

/** Spawns a peer, keeping its output; `stop` sends TERM then KILL after 5 s. */
export function run(cmd: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    out: () => out,
    err: () => err,
    exited,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
}
