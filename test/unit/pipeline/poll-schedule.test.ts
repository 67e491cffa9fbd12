import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSchedulerConfig } from '../../../lib/pipeline/pipeline-config.ts';
import {
  budgetPressure,
  createPollScheduler,
  planFindCheck,
  postDelayCdf,
  postDelayQuantile,
  postedProbability,
} from '../../../lib/pipeline/poll-schedule.ts';
import { workItem as item, T0 } from './work-item-fixture.ts';

const model = { medianSeconds: 540, sigma: 0.8 };
const modelScheduler = createPollScheduler(parseSchedulerConfig({}));

describe('post-delay model', () => {
  it('puts the median at the configured value and the 99th percentile near an hour', () => {
    expect(postDelayCdf(model, 540)).toBeCloseTo(0.5, 5);
    const p99 = postDelayQuantile(model, 0.99);
    expect(p99).toBeGreaterThan(45 * 60);
    expect(p99).toBeLessThan(70 * 60);
  });

  it('quantile inverts the CDF', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.001, max: 0.999, noNaN: true }), (p) => {
        expect(postDelayCdf(model, postDelayQuantile(model, p))).toBeCloseTo(p, 5);
      }),
    );
  });
});

describe('model scheduler', () => {
  const { minGapSeconds, maxGapSeconds, sliceProbability } = modelScheduler.config;

  it('first checks once the first probability slice has passed', () => {
    expect(modelScheduler.nextCheckElapsedSeconds(undefined, 0)).toBeCloseTo(
      postDelayQuantile(model, sliceProbability),
      6,
    );
  });

  it('keeps every gap within the configured bounds', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 6 * 3600, noNaN: true }), fc.nat(200), (last, checks) => {
        const gap = modelScheduler.nextCheckElapsedSeconds(last, checks) - last;
        expect(gap).toBeGreaterThanOrEqual(minGapSeconds - 1e-9);
        expect(gap).toBeLessThanOrEqual(maxGapSeconds + 1e-9);
      }),
    );
  });

  it('covers an equal slice of posting probability where the bounds do not bind', () => {
    const last = 540;
    const next = modelScheduler.nextCheckElapsedSeconds(last, 3);
    expect(postDelayCdf(model, next) - postDelayCdf(model, last)).toBeCloseTo(sliceProbability, 6);
  });

  it('checks densest around the median and sparsest in the tail', () => {
    const gap = (t: number) => modelScheduler.nextCheckElapsedSeconds(t, 1) - t;
    expect(gap(300)).toBeLessThan(gap(900));
    expect(gap(900)).toBeLessThan(gap(1200));
    expect(gap(3 * 3600)).toBe(maxGapSeconds);
  });

  it('never schedules a check past the deadline', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7200 }), fc.integer({ min: 1, max: 7200 }), (nowS, deadlineS) => {
        const plan = planFindCheck(
          modelScheduler,
          { activeSinceMs: T0, lastCheckMs: T0 + nowS * 1000, checks: 3, deadlineMs: T0 + deadlineS * 1000 },
          T0 + nowS * 1000,
        );
        if (!plan.due)
          expect(T0 + nowS * 1000 + (plan.delaySeconds - 1) * 1000).toBeLessThan(T0 + deadlineS * 1000);
      }),
    );
  });

  it('polls more often while the GET budget is idle and follows the model as it fills', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 2 * 3600, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (last, a, b) => {
          const [low, high] = a <= b ? [a, b] : [b, a];
          const gapAt = (p: number) => modelScheduler.nextCheckElapsedSeconds(last, 3, p) - last;
          // Monotone in pressure, never under the minimum gap, and exactly the model when full.
          expect(gapAt(low)).toBeLessThanOrEqual(gapAt(high) + 1e-9);
          expect(gapAt(low)).toBeGreaterThanOrEqual(minGapSeconds - 1e-9);
          expect(gapAt(1)).toBeCloseTo(modelScheduler.nextCheckElapsedSeconds(last, 3) - last, 6);
        },
      ),
    );
    expect(modelScheduler.nextCheckElapsedSeconds(600, 3, 0) - 600).toBe(minGapSeconds);
  });

  it('measures pressure against the target share of the budget', () => {
    expect(budgetPressure(0, 0.8)).toBe(0);
    expect(budgetPressure(0.4, 0.8)).toBeCloseTo(0.5, 9);
    expect(budgetPressure(0.95, 0.8)).toBe(1);
    expect(budgetPressure(Number.NaN, 0.8)).toBe(1);
  });

  it('is due immediately for a server found long after it booted', () => {
    expect(
      planFindCheck(modelScheduler, { activeSinceMs: T0, checks: 0, deadlineMs: T0 + 9e9 }, T0 + 3600e3),
    ).toEqual({ due: true });
  });
});

describe('postedProbability (batch priority)', () => {
  it('is monotone in elapsed time since the last check', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 * 3600 }),
        fc.integer({ min: 0, max: 3 * 3600 }),
        fc.integer({ min: 0, max: 3 * 3600 }),
        (lastS, aS, bS) => {
          const [early, late] = aS <= bS ? [aS, bS] : [bS, aS];
          const it = item({
            activeSince: new Date(T0).toISOString(),
            lastPasswordCheckAt: new Date(T0 + lastS * 1000).toISOString(),
          });
          const pEarly = postedProbability(it, T0 + (lastS + early) * 1000, model);
          const pLate = postedProbability(it, T0 + (lastS + late) * 1000, model);
          expect(pLate).toBeGreaterThanOrEqual(pEarly);
          expect(pEarly).toBeGreaterThanOrEqual(0);
          expect(pLate).toBeLessThanOrEqual(1);
        },
      ),
    );
  });

  it('ranks found-but-not-cleared first and verify passes last', () => {
    const now = T0 + 600e3;
    const waiting = item({ activeSince: new Date(T0).toISOString() });
    const found = item({ activeSince: new Date(T0).toISOString(), sha256: 'a'.repeat(64) });
    const verify = item({ activeSince: new Date(T0).toISOString(), phase: 'verify', sha256: 'a'.repeat(64) });
    expect(modelScheduler.priority(found, now)).toBeGreaterThan(modelScheduler.priority(waiting, now));
    expect(modelScheduler.priority(waiting, now)).toBeGreaterThan(modelScheduler.priority(verify, now));
  });
});

describe('baseline schedulers', () => {
  it('fixed polls every interval from ACTIVE on', () => {
    const fixed = createPollScheduler(parseSchedulerConfig({ ESCROW_SCHEDULER: 'fixed' }));
    expect(fixed.nextCheckElapsedSeconds(undefined, 0)).toBe(0);
    expect(fixed.nextCheckElapsedSeconds(100, 7)).toBe(105);
    expect(fixed.defersUnderLoad).toBe(false);
  });

  it('exponential doubles up to the cap', () => {
    const exp = createPollScheduler(parseSchedulerConfig({ ESCROW_SCHEDULER: 'exponential' }));
    const gaps = [1, 2, 3, 4, 10].map((n) => exp.nextCheckElapsedSeconds(1000, n) - 1000);
    expect(gaps).toEqual([5, 10, 20, 40, 300]);
  });
});

describe('posted hint share', () => {
  const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

  it('polls for the share of guests that do not notify: fewer checks, none spent on a fleet that all notifies', () => {
    const checksOver = (share: number, pressure: number): number => {
      const s = createPollScheduler(parseSchedulerConfig({ ESCROW_POSTED_HINT_SHARE: String(share) }));
      let last: number | undefined;
      let n = 0;
      for (;;) {
        const next = s.nextCheckElapsedSeconds(last, n, pressure);
        if (next > 3600) return n;
        last = next;
        n++;
      }
    };
    expect(checksOver(0.5, 1)).toBeLessThan(checksOver(0, 1));
    // An idle budget no longer shrinks the gaps of servers that would have told us.
    expect(checksOver(1, 0)).toBe(0);
    expect(checksOver(0.5, 0)).toBeLessThan(checksOver(0, 0));
    // The posting probability of a silent server is scaled by the silent share.
    const half = createPollScheduler(parseSchedulerConfig({ ESCROW_POSTED_HINT_SHARE: '0.5' }));
    const waiting = item({ activeSince: at(0) });
    expect(half.priority(waiting, T0 + 600_000)).toBeCloseTo(
      modelScheduler.priority(waiting, T0 + 600_000) / 2,
      9,
    );
  });
});

describe('the last look before the deadline', () => {
  it('leaves time to clear and verify: a far check is pulled in to 10 minutes before the deadline', () => {
    const notifying = createPollScheduler(parseSchedulerConfig({ ESCROW_POSTED_HINT_SHARE: '1' }));
    // Its safety-net check (the model's 99.9th percentile, ~107 min) would fall after this deadline.
    const deadlineMs = T0 + 3600e3;
    const plan = planFindCheck(notifying, { activeSinceMs: T0, checks: 0, deadlineMs }, T0);
    expect(plan).toEqual({ due: false, delaySeconds: 3000 });
    // Past that point, a look is due at once rather than at the deadline itself.
    expect(planFindCheck(notifying, { activeSinceMs: T0, checks: 0, deadlineMs }, T0 + 3100e3)).toEqual({
      due: true,
    });
  });
});
