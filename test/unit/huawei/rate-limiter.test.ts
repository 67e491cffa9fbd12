import { describe, expect, it } from 'vitest';
import { API_LIMITS_PER_MINUTE } from '../../../lib/huawei/api-names.ts';
import { bucketShapeFor, RateLimiter } from '../../../lib/huawei/rate-limiter.ts';
import { FakeClock } from './fake-clock.ts';

/** The largest number of timestamps inside any half-open window [t, t + windowMs). */
function maxInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

describe('bucketShapeFor', () => {
  it('gives the password APIs a burst of 1 and 48 refills a minute', () => {
    expect(bucketShapeFor(50)).toEqual({ capacity: 1, refillPerMinute: 48 });
  });

  it('keeps capacity plus a minute of refill within the limit', () => {
    for (const limit of [1, 2, 5, 10, 19, 20, 50, 500, 1000, 2000, 25]) {
      const { capacity, refillPerMinute } = bucketShapeFor(limit);
      expect(capacity).toBeGreaterThanOrEqual(1);
      expect(refillPerMinute).toBeGreaterThan(0);
      expect(Math.floor(capacity + refillPerMinute)).toBeLessThanOrEqual(limit);
    }
  });

  it('leaves more headroom for a jitter allowance, and never drops below half the limit', () => {
    expect(bucketShapeFor(50, 6000)).toEqual({ capacity: 1, refillPerMinute: 44 });
    expect(bucketShapeFor(50, 10 * 60_000)).toEqual({ capacity: 1, refillPerMinute: 25 });
  });

  it('refuses a non-positive limit', () => {
    expect(() => bucketShapeFor(0)).toThrow(RangeError);
  });
});

describe('RateLimiter on a fake clock', () => {
  for (const limit of [1, 7, 50, 500]) {
    it(`never lets a greedy burst exceed ${limit}/min in any sliding minute`, async () => {
      const clock = new FakeClock();
      const limiter = new RateLimiter({ clock, limitsPerMinute: { 'password.get': limit } });
      const times: number[] = [];
      const burst = Array.from({ length: limit * 3 + 5 }, () =>
        limiter.acquire('password.get').then(() => times.push(clock.now())),
      );
      await clock.advance(60 * 60_000);
      await Promise.all(burst);
      expect(times).toHaveLength(limit * 3 + 5);
      expect(maxInWindow(times, 60_000)).toBeLessThanOrEqual(limit);
      // Served in arrival order: timestamps never go backwards.
      expect(times).toEqual([...times].sort((a, b) => a - b));
    });
  }

  it('converts its real-time jitter allowance through a compressed clock', () => {
    const clock = new FakeClock(0, 120);
    const limiter = new RateLimiter({ clock, limitsPerMinute: { 'password.get': 50 } });
    expect(limiter.tryAcquire('password.get')).toBe(true);
    // 50 ms real at 120x = 6 s of clock time = 5 calls of headroom: 44 refills a minute.
    expect(limiter.estimatedWaitMs('password.get')).toBe(Math.ceil(60_000 / 44));
  });

  it('uses API_LIMITS_PER_MINUTE by default and keeps APIs independent', () => {
    const limiter = new RateLimiter({ clock: new FakeClock() });
    expect(limiter.limitPerMinute('job.get')).toBe(API_LIMITS_PER_MINUTE['job.get']);
    expect(limiter.tryAcquire('password.get')).toBe(true);
    expect(limiter.tryAcquire('password.get')).toBe(false);
    expect(limiter.tryAcquire('password.delete')).toBe(true);
  });

  it('estimates the wait a new call would have, and tryAcquire takes tokens as they refill', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ clock, limitsPerMinute: { 'password.get': 50 } });
    expect(limiter.estimatedWaitMs('password.get')).toBe(0);
    limiter.tryAcquire('password.get');
    const perToken = 60_000 / 48;
    expect(limiter.estimatedWaitMs('password.get')).toBe(Math.ceil(perToken));
    await clock.advance(Math.ceil(perToken));
    expect(limiter.estimatedWaitMs('password.get')).toBe(0);
    expect(limiter.tryAcquire('password.get')).toBe(true);
    expect(limiter.tryAcquire('password.get')).toBe(false);
  });

  it('counts queued waiters in the estimate', () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ clock, limitsPerMinute: { 'password.get': 50 } });
    for (let i = 0; i < 5; i++) limiter.tryAcquire('password.get');
    const before = limiter.estimatedWaitMs('password.get');
    void limiter.acquire('password.get');
    void limiter.acquire('password.get');
    expect(limiter.estimatedWaitMs('password.get')).toBeGreaterThan(2 * before);
  });

  it('rejects an aborted waiter with an aborted error and returns its reservation', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ clock, limitsPerMinute: { 'password.get': 50 } });
    for (let i = 0; i < 5; i++) limiter.tryAcquire('password.get');
    const idle = limiter.estimatedWaitMs('password.get');
    const controller = new AbortController();
    const waiting = limiter.acquire('password.get', controller.signal);
    expect(limiter.estimatedWaitMs('password.get')).toBeGreaterThan(idle);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({
      name: 'HuaweiApiError',
      kind: 'aborted',
      api: 'password.get',
    });
    expect(limiter.estimatedWaitMs('password.get')).toBe(idle);
    await expect(limiter.acquire('password.get', AbortSignal.abort())).rejects.toMatchObject({
      kind: 'aborted',
    });
  });
});

describe('RateLimiter utilization', () => {
  it('reports the share of the per-minute limit granted over the last minute, per API', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ clock, limitsPerMinute: { 'password.get': 50 } });
    expect(limiter.utilization('password.get')).toBe(0);
    expect(limiter.tryAcquire('password.get')).toBe(true);
    await clock.advance(1250);
    expect(limiter.tryAcquire('password.get')).toBe(true);
    expect(limiter.utilization('password.get')).toBeCloseTo(2 / 50, 9);
    expect(limiter.utilization('password.delete')).toBe(0);
    await clock.advance(61_000);
    expect(limiter.utilization('password.get')).toBe(0);
  });
});
