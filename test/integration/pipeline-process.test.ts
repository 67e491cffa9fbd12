/**
 * The per-server state machine over real wires: the emulator over HTTP (1000x time), the
 * signed BMS client, and the Secrets Manager fake through the real AWS SDK client. Truth
 * comes from the emulator's admin surface (what was really posted and cleared) and the
 * fake's own view of the secrets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EscrowStore } from '../../lib/escrow/escrow-store.ts';
import type { BmsApi } from '../../lib/huawei/bms-types.ts';
import { processServer } from '../../lib/pipeline/process-server.ts';
import { type PipelineStack, startPipelineStack } from '../unit/pipeline/pipeline-test-kit.ts';

let stack: PipelineStack;

beforeAll(async () => {
  stack = await startPipelineStack({ seed: 7 });
});
afterAll(async () => {
  await stack?.close();
});

function oneWindows(bootDelaySeconds = 0, postDelaySeconds = 60): string {
  return stack.emu.admin.createServers({ windows: 1, linux: 0, bootDelaySeconds, postDelaySeconds })
    .windowsIds[0]!;
}

function passwordCalls(serverId: string, method: 'GET' | 'DELETE') {
  return stack.emu.admin.calls().passwordEvents.filter((e) => e.serverId === serverId && e.method === method);
}

async function versionsOf(serverId: string) {
  const ref = { projectId: stack.emu.projectId, region: stack.emu.region, serverId };
  const ledger = await stack.store.ledger(ref);
  const records = [];
  for (const v of ledger?.versions ?? []) records.push(await stack.store.read(ref, v.versionId));
  return { ledger, records };
}

/** Waits (emulator time) until the emulator has posted the server's password; returns the true ciphertext. */
async function postedCiphertext(serverId: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const truth = stack.emu.admin.server(serverId)!;
    if (truth.ciphertext) return truth.ciphertext;
    await stack.emu.clock.sleep(30_000);
  }
  throw new Error('never posted');
}

/** Sleeps (emulator time) until the model scheduler's first password check is due. */
async function untilFirstCheck(serverId: string): Promise<void> {
  const wait = stack.emu.admin.server(serverId)!.activeAt + 200e3 - stack.emu.clock.now();
  if (wait > 0) await stack.emu.clock.sleep(wait);
}

describe('processServer: happy paths', () => {
  it('escrows and clears a Windows server, then verifies the record is gone', async () => {
    const id = oneWindows(0, 60);
    const settled = await stack.runUntilSettled(stack.item(id));
    expect(settled.final).toMatchObject({ kind: 'cleared', newVersion: false });
    const truth = stack.emu.admin.server(id)!;
    expect(truth.ciphertext).toBeNull();
    expect(truth.clearedAt).not.toBeNull();
    const { ledger, records } = await versionsOf(id);
    expect(ledger?.versions).toHaveLength(1);
    expect(ledger?.versions[0]?.cleared).toBe(true);
    const posted = truth.postHistory.find((h) => h.event === 'posted');
    expect(posted).toBeDefined();
    // The escrowed ciphertext is what the guest posted (the DELETE happened after the escrow).
    expect(records[0]?.sha256).toBe(settled.item.sha256);
    if (settled.final.kind === 'cleared') {
      expect(settled.final.exposure.passwordChecks).toBe(passwordCalls(id, 'GET').length);
      expect(Date.parse(settled.final.exposure.clearedAt!)).toBeGreaterThanOrEqual(posted!.at);
    }
  });

  it('skips a Linux server without a password call', async () => {
    const id = stack.emu.admin.createServers({ windows: 0, linux: 1, bootDelaySeconds: 0 }).linuxIds[0]!;
    const settled = await stack.runUntilSettled(stack.item(id));
    expect(settled.final).toMatchObject({ kind: 'skipped', reason: 'not-windows' });
    expect(passwordCalls(id, 'GET')).toHaveLength(0);
  });

  it('waits through BUILD without password GETs, then polls with gaps that grow in the tail', async () => {
    // 50 emulated minutes of BUILD (3 s real): the first check sees BUILD on a loaded machine.
    const id = oneWindows(3000, 1500);
    // Without a rate budget the gaps are the model's alone; with one they also follow how busy
    // the budget was in the last emulated minute, which at 1000x depends on real request times.
    const deps = stack.deps({ rateBudgetFor: () => undefined }, { ESCROW_BUILD_POLL_SECONDS: '300' });
    const settled = await stack.runUntilSettled(stack.item(id), deps, 120);
    expect(settled.final.kind).toBe('cleared');
    const truth = stack.emu.admin.server(id)!;
    const gets = passwordCalls(id, 'GET');
    expect(gets.every((g) => g.time >= truth.activeAt)).toBe(true);
    // The hook's bounds on the post it cannot see: after its last empty GET, by its finding GET.
    const posted = truth.postHistory.find((h) => h.event === 'posted')!.at;
    if (settled.final.kind === 'cleared') {
      const { lastEmptyCheckAt, foundAt } = settled.final.exposure;
      expect(lastEmptyCheckAt).toBeDefined();
      expect(Date.parse(lastEmptyCheckAt!)).toBeLessThanOrEqual(posted);
      expect(Date.parse(foundAt)).toBeGreaterThanOrEqual(posted);
    }
    const reasons = settled.outcomes.map((o) => (o.kind === 'not-ready' ? o.reason : o.kind));
    expect(reasons[0]).toBe('building');
    const delays = settled.outcomes.flatMap((o) =>
      o.kind === 'not-ready' && o.reason === 'not-posted' ? [o.retryAfterSeconds] : [],
    );
    expect(delays.length).toBeGreaterThan(3);
    // Maxima, not single gaps: a timer that fires a little early can leave one short last wait.
    expect(Math.max(...delays.slice(-3))).toBeGreaterThan(Math.max(...delays.slice(1, 4)));
  });

  it('fails with deadline-exceeded (permanent) when nothing is posted in time', async () => {
    const id = oneWindows(0, 100_000);
    // Rounds are emulated time; near the deadline the last looks come close together (how close
    // depends on when the emulator's clock moved on), so allow plenty.
    const settled = await stack.runUntilSettled(
      stack.item(id),
      stack.deps({}, { ESCROW_DEADLINE_SECONDS: '900' }),
      400,
    );
    expect(settled.final).toMatchObject({ kind: 'failed', reason: 'deadline-exceeded', permanent: true });
    expect(passwordCalls(id, 'DELETE')).toHaveLength(0);
  });

  it('skips opted-out servers and projects outside the allow-list', async () => {
    const id = stack.emu.admin.createServers({
      windows: 1,
      linux: 0,
      bootDelaySeconds: 0,
      tags: { 'password-escrow': 'skip' },
    }).windowsIds[0]!;
    expect((await stack.runUntilSettled(stack.item(id))).final).toMatchObject({ reason: 'opted-out' });
    const other = stack.deps({}, { ESCROW_ALLOWED_PROJECT_IDS: 'someoneelse' });
    expect((await stack.runUntilSettled(stack.item(oneWindows()), other)).final).toMatchObject({
      reason: 'project-not-allowed',
    });
  });
});

type Step = 'get' | 'put' | 'read' | 'delete';

/** Wraps the real client and store so the signal fires right after `step` completes: a crash there. */
function crashAfter(step: Step, controller: AbortController) {
  const { huawei, store } = stack;
  const bms: BmsApi = {
    showServer: (...a) => huawei.bms.showServer(...a),
    listServers: (...a) => huawei.bms.listServers(...a),
    showJob: (...a) => huawei.bms.showJob(...a),
    getPassword: async (...a) => {
      const r = await huawei.bms.getPassword(...a);
      if (step === 'get') controller.abort(new Error('crash'));
      return r;
    },
    deletePassword: async (...a) => {
      await huawei.bms.deletePassword(...a);
      if (step === 'delete') controller.abort(new Error('crash'));
    },
  };
  const crashing: EscrowStore = {
    kind: store.kind,
    put: async (...a) => {
      const r = await store.put(...a);
      if (step === 'put') controller.abort(new Error('crash'));
      return r;
    },
    read: async (...a) => {
      const r = await store.read(...a);
      if (step === 'read') controller.abort(new Error('crash'));
      return r;
    },
    markCleared: (...a) => store.markCleared(...a),
    ledger: (...a) => store.ledger(...a),
  };
  return stack.deps({ bmsFor: () => bms, store: crashing });
}

describe('processServer: invariant 1 under crashes', () => {
  it.each<Step>(['get', 'put', 'read', 'delete'])(
    'a crash right after %s, then a rerun of the same message, clears once with one exact version',
    async (step) => {
      const id = oneWindows(0, 30);
      const ciphertext = await postedCiphertext(id);
      await untilFirstCheck(id);
      const original = stack.item(id);
      const controller = new AbortController();
      const crashed = await processServer(original, crashAfter(step, controller), controller.signal);
      expect(controller.signal.aborted).toBe(true);
      expect(crashed.outcome.kind).not.toBe('cleared');
      if (step !== 'delete') {
        expect(passwordCalls(id, 'DELETE')).toHaveLength(0);
        expect(stack.emu.admin.server(id)!.ciphertext).toBe(ciphertext);
      }

      const rerun = await stack.runUntilSettled(original);
      expect(['cleared', 'skipped']).toContain(rerun.final.kind);
      if (rerun.final.kind === 'skipped') expect(rerun.final.reason).toBe('already-cleared');
      expect(stack.emu.admin.server(id)!.ciphertext).toBeNull();
      const { ledger, records } = await versionsOf(id);
      expect(ledger?.versions).toHaveLength(1);
      expect(ledger?.versions[0]?.cleared).toBe(true);
      expect(records[0]?.ciphertext).toBe(ciphertext);
    },
  );
});

describe('processServer: duplicates, concurrency, reinstall, store trouble', () => {
  it('concurrent workers and late duplicates converge on one version and one clear', async () => {
    const id = oneWindows(0, 30);
    const ciphertext = await postedCiphertext(id);
    const extra = { activeSince: new Date(stack.emu.admin.server(id)!.activeAt).toISOString() };
    const results = await Promise.all([1, 2, 3].map(() => stack.runUntilSettled(stack.item(id, extra))));
    for (const r of results) expect(['cleared', 'skipped']).toContain(r.final.kind);
    expect(results.some((r) => r.final.kind === 'cleared')).toBe(true);
    const deletesBefore = passwordCalls(id, 'DELETE').length;
    const getsBefore = passwordCalls(id, 'GET').length;
    const late = await stack.runUntilSettled(stack.item(id, { ...extra, firstSeenAt: extra.activeSince }));
    expect(late.final).toMatchObject({ kind: 'skipped', reason: 'already-cleared' });
    expect(passwordCalls(id, 'DELETE')).toHaveLength(deletesBefore);
    // Where guests notify, the ledger is read before the GET: a `posted` hint for a server
    // cleared this launch costs no password call of the 50/min. (A chain still looks: a version
    // is marked before its DELETE goes out, so the mark alone does not prove the record empty.)
    const withHints = stack.deps({}, { ESCROW_POSTED_MODE: 'unsigned' });
    const getsNow = passwordCalls(id, 'GET').length;
    const again = await stack.runUntilSettled(
      stack.item(id, { ...extra, firstSeenAt: extra.activeSince, source: 'posted' }),
      withHints,
    );
    expect(again.final).toMatchObject({ kind: 'skipped', reason: 'already-cleared' });
    expect(passwordCalls(id, 'GET')).toHaveLength(getsNow);
    expect(getsNow).toBeGreaterThan(getsBefore);
    const { ledger, records } = await versionsOf(id);
    expect(ledger?.versions).toHaveLength(1);
    expect(records[0]?.ciphertext).toBe(ciphertext);
  });

  it('an OS reinstall posts a new password that becomes version 2', async () => {
    const id = oneWindows(0, 30);
    expect((await stack.runUntilSettled(stack.item(id))).final.kind).toBe('cleared');
    stack.emu.admin.reinstall(id, { bootDelaySeconds: 120, postDelaySeconds: 120 });
    const second = await stack.runUntilSettled(stack.item(id, { source: 'cts' }), undefined, 120);
    expect(second.final).toMatchObject({ kind: 'cleared', newVersion: true });
    const truth = stack.emu.admin.server(id)!;
    expect(truth.ciphertext).toBeNull();
    const { ledger } = await versionsOf(id);
    expect(ledger?.versions).toHaveLength(2);
    expect(ledger?.versions.every((v) => v.cleared)).toBe(true);
  });

  it('a chain that sees a reinstall counts its deadline from then: the new launch gets all of it', async () => {
    // Sim seed 501531 (leases on): the one chain that watched a server across three reinstalls
    // reached the deadline of its first launch ten minutes into the fourth, dead-lettered its
    // verify, and the guest's retried POST that followed was never looked at.
    const id = oneWindows(0, 10_000_000);
    const deps = stack.deps();
    const longAgo = new Date(stack.emu.clock.now() - (deps.deadlineSeconds + 60) * 1000).toISOString();
    const item = stack.item(id, { firstSeenAt: longAgo, launchedAt: longAgo, source: 'requeue', attempt: 9 });
    const result = await processServer(item, deps);
    expect(result.outcome.kind).toBe('not-ready');
    expect(Date.parse(result.item.firstSeenAt)).toBeGreaterThan(Date.parse(longAgo));
    // Without a reinstall the deadline stands.
    const stale = await processServer({ ...result.item, firstSeenAt: longAgo }, deps);
    expect(stale.outcome).toMatchObject({ kind: 'failed', reason: 'deadline-exceeded' });
  });

  it('a failed escrow write or a read-back mismatch never DELETEs; a later run recovers', async () => {
    const id = oneWindows(0, 30);
    const ciphertext = await postedCiphertext(id);
    await untilFirstCheck(id);
    const item = stack.item(id);

    try {
      stack.sm.faults.failNextWrites(5);
      const writeFailed = await processServer(item, stack.deps());
      expect(writeFailed.outcome).toMatchObject({
        kind: 'failed',
        reason: 'escrow-write-failed',
        permanent: false,
      });
      stack.sm.faults.reset();

      stack.sm.faults.tamperNextReads(1);
      const mismatch = await processServer(item, stack.deps());
      expect(mismatch.outcome).toMatchObject({ kind: 'failed', reason: 'escrow-mismatch', permanent: false });
    } finally {
      stack.sm.faults.reset();
    }

    expect(passwordCalls(id, 'DELETE')).toHaveLength(0);
    expect(stack.emu.admin.server(id)!.ciphertext).toBe(ciphertext);

    expect((await stack.runUntilSettled(item)).final.kind).toBe('cleared');
    const { records } = await versionsOf(id);
    expect(records.map((r) => r?.ciphertext)).toEqual([ciphertext]);
  });

  it('dry run escrows and reads back but never DELETEs', async () => {
    const id = oneWindows(0, 30);
    await postedCiphertext(id);
    const settled = await stack.runUntilSettled(stack.item(id), stack.deps({}, { DRY_RUN: 'true' }));
    expect(settled.final, JSON.stringify(settled.final)).toMatchObject({ kind: 'escrowed', dryRun: true });
    expect(passwordCalls(id, 'DELETE')).toHaveLength(0);
    expect(stack.emu.admin.server(id)!.ciphertext).not.toBeNull();
  });
});
