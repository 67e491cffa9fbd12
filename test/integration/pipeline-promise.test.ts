/**
 * The promise under the faults that broke it (issue 9): an ambiguous DELETE, a 202 that
 * applies late, a reinstall while the old record is present, and bookkeeping that fails after
 * a good clear. The emulator over HTTP (1000x) is the cloud; its post history is the truth
 * every posted ciphertext is checked against.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticCredentialProvider } from '../../lib/huawei/credentials.ts';
import { type HttpTransport, UndiciTransport } from '../../lib/huawei/http-transport.ts';
import { createHuaweiClients } from '../../lib/huawei/huawei-clients.ts';
import { parseHuaweiConfig } from '../../lib/huawei/huawei-config.ts';
import { clientEnv } from '../../lib/local/emulator-env.ts';
import { processServer } from '../../lib/pipeline/process-server.ts';
import type { WorkItem } from '../../lib/queue/work-item.ts';
import { type PipelineStack, startPipelineStack } from '../unit/pipeline/pipeline-test-kit.ts';

let stack: PipelineStack;

beforeAll(async () => {
  stack = await startPipelineStack({ seed: 11 });
});
afterAll(async () => {
  await stack?.close();
});

/** A Windows server whose guest posts only when told to (admin.guestPost). */
function quietWindows(bootDelaySeconds = 0): string {
  return stack.emu.admin.createServers({
    windows: 1,
    linux: 0,
    bootDelaySeconds,
    postDelaySeconds: 10_000_000,
  }).windowsIds[0]!;
}

function deletes(serverId: string) {
  return stack.emu.admin
    .calls()
    .passwordEvents.filter((e) => e.serverId === serverId && e.method === 'DELETE');
}

/** Every ciphertext the guest ever posted is in the escrow, and nothing is on record now. */
async function expectEveryPostEscrowed(serverId: string): Promise<void> {
  const truth = stack.emu.admin.server(serverId)!;
  const posted = truth.postHistory.filter((h) => h.event === 'posted').map((h) => h.sha256);
  const ledger = await stack.store.ledger({
    projectId: stack.emu.projectId,
    region: stack.emu.region,
    serverId,
  });
  const escrowed = new Set(ledger?.versions.map((v) => v.sha256));
  for (const sha of posted) expect(escrowed.has(sha!), 'a posted ciphertext was never escrowed').toBe(true);
  expect(truth.ciphertext, 'a ciphertext is still exposed').toBeNull();
}

describe('ambiguous DELETE (issue 9, failure 1)', () => {
  it('never repeats a DELETE whose answer was lost; a post that lands meanwhile is escrowed first', async () => {
    const id = quietWindows();
    stack.emu.admin.guestPost(id);
    // A transport that, when a DELETE's answer is lost, lets the guest post again before any
    // retry could go out: a reinstall or a late 202 timed into the backoff.
    const inner = new UndiciTransport();
    const transport: HttpTransport = {
      async send(request) {
        try {
          return await inner.send(request);
        } catch (error) {
          if (request.method === 'DELETE') stack.emu.admin.guestPost(id);
          throw error;
        }
      },
      close: () => inner.close(),
    };
    const huawei = createHuaweiClients(parseHuaweiConfig({ ...clientEnv(stack.emu) }), {
      credentials: staticCredentialProvider({
        accessKey: stack.emu.accessKey,
        secretKey: stack.emu.secretKey,
      }),
      clock: stack.emu.clock,
      transport,
    });
    try {
      stack.emu.admin.setSwitches({ lostDeleteResponses: 1, lostDeleteResponseKind: 'reset' });
      // The hook never saw this launch's record empty (the repost landed right after the lost
      // DELETE), so after the clear it watches until the launch's post window closes (an hour).
      const settled = await stack.runUntilSettled(
        stack.item(id, { source: 'cli' }),
        stack.deps({ bmsFor: () => huawei.bms, rateBudgetFor: () => huawei.rateLimiter }),
        200,
      );
      expect(settled.final.kind).toBe('cleared');
      await expectEveryPostEscrowed(id);
      expect(stack.emu.admin.server(id)!.postHistory.filter((h) => h.event === 'posted')).toHaveLength(2);
    } finally {
      stack.emu.admin.setSwitches({ lostDeleteResponses: 0 });
      await huawei.close();
    }
  });

  it('a 500 after the clear: GET again finds it empty, done without a second DELETE', async () => {
    const id = quietWindows();
    stack.emu.admin.guestPost(id);
    stack.emu.admin.setSwitches({ lostDeleteResponses: 1, lostDeleteResponseKind: 'server-error' });
    try {
      const settled = await stack.runUntilSettled(stack.item(id, { source: 'cli' }));
      expect(settled.final.kind).toBe('cleared');
      expect(deletes(id)).toHaveLength(1);
      await expectEveryPostEscrowed(id);
    } finally {
      stack.emu.admin.setSwitches({ lostDeleteResponses: 0 });
    }
  });
});

describe('late 202 (issue 9, failure 1b)', () => {
  it('sends no second DELETE while the accepted one may still apply', async () => {
    const id = quietWindows();
    stack.emu.admin.guestPost(id);
    // Applies 20 emulated minutes after the 202 (1.2 s real), inside a grace period of an hour.
    stack.emu.admin.setSwitches({ deleteApplyDelaySeconds: 1200 });
    try {
      const settled = await stack.runUntilSettled(
        stack.item(id, { source: 'cli' }),
        stack.deps({}, { ESCROW_DELETE_GRACE_SECONDS: '3600' }),
        400,
      );
      expect(settled.final.kind).toBe('cleared');
      expect(deletes(id)).toHaveLength(1);
      await expectEveryPostEscrowed(id);
    } finally {
      stack.emu.admin.setSwitches({ deleteApplyDelaySeconds: 0 });
    }
  });
});

describe('reinstall while the old record is present (issue 9, failure 2)', () => {
  /** A server whose first install has posted, its record not yet looked at by the hook. */
  const postedServer = async (): Promise<{ id: string; old: string }> => {
    const id = stack.emu.admin.createServers({
      windows: 1,
      linux: 0,
      bootDelaySeconds: 0,
      postDelaySeconds: 30,
    }).windowsIds[0]!;
    await stack.emu.clock.sleep(60_000);
    const old = stack.emu.admin.server(id)!.ciphertext;
    expect(old).not.toBeNull();
    return { id, old: old! };
  };
  /** Runs the item with the production launch watch, then checks once the new OS has posted. */
  const settleAndCheck = async (item: WorkItem, postAt: number, maxRounds: number): Promise<void> => {
    const settled = await stack.runUntilSettled(
      item,
      stack.deps({}, { ESCROW_POST_CLEAR_WATCH_SECONDS: '3600' }),
      maxRounds,
    );
    expect(settled.final.kind).toBe('cleared');
    // Whatever the hook reported, by the time the new OS has posted nothing may be exposed.
    const wait = postAt + 1000 - stack.emu.clock.now();
    if (wait > 0) await stack.emu.clock.sleep(wait);
    await expectEveryPostEscrowed(item.serverId);
  };

  it('the password the reinstalled OS posts after our clear is escrowed and cleared too', async () => {
    const { id } = await postedServer();
    // 50 emulated minutes of rebuild (3 s real): the hook's first look sees it rebuilding.
    const { postAt } = stack.emu.admin.reinstall(id, { bootDelaySeconds: 3000, postDelaySeconds: 900 });
    // The reinstall's CTS event: the hook starts while the server rebuilds.
    await settleAndCheck(stack.item(id, { source: 'cts' }), postAt!, 200);
  });

  it('an item that first looks after the reinstall does not take the old record for the new OS post (sim seed 1000544)', async () => {
    const { id, old } = await postedServer();
    // Every event was lost; the rebuild finishes before anything of the hook looks (a sweep's
    // item, say), and the new OS posts 25 minutes after its boot: past the repost watch.
    const { postAt } = stack.emu.admin.reinstall(id, { bootDelaySeconds: 60, postDelaySeconds: 1500 });
    await stack.emu.clock.sleep(90_000);
    expect(stack.emu.admin.server(id)!.ciphertext).toBe(old);
    // Before: the old record, found with an empty ledger, was taken for this launch's own post;
    // clearing it ended the server, and the new OS's post stayed exposed.
    await settleAndCheck(stack.item(id, { source: 'sweep' }), postAt!, 400);
  });
});

describe('the ledger cannot be marked (issue 9, nearly full disk)', () => {
  it('sends no DELETE without the durable "DELETE sent" mark; clears once the store takes it', async () => {
    const id = quietWindows();
    stack.emu.admin.guestPost(id);
    // Every markCleared fails on the wire (the store's disk is full); put and read still work.
    const { store } = stack;
    let full = true;
    const fullDisk = {
      ...store,
      kind: store.kind,
      markCleared: (...args: Parameters<typeof store.markCleared>) => {
        if (full)
          stack.sm.faults.failNext('UpdateSecretVersionStage', 1, {
            status: 500,
            type: 'InternalServiceError',
            message: 'ENOSPC: no space left on device',
          });
        return store.markCleared(...args);
      },
    };
    try {
      const deps = stack.deps({ store: fullDisk });
      const first = await processServer(stack.item(id, { source: 'cli' }), deps);
      // Escrowed and read back, but a concurrent worker could not see a DELETE coming: none is sent.
      expect(first.outcome).toMatchObject({
        kind: 'failed',
        reason: 'escrow-write-failed',
        permanent: false,
      });
      expect(deletes(id)).toHaveLength(0);
      full = false;
      const settled = await stack.runUntilSettled({ ...first.item, attempt: 1, source: 'requeue' }, deps);
      expect(settled.final).toMatchObject({ kind: 'cleared' });
      expect(deletes(id)).toHaveLength(1);
    } finally {
      stack.sm.faults.reset();
    }
    await expectEveryPostEscrowed(id);
  });
});

describe('a DELETE whose answer was lost (sim seed 2763)', () => {
  it('is already marked in the ledger, so a concurrent worker defers instead of sending its own', async () => {
    const id = quietWindows();
    stack.emu.admin.guestPost(id);
    // The 202 applies 20 emulated minutes later and its answer is lost on the way back.
    stack.emu.admin.setSwitches({ deleteApplyDelaySeconds: 1200, lostDeleteResponses: 1 });
    try {
      const a = await processServer(stack.item(id, { source: 'cli' }), stack.deps());
      expect(a.outcome).toMatchObject({ kind: 'not-ready', reason: 'clear-pending' });
      expect(deletes(id)).toHaveLength(1);
      const ledger = await stack.store.ledger({
        projectId: stack.emu.projectId,
        region: stack.emu.region,
        serverId: id,
      });
      // Before: marked only after a DELETE answered, so B saw it unmarked and sent a second,
      // late DELETE that emptied the guest's next post.
      expect(ledger?.versions.map((v) => v.cleared)).toEqual([true]);
      const b = await processServer(stack.item(id, { source: 'cli' }), stack.deps());
      expect(b.outcome).toMatchObject({ kind: 'not-ready', reason: 'clear-pending' });
      expect(deletes(id)).toHaveLength(1);
    } finally {
      stack.emu.admin.setSwitches({ deleteApplyDelaySeconds: 0, lostDeleteResponses: 0 });
    }
  });
});
