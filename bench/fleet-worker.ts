/**
 * The worker process of the fleet benchmark: the local service's worker loop (QueueWorker over
 * the durable SQLite queue, the shared batch logic, the signed client with its token buckets, the
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
import { createLogger } from '../lib/observability/logger.ts';
import { createMetrics } from '../lib/observability/metrics.ts';
import { parsePipelineConfig } from '../lib/pipeline/pipeline-config.ts';
import { createPollScheduler } from '../lib/pipeline/poll-schedule.ts';
import { SqliteQueue } from '../lib/queue/sqlite-queue.ts';
import { spareTokenLook, workPriority } from '../lib/worker/batch-worker.ts';
import { QueueWorker } from '../lib/worker/local-queue-worker.ts';
import { createWorkerRuntime } from '../lib/worker/worker-runtime.ts';

const env = process.env;
const clock = scaledClock(
  Number(requireString(env, 'FLEET_CLOCK_SCALE', 'the emulator time scale')),
  Number(requireString(env, 'FLEET_CLOCK_EPOCH', "the emulator clock's epoch (ms)")),
);
const logger = createLogger({ level: 'warn', sink: process.stderr, now: () => clock.now() });
const config = parsePipelineConfig(env);
const queue = new SqliteQueue({
  database: requireString(env, 'FLEET_QUEUE_FILE', 'the queue database file'),
  clock,
  // As in the local stack (local-stack.ts): the likeliest due servers of the whole fleet first.
  priority: workPriority(createPollScheduler(config.scheduler), config.deadlineSeconds),
});
const runtime = await createWorkerRuntime(env, {
  config,
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
  pullForward: spareTokenLook(runtime.process),
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
// The bench writes a line whenever it enqueues a `posted` hint.
process.stdin.on('data', () => worker.wake());
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
