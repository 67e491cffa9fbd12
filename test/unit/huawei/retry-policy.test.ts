import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HuaweiApiError, type HuaweiErrorKind } from '../../../lib/huawei/errors.ts';
import {
  computeBackoffMs,
  DEFAULT_RETRY_POLICY,
  decideRetry,
  failureBackoffSeconds,
  type RetryPolicy,
  withRetry,
} from '../../../lib/huawei/retry-policy.ts';
import { errorFromResponse } from '../../../lib/huawei/signed-call.ts';
import { FakeClock } from './fake-clock.ts';

const policy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 20_000, maxRetryAfterMs: 60_000 };
const err = (kind: HuaweiErrorKind, extra: Partial<ConstructorParameters<typeof HuaweiApiError>[0]> = {}) =>
  new HuaweiApiError({ kind, api: 'password.get', ...extra });
const fromStatus = (status: number, body = '', headers: Record<string, string> = {}) =>
  errorFromResponse('password.get', { status, headers, body }, true);

describe('failureBackoffSeconds', () => {
  it('waits 30 s after the first transient failure of a work item, doubling to 15 minutes', () => {
    expect([1, 2, 3, 5, 6, 20].map(failureBackoffSeconds)).toEqual([30, 60, 120, 480, 900, 900]);
  });
});

describe('computeBackoffMs', () => {
  it('stays within [0, min(cap, base * 2^(n-1))] for any attempt and random draw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true }),
        (n, r) => {
          const delay = computeBackoffMs(n, policy, () => r);
          const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1));
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(ceiling);
          expect(Number.isFinite(delay)).toBe(true);
        },
      ),
    );
  });

  it('grows exponentially up to the cap (full jitter scales the ceiling)', () => {
    const top = () => 0.999999;
    expect(computeBackoffMs(1, policy, top)).toBe(499);
    expect(computeBackoffMs(2, policy, top)).toBe(999);
    expect(computeBackoffMs(3, policy, top)).toBe(1999);
    expect(computeBackoffMs(10, policy, top)).toBe(19_999);
    expect(computeBackoffMs(3, policy, () => 0)).toBe(0);
    expect(computeBackoffMs(3, policy, () => Number.NaN)).toBe(2000);
  });
});

describe('decideRetry', () => {
  it.each([
    ['5xx', fromStatus(503)],
    ['429 APIGW.0308', fromStatus(429, '{"error_code":"APIGW.0308","error_msg":"throttled"}')],
    ['network', err('network')],
    ['timeout', err('timeout')],
  ])('retries %s', (_name, error) => {
    expect(decideRetry(error, 1, policy, () => 0.5)).toMatchObject({ retry: true });
  });

  it.each([
    ['401', fromStatus(401, '{"error_code":"APIGW.0301","error_msg":"verify aksk signature fail"}')],
    ['403', fromStatus(403, '{"error":{"code":"BMS.0288","message":"Policy doesn\'t allow"}}')],
    ['400', fromStatus(400)],
    ['404', fromStatus(404)],
    ['400 BMS.0040', fromStatus(400, '{"error":{"code":"BMS.0040","message":"The server does not exist."}}')],
    ['409', fromStatus(409)],
    ['aborted', err('aborted')],
    ['a plain bug', new TypeError('x is undefined')],
  ])('never retries %s', (_name, error) => {
    expect(decideRetry(error, 1, policy, () => 0.5)).toMatchObject({ retry: false });
  });

  it('stops when attempts are exhausted', () => {
    expect(decideRetry(err('server'), 3, policy, () => 0.5)).toMatchObject({ retry: true });
    expect(decideRetry(err('server'), 4, policy, () => 0.5)).toEqual({
      retry: false,
      reason: 'attempts exhausted',
    });
  });

  it('waits at least Retry-After, and gives up when it is longer than the policy allows', () => {
    const throttled = fromStatus(429, '', { 'retry-after': '7' });
    expect(throttled.retryAfterMs).toBe(7000);
    expect(decideRetry(throttled, 1, policy, () => 0)).toEqual({ retry: true, delayMs: 7000 });
    const long = fromStatus(429, '', { 'retry-after': '3600' });
    expect(decideRetry(long, 1, policy, () => 0)).toMatchObject({ retry: false });
  });
});

describe('withRetry', () => {
  it('retries transient failures with backoff sleeps on the injected clock, then succeeds', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const done = withRetry(
      async () => {
        calls++;
        if (calls < 3) throw err('server', { status: 502 });
        return 'ok';
      },
      { clock, policy, random: () => 0.5 },
    );
    await clock.advance(60_000);
    await expect(done).resolves.toBe('ok');
    expect(calls).toBe(3);
    expect(clock.sleeps).toEqual([250, 500]);
  });

  it('makes exactly one call on 401', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const done = withRetry(
      async () => {
        calls++;
        throw fromStatus(401);
      },
      { clock, policy },
    );
    await expect(done).rejects.toMatchObject({ kind: 'auth', status: 401 });
    expect(calls).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('rethrows the last error after maxAttempts', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const done = withRetry(
      async () => {
        calls++;
        throw err('timeout');
      },
      { clock, policy: DEFAULT_RETRY_POLICY, random: () => 0 },
    );
    await clock.advance(1000);
    await expect(done).rejects.toMatchObject({ kind: 'timeout' });
    expect(calls).toBe(DEFAULT_RETRY_POLICY.maxAttempts);
  });

  it('stops with an aborted error when the signal fires during a backoff sleep', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    let calls = 0;
    const done = withRetry(
      async () => {
        calls++;
        throw err('server');
      },
      { clock, policy, random: () => 0.9, signal: controller.signal, api: 'password.get' },
    );
    await clock.advance(10);
    expect(clock.pendingSleepers).toBe(1);
    controller.abort();
    await expect(done).rejects.toMatchObject({ kind: 'aborted', api: 'password.get' });
    expect(calls).toBe(1);
  });

  it('does not start when the signal is already aborted', async () => {
    let calls = 0;
    const done = withRetry(
      async () => {
        calls++;
      },
      { clock: new FakeClock(), signal: AbortSignal.abort() },
    );
    await expect(done).rejects.toMatchObject({ kind: 'aborted' });
    expect(calls).toBe(0);
  });
});
