/**
 * One polling chain per server on the Lambda path, where the sweep cannot see the queue: the
 * worker keeps a watch lease in the escrow store (the Secrets Manager fake, over HTTP), the
 * sweep skips a watched server, and a duplicate chain ends quietly without losing the server.
 * The queue is a plain list, like SQS without dedupe: every enqueue is a new message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WATCH_TAG } from '../../lib/escrow/secrets-manager-store.ts';
import { DedupeCache } from '../../lib/intake/dedupe-cache.ts';
import { parseIntakeConfig } from '../../lib/intake/intake-config.ts';
import { runSweep } from '../../lib/intake/sweep.ts';
import { nullMetrics } from '../../lib/observability/metrics.ts';
import type { DeadLetter } from '../../lib/queue/dead-letter.ts';
import type { WorkItem, WorkQueue } from '../../lib/queue/work-item.ts';
import { encodeWorkItem } from '../../lib/queue/work-item-codec.ts';
import { type BatchWorkerDeps, runBatch } from '../../lib/worker/batch-worker.ts';
import { WATCH_GRACE_SECONDS } from '../../lib/worker/chain-lease.ts';
import { type PipelineStack, startPipelineStack } from '../unit/pipeline/pipeline-test-kit.ts';

let stack: PipelineStack;
beforeAll(async () => {
  // 100x: the 300 s lease grace is 3 s of real margin between two looks the test makes at once.
  stack = await startPipelineStack({ seed: 31, timeScale: 100 });
});
afterAll(async () => {
  await stack?.close();
});

describe('one polling chain per server on SQS', () => {
  let sent: WorkItem[];
  let dead: DeadLetter[];
  let batch: BatchWorkerDeps;
  const sweep = async () => {
    const report = await runSweep(
      {
        config: parseIntakeConfig({}),
        queue: batch.queue,
        bmsFor: batch.process.bmsFor,
        clock: stack.emu.clock,
        logger: stack.logger,
        metrics: nullMetrics,
        dedupe: new DedupeCache(100),
        escrow: stack.store,
      },
      { targets: [{ region: stack.emu.region, projectId: stack.emu.projectId }] },
    );
    return report.totals;
  };
  /** Delivers every message sent so far (in order) to one batch, as the event source mapping would. */
  const deliver = async (filter: (item: WorkItem) => boolean): Promise<void> => {
    const due = sent.filter(filter);
    sent = sent.filter((i) => !filter(i));
    await runBatch(
      due.map((item, n) => ({ messageId: `m${n}`, body: encodeWorkItem(item) })),
      batch,
    );
  };
  /** A Windows server past its BUILD whose guest posts only when the test says so. */
  const activeServerThatWillNotPost = async (): Promise<string> => {
    const id = stack.emu.admin.createServers({
      windows: 1,
      linux: 0,
      distribution: 'fixed',
      bootDelaySeconds: 1,
      postDelaySeconds: 10_000_000,
    }).windowsIds[0]!;
    await stack.emu.admin.idle();
    await stack.emu.clock.sleep(5000);
    return id;
  };
  const chainsOf = (serverId: string) => sent.filter((i) => i.serverId === serverId);

  beforeAll(() => {
    sent = [];
    dead = [];
    const queue: WorkQueue = {
      async enqueue(items) {
        sent.push(...items);
        return { accepted: items.length, failed: [] };
      },
    };
    batch = {
      process: stack.deps(),
      queue,
      dlq: { send: async (letter) => void dead.push(letter) },
      logger: stack.logger,
      metrics: nullMetrics,
      concurrency: 1,
      watches: stack.store.watches,
    };
  });

  it('merges the chains of repeated sweeps into one, skips a watched server, and still clears it', async () => {
    const id = await activeServerThatWillNotPost();

    // Before any chain has looked, nothing holds a lease: three sweeps, three messages.
    for (let i = 0; i < 3; i++) await sweep();
    expect(chainsOf(id)).toHaveLength(3);
    await deliver((i) => i.serverId === id);
    // The first took the lease; the other two saw it and ended: one chain goes on.
    expect(chainsOf(id)).toHaveLength(1);
    expect(dead).toEqual([]);
    const owner = chainsOf(id)[0]!.chain;
    expect(owner).toMatch(/^[0-9a-f-]{36}$/);

    // Later sweeps leave the watched server alone.
    expect((await sweep()).skipped.watched).toBeGreaterThanOrEqual(1);
    expect(chainsOf(id)).toHaveLength(1);

    expect(stack.emu.admin.guestPost(id).status).toBe(201);
    // Until the chain ends: found, escrowed, cleared and the clear verified.
    for (let round = 0; round < 40 && chainsOf(id).length > 0; round++) {
      await stack.emu.clock.sleep(20_000);
      await deliver((i) => i.serverId === id);
      expect(chainsOf(id).length).toBeLessThanOrEqual(1);
    }
    expect(stack.emu.admin.server(id)!.ciphertext).toBeNull();
    // Cleared: the lease is released, so a reinstall's event or the next sweep starts a new chain
    // at once (whether the sweep sees "cleared since launch" is the ledger's business).
    const lease = await stack.store.watches!.read({
      projectId: stack.emu.projectId,
      region: stack.emu.region,
      serverId: id,
    });
    expect(lease).toMatchObject({ chain: owner, until: 0 });
    expect((await sweep()).skipped.watched).toBe(0);
  });

  it('lets a lost chain be replaced after its lease runs out, and ends the old one if it comes back', async () => {
    const id = await activeServerThatWillNotPost();
    await sweep();
    await deliver((i) => i.serverId === id);
    const lost = chainsOf(id);
    expect(lost).toHaveLength(1);
    sent = sent.filter((i) => i.serverId !== id); // the message is lost

    expect((await sweep()).skipped.watched).toBeGreaterThanOrEqual(1);
    expect(chainsOf(id)).toHaveLength(0);
    // Past the lease (the next look was at most 900 s away, plus the grace): a new chain starts.
    await stack.emu.clock.sleep((900 + WATCH_GRACE_SECONDS + 60) * 1000);
    await sweep();
    expect(chainsOf(id)).toHaveLength(1);
    await deliver((i) => i.serverId === id);
    const successor = chainsOf(id);
    expect(successor).toHaveLength(1);
    expect(successor[0]!.chain).not.toBe(lost[0]!.chain);

    // The lost message is redelivered late: it yields to the live chain instead of doubling it.
    sent.push(lost[0]!);
    await deliver((i) => i.chain === lost[0]!.chain);
    expect(chainsOf(id).map((i) => i.chain)).toEqual([successor[0]!.chain]);
    expect(dead).toEqual([]);
  });

  it('a first message received again after its re-queue failed goes on: its own lease does not end it', async () => {
    // Sim seed 430 (leases on): the sweep's message took the lease and waited, its re-queue
    // failed, and SQS redelivered it. Under a new chain id its own lease looked foreign, it ended
    // as a duplicate, and nobody watched the server until that lease (hours, with most guests
    // expected to notify) ran out.
    const id = await activeServerThatWillNotPost();
    await sweep();
    const [first] = chainsOf(id);
    sent = sent.filter((i) => i.serverId !== id);
    const message = { messageId: 'm-again', body: encodeWorkItem(first!) };
    const refusing: WorkQueue = {
      async enqueue() {
        throw new Error('SendMessageBatch failed');
      },
    };
    const once = await runBatch([{ ...message, receiveCount: 1 }], { ...batch, queue: refusing });
    expect([...once.dispositions.values()]).toEqual(['retry']);
    expect(chainsOf(id)).toHaveLength(0);

    await runBatch([{ ...message, receiveCount: 2 }], batch);
    expect(chainsOf(id)).toHaveLength(1);
    expect(dead).toEqual([]);
  });

  it("a guest's posted hint looks at once, though the server's chain holds a live lease", async () => {
    const id = await activeServerThatWillNotPost();
    await sweep();
    await deliver((i) => i.serverId === id);
    const chain = chainsOf(id);
    expect(chain).toHaveLength(1);
    sent = sent.filter((i) => i.serverId !== id); // the chain's delayed message waits in the queue

    expect(stack.emu.admin.guestPost(id).status).toBe(201);
    const gets = () =>
      stack.emu.admin.calls().passwordEvents.filter((e) => e.serverId === id && e.method === 'GET').length;
    const before = gets();
    // Before: the hint was taken for a second chain and ended unseen; the record stayed exposed.
    sent.push({ ...stack.item(id, { source: 'posted' }) });
    await deliver((i) => i.serverId === id && i.source === 'posted');
    expect(gets()).toBeGreaterThan(before);
    for (let round = 0; round < 40 && chainsOf(id).length > 0; round++) {
      await stack.emu.clock.sleep(20_000);
      await deliver((i) => i.serverId === id);
    }
    expect(stack.emu.admin.server(id)!.ciphertext).toBeNull();
    // The chain's own message, when it wakes, finds the server done.
    sent.push(chain[0]!);
    await deliver((i) => i.serverId === id);
    expect(chainsOf(id)).toEqual([]);
    expect(dead).toEqual([]);
  });

  it('keeps the lease as a tag on the server secret, not as a secret version', async () => {
    const id = stack.emu.admin.createServers({
      windows: 1,
      linux: 0,
      bootDelaySeconds: 1,
      postDelaySeconds: 10_000_000,
    }).windowsIds[0]!;
    const ref = { projectId: stack.emu.projectId, region: stack.emu.region, serverId: id };
    await stack.store.watches!.write(ref, { chain: 'c1', until: 5 });
    await stack.store.watches!.write(ref, { chain: 'c2', until: 6 });
    expect(await stack.store.watches!.read(ref)).toEqual({ chain: 'c2', until: 6 });
    const ledger = await stack.store.ledger(ref);
    expect(ledger?.versions ?? []).toEqual([]);
    expect(WATCH_TAG).toBe('bms-password-escrow:watch');
  });
});
