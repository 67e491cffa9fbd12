/**
 * The local stack's path: a durable SqliteQueue drained by the shared batch logic over the
 * emulator and the Secrets Manager fake. A "restart" (a new SqliteQueue on the same file)
 * carries on with the re-queued work.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nullMetrics } from '../../lib/observability/metrics.ts';
import type { ProcessDeps } from '../../lib/pipeline/process-server.ts';
import { SqliteQueue } from '../../lib/queue/sqlite-queue.ts';
import type { WorkItem } from '../../lib/queue/work-item.ts';
import { spareTokenLook, workPriority } from '../../lib/worker/batch-worker.ts';
import { QueueWorker } from '../../lib/worker/local-queue-worker.ts';
import { type PipelineStack, startPipelineStack } from '../unit/pipeline/pipeline-test-kit.ts';

let stack: PipelineStack;
let dir: string;

beforeAll(async () => {
  stack = await startPipelineStack({ seed: 23 });
  dir = await mkdtemp(join(tmpdir(), 'file-queue-worker-'));
});
afterAll(async () => {
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

function workerFor(
  queue: SqliteQueue,
  process: ProcessDeps,
  beforeSettle?: () => Promise<void>,
  pullForward?: (item: WorkItem) => boolean,
): QueueWorker {
  return new QueueWorker({
    pullForward,
    queue,
    batch: { process, queue, dlq: queue, logger: stack.logger, metrics: nullMetrics, concurrency: 2 },
    logger: stack.logger,
    batchSize: 10,
    idlePollMs: 10,
    retryDelaySeconds: 30,
    beforeSettle,
  });
}

describe('file queue worker', () => {
  it('clears a server across a restart, with not-ready waits kept on disk', async () => {
    const id = stack.emu.admin.createServers({
      windows: 1,
      linux: 0,
      bootDelaySeconds: 100,
      // Posted by hand after the restart: at 1000× time a timed post could land before the
      // first check on a loaded machine, and then there would be nothing left to wait for.
      postDelaySeconds: 10_000_000,
    }).windowsIds[0]!;
    // No repost watch: the queue is to be empty once the clear is verified.
    const process = stack.deps({}, { ESCROW_REPOST_WATCH_SECONDS: '0' });
    const open = () =>
      new SqliteQueue({
        database: join(dir, 'state.db'),
        clock: stack.emu.clock,
        priority: (item, now) => (item ? process.scheduler.priority(item, now) : 0),
      });
    const worker = (queue: SqliteQueue) => workerFor(queue, process);

    const first = open();
    await first.enqueue([stack.item(id)]);
    expect(await worker(first).runOnce()).toBe(1); // BUILD or not posted → re-queued with a delay
    // One message still on disk; whether its delay has already run out depends on machine load.
    const depth = await first.depth();
    expect(depth.visible + depth.invisible).toBe(1);
    expect(stack.emu.admin.guestPost(id).status).toBe(201);

    const restarted = open();
    const second = worker(restarted);
    for (let i = 0; i < 60 && stack.emu.admin.server(id)!.clearedAt === null; i++) {
      if ((await second.runOnce()) === 0) await stack.emu.clock.sleep(20_000);
    }
    expect(stack.emu.admin.server(id)!.ciphertext).toBeNull();
    expect(stack.emu.admin.server(id)!.clearedAt).not.toBeNull();
    expect(await restarted.depth()).toEqual({ visible: 0, invisible: 0, deadLettered: 0 });
    expect(await restarted.deadLetters()).toEqual([]);
  });

  it('lets the outcome recorder persist before it acks (beforeSettle runs while the message is still leased)', async () => {
    const id = stack.emu.admin.createServers({ windows: 0, linux: 1, bootDelaySeconds: 0 }).linuxIds[0]!;
    await stack.emu.admin.idle();
    const process = stack.deps();
    // A lease far longer than the batch, so "still leased" cannot be a race with the 1000x clock.
    const queue = new SqliteQueue({
      database: join(dir, 'settle.db'),
      clock: stack.emu.clock,
      visibilityTimeoutSeconds: 10_000_000,
    });
    const seen: Array<{ visible: number; invisible: number; deadLettered: number }> = [];
    const worker = workerFor(queue, process, async () => {
      seen.push(await queue.depth());
    });
    await queue.enqueue([stack.item(id)]);
    expect(await worker.runOnce()).toBe(1); // Linux: skipped, acked
    expect(seen).toEqual([{ visible: 0, invisible: 1, deadLettered: 0 }]);
    expect(await queue.depth()).toEqual({ visible: 0, invisible: 0, deadLettered: 0 });
  });

  it('spends a token nothing due wants on a waiting find ahead of its schedule, under the model only', async () => {
    const id = stack.emu.admin.createServers({
      windows: 1,
      linux: 0,
      bootDelaySeconds: 0,
      postDelaySeconds: 10_000_000,
    }).windowsIds[0]!;
    await stack.emu.admin.idle();
    expect(stack.emu.admin.guestPost(id).status).toBe(201);
    const model = stack.deps({}, { ESCROW_REPOST_WATCH_SECONDS: '0' });
    const fixed = stack.deps({}, { ESCROW_SCHEDULER: 'fixed', ESCROW_REPOST_WATCH_SECONDS: '0' });
    const queue = new SqliteQueue({
      database: join(dir, 'ahead.db'),
      clock: stack.emu.clock,
      priority: workPriority(model.scheduler, model.deadlineSeconds),
    });
    // A server ACTIVE and looked at a moment ago: its next look is an hour away.
    const now = new Date(stack.emu.clock.now()).toISOString();
    await queue.enqueue(
      [stack.item(id, { source: 'requeue', activeSince: now, lastPasswordCheckAt: now, passwordChecks: 1 })],
      { delaySeconds: 3600 },
    );
    // Each round may find the one-token bucket still refilling after earlier tests: a few rounds,
    // with a token's time on the emulator clock in between; the message stays an hour away.
    const rounds = async (worker: QueueWorker): Promise<number> => {
      for (let i = 0; i < 10; i++) {
        const handled = await worker.runOnce();
        if (handled > 0) return handled;
        await stack.emu.clock.sleep(2_000);
      }
      return 0;
    };
    expect(await rounds(workerFor(queue, model))).toBe(0);
    expect(await rounds(workerFor(queue, fixed, undefined, spareTokenLook(fixed)))).toBe(0);
    expect(stack.emu.admin.server(id)!.ciphertext).not.toBeNull();

    expect(await rounds(workerFor(queue, model, undefined, spareTokenLook(model)))).toBe(1);
    expect(stack.emu.admin.server(id)!.ciphertext).toBeNull();
    expect(stack.emu.admin.server(id)!.clearedAt).not.toBeNull();
  });
});
