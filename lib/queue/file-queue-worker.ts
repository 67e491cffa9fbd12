/**
 * The local counterpart of the SQS event source mapping: lease due messages from a FileQueue,
 * run them through the shared batch logic, ack what settled and retry the rest after a
 * delay (the file queue dead-letters after maxReceiveCount, like an SQS redrive policy).
 */
import type { BatchWorkerDeps } from './batch-worker.ts';
import { runBatch } from './batch-worker.ts';
import type { FileQueue } from './file-queue.ts';

export interface FileQueueWorkerOptions {
  queue: FileQueue;
  batch: BatchWorkerDeps;
  /** Messages leased per poll (default 10, like SQS). */
  batchSize?: number | undefined;
  /** Real milliseconds to wait when nothing is due (default 500). */
  idleMs?: number | undefined;
  /** Clock seconds before a transiently failed message is retried (default 30). */
  retryDelaySeconds?: number | undefined;
}

/** Leases and processes one batch; returns how many messages it handled. */
export async function drainFileQueueOnce(
  options: FileQueueWorkerOptions,
  signal?: AbortSignal,
): Promise<number> {
  const messages = await options.queue.receive(options.batchSize ?? 10);
  if (messages.length === 0) return 0;
  const result = await runBatch(messages, options.batch, signal);
  for (const message of messages) {
    if (result.dispositions.get(message.messageId) === 'ack') await options.queue.ack(message.messageId);
    else await options.queue.retry(message.messageId, options.retryDelaySeconds ?? 30);
  }
  return messages.length;
}

/** Polls until `signal` fires. A restart picks up where the directory says it left off. */
export async function runFileQueueWorker(
  options: FileQueueWorkerOptions,
  signal: AbortSignal,
): Promise<void> {
  const idleMs = options.idleMs ?? 500;
  while (!signal.aborted) {
    let handled = 0;
    try {
      handled = await drainFileQueueOnce(options, signal);
    } catch (error) {
      if (signal.aborted) return;
      options.batch.logger.error('file queue poll failed', { error });
    }
    if (handled === 0 && !signal.aborted)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, idleMs);
        function done(): void {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
      });
  }
}
