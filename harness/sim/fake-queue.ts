/**
 * SQS semantics in memory: delayed sends (at most 900 s), receive hides a message for the
 * visibility timeout and counts the receive, a message received more than maxReceiveCount
 * times is moved to the DLQ by the redrive policy, delivery is at-least-once (a seeded share of
 * receives leaves a duplicate behind), and only a delete removes a message. The DLQ keeps what
 * the hook sent it. Every body that enters either queue is kept for the oracle's secret scan.
 */

import type { Random } from '../../emulator/seeded-random.ts';
import type { DeadLetter, DeadLetterQueue } from '../../lib/queue/dead-letter.ts';
import type { EnqueueOptions, EnqueueResult, WorkItem, WorkQueue } from '../../lib/queue/work-item.ts';
import { encodeWorkItem } from '../../lib/queue/work-item-codec.ts';
import type { BatchMessage } from '../../lib/worker/batch-worker.ts';
import type { FaultCounts } from './fake-cloud.ts';
import type { SimScenario } from './scenario.ts';
import type { SimLoop } from './sim-loop.ts';

const MAX_DELAY_SECONDS = 900;

interface Message {
  id: string;
  body: string;
  visibleAt: number;
  receiveCount: number;
  /** Changes on every receive; a delete with an old handle is refused, as in SQS. */
  receipt: number;
}

export interface DlqEntry {
  at: number;
  serverId: string | undefined;
  reason: string;
}

export class SimQueue implements WorkQueue {
  readonly #messages = new Map<string, Message>();
  readonly #loop: SimLoop;
  readonly #random: Random;
  readonly #scenario: SimScenario;
  readonly #faults: FaultCounts;
  readonly #lines: string[];
  readonly #dlq: SimDlq;
  #nextId = 1;
  #duplicates = 0;
  #receipts = 1;
  /** Wakes idle pollers when a message is sent. */
  onSend: (() => void) | undefined;

  constructor(args: {
    loop: SimLoop;
    random: Random;
    scenario: SimScenario;
    faults: FaultCounts;
    lines: string[];
    dlq: SimDlq;
  }) {
    this.#loop = args.loop;
    this.#random = args.random;
    this.#scenario = args.scenario;
    this.#faults = args.faults;
    this.#lines = args.lines;
    this.#dlq = args.dlq;
  }

  get size(): number {
    return this.#messages.size;
  }

  /** When the next message becomes visible (true ms), if any. */
  nextVisibleAt(): number | undefined {
    let next: number | undefined;
    for (const m of this.#messages.values()) if (next === undefined || m.visibleAt < next) next = m.visibleAt;
    return next;
  }

  // SQS calls take milliseconds; they are crash boundaries (see run-scenario.ts) but not steps.
  async enqueue(items: readonly WorkItem[], options: EnqueueOptions = {}): Promise<EnqueueResult> {
    if (
      this.#scenario.queue.enqueueFailRate > 0 &&
      this.#random.next() < this.#scenario.queue.enqueueFailRate
    ) {
      this.#faults.add('enqueue-fail');
      throw new Error('sim: SendMessageBatch failed');
    }
    const delay = Math.min(MAX_DELAY_SECONDS, Math.max(0, options.delaySeconds ?? 0));
    for (const item of items) this.#put(encodeWorkItem(item), delay * 1000);
    return { accepted: items.length, failed: [] };
  }

  #put(body: string, delayMs: number): void {
    const id = `m${this.#nextId++}`;
    this.#lines.push(body);
    this.#messages.set(id, { id, body, visibleAt: this.#loop.now() + delayMs, receiveCount: 0, receipt: 0 });
    this.onSend?.();
  }

  /** Up to `max` visible messages, hidden for the visibility timeout. */
  receive(max: number): Array<BatchMessage & { receipt: number }> {
    const now = this.#loop.now();
    const out: Array<BatchMessage & { receipt: number }> = [];
    for (const m of this.#messages.values()) {
      if (out.length >= max) break;
      if (m.visibleAt > now) continue;
      m.receiveCount++;
      if (m.receiveCount > this.#scenario.maxReceiveCount) {
        this.#messages.delete(m.id);
        this.#dlq.redrive(m.body);
        continue;
      }
      m.visibleAt = now + this.#scenario.visibilityTimeoutSeconds * 1000;
      m.receipt = this.#receipts++;
      out.push({ messageId: m.id, body: m.body, receiveCount: m.receiveCount, receipt: m.receipt });
      if (
        m.receiveCount === 1 &&
        this.#duplicates < this.#scenario.queue.maxDuplicates &&
        this.#scenario.queue.duplicateRate > 0 &&
        this.#random.next() < this.#scenario.queue.duplicateRate
      ) {
        this.#duplicates++;
        this.#faults.add('queue-duplicate');
        this.#put(m.body, this.#random.int(0, 30_000));
      }
    }
    return out;
  }

  async delete(messageId: string, receipt: number): Promise<void> {
    if (
      this.#scenario.queue.deleteFailRate > 0 &&
      this.#random.next() < this.#scenario.queue.deleteFailRate
    ) {
      this.#faults.add('queue-delete-fail');
      throw new Error('sim: DeleteMessage failed');
    }
    const m = this.#messages.get(messageId);
    if (m && m.receipt === receipt) this.#messages.delete(messageId);
  }
}

export class SimDlq implements DeadLetterQueue {
  readonly entries: DlqEntry[] = [];
  readonly #loop: SimLoop;
  readonly #lines: string[];
  readonly #trace: (line: string) => void;

  constructor(loop: SimLoop, lines: string[], trace: (line: string) => void) {
    this.#loop = loop;
    this.#lines = lines;
    this.#trace = trace;
  }

  async send(letter: DeadLetter): Promise<void> {
    this.#record(JSON.stringify(letter), letter.item?.serverId, letter.reason);
  }

  redrive(body: string): void {
    let serverId: string | undefined;
    try {
      serverId = (JSON.parse(body) as { serverId?: string }).serverId;
    } catch {
      serverId = undefined;
    }
    this.#record(body, serverId, 'max-receive-count');
  }

  #record(line: string, serverId: string | undefined, reason: string): void {
    this.#lines.push(line);
    this.entries.push({ at: this.#loop.now(), serverId, reason });
    this.#trace(`dlq ${serverId ?? '?'} ${reason}`);
  }
}
