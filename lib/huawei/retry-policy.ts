/**
 * The project's one retry/backoff policy. Capped exponential backoff with full jitter
 * (delay drawn uniformly from [0, min(cap, base * 2^(n-1))]) so a fleet of workers that were
 * throttled together does not retry together.
 *
 * Only transient failures are retried: network errors, timeouts, 5xx and 429 (APIGW.0308).
 * 401/403 never are: five bad signatures lock an AK/SK for five minutes, so a retry loop on an
 * auth failure turns one misconfiguration into an outage. Other 4xx are the caller's bug.
 * Sleeping goes through the injected Clock so compressed time compresses the waits too.
 */
import type { Clock } from '../clock.ts';
import { HuaweiApiError, isHuaweiApiError } from './errors.ts';

export interface RetryPolicy {
  /** Total attempts including the first; 1 disables retries. */
  maxAttempts: number;
  /** The backoff ceiling for the first retry. */
  baseDelayMs: number;
  /** The ceiling never grows past this. */
  maxDelayMs: number;
  /** A Retry-After longer than this ends the retries instead of parking the caller. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 20_000,
  maxRetryAfterMs: 60_000,
});

/**
 * Full-jitter backoff before retry number `attempt` (1 = the first retry).
 * `random` returns a number in [0, 1), like Math.random.
 */
export function computeBackoffMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  // 2^exponent overflows to Infinity long before it matters; Math.min handles that.
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  const draw = random();
  // A broken random source must not produce NaN or a negative sleep: fall back to the ceiling.
  const unit = Number.isFinite(draw) ? Math.min(Math.max(draw, 0), 1) : 1;
  return Math.floor(unit * ceiling);
}

/**
 * How long a work item waits after its `streak`-th transient failure in a row before it is
 * looked at again: 30 s doubling to 15 minutes, so a store or API that stays down costs a few
 * calls an hour per server, not a password-budget's worth. No jitter: the queue spreads items,
 * and a deterministic delay keeps the simulator's replays exact.
 */
export const WORK_ITEM_FAILURE_BACKOFF: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: Number.POSITIVE_INFINITY,
  baseDelayMs: 30_000,
  maxDelayMs: 900_000,
  maxRetryAfterMs: 900_000,
});

export function failureBackoffSeconds(streak: number): number {
  return computeBackoffMs(streak, WORK_ITEM_FAILURE_BACKOFF, () => 1) / 1000;
}

/** Whether an error is one the policy may retry at all. Non-Huawei errors (bugs) are not. */
export function isRetryableError(error: unknown): boolean {
  return isHuaweiApiError(error) && error.retryable;
}

export type RetryDecision = { retry: false; reason: string } | { retry: true; delayMs: number };

/**
 * Pure decision after attempt number `attempt` (1-based) failed with `error`.
 * A Retry-After the server sent is a floor on the delay: retrying earlier only earns another 429.
 */
export function decideRetry(
  error: unknown,
  attempt: number,
  policy: RetryPolicy,
  random: () => number,
): RetryDecision {
  if (!isRetryableError(error)) return { retry: false, reason: 'not retryable' };
  if (attempt >= policy.maxAttempts) return { retry: false, reason: 'attempts exhausted' };
  const backoff = computeBackoffMs(attempt, policy, random);
  const retryAfter = (error as HuaweiApiError).retryAfterMs;
  if (retryAfter === undefined) return { retry: true, delayMs: backoff };
  if (retryAfter > policy.maxRetryAfterMs) return { retry: false, reason: 'Retry-After too long' };
  return { retry: true, delayMs: Math.max(retryAfter, backoff) };
}

export interface RetryInfo {
  /** The attempt that just failed (1-based). */
  attempt: number;
  delayMs: number;
  error: unknown;
}

export interface RetryOptions {
  clock: Clock;
  policy?: RetryPolicy | undefined;
  signal?: AbortSignal | undefined;
  random?: (() => number) | undefined;
  /** API name for the 'aborted' error raised when the signal fires between attempts. */
  api?: string | undefined;
  /** Called before each backoff sleep, e.g. to log or count retries. */
  onRetry?: ((info: RetryInfo) => void) | undefined;
}

/**
 * Runs `fn` (given the 1-based attempt number) until it succeeds, fails with a non-retryable
 * error, runs out of attempts, or the signal fires. The last error is rethrown as it was.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(options.signal, options.api);
    try {
      return await fn(attempt);
    } catch (error) {
      if (options.signal?.aborted) throw abortedError(options.api, error);
      const decision = decideRetry(error, attempt, policy, random);
      if (!decision.retry) throw error;
      options.onRetry?.({ attempt, delayMs: decision.delayMs, error });
      try {
        await options.clock.sleep(decision.delayMs, options.signal);
      } catch (sleepError) {
        if (options.signal?.aborted) throw abortedError(options.api, error);
        throw sleepError;
      }
    }
  }
}

function throwIfAborted(signal: AbortSignal | undefined, api: string | undefined): void {
  if (signal?.aborted) throw abortedError(api, signal.reason);
}

function abortedError(api: string | undefined, cause: unknown): HuaweiApiError {
  if (isHuaweiApiError(cause, 'aborted')) return cause;
  return new HuaweiApiError({ kind: 'aborted', api: api ?? 'unknown', cause });
}
