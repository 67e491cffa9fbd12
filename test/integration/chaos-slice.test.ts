/**
 * A short seeded slice of the fault-injection campaign (`npm run test:chaos` runs the full one):
 * fixed scenarios with every kind of fault turned on, through the whole local path against the
 * emulator, checked against the emulator's truth. Plus a control that the verdict really fails
 * when the truth shows a loss, a premature clear or a leak.
 */
import { describe, expect, it } from 'vitest';
import { checkInvariants } from '../../harness/chaos/invariants.ts';
import { runScenario } from '../../harness/chaos/run-scenario.ts';
import { drawScenario, type ScenarioSpec } from '../../harness/chaos/scenario.ts';

/** A scenario with every fault dimension switched on, at a size that runs in a few seconds. */
function everythingOn(
  seed: number,
  store: ScenarioSpec['store'],
  intake: ScenarioSpec['intake'],
): ScenarioSpec {
  return {
    ...drawScenario(seed, { maxWindows: 8 }),
    store,
    intake,
    windows: 8,
    linux: 2,
    waves: 2,
    distribution: 'fixed',
    huawei: { errorRate: 0.06, throttleRate: 0.05, resetRate: 0.04, latencyMs: 1500 },
    deletePasswordStatus: store === 'file' ? 204 : 202,
    events: { dropRate: 0.2, duplicateRate: 0.3, delayRate: 0.3 },
    storeFaults: { writeFailRate: 0.1, tamperReadRate: 0.1, latencyMs: 0 },
    crashRate: 0.03,
    reinstalls: 2,
    sweepIntervalSeconds: 600,
  };
}

describe('chaos slice', () => {
  it.each([
    [4242, 'file', 'smn'],
    [7, 'secrets-manager', 'direct'],
  ] as const)(
    'seed %i (%s store, %s intake) loses nothing and clears nothing early',
    async (seed, store, intake) => {
      const result = await runScenario(everythingOn(seed, store, intake), { timeoutSeconds: 25 });
      expect(result.check.violations).toEqual([]);
      expect(result.quiescent).toBe(true);
      expect(result.check.postedVersions).toBeGreaterThanOrEqual(8);
      expect(result.check.escrowedVersions).toBe(result.check.postedVersions);
      expect(result.check).toMatchObject({
        lost: 0,
        duplicated: 0,
        uncleared: 0,
        prematureClears: 0,
        secretsLeaked: 0,
        inFlight: 0,
      });
      // The faults really happened.
      const f = result.faults;
      expect(f.huawei5xx + f.huaweiResets).toBeGreaterThan(0);
      expect(f.reinstalls).toBe(2);
    },
    40_000,
  );

  it('the verdict catches a lost version, a premature clear and a leak', () => {
    const sha = 'a'.repeat(64);
    const result = checkInvariants({
      truths: [
        {
          id: 's1',
          name: 'bms-win-0001',
          status: 'ACTIVE',
          osType: 'Windows',
          keyName: 'k',
          jobId: 'j',
          tags: [],
          createdAt: 0,
          activeAt: 1,
          deletedAt: null,
          ciphertext: 'STILL-HERE-ciphertext',
          postedAt: 2,
          clearedAt: 10,
          nextPostAt: null,
          postHistory: [
            { at: 2, event: 'posted', source: 'cloudbase-init', sha256: sha },
            { at: 10, event: 'cleared', source: 'delete-api' },
            { at: 20, event: 'posted', source: 'reinstall', sha256: 'b'.repeat(64) },
          ],
          refusedPosts: [],
        },
      ],
      escrow: new Map(),
      passwordEvents: [{ time: 10, serverId: 's1', method: 'DELETE', status: 204 }],
      readBacks: new Map([['s1', [{ sha256: sha, passwordEventIndex: 1 }]]]),
      outputs: { logs: ['{"message":"oops SECRET-PASSWORD-123 leaked"}'] },
      secrets: [{ kind: 'plaintext password', value: 'SECRET-PASSWORD-123' }],
      queuedMessages: 1,
      deadLetters: [{ reason: '' }],
    });
    expect(result).toMatchObject({
      lost: 2,
      uncleared: 1,
      prematureClears: 1,
      secretsLeaked: 1,
      inFlight: 1,
    });
    expect(result.violations.some((v) => v.includes('no reason'))).toBe(true);
  });
});
