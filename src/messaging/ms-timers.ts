/**
 * Runs callbacks at epoch-millisecond times with one timer per millisecond that has any. A batch
 * of paced segments under a limit that does not bind is due within one millisecond (hundreds of
 * slots microseconds apart): one timer for the batch instead of one each. Callbacks of one
 * millisecond run in the order they were added, so slots keep their order.
 */
export class MsTimers {
  private readonly due = new Map<number, Array<() => void>>();

  /** Callbacks waiting. */
  get size(): number {
    let n = 0;
    for (const fns of this.due.values()) n += fns.length;
    return n;
  }

  /**
   * Runs `fn` once the clock has passed `at` (never before: the millisecond is rounded up).
   * Throws nothing itself; a callback that throws does not keep the others of its millisecond
   * from running, and its error is thrown after them (as a timer's own would be).
   */
  add(at: number, fn: () => void): void {
    const key = Math.ceil(at);
    const fns = this.due.get(key);
    if (fns) {
      fns.push(fn);
      return;
    }
    this.due.set(key, [fn]);
    setTimeout(() => this.fire(key), Math.max(1, key - Date.now()));
  }

  private fire(key: number): void {
    const fns = this.due.get(key) ?? [];
    this.due.delete(key);
    let failed: { err: unknown } | undefined;
    for (const fn of fns) {
      try {
        fn();
      } catch (err) {
        failed ??= { err };
      }
    }
    if (failed) throw failed.err;
  }
}
