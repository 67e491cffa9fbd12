/**
 * The local counterpart of the SQS event source mapping: lease due messages from the SQLite
 * queue, run them through the batch logic the Lambda SQS handler uses, and apply each
 * disposition (ack, or retry later; the queue moves a message that keeps failing to its DLQ,
 * like a redrive policy). One batch at a time, so a message is never processed twice at once
 * even with a short visibility timeout.
 */
import type { Logger } from '../observability/logger.ts';
import type { ReceivedMessage, SqliteQueue } from '../queue/sqlite-queue.ts';
import type { WorkItem } from '../queue/work-item.ts';
import { type BatchWorkerDeps, runBatch } from './batch-worker.ts';

export interface QueueWorkerOptions {
  queue: SqliteQueue;
  batch: BatchWorkerDeps;
  logger: Logger;
  batchSize: number;
  /** Real milliseconds to wait when nothing is due. */
  idlePollMs: number;
  /** Clock seconds before a transiently failed message is tried again. */
  retryDelaySeconds: number;
  /** Called when the queue dead-letters a message after too many receives. */
  onDeadLettered?: ((item: WorkItem | undefined, reason: string) => void) | undefined;
  /**
   * Awaited after a batch is processed and before any of its messages is acked: whatever
   * recorded the outcomes (the status board) persists them first, so a crash between the two
   * leaves a message to redeliver rather than an outcome nobody saved.
   */
  beforeSettle?: (() => Promise<void>) | undefined;
  /** Called after every round of the loop, with its error if it failed (health reporting). */
  onRound?: ((error: unknown) => void) | undefined;
  /**
   * When nothing is due: whether a waiting item may be looked at ahead of its time on a token
   * that would otherwise go unused (batch-worker.ts spareTokenLook). Absent: never.
   */
  pullForward?: ((item: WorkItem) => boolean) | undefined;
}

function parseItem(body: string): WorkItem | undefined {
  try {
    return JSON.parse(body) as WorkItem;
  } catch {
    return undefined;
  }
}

export class QueueWorker {
  readonly #options: QueueWorkerOptions;
  /** Stops the loop between batches. */
  readonly #stop = new AbortController();
  /** Aborts the batch in progress (after the shutdown grace period). */
  readonly #abortBatch = new AbortController();
  #loop: Promise<void> | undefined;
  #batches = 0;
  /** Ends the current idle wait early (set while idling). */
  #wakeUp: (() => void) | undefined;

  constructor(options: QueueWorkerOptions) {
    this.#options = options;
  }

  /** Batches run so far (for health output). */
  get batches(): number {
    return this.#batches;
  }

  /**
   * Something was just enqueued (a `posted` hint): look at the queue now rather than after the
   * idle interval, as an SQS long poll returns when a message arrives.
   */
  wake(): void {
    this.#wakeUp?.();
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /**
   * Runs one receive-and-process round; returns how many messages it handled. `signal` cuts
   * this round short as Lambda's early timeout would (tests use it to crash a worker).
   */
  async runOnce(signal?: AbortSignal): Promise<number> {
    const { queue, batchSize, pullForward } = this.#options;
    let messages = await queue.receive(batchSize);
    // Nothing is due, and a token would go unused: the likeliest waiting server takes it. One
    // at a time, so the next round sees the budget that look left (no burst of reservations).
    const spareToken = messages.length === 0 && pullForward !== undefined;
    if (spareToken) messages = await queue.receiveAhead(1, pullForward);
    if (messages.length === 0) return 0;
    await this.#process(
      messages,
      signal ? AbortSignal.any([this.#abortBatch.signal, signal]) : this.#abortBatch.signal,
      spareToken,
    );
    return messages.length;
  }

  /**
   * Stops taking messages, lets the batch in progress finish for up to `graceMs` (real time),
   * then aborts it. Messages it did not settle are made visible again at once.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.#stop.abort(new Error('worker stopping'));
    if (!this.#loop) return;
    const timer = setTimeout(
      () => this.#abortBatch.abort(new Error('local stack is shutting down')),
      graceMs,
    );
    try {
      await this.#loop;
    } finally {
      clearTimeout(timer);
    }
  }

  async #run(): Promise<void> {
    const { logger, idlePollMs } = this.#options;
    while (!this.#stop.signal.aborted) {
      let handled = 0;
      try {
        handled = await this.runOnce();
        this.#options.onRound?.(undefined);
      } catch (error) {
        this.#options.onRound?.(error);
        logger.error('local worker round failed; trying again', { error });
      }
      if (handled === 0 && !this.#stop.signal.aborted)
        await new Promise<void>((resolve) => {
          const wake = new AbortController();
          this.#wakeUp = () => wake.abort();
          void idle(idlePollMs, AbortSignal.any([this.#stop.signal, wake.signal])).then(() => {
            this.#wakeUp = undefined;
            resolve();
          });
        });
    }
  }

  async #process(messages: ReceivedMessage[], signal: AbortSignal, spareToken: boolean): Promise<void> {
    const { queue, batch, logger, retryDelaySeconds, onDeadLettered, beforeSettle } = this.#options;
    this.#batches++;
    const result = await runBatch(
      messages.map((m) => ({
        messageId: m.messageId,
        body: m.body,
        receiveCount: m.receiveCount,
        spareToken,
      })),
      batch,
      signal,
    );
    await beforeSettle?.();
    let deadLettered = false;
    for (const message of messages) {
      const disposition = result.dispositions.get(message.messageId) ?? 'retry';
      if (disposition === 'ack') {
        await queue.ack(message.messageId);
        continue;
      }
      // Released by a shutdown: visible again at once for the next run; otherwise back off.
      // A crash (the caller's signal) waits out the retry delay as SQS would.
      const delay = this.#abortBatch.signal.aborted ? 0 : retryDelaySeconds;
      const fate = await queue.retry(message.messageId, delay);
      if (fate === 'dead-lettered') {
        const item = parseItem(message.body);
        logger.error('message moved to the local DLQ after repeated failures', {
          serverId: item?.serverId,
          receiveCount: message.receiveCount,
        });
        onDeadLettered?.(item, 'max-receive-count');
        deadLettered = true;
      }
    }
    if (deadLettered) await beforeSettle?.();
  }
}

function idle(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
