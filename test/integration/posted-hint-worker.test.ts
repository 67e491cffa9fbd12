/**
 * How the worker treats a guest's "posted" hint (source 'posted'), over real wires (the emulator
 * over HTTP, the Secrets Manager fake): it goes first in its batch and spends one GET at once;
 * finding nothing it is dropped without a new message (the server's own chain goes on); finding
 * the record it escrows, clears and verifies like any item. The chain that wakes afterwards sees
 * the cleared escrow and stops without a password GET (only when posted notifications are on).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nullMetrics } from '../../lib/observability/metrics.ts';
import { DEFAULT_REPOST_WATCH_SECONDS } from '../../lib/pipeline/pipeline-config.ts';
import { processServer } from '../../lib/pipeline/process-server.ts';
import type { DeadLetter } from '../../lib/queue/dead-letter.ts';
import type { WorkItem } from '../../lib/queue/work-item.ts';
import { encodeWorkItem } from '../../lib/queue/work-item-codec.ts';
import { runBatch } from '../../lib/worker/batch-worker.ts';
import { RecordingQueue } from '../unit/intake/intake-test-kit.ts';
import { type PipelineStack, startPipelineStack } from '../unit/pipeline/pipeline-test-kit.ts';

let stack: PipelineStack;
const REPOST_WATCH_MS = DEFAULT_REPOST_WATCH_SECONDS * 1000;
beforeAll(async () => {
  stack = await startPipelineStack({ seed: 17 });
});
afterAll(async () => {
  await stack?.close();
});

const NEVER = 10_000_000;

function windows(): string {
  return stack.emu.admin.createServers({ windows: 1, linux: 0, bootDelaySeconds: 0, postDelaySeconds: NEVER })
    .windowsIds[0]!;
}

const gets = (id: string) =>
  stack.emu.admin.calls().passwordEvents.filter((e) => e.serverId === id && e.method === 'GET');

function batchDeps(queue: RecordingQueue, dead: DeadLetter[], ledgerBeforeFind = true) {
  return {
    process: stack.deps({ ledgerBeforeFind }),
    queue,
    dlq: { send: async (letter: DeadLetter) => void dead.push(letter) },
    logger: stack.logger,
    metrics: nullMetrics,
    concurrency: 1,
  };
}

const message = (item: WorkItem, id = item.serverId) => ({
  messageId: `m-${id}-${item.source}`,
  body: encodeWorkItem(item),
});

describe('posted hints in the worker', () => {
  it('a hint before the post spends one GET and is dropped: no new message, no DLQ', async () => {
    const id = windows();
    const queue = new RecordingQueue();
    const dead: DeadLetter[] = [];
    const result = await runBatch([message(stack.item(id, { source: 'posted' }))], batchDeps(queue, dead));
    expect([...result.dispositions.values()]).toEqual(['ack']);
    expect(gets(id)).toHaveLength(1);
    expect(queue.items).toEqual([]);
    expect(dead).toEqual([]);
  });

  it('goes first in its batch, ahead of a due chain item', async () => {
    const chainId = windows();
    const hintId = windows();
    const chain = stack.item(chainId, { source: 'requeue', attempt: 3 });
    const hint = stack.item(hintId, { source: 'posted' });
    await runBatch([message(chain), message(hint)], batchDeps(new RecordingQueue(), []));
    const order = stack.emu.admin
      .calls()
      .passwordEvents.filter((e) => e.serverId === chainId || e.serverId === hintId)
      .map((e) => e.serverId);
    expect(order[0]).toBe(hintId);
  });

  it('after the post: the hint clears the record; the chain then stops after one empty GET, a second hint with none', async () => {
    const id = windows();
    // The server's own chain has looked once, found nothing, and waits.
    const first = await processServer(stack.item(id), stack.deps({ ledgerBeforeFind: true }));
    expect(first.outcome).toMatchObject({ kind: 'not-ready', reason: 'not-posted' });
    expect(stack.emu.admin.guestPost(id).accepted).toBe(true);

    const queue = new RecordingQueue();
    await runBatch([message(stack.item(id, { source: 'posted' }))], batchDeps(queue, []));
    const truth = stack.emu.admin.server(id)!;
    expect(truth.ciphertext).toBeNull();
    expect(truth.clearedAt).not.toBeNull();
    // Whatever verify or repost watch is left is an ordinary item now, not a hint.
    expect(queue.items.length).toBeGreaterThan(0);
    for (const item of queue.items) {
      expect(item.source).toBe('requeue');
      expect(['verify', 'watch']).toContain(item.phase);
    }

    // Inside the repost watch after that clear the chain looks too (a copy of an older item
    // cannot tell whether the item that watches is still queued: sim seed 17); after it, no GET.
    await stack.emu.clock.sleep(REPOST_WATCH_MS);
    const getsBefore = gets(id).length;
    const chain = { ...first.item, attempt: 1, source: 'requeue' as const };
    const later = await processServer(chain, stack.deps({ ledgerBeforeFind: true }));
    expect(later.outcome).toEqual({ kind: 'skipped', reason: 'already-cleared' });
    // One empty GET: a version is marked before its DELETE goes out, so the mark alone does not
    // prove the record empty (a worker may have died in between). A second hint costs none.
    expect(gets(id)).toHaveLength(getsBefore + 1);
    const hint = await processServer(
      stack.item(id, { source: 'posted' }),
      stack.deps({ ledgerBeforeFind: true }),
    );
    expect(hint.outcome).toEqual({ kind: 'skipped', reason: 'already-cleared' });
    expect(gets(id)).toHaveLength(getsBefore + 1);
  });

  it('a hint received again (its continuation was never queued) looks for itself: its own mark does not end it', async () => {
    // Sim seeds 500905 and 501285: the hint found the record and cleared it, then its re-queue
    // failed, so SQS redelivers the original hint message. Its server's other chain may not
    // exist (the create event was lost), and the ledger shows the hint's own clear.
    const id = windows();
    expect(stack.emu.admin.guestPost(id).accepted).toBe(true);
    const hint = message(stack.item(id, { source: 'posted' }));
    const refusing = new RecordingQueue();
    refusing.failNext.add(id);
    const first = await runBatch([{ ...hint, receiveCount: 1 }], batchDeps(refusing, []));
    expect([...first.dispositions.values()]).toEqual(['retry']);
    expect(stack.emu.admin.server(id)!.ciphertext).toBeNull();
    // The plugin runs again after a reboot: a new password in the same launch, after our clear.
    expect(stack.emu.admin.guestPost(id).accepted).toBe(true);
    await stack.emu.clock.sleep(REPOST_WATCH_MS);

    const getsBefore = gets(id).length;
    await runBatch([{ ...hint, receiveCount: 2 }], batchDeps(new RecordingQueue(), []));
    expect(gets(id).length).toBeGreaterThan(getsBefore);
    expect(stack.emu.admin.server(id)!.ciphertext).toBeNull();
  });

  it('a signed "settled" hint: the find and the verify, then done without a repost watch', async () => {
    /** Runs the hint, then every continuation it queues, on the emulator's clock; the last outcome. */
    const run = async (hint: WorkItem) => {
      const outcomes: string[] = [];
      let batch = [message(hint)];
      for (let round = 0; batch.length > 0 && round < 50; round++) {
        const queue = new RecordingQueue();
        await runBatch(batch, {
          ...batchDeps(queue, []),
          onOutcome: (_item, outcome) => void outcomes.push(outcome.kind),
        });
        batch = queue.items.map((item, i) => message(item, `${item.serverId}-${round}-${i}`));
        await stack.emu.clock.sleep(60_000);
      }
      return outcomes;
    };
    const watched = windows();
    const settled = windows();
    for (const id of [watched, settled]) expect(stack.emu.admin.guestPost(id).accepted).toBe(true);
    const now = new Date(stack.emu.clock.now()).toISOString();

    const withWatch = await run(stack.item(watched, { source: 'posted' }));
    const withoutWatch = await run(stack.item(settled, { source: 'posted', guestSettledAt: now }));
    for (const id of [watched, settled]) expect(stack.emu.admin.server(id)!.ciphertext).toBeNull();
    expect(withWatch.at(-1)).toBe('cleared');
    expect(withoutWatch.at(-1)).toBe('cleared');
    // The find and the verify; without the guest's word, the repost watch's GETs on top.
    expect(gets(settled)).toHaveLength(2);
    expect(gets(watched).length).toBeGreaterThan(2);
  });

  it('with posted notifications off, the chain keeps its GET (behaviour as before)', async () => {
    const id = windows();
    const first = await processServer(stack.item(id), stack.deps());
    expect(stack.emu.admin.guestPost(id).accepted).toBe(true);
    await runBatch(
      [message(stack.item(id, { source: 'posted' }))],
      batchDeps(new RecordingQueue(), [], false),
    );
    expect(stack.emu.admin.server(id)!.ciphertext).toBeNull();
    await stack.emu.clock.sleep(REPOST_WATCH_MS);
    const getsBefore = gets(id).length;
    const later = await processServer({ ...first.item, attempt: 1, source: 'requeue' }, stack.deps());
    expect(later.outcome).toEqual({ kind: 'skipped', reason: 'already-cleared' });
    expect(gets(id)).toHaveLength(getsBefore + 1);
  });
});
