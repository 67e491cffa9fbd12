import { describe, expect, it } from 'vitest';
import {
  hookGetRatePerMinute,
  oracleExposures,
  runEntry,
  whoOracleExposures,
} from '../../../bench/fleet-report.ts';
import { type FleetRunResult, rushFigures } from '../../../bench/fleet-run.ts';

const MIN = 60_000;

describe('fleet bench oracles', () => {
  it("run at the hook's real 48/min", () => {
    expect(hookGetRatePerMinute()).toBe(48);
  });

  it('FCFS serves in post order; "knows who, not when" serves the same backlog in random order', () => {
    // Ten servers post at once: both need ten token gaps; only the order differs.
    const posts = new Array<number>(10).fill(0);
    const fcfs = oracleExposures(posts, 60);
    const who = whoOracleExposures(posts, 60, 1);
    expect(fcfs).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((s) => s * 1000));
    expect([...who].sort((a, b) => a - b)).toEqual(fcfs);
    // Staggered posts: FCFS never lets a later post overtake, random order does, so its tail is longer.
    const staggered = Array.from({ length: 200 }, (_, i) => i * 500);
    const p95 = (v: number[]) => [...v].sort((a, b) => a - b)[Math.ceil(v.length * 0.95) - 1]!;
    expect(p95(whoOracleExposures(staggered, 60, 7))).toBeGreaterThan(p95(oracleExposures(staggered, 60)));
    // Posts further apart than a token gap cost nothing in either.
    expect(whoOracleExposures([0, 5000, 10_000], 60, 3)).toEqual([0, 0, 0]);
  });
});

describe('fleet bench figures', () => {
  it('counts the tokens left unspent in minutes when a posted server waited all minute', () => {
    // One server posts at 0 and is found at 3 min: minutes 0, 1 and 2 are rush minutes.
    const gets = [
      ...Array.from({ length: 40 }, (_, i) => i * 1000),
      ...Array.from({ length: 48 }, (_, i) => MIN + i * 1000),
    ];
    expect(rushFigures(gets, [[0, 3 * MIN]])).toEqual({ minutes: 3, unspentTokens: 8 + 0 + 48 });
    expect(rushFigures(gets, [[0, 30_000]])).toEqual({ minutes: 0, unspentTokens: 0 });
  });

  it('writes each run under the names the checks read', () => {
    const result: FleetRunResult = {
      scheduler: 'model',
      notifyFraction: 1,
      seed: 5,
      leftoverMessages: 0,
      rush: { minutes: 0, unspentTokens: 0 },
      servers: [0, 1].map((i) => ({
        postMs: 1000 * i,
        activeMs: 0,
        exposureMs: 4000 + i * 2000,
        clearedMs: 10_000,
        findMs: 3000,
        gets: 2,
        deletes: 1,
        notified: true,
      })),
      makespanMs: 10_000,
      finished: true,
      passwordGets: 4,
      passwordDeletes: 2,
      throttled: { 'password.get': 1 },
      deadLetters: {},
      worker: { peakRssBytes: 1, peakHeapBytes: 1, maxRssBytes: 1, batches: 1 },
      realSeconds: 1,
    };
    expect(runEntry(result, 2, 48)).toMatchObject({
      scheduler: 'model',
      notifyFraction: 1,
      servers: 2,
      seed: 5,
      exposureMedianSeconds: 5,
      exposureP95Seconds: 6,
      oracleP95Seconds: expect.any(Number),
      passwordGetsPerServer: 2,
      deadLettered: 0,
      rateLimited: 1,
    });
  });
});
