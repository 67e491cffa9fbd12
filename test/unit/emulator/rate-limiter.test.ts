import { describe, expect, it } from 'vitest';
import { rollFault } from '../../../emulator/faults.ts';
import { SlidingWindowLimiter } from '../../../emulator/rate-limiter.ts';
import { createRandom } from '../../../emulator/seeded-random.ts';

describe('SlidingWindowLimiter', () => {
  it('admits `limit` calls per sliding minute and says when the next one fits', () => {
    const limiter = new SlidingWindowLimiter();
    for (let t = 0; t < 5; t++) expect(limiter.tryAcquire('a', 5, t * 1000).allowed).toBe(true);
    expect(limiter.tryAcquire('a', 5, 10_000)).toEqual({ allowed: false, retryAfterMs: 50_000 });
    expect(limiter.tryAcquire('b', 5, 10_000).allowed).toBe(true);
    expect(limiter.tryAcquire('a', 5, 60_000).allowed).toBe(true);
    expect(limiter.tryAcquire('a', 5, 60_001).allowed).toBe(false);
    expect(limiter.tryAcquire('a', 5, 61_000).allowed).toBe(true);
  });
});

describe('rollFault', () => {
  it('respects targeting and the configured rates', () => {
    const random = createRandom(1);
    const settings = {
      errorRate: 0.2,
      throttleRate: 0.1,
      resetRate: 0.1,
      latencyMs: 0,
      apis: ['password.get' as const],
    };
    expect(rollFault(settings, 'server.get', random)).toBeUndefined();
    const rolls = Array.from({ length: 5000 }, () => rollFault(settings, 'password.get', random));
    const share = (f: string | undefined) => rolls.filter((r) => r === f).length / rolls.length;
    expect(share('server-error')).toBeGreaterThan(0.17);
    expect(share('server-error')).toBeLessThan(0.23);
    expect(share('reset')).toBeGreaterThan(0.08);
    expect(share(undefined)).toBeGreaterThan(0.55);
  });
});
