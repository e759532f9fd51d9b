/**
 * A running total over a changing set of processes that never goes back: a process that ended
 * (a pool closing an idle connection, a backend of a dropped database) keeps the last value read
 * of it, instead of taking its whole history off the sum. A read that throws or gives 0 (a
 * process ending as it is read) leaves that process's last value as it was.
 */
export function runningTotal(pids: () => number[], read: (pid: number) => number): () => number {
  const last = new Map<number, number>();
  return () => {
    for (const pid of pids()) {
      let v = 0;
      try {
        v = read(pid);
      } catch {
        // the process ended between listing and reading
      }
      if (v > 0) last.set(pid, v);
    }
    let sum = 0;
    for (const v of last.values()) sum += v;
    return sum;
  };
}
