/**
 * WorkQueue and DeadLetterQueue over Amazon SQS. Bodies are WorkItem JSON (no secrets);
 * attempt, source and (for the DLQ) reason ride as message attributes so a console or an
 * alarm can filter without parsing bodies.
 */
import {
  type MessageAttributeValue,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type Clock, systemClock } from '../clock.ts';
import type { DeadLetter, DeadLetterQueue } from './dead-letter.ts';
import type { EnqueueOptions, EnqueueResult, WorkItem, WorkQueue } from './work-item.ts';
import { encodeWorkItem } from './work-item-codec.ts';

/** SQS accepts per-message delays of 0..900 s; longer waits are chained through `notBefore`. */
export const SQS_MAX_DELAY_SECONDS = 900;
const BATCH_SIZE = 10;

export class SqsQueueError extends Error {
  override name = 'SqsQueueError';
}

export interface SqsQueueOptions {
  client: SQSClient;
  queueUrl: string;
  clock?: Clock | undefined;
}

/**
 * Splits a requested delay (in clock seconds) into what SQS can hold now (real seconds: a
 * compressed demo clock runs `scale` times faster) and, when longer than SQS allows, the
 * item's `notBefore` so the receiver re-queues it until the full wait has passed.
 */
export function clampDelay(
  item: WorkItem,
  delaySeconds: number,
  maxDelaySeconds: number,
  nowMs: number,
  scale = 1,
): { item: WorkItem; delaySeconds: number } {
  const clockSeconds = Math.max(0, Number.isFinite(delaySeconds) ? delaySeconds : 0);
  const wanted = Math.ceil(clockSeconds / scale);
  if (wanted <= maxDelaySeconds) return { item, delaySeconds: wanted };
  return {
    item: { ...item, notBefore: new Date(nowMs + clockSeconds * 1000).toISOString() },
    delaySeconds: maxDelaySeconds,
  };
}

function attributes(
  item: WorkItem,
  extra: Record<string, string> = {},
): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {
    attempt: { DataType: 'Number', StringValue: String(item.attempt) },
    source: { DataType: 'String', StringValue: item.source },
  };
  for (const [k, v] of Object.entries(extra)) out[k] = { DataType: 'String', StringValue: v };
  return out;
}

export class SqsWorkQueue implements WorkQueue {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #clock: Clock;

  constructor(options: SqsQueueOptions) {
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
    this.#clock = options.clock ?? systemClock;
  }

  async enqueue(items: readonly WorkItem[], options: EnqueueOptions = {}): Promise<EnqueueResult> {
    const result: EnqueueResult = { accepted: 0, failed: [] };
    for (let start = 0; start < items.length; start += BATCH_SIZE) {
      const chunk = items.slice(start, start + BATCH_SIZE);
      const entries: SendMessageBatchRequestEntry[] = chunk.map((original, i) => {
        const { item, delaySeconds } = clampDelay(
          original,
          options.delaySeconds ?? 0,
          SQS_MAX_DELAY_SECONDS,
          this.#clock.now(),
          this.#clock.scale,
        );
        return {
          Id: String(i),
          MessageBody: encodeWorkItem(item),
          DelaySeconds: delaySeconds,
          MessageAttributes: attributes(item),
        };
      });
      try {
        const response = await this.#client.send(
          new SendMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries: entries }),
          { abortSignal: options.signal },
        );
        result.accepted += response.Successful?.length ?? 0;
        for (const failure of response.Failed ?? []) {
          const item = chunk[Number(failure.Id)];
          result.failed.push({
            serverId: item?.serverId ?? 'unknown',
            reason: `${failure.Code ?? 'error'}${failure.SenderFault ? ' (sender fault)' : ''}`,
          });
        }
      } catch (error) {
        if (options.signal?.aborted) throw error;
        const reason = error instanceof Error ? error.name : 'send failed';
        for (const item of chunk) result.failed.push({ serverId: item.serverId, reason });
      }
    }
    return result;
  }
}

export class SqsDeadLetterQueue implements DeadLetterQueue {
  readonly #client: SQSClient;
  readonly #queueUrl: string;

  constructor(options: SqsQueueOptions) {
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
  }

  async send(letter: DeadLetter, options: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    const extra: Record<string, string> = { reason: letter.reason };
    if (letter.detail) extra['detail'] = letter.detail.slice(0, 256);
    const body = letter.item ? encodeWorkItem(letter.item) : (letter.body ?? '');
    const messageAttributes = letter.item
      ? attributes(letter.item, extra)
      : Object.fromEntries(
          Object.entries(extra).map(([k, v]) => [
            k,
            { DataType: 'String', StringValue: v } as MessageAttributeValue,
          ]),
        );
    try {
      await this.#client.send(
        new SendMessageCommand({
          QueueUrl: this.#queueUrl,
          // SQS rejects an empty body; keep the fact that it was empty.
          MessageBody: body === '' ? '(empty body)' : body,
          MessageAttributes: messageAttributes,
        }),
        { abortSignal: options.signal },
      );
    } catch (error) {
      throw new SqsQueueError(`DLQ send failed (${letter.reason})`, { cause: error });
    }
  }
}
