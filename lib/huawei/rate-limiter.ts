/**
 * Per-API token buckets on the injected Clock, so our own calls stay under Huawei's
 * per-minute limits instead of discovering them through 429s.
 *
 * Shape of a bucket for a limit of L calls per minute (see bucketShapeFor):
 *   capacity C = max(1, floor(L / 50)), refill R = L - C - H per minute (R >= L / 2).
 * The most calls a bucket can release inside any 60-second window is C + R: a full bucket
 * emptied at once plus everything refilled during the window. C + R = L - H keeps even a
 * worst-case burst under a sliding one-minute window of the same limit, and the headroom H
 * absorbs network jitter that reorders arrivals at the gateway: H covers the calls released
 * during the jitter allowance (50 ms of real time by default, converted to clock time, so a
 * 120x compressed clock gets 6 s of allowance), and is at least 1 for limits of 20 and up.
 * For the 50/min password APIs on the wall clock that is one call every 1.25 s (48/min): a 4%
 * throughput cost, bought so that a burst never earns a 429 (which costs a backoff and a wasted
 * call of the budget). The burst is kept small on purpose: at fleet scale only the sustained
 * rate counts, and every token of burst is a token less of refill per minute.
 *
 * Waiting callers take a reservation (the balance may go negative) so they are served in
 * arrival order and each sleeps exactly until its own token exists.
 */
import type { Clock } from '../clock.ts';
import { API_LIMITS_PER_MINUTE, type ApiName } from './api-names.ts';
import { HuaweiApiError } from './errors.ts';

const MINUTE_MS = 60_000;

export interface BucketShape {
  capacity: number;
  /** Tokens added per minute. */
  refillPerMinute: number;
}

/** `jitterAllowanceMs` is in clock milliseconds. */
export function bucketShapeFor(limitPerMinute: number, jitterAllowanceMs = 0): BucketShape {
  if (!(limitPerMinute > 0)) throw new RangeError(`rate limit must be positive, got ${limitPerMinute}`);
  const capacity = Math.max(1, Math.floor(limitPerMinute / 50));
  const headroom = Math.max(
    limitPerMinute >= 20 ? 1 : 0,
    Math.ceil((Math.max(0, jitterAllowanceMs) * limitPerMinute) / MINUTE_MS),
  );
  const refillPerMinute = Math.max(limitPerMinute / 2, limitPerMinute - capacity - headroom);
  return { capacity, refillPerMinute };
}

class TokenBucket {
  readonly capacity: number;
  readonly refillPerMs: number;
  tokens: number;
  updatedAt: number;

  constructor(shape: BucketShape, now: number) {
    this.capacity = shape.capacity;
    this.refillPerMs = shape.refillPerMinute / MINUTE_MS;
    this.tokens = shape.capacity;
    this.updatedAt = now;
  }

  refill(now: number): void {
    if (now <= this.updatedAt) return;
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.updatedAt) * this.refillPerMs);
    this.updatedAt = now;
  }

  /** Clock milliseconds until one more token could be taken without queueing behind anyone. */
  waitMs(): number {
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) / this.refillPerMs);
  }
}

export interface RateLimiterOptions {
  clock: Clock;
  /** Per-minute limits; APIs not given use API_LIMITS_PER_MINUTE. Already divided by any share. */
  limitsPerMinute?: Partial<Record<ApiName, number>> | undefined;
  /** Real milliseconds of arrival jitter to leave room for (default 50); scaled by clock.scale. */
  jitterAllowanceMs?: number | undefined;
}

export class RateLimiter {
  readonly #clock: Clock;
  readonly #buckets = new Map<ApiName, TokenBucket>();
  readonly #limits: Record<ApiName, number>;
  readonly #jitterClockMs: number;
  /** Clock times of the tokens granted in the last minute, per API (for utilization). */
  readonly #granted = new Map<ApiName, number[]>();

  constructor(options: RateLimiterOptions) {
    this.#clock = options.clock;
    this.#jitterClockMs = (options.jitterAllowanceMs ?? 50) * options.clock.scale;
    this.#limits = { ...API_LIMITS_PER_MINUTE, ...options.limitsPerMinute };
  }

  /** The per-minute limit this limiter enforces for `api`. */
  limitPerMinute(api: ApiName): number {
    return this.#limits[api];
  }

  #bucket(api: ApiName): TokenBucket {
    const now = this.#clock.now();
    let bucket = this.#buckets.get(api);
    if (!bucket) {
      bucket = new TokenBucket(bucketShapeFor(this.#limits[api], this.#jitterClockMs), now);
      this.#buckets.set(api, bucket);
    }
    bucket.refill(now);
    return bucket;
  }

  /** Waits (on the clock) for a token. Rejects with an 'aborted' HuaweiApiError if `signal` fires first. */
  async acquire(api: ApiName, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw new HuaweiApiError({ kind: 'aborted', api, cause: signal.reason });
    const bucket = this.#bucket(api);
    bucket.tokens -= 1;
    this.#record(api);
    if (bucket.tokens >= 0) return;
    const waitMs = Math.ceil(-bucket.tokens / bucket.refillPerMs);
    try {
      await this.#clock.sleep(waitMs, signal);
    } catch (cause) {
      bucket.tokens += 1; // give the reservation back; later waiters merely wake a little early
      throw new HuaweiApiError({ kind: 'aborted', api, cause });
    }
  }

  /** Takes a token only if one is available now and nobody is queued. */
  tryAcquire(api: ApiName): boolean {
    const bucket = this.#bucket(api);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    this.#record(api);
    return true;
  }

  /**
   * The share of `api`'s per-minute limit taken over the last minute (0..1). The scheduler
   * polls more often while the budget is idle and falls back to its model as it fills.
   */
  utilization(api: ApiName): number {
    const recent = this.#recent(api);
    return Math.min(1, recent.length / this.#limits[api]);
  }

  #recent(api: ApiName): number[] {
    const cutoff = this.#clock.now() - 60_000;
    const times = this.#granted.get(api) ?? [];
    let drop = 0;
    while (drop < times.length && times[drop]! <= cutoff) drop++;
    if (drop > 0) times.splice(0, drop);
    this.#granted.set(api, times);
    return times;
  }

  #record(api: ApiName): void {
    this.#recent(api).push(this.#clock.now());
  }

  /** Clock milliseconds a new acquire(api) would wait now; the scheduler defers low-priority work on it. */
  estimatedWaitMs(api: ApiName): number {
    return this.#bucket(api).waitMs();
  }
}
