/**
 * The show-server budget of POST /posted for servers the hook does not know. Its default must
 * let a fleet's rush of notifications through (the former 60 a minute refused most of a
 * 1,000-server rush, which then waited for a late safety-net check) and still leave the worker
 * most of the API's 1,000 calls a minute.
 */
import { describe, expect, it } from 'vitest';
import { planDelays } from '../../../emulator/post-delays.ts';
import { createRandom } from '../../../emulator/seeded-random.ts';
import { API_LIMITS_PER_MINUTE } from '../../../lib/huawei/api-names.ts';
import {
  DEFAULT_POSTED_SHOWS_PER_MINUTE,
  parsePostedConfig,
} from '../../../lib/intake/posted/posted-config.ts';
import { PostedGate } from '../../../lib/intake/posted/posted-intake.ts';

const TARGETS = [{ projectId: 'p'.repeat(32), region: 'ap-southeast-1' }];
const KEY = { ESCROW_POSTED_HMAC_KEY: 'k'.repeat(32) };

/** Most posts in any one minute when `servers` Windows servers are created at once. */
function peakPostsPerMinute(servers: number, seed: number): number {
  const random = createRandom(seed);
  const perMinute = new Map<number, number>();
  for (let i = 0; i < servers; i++) {
    const { bootMs, postMs } = planDelays(
      { distribution: 'realistic', bootDelaySeconds: 0, postDelaySeconds: 0 },
      random,
    );
    const minute = Math.floor((bootMs + postMs) / 60_000);
    perMinute.set(minute, (perMinute.get(minute) ?? 0) + 1);
  }
  return Math.max(...perMinute.values());
}

describe('POST /posted show budget', () => {
  it('by default covers a 1,000-server rush twice over, where 60 a minute did not', () => {
    const config = parsePostedConfig(KEY, TARGETS);
    expect(config.showsPerMinute).toBe(DEFAULT_POSTED_SHOWS_PER_MINUTE);
    for (const seed of [1, 2, 3]) {
      const peak = peakPostsPerMinute(1000, seed);
      expect(peak).toBeGreaterThan(60);
      expect(2 * peak).toBeLessThanOrEqual(config.showsPerMinute);
    }
  });

  it('leaves the worker at least three quarters of the show API', () => {
    expect(DEFAULT_POSTED_SHOWS_PER_MINUTE).toBeLessThanOrEqual(API_LIMITS_PER_MINUTE['server.get'] / 4);
  });

  it('spends at most the budget in any minute, and refills as the minute slides', () => {
    const gate = new PostedGate(parsePostedConfig(KEY, TARGETS));
    const t0 = 1_700_000_000_000;
    let taken = 0;
    for (let i = 0; i < 1000; i++) if (gate.takeShow(t0 + i * 10)) taken++;
    expect(taken).toBe(DEFAULT_POSTED_SHOWS_PER_MINUTE);
    expect(gate.takeShow(t0 + 59_999)).toBe(false);
    expect(gate.takeShow(t0 + 60_000)).toBe(true);
  });
});
