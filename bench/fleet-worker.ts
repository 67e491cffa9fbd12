/**
 * The worker process of the fleet benchmark: the local service's worker loop (QueueWorker over
 * the durable FileQueue, the shared batch logic, the signed client with its token buckets, the
 * file store) on a clock that agrees with the emulator's. It runs until SIGTERM, sampling its
 * own memory, then prints one JSON line: the peak RSS and heap it reached.
 *
 * Env: FLEET_QUEUE_DIR, FLEET_ESCROW_DIR, FLEET_CLOCK_SCALE, FLEET_CLOCK_EPOCH, plus the usual
 * HUAWEICLOUD_* and ESCROW_* variables (ESCROW_SCHEDULER picks the scheduler under test).
 */
import { resourceUsage } from 'node:process';
import { scaledClock } from '../lib/clock.ts';
import { requireString } from '../lib/config/env-parsers.ts';
import { createFileEscrowStore } from '../lib/escrow/file-store.ts';
import { QueueWorker } from '../lib/worker/file-queue-worker.ts';
import { createLogger } from '../lib/observability/logger.ts';
import { createMetrics } from '../lib/observability/metrics.ts';
import { parseSchedulerConfig } from '../lib/pipeline/pipeline-config.ts';
import { createPollScheduler } from '../lib/pipeline/poll-schedule.ts';
import { createWorkerRuntime } from '../lib/worker/worker-runtime.ts';
import { FileQueue } from '../lib/queue/file-queue.ts';

const env = process.env;
const clock = scaledClock(
  Number(requireString(env, 'FLEET_CLOCK_SCALE', 'the emulator time scale')),
  Number(requireString(env, 'FLEET_CLOCK_EPOCH', "the emulator clock's epoch (ms)")),
);
const logger = createLogger({ level: 'warn', sink: process.stderr, now: () => clock.now() });
// FLEET_QUEUE_PRIORITY=1 lets the queue hand out due messages in the scheduler's priority order
// (FileQueue's `priority` option) instead of longest-due first; by default the batch worker only
// orders within a leased batch, as it does on SQS.
const globalPriority = env['FLEET_QUEUE_PRIORITY'] === '1';
const scheduler = createPollScheduler(parseSchedulerConfig(env));
const queue = new FileQueue({
  dir: requireString(env, 'FLEET_QUEUE_DIR', 'the queue directory'),
  clock,
  priority: globalPriority ? (item, nowMs) => (item ? scheduler.priority(item, nowMs) : 0) : undefined,
});
const runtime = await createWorkerRuntime(env, {
  clock,
  logger,
  metrics: createMetrics({ sink: { write: () => true } }),
  store: createFileEscrowStore({ root: requireString(env, 'FLEET_ESCROW_DIR', 'the escrow directory') }),
  queue,
  dlq: queue,
});
const worker = new QueueWorker({
  queue,
  batch: runtime.batch,
  logger,
  batchSize: Number(env['FLEET_BATCH_SIZE'] ?? 10),
  idlePollMs: 20,
  retryDelaySeconds: 30,
});

let peakRss = 0;
let peakHeap = 0;
const sample = (): void => {
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed);
};
const sampler = setInterval(sample, 100);
worker.start();
process.stdout.write('ready\n');

process.once('SIGTERM', () => {
  void (async () => {
    await worker.stop(5000);
    clearInterval(sampler);
    sample();
    await runtime.close();
    process.stdout.write(
      `${JSON.stringify({ peakRssBytes: peakRss, peakHeapBytes: peakHeap, maxRssBytes: resourceUsage().maxRSS * 1024, batches: worker.batches })}\n`,
    );
    process.exit(0);
  })();
});
