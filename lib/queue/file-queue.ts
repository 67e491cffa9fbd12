/**
 * A durable local queue for the CLI's `serve` mode and the demo: one JSON file per message
 * in a directory, so a restarted process finds its work where it left it. Semantics follow
 * SQS closely enough for the shared batch worker: per-message delays, a visibility lease on
 * receive, ack deletes, a failed message is retried until maxReceiveCount and then moves to
 * the DLQ directory with its reason.
 *
 * Every write is temp file + fsync + rename (+ directory fsync), so a crash leaves either the
 * old or the new file, never a torn one. One process owns a directory.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Clock, systemClock } from '../clock.ts';
import type { DeadLetter, DeadLetterQueue } from './dead-letter.ts';
import type { EnqueueOptions, EnqueueResult, WorkItem, WorkQueue } from './work-item.ts';
import { encodeWorkItem } from './work-item-codec.ts';

export interface FileQueueOptions {
  dir: string;
  clock?: Clock | undefined;
  /** Seconds a received message stays invisible before it is redelivered (default 60). */
  visibilityTimeoutSeconds?: number | undefined;
  /** Receives after which a retried message goes to the DLQ (default 5). */
  maxReceiveCount?: number | undefined;
  /** Higher first among due messages; default: the longest-due first. */
  priority?: ((item: WorkItem | undefined, nowMs: number) => number) | undefined;
}

export interface ReceivedMessage {
  messageId: string;
  body: string;
  receiveCount: number;
}

interface StoredMessage {
  id: string;
  body: string;
  visibleAt: number;
  receiveCount: number;
  enqueuedAt: number;
}

export interface StoredDeadLetter extends DeadLetter {
  id: string;
  at: string;
}

export class FileQueueError extends Error {
  override name = 'FileQueueError';
}

export class FileQueue implements WorkQueue, DeadLetterQueue {
  readonly dir: string;
  readonly #clock: Clock;
  readonly #visibilityMs: number;
  readonly #maxReceiveCount: number;
  readonly #priority: FileQueueOptions['priority'];
  #ready: Promise<void> | undefined;
  #seq = 0;

  constructor(options: FileQueueOptions) {
    this.dir = options.dir;
    this.#clock = options.clock ?? systemClock;
    this.#visibilityMs = (options.visibilityTimeoutSeconds ?? 60) * 1000;
    this.#maxReceiveCount = options.maxReceiveCount ?? 5;
    this.#priority = options.priority;
  }

  get #messages(): string {
    return join(this.dir, 'messages');
  }
  get #dlq(): string {
    return join(this.dir, 'dlq');
  }
  get #tmp(): string {
    return join(this.dir, 'tmp');
  }

  #init(): Promise<void> {
    this.#ready ??= (async () => {
      for (const d of [this.#messages, this.#dlq, this.#tmp]) await mkdir(d, { recursive: true });
      // Leftovers of a crash mid-write: their rename never happened, so they hold nothing.
      await rm(this.#tmp, { recursive: true, force: true });
      await mkdir(this.#tmp, { recursive: true });
    })();
    return this.#ready;
  }

  async enqueue(items: readonly WorkItem[], options: EnqueueOptions = {}): Promise<EnqueueResult> {
    await this.#init();
    const result: EnqueueResult = { accepted: 0, failed: [] };
    const delayMs = Math.max(0, Math.ceil(options.delaySeconds ?? 0)) * 1000;
    for (const item of items) {
      if (options.signal?.aborted) throw options.signal.reason;
      const now = this.#clock.now();
      const message: StoredMessage = {
        id: this.#newId(now),
        body: encodeWorkItem(item),
        visibleAt: now + delayMs,
        receiveCount: 0,
        enqueuedAt: now,
      };
      try {
        await this.#write(this.#messages, message.id, message);
        result.accepted++;
      } catch (error) {
        result.failed.push({
          serverId: item.serverId,
          reason: error instanceof Error ? error.name : 'write failed',
        });
      }
    }
    return result;
  }

  /** Leases up to `max` due messages, highest priority first. */
  async receive(max: number): Promise<ReceivedMessage[]> {
    await this.#init();
    const now = this.#clock.now();
    const due: Array<{ message: StoredMessage; priority: number }> = [];
    for (const message of await this.#list()) {
      if (message.visibleAt > now) continue;
      let item: WorkItem | undefined;
      try {
        item = JSON.parse(message.body) as WorkItem;
      } catch {
        item = undefined;
      }
      due.push({ message, priority: this.#priority ? this.#priority(item, now) : 0 });
    }
    due.sort((a, b) => b.priority - a.priority || a.message.visibleAt - b.message.visibleAt);
    const out: ReceivedMessage[] = [];
    for (const { message } of due.slice(0, Math.max(0, max))) {
      const leased = {
        ...message,
        visibleAt: now + this.#visibilityMs,
        receiveCount: message.receiveCount + 1,
      };
      await this.#write(this.#messages, message.id, leased);
      out.push({ messageId: message.id, body: message.body, receiveCount: leased.receiveCount });
    }
    return out;
  }

  /** Deletes a processed message. Acking an unknown id is a no-op (it was acked already). */
  async ack(messageId: string): Promise<void> {
    await this.#init();
    await rm(join(this.#messages, fileName(messageId)), { force: true });
  }

  /**
   * Makes a failed message visible again after `delaySeconds`, or moves it to the DLQ once it
   * has been received maxReceiveCount times (SQS redrive semantics).
   */
  async retry(messageId: string, delaySeconds: number): Promise<'retried' | 'dead-lettered'> {
    await this.#init();
    const message = await this.#readMessage(messageId);
    if (!message) return 'retried';
    if (message.receiveCount >= this.#maxReceiveCount) {
      await this.#writeDeadLetter({ body: message.body, reason: 'max-receive-count' });
      await this.ack(messageId);
      return 'dead-lettered';
    }
    await this.#write(this.#messages, messageId, {
      ...message,
      visibleAt: this.#clock.now() + Math.max(0, delaySeconds) * 1000,
    });
    return 'retried';
  }

  async send(letter: DeadLetter, options: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    if (options.signal?.aborted) throw options.signal.reason;
    await this.#init();
    await this.#writeDeadLetter(letter);
  }

  async deadLetters(): Promise<StoredDeadLetter[]> {
    await this.#init();
    const out: StoredDeadLetter[] = [];
    for (const name of (await readdir(this.#dlq)).sort()) {
      if (!name.endsWith('.json')) continue;
      out.push(JSON.parse(await readFile(join(this.#dlq, name), 'utf8')) as StoredDeadLetter);
    }
    return out;
  }

  /** Counts for status displays: visible now, delayed or leased. */
  async depth(): Promise<{ visible: number; invisible: number }> {
    await this.#init();
    const now = this.#clock.now();
    let visible = 0;
    let invisible = 0;
    for (const m of await this.#list()) {
      if (m.visibleAt <= now) visible++;
      else invisible++;
    }
    return { visible, invisible };
  }

  async #writeDeadLetter(letter: DeadLetter): Promise<void> {
    const at = new Date(this.#clock.now());
    const id = this.#newId(at.getTime());
    const stored: StoredDeadLetter = { id, at: at.toISOString(), ...letter };
    await this.#write(this.#dlq, id, stored);
  }

  /** Sortable: clock time, then a per-process sequence for ties, then randomness for uniqueness. */
  #newId(nowMs: number): string {
    this.#seq = (this.#seq + 1) % 1_000_000;
    return `${nowMs.toString().padStart(15, '0')}-${this.#seq.toString().padStart(6, '0')}-${randomUUID()}`;
  }

  async #list(): Promise<StoredMessage[]> {
    const out: StoredMessage[] = [];
    for (const name of await readdir(this.#messages)) {
      if (!name.endsWith('.json')) continue;
      const message = await this.#readMessage(name.slice(0, -'.json'.length));
      if (message) out.push(message);
    }
    return out;
  }

  async #readMessage(id: string): Promise<StoredMessage | undefined> {
    const path = join(this.#messages, fileName(id));
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new FileQueueError(`cannot read message ${id}`, { cause: error });
    }
    try {
      return JSON.parse(text) as StoredMessage;
    } catch {
      // Writes are atomic, so this is outside interference: keep the bytes, out of the way.
      await this.#writeDeadLetter({ body: text, reason: 'corrupt-message-file' });
      await rm(path, { force: true });
      return undefined;
    }
  }

  async #write(dir: string, id: string, value: unknown): Promise<void> {
    const tmp = join(this.#tmp, `${fileName(id)}.${randomUUID()}`);
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(value)}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, join(dir, fileName(id)));
    await syncDir(dir);
  }
}

function fileName(id: string): string {
  if (!/^[A-Za-z0-9-]+$/.test(id)) throw new FileQueueError('invalid message id');
  return `${id}.json`;
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic there.
  } finally {
    await handle.close();
  }
}
