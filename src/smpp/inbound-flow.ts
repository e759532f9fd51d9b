/**
 * Back-pressure on what an SMSC sends us: each inbound PDU counts until it is answered (answers
 * wait until the handler stored it); at `max` unanswered the socket stops being read, so an SMSC
 * flooding us waits in TCP instead of in our heap, and reading resumes at half of it.
 */
export class InboundFlow {
  private unanswered = 0;
  private paused = false;

  constructor(
    private readonly max: number,
    private readonly io: { pause(): void; resume(): void },
  ) {}

  get pending(): number {
    return this.unanswered;
  }

  /** A PDU was read. Returns true when this one paused reading. */
  received(): boolean {
    this.unanswered++;
    if (this.paused || this.unanswered < this.max) return false;
    this.paused = true;
    this.io.pause();
    return true;
  }

  /**
   * A PDU was read: counts it (pausing reading at `max`) and returns the one answer it may get —
   * later calls do nothing — which releases its place; `send` writes the answer (the caller skips
   * that once its session is gone). `paused`: this one paused reading.
   */
  admit(send: (status: number) => void): { answer: (status: number) => void; paused: boolean } {
    const paused = this.received();
    let answered = false;
    const answer = (status: number) => {
      if (answered) return;
      answered = true;
      send(status);
      this.answered();
    };
    return { answer, paused };
  }

  /** A PDU was answered (or given up with the session). */
  answered(): void {
    this.unanswered--;
    if (this.paused && this.unanswered <= this.max / 2) {
      this.paused = false;
      this.io.resume();
    }
  }
}
