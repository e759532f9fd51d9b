/**
 * Runs `task` every `everyMs`, counted from the end of the previous run (never two at once), the
 * first run after `firstMs`. `task` must not reject (it logs its own failures).
 */
export class Periodic {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly task: () => Promise<void>,
    /** Fixed, or asked after each run (a task that adapts its pace to its own cost). */
    private readonly everyMs: number | (() => number),
    private readonly firstMs = typeof everyMs === 'number' ? everyMs : everyMs(),
  ) {}

  start(): void {
    const tick = () => {
      this.running = this.task().finally(() => {
        this.running = undefined;
        if (this.timer !== undefined)
          this.timer = setTimeout(tick, typeof this.everyMs === 'number' ? this.everyMs : this.everyMs());
      });
    };
    this.timer = setTimeout(tick, this.firstMs);
  }

  /** No run starts after this; resolves when a run in progress has ended. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
