/**
 * The submits as they cross the loopback, timed by the kernel (tshark on `lo`): what a carrier
 * would see arrive, without the delays of the SMSC's own event loop (the simulator stamps a
 * submit when its turn comes to read it, after any pause of its own). Needs tshark and the
 * right to capture (root); without them `startWireCapture` says why and gives undefined.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface WireCapture {
  /** Stops capturing; the submit_sm times (epoch ms) per source address (digits, no +). */
  stop(): Promise<Map<string, number[]>>;
}

/** Starts capturing the traffic to `port` on lo; resolves once tshark captures. */
export async function startWireCapture(port: number): Promise<WireCapture | undefined> {
  if (process.getuid?.() !== 0) {
    console.log('wire capture: skipped (capturing on lo needs root)');
    return undefined;
  }
  try {
    await run('tshark', ['--version']);
  } catch {
    console.log('wire capture: skipped (no tshark; apt-get install tshark)');
    return undefined;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-wire-'));
  const file = path.join(dir, 'submits.pcapng');
  const child: ChildProcess = spawn(
    'tshark',
    ['-i', 'lo', '-f', `tcp dst port ${port}`, '-w', file, '-q', '-B', '64'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const started = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 10_000);
    child.stderr!.on('data', (d: Buffer) => {
      if (/Capturing on/i.test(d.toString())) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (!started) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    console.log('wire capture: skipped (tshark did not start capturing on lo)');
    return undefined;
  }
  return {
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await exited;
      try {
        const { stdout } = await run(
          'tshark',
          [
            '-r',
            file,
            '-d',
            `tcp.port==${port},smpp`,
            '-o',
            'tcp.desegment_tcp_streams:TRUE',
            '-Y',
            'smpp.command_id == 0x00000004',
            '-T',
            'fields',
            '-e',
            'frame.time_epoch',
            '-e',
            'smpp.source_addr',
            '-E',
            'separator=\t',
          ],
          { maxBuffer: 512 * 1024 * 1024 },
        );
        const out = new Map<string, number[]>();
        for (const line of stdout.split('\n')) {
          const [time, sources] = line.split('\t');
          if (!time || !sources) continue;
          const t = Number(time) * 1000;
          // One frame may carry several submits: each is on the wire at the frame's time.
          for (const s of sources.split(',')) {
            const key = s.replace('+', '');
            const l = out.get(key);
            if (l) l.push(t);
            else out.set(key, [t]);
          }
        }
        return out;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
