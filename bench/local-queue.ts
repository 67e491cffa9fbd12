/**
 * Local durable queue throughput: enqueue 10,000 work items (10 per call, as intake does), then
 * receive and ack them all (10 per receive, the worker's batch size), on a fresh state dir.
 *
 *   node bench/local-queue.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteQueue } from '../lib/queue/sqlite-queue.ts';
import type { WorkItem } from '../lib/queue/work-item.ts';
import type { BenchSection } from './report.ts';
import { runStandalone } from './report.ts';

export const LOCAL_QUEUE_MESSAGES = 10_000;
const BATCH = 10;

export interface BenchQueue {
  enqueue(items: readonly WorkItem[]): Promise<unknown>;
  receive(max: number): Promise<Array<{ messageId: string }>>;
  ack(messageId: string): Promise<void>;
  close?(): void;
}

export interface QueueThroughput {
  messages: number;
  enqueuePerSecond: number;
  receiveAckPerSecond: number;
  /** Set when the receive phase was cut off at the time budget (the figure is over what it did). */
  receivedBeforeCutoff?: number | undefined;
}

function item(n: number): WorkItem {
  return {
    v: 1,
    projectId: 'p1',
    region: 'cn-north-4',
    serverId: `server-${n.toString().padStart(6, '0')}`,
    firstSeenAt: '2026-01-01T00:00:00.000Z',
    attempt: 0,
    source: 'sweep',
  };
}

/** Measures one queue; the receive phase stops after `budgetMs` so a quadratic queue still ends. */
export async function measureQueue(
  open: (dir: string) => BenchQueue,
  messages = LOCAL_QUEUE_MESSAGES,
  budgetMs = 120_000,
): Promise<QueueThroughput> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-local-queue-'));
  let queue: BenchQueue | undefined;
  try {
    queue = open(dir);
    let started = performance.now();
    for (let i = 0; i < messages; i += BATCH)
      await queue.enqueue(Array.from({ length: Math.min(BATCH, messages - i) }, (_, k) => item(i + k)));
    const enqueueMs = performance.now() - started;

    started = performance.now();
    let received = 0;
    while (received < messages && performance.now() - started < budgetMs) {
      const batch = await queue.receive(BATCH);
      if (batch.length === 0) break;
      for (const m of batch) await queue.ack(m.messageId);
      received += batch.length;
    }
    const receiveMs = performance.now() - started;
    return {
      messages,
      enqueuePerSecond: Math.round((messages / enqueueMs) * 1000),
      receiveAckPerSecond: Math.round((received / receiveMs) * 1000),
      receivedBeforeCutoff: received < messages ? received : undefined,
    };
  } finally {
    queue?.close?.();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The one-file-per-message queue this replaced (lib/queue/file-queue.ts at commit cec08ad),
 * measured with this same function before it was deleted, on this 2-core machine under the
 * other helpers' load: every receive read the whole directory, so receiving was quadratic and
 * the 120 s budget ran out after 180 of the 10,000 messages.
 */
const BEFORE: QueueThroughput = {
  messages: LOCAL_QUEUE_MESSAGES,
  enqueuePerSecond: 187,
  receiveAckPerSecond: 1.5,
  receivedBeforeCutoff: 180,
};

export async function runLocalQueueBench(): Promise<BenchSection> {
  const after = await measureQueue((dir) => new SqliteQueue({ database: join(dir, 'state.db') }));
  const row = (label: string, t: QueueThroughput): string[] => [
    label,
    String(t.enqueuePerSecond),
    String(t.receiveAckPerSecond),
    t.receivedBeforeCutoff === undefined ? String(t.messages) : `${t.receivedBeforeCutoff} (cut off)`,
  ];
  return {
    id: 'local-queue',
    title: `Local durable queue, ${LOCAL_QUEUE_MESSAGES} messages`,
    status: 'ok',
    notes: [
      'before: one JSON file per message (recorded figures, implementation deleted); after: node:sqlite, WAL, synchronous=FULL',
      'enqueue 10 items per call; receive 10 per call and ack each (one transaction each)',
    ],
    tables: [
      {
        title: 'Throughput',
        columns: ['queue', 'enqueue msg/s', 'receive+ack msg/s', 'received'],
        rows: [row('before: files', BEFORE), row('after: sqlite', after)],
      },
    ],
    data: { before: BEFORE, after },
  };
}

if (import.meta.main) await runStandalone(runLocalQueueBench);
