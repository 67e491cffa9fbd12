/**
 * Per-API sliding one-minute windows on the emulated clock, like the gateway's
 * "policy user over ratelimit,limit:N,time:1 minute". Only admitted calls count.
 */
const WINDOW_MS = 60_000;

export interface RateDecision {
  allowed: boolean;
  /** When refused: emulated ms until the oldest admitted call leaves the window. */
  retryAfterMs: number;
}

export class SlidingWindowLimiter {
  readonly #windows = new Map<string, number[]>();

  reset(): void {
    this.#windows.clear();
  }

  tryAcquire(key: string, limit: number, now: number): RateDecision {
    let times = this.#windows.get(key);
    if (!times) {
      times = [];
      this.#windows.set(key, times);
    }
    let expired = 0;
    while (expired < times.length && times[expired]! <= now - WINDOW_MS) expired++;
    if (expired > 0) times.splice(0, expired);
    if (times.length >= limit) {
      return { allowed: false, retryAfterMs: Math.max(1, times[0]! + WINDOW_MS - now) };
    }
    times.push(now);
    return { allowed: true, retryAfterMs: 0 };
  }
}
