/**
 * batch-cpu driver for our worker: the SQS handler's batch logic (runBatch) over the runtime
 * createWorkerRuntime builds from the environment (signed BMS client over undici, rate limiter,
 * file escrow store, SQS queue and DLQ, JSON logs and EMF metrics to stdout), on the
 * emulator's clock so that servers the parent aged are due for their first check.
 */
import { scaledClock } from '../../lib/clock.ts';
import { encodeWorkItem } from '../../lib/queue/work-item-codec.ts';
import { type BatchMessage, runBatch } from '../../lib/worker/batch-worker.ts';
import { createWorkerRuntime } from '../../lib/worker/worker-runtime.ts';
import type { BatchCase, BatchDriver } from './batch-driver.ts';

export async function createDriver(batchCase: BatchCase): Promise<BatchDriver> {
  const clock = scaledClock(batchCase.clock.scale, batchCase.clock.epochMs);
  const runtime = await createWorkerRuntime(process.env, { clock });
  let cleared = 0;
  const deps = {
    ...runtime.batch,
    onOutcome: (_item: unknown, outcome: { kind: string }) => {
      if (outcome.kind === 'cleared') cleared++;
    },
  };
  const projectId = process.env['HUAWEICLOUD_SDK_PROJECT_ID'] ?? '';
  const region = process.env['HUAWEICLOUD_SDK_REGION'] ?? '';
  return {
    prepare(serverIds) {
      const firstSeenAt = new Date(clock.now()).toISOString();
      const messages: BatchMessage[] = serverIds.map((serverId) => ({
        messageId: serverId,
        body: encodeWorkItem({
          v: 1,
          projectId,
          region,
          serverId,
          firstSeenAt,
          attempt: 0,
          source: 'direct',
        }),
      }));
      return async () => {
        const before = cleared;
        await runBatch(messages, deps);
        return cleared - before;
      };
    },
    close: () => runtime.close(),
  };
}
