import { readFileSync } from 'node:fs';

/** CPU seconds (user+system) of another process, from /proc (Linux). */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident and peak resident memory of another process in MB. */
export function rssOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.floor((s.length - 1) / 2)]!;
}

/** What every bench client prints as its last stdout line (JSON). */
export interface ClientResult {
  client: string;
  window: number;
  n: number;
  ok: number;
  errors: number;
  receipts: number;
  submitPerSec: number;
  receiptPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuSeconds: number;
  cpuUsPerMsg: number;
  rssMb: number;
  peakRssMb: number;
}

/**
 * Seconds one thread (a pid names its process's main thread) has run, and has waited runnable for
 * a CPU, from /proc/<pid>/schedstat (Linux with schedstats; zeros where the file is missing).
 * The wait is why latency can grow while CPU looks free: on a small machine a woken peer
 * (PostgreSQL, the load generator) takes the CPU the event loop was about to use.
 */
export function schedSecondsOf(pid: number): { run: number; wait: number } {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ').map(Number);
    return { run: (run ?? 0) / 1e9, wait: (wait ?? 0) / 1e9 };
  } catch {
    return { run: 0, wait: 0 };
  }
}

/** Linux reports /proc/stat times in USER_HZ ticks, 100 a second on every architecture it runs on. */
const USER_HZ = 100;

/**
 * Steal from the text of /proc/stat: the seconds (summed over all CPUs) the hypervisor ran
 * something else while this VM's vCPUs were ready to run — time no process here is charged for,
 * so it shows neither in a CPU profile nor in a thread's run-queue wait. The 8th figure of the
 * `cpu` line; 0 when the line or the figure is missing (a kernel without it, no VM).
 */
export function parseStealSeconds(procStat: string): number {
  const line = procStat.split('\n', 1)[0] ?? '';
  if (!line.startsWith('cpu ')) return 0;
  const steal = Number(line.trim().split(/\s+/)[8]);
  return Number.isFinite(steal) ? steal / USER_HZ : 0;
}

/** The machine's steal so far (see parseStealSeconds); 0 where /proc/stat cannot be read. */
export function stealSeconds(): number {
  try {
    return parseStealSeconds(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return 0;
  }
}
