/**
 * The deterministic simulator (harness/sim/) in CI: a fixed range of scenarios must show no
 * violation, the same seed must replay step for step, and the oracle must bite when the escrow
 * store lies.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { runCampaign } from '../../harness/sim/campaign.ts';
import type { SimServer } from '../../harness/sim/fake-cloud.ts';
import { Oracle } from '../../harness/sim/oracle.ts';
import { runSimScenario } from '../../harness/sim/run-scenario.ts';
import { quietScenario, type SimScenario } from '../../harness/sim/scenario.ts';

describe('simulator', () => {
  it('finds no violation in 1,000 seeded scenarios (seeds 1..1000)', { timeout: 600_000 }, async () => {
    const summary = await runCampaign(1, 1000, { jobs: 2 });
    const failing = summary.failingSeeds.slice(0, 10).join(' ');
    expect({ ...summary.violations, failing }).toEqual({
      lost: 0,
      premature: 0,
      leaked: 0,
      unfinished: 0,
      failing: '',
    });
    expect(summary.scenarios).toBe(1000);
  });

  it('replays a seed step for step', async () => {
    const a = await runSimScenario(4242, { fullTrace: true });
    const b = await runSimScenario(4242, { fullTrace: true });
    expect(a.trace.length).toBeGreaterThan(20);
    expect(b.trace).toEqual(a.trace);
    expect(b.steps).toBe(a.steps);
    expect([...b.faults]).toEqual([...a.faults]);
    const other = await runSimScenario(4243, { fullTrace: true });
    expect(other.trace).not.toEqual(a.trace);
  });

  it('catches a store that acknowledges puts it never made durable (lost and premature)', async () => {
    const result = await runSimScenario(7, { brokenStore: true, tweak: quietScenario });
    const kinds = new Set(result.violations.map((v) => v.kind));
    expect(result.posts).toBeGreaterThan(0);
    expect(kinds).toContain('premature');
    expect(kinds).toContain('lost');
    // The same scenario with the faithful store is clean: the violations are the store's doing.
    const honest = await runSimScenario(7, { tweak: quietScenario });
    expect(honest.violations).toEqual([]);
  });

  it("models the guest's posted notification: settled hints end chains, and the oracle still bites", async () => {
    // Every guest runs the snippet and every notification arrives, signed.
    const notifying = (s: SimScenario): void => {
      quietScenario(s);
      s.posted = { ...s.posted, snippetShare: 1, mode: 'hmac', lossRate: 0, guestSkewMs: 0 };
    };
    const honest = await runSimScenario(7, { tweak: notifying });
    expect(honest.violations).toEqual([]);
    expect(honest.faults.get('posted-sent-settled')).toBeGreaterThan(0);
    expect(honest.faults.get('posted-answer-202')).toBeGreaterThan(0);
    expect(honest.faults.get('posted-settled-chain-cleared')).toBeGreaterThan(0);
    // The guest's word is never the oracle's: a store that loses puts is caught all the same.
    const broken = await runSimScenario(7, { tweak: notifying, brokenStore: true });
    expect(new Set(broken.violations.map((v) => v.kind))).toEqual(new Set(['premature', 'lost']));
  });
});

describe('simulator oracle', () => {
  const server = (record?: string): SimServer => ({
    id: 's-1',
    name: 'sim-1',
    windows: true,
    status: 'ACTIVE',
    taskState: null,
    launchedAt: 0,
    launch: 1,
    record,
    pendingClears: 0,
  });
  const ciphertext = `${'Q'.repeat(342)}==`;

  it('calls a clear of a ciphertext that was escrowed but not read back premature', () => {
    const oracle = new Oracle(() => 0, []);
    const s = server(ciphertext);
    oracle.onPost(s, ciphertext);
    const sha = createHash('sha256').update(ciphertext).digest('hex');
    oracle.onDurable(s.id, sha);
    oracle.onClear(s, ciphertext, 'immediate', false);
    expect(oracle.violations.map((v) => v.detail)).toEqual([
      `sim-1 launch 1: cleared ${sha.slice(0, 8)} (immediate), escrowed but never read back`,
    ]);
    // Once read back, the same clear is fine.
    oracle.onReadBack(s.id, sha);
    oracle.onClear(s, ciphertext, 'immediate', false);
    expect(oracle.violations).toHaveLength(1);
  });

  it('reports a ciphertext prefix in an emitted line as leaked, and a redacted one as clean', () => {
    const oracle = new Oracle(() => 0, ['simsk-secret-key-0123']);
    oracle.onPost(server(ciphertext), ciphertext);
    oracle.scanLines(['{"message":"ok","password":"[REDACTED]"}'], 0, 'log');
    expect(oracle.violations).toEqual([]);
    oracle.scanLines([`{"detail":"${ciphertext.slice(0, 40)}"}`], 0, 'log');
    oracle.scanLines(['{"sk":"simsk-secret-key-0123"}'], 0, 'log');
    expect(oracle.violations.map((v) => v.kind)).toEqual(['leaked', 'leaked']);
  });

  it('at quiescence, an exposed record with no DLQ letter since its post is unfinished and its post lost', () => {
    const oracle = new Oracle(() => 0, []);
    const s = server(ciphertext);
    oracle.onPost(s, ciphertext);
    oracle.atQuiescence([s], [{ at: -1, serverId: s.id, reason: 'deadline-exceeded' }]);
    expect(oracle.violations.map((v) => v.kind).sort()).toEqual(['lost', 'unfinished']);
  });
});
