import { AppError } from '../errors/app-error.ts';

/**
 * The two waits of a session's lifetime: for the bind response (bounded by the connect and bind
 * timeouts) and for the unbind response (bounded by the unbind timeout). Each settles once; a
 * session that closes first fails the bind wait and releases the unbind wait.
 */
export class SessionWaiters {
  private bind: { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  private unbind: (() => void) | undefined;

  /** The bind wait; `onTimeout` runs if no answer came within `timeoutMs` (it should close). */
  waitBind(timeoutMs: number, onTimeout: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.bind = { resolve, reject, timer: setTimeout(onTimeout, timeoutMs) };
    });
  }

  /** The SMSC accepted the bind. */
  bound(): void {
    const w = this.bind;
    this.bind = undefined;
    if (!w) return;
    clearTimeout(w.timer);
    w.resolve();
  }

  /** Resolves on `unbound()`, or after `timeoutMs` whatever happens. */
  waitUnbind(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.unbind = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** The unbind_resp came. */
  unbound(): void {
    this.unbind?.();
    this.unbind = undefined;
  }

  /** The session closed: a bind still waited for fails with `error` (or SMPP_BIND_FAILED). */
  closed(reason: string, error: Error | undefined): void {
    const w = this.bind;
    this.bind = undefined;
    if (w) {
      clearTimeout(w.timer);
      w.reject(error ?? new AppError('SMPP_BIND_FAILED', reason));
    }
    this.unbound();
  }
}
