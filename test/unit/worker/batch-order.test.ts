/**
 * The order in which a batch spends its lanes: each free lane takes the item most likely to
 * have posted *now*. The items here are skipped before any call (project not allowed), so the
 * order is all that is observed; the scheduler's priority is a function of the clock.
 */
import { describe, expect, it } from 'vitest';
import type { BmsApi } from '../../../lib/huawei/bms-types.ts';
import { silentLogger } from '../../../lib/observability/logger.ts';
import { nullMetrics } from '../../../lib/observability/metrics.ts';
import { parseSchedulerConfig } from '../../../lib/pipeline/pipeline-config.ts';
import type { PollScheduler } from '../../../lib/pipeline/poll-schedule.ts';
import type { EscrowStore } from '../../../lib/escrow/escrow-store.ts';
import { runBatch } from '../../../lib/worker/batch-worker.ts';
import type { Clock } from '../../../lib/clock.ts';
import { workItem } from '../pipeline/work-item-fixture.ts';

describe('batch lane order', () => {
  it('gives each free lane the likeliest item at that moment, not at batch arrival', async () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    let now = start;
    const clock: Clock = { scale: 1, now: () => now, sleep: async () => {} };
    // "a" leads at arrival; after one item's worth of time, "c" overtakes "b".
    const scores: Record<string, (elapsedMs: number) => number> = {
      a: () => 3,
      b: (t) => (t === 0 ? 2 : 1),
      c: (t) => (t === 0 ? 1 : 2.5),
    };
    const scheduler: PollScheduler = {
      kind: 'model',
      config: parseSchedulerConfig({}),
      defersUnderLoad: true,
      nextCheckElapsedSeconds: () => 0,
      priority: (item, nowMs) => scores[item.serverId]!(nowMs - start),
    };
    const order: string[] = [];
    const messages = ['c', 'b', 'a'].map((id) => ({
      messageId: id,
      body: JSON.stringify(workItem({ serverId: id })),
    }));
    await runBatch(messages, {
      process: {
        bmsFor: () => ({}) as BmsApi,
        store: {} as EscrowStore,
        clock,
        policy: { optMode: 'opt-out', optTagKey: 'password-escrow', allowedProjectIds: ['another-project'] },
        scheduler,
        deadlineSeconds: 7200,
        dryRun: false,
        logger: silentLogger,
      },
      queue: { enqueue: async (items) => ({ accepted: items.length, failed: [] }) },
      dlq: { send: async () => {} },
      logger: silentLogger,
      metrics: nullMetrics,
      concurrency: 1,
      onOutcome: (item) => {
        order.push(item.serverId);
        now += 1000;
      },
    });
    expect(order).toEqual(['a', 'c', 'b']);
  });
});
