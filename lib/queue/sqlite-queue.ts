/**
 * The local durable queue for `serve`, the demo and the `sweep` command: SQS semantics close
 * enough for the shared batch worker (per-message delays, a visibility lease on receive, ack
 * deletes, a message that keeps failing moves to the dead letters after maxReceiveCount), in
 * one SQLite database (sqlite-database.ts). Each receive, ack, retry and dead-letter is one
 * transaction, so a crash leaves a message either before or after the step, never between.
 *
 * One chain per server: a server is watched by one line of messages (each "not ready yet"
 * re-queues its successor). A fresh item (intake, sweep) for a server that already has a
 * message waiting merges into it; a continuation (source 'requeue', which carries the chain's
 * state) replaces any waiting message of that server. A message being processed (leased) is
 * not "waiting": a fresh item beside it survives unless that message's own continuation
 * replaces it, so an event arriving while the last look is in progress is never lost.
 */
import { type Clock, systemClock } from '../clock.ts';
import type { DeadLetter, DeadLetterQueue } from './dead-letter.ts';
import { SqliteDatabase } from './sqlite-database.ts';
import type { EnqueueOptions, EnqueueResult, WorkItem, WorkQueue } from './work-item.ts';
import { encodeWorkItem } from './work-item-codec.ts';

export interface SqliteQueueOptions {
  /** An open state database (shared with the local stack), or the file to open. */
  database: SqliteDatabase | string;
  clock?: Clock | undefined;
  /** Seconds a received message stays invisible before it is redelivered (default 60). */
  visibilityTimeoutSeconds?: number | undefined;
  /** Receives after which a retried message goes to the dead letters (default 5). */
  maxReceiveCount?: number | undefined;
  /** Higher first among due messages (reads every due message); default: longest-due first. */
  priority?: ((item: WorkItem | undefined, nowMs: number) => number) | undefined;
}

export interface ReceivedMessage {
  messageId: string;
  body: string;
  receiveCount: number;
}

export interface StoredDeadLetter extends DeadLetter {
  id: string;
  at: string;
}

interface MessageRow {
  id: number;
  body: unknown;
  visible_at: number;
  receive_count: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS queue_messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  body TEXT NOT NULL,
  chain_key TEXT,
  visible_at INTEGER NOT NULL,
  lease_until INTEGER,
  receive_count INTEGER NOT NULL DEFAULT 0,
  enqueued_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_messages_due ON queue_messages (visible_at, id);
CREATE INDEX IF NOT EXISTS queue_messages_chain ON queue_messages (chain_key);
CREATE TABLE IF NOT EXISTS queue_dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  reason TEXT NOT NULL,
  detail TEXT,
  item TEXT,
  body TEXT
);`;

/** Waiting = not leased right now (never received, retried, or its lease ran out). */
const WAITING = '(lease_until IS NULL OR lease_until <= ?)';

/**
 * A guest's "posted" hint (source 'posted') is a one-shot look, not a chain: it has a key of its
 * own, so a waiting chain message does not swallow it and the chain's re-queue does not delete
 * it, while a second hint for the same server merges into the first.
 */
function chainKey(item: WorkItem): string {
  const server = `${item.projectId}/${item.region}/${item.serverId}`;
  return item.source === 'posted' ? `posted:${server}` : server;
}

/** Rows written by hand or by an older version may hold anything; the worker validates bodies. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return String(value);
}

export class SqliteQueue implements WorkQueue, DeadLetterQueue {
  readonly db: SqliteDatabase;
  readonly #clock: Clock;
  readonly #visibilityMs: number;
  readonly #maxReceiveCount: number;
  readonly #priority: SqliteQueueOptions['priority'];

  constructor(options: SqliteQueueOptions) {
    this.db = typeof options.database === 'string' ? new SqliteDatabase(options.database) : options.database;
    this.#clock = options.clock ?? systemClock;
    this.#visibilityMs = (options.visibilityTimeoutSeconds ?? 60) * 1000;
    this.#maxReceiveCount = options.maxReceiveCount ?? 5;
    this.#priority = options.priority;
    this.db.exec(SCHEMA);
  }

  /** The file the messages live in. */
  get file(): string {
    return this.db.file;
  }

  async enqueue(items: readonly WorkItem[], options: EnqueueOptions = {}): Promise<EnqueueResult> {
    if (options.signal?.aborted) throw options.signal.reason;
    const now = this.#clock.now();
    const visibleAt = now + Math.max(0, Math.ceil(options.delaySeconds ?? 0)) * 1000;
    const waiting = this.db.statement(
      `SELECT 1 FROM queue_messages WHERE chain_key = ? AND ${WAITING} LIMIT 1`,
    );
    const replace = this.db.statement(`DELETE FROM queue_messages WHERE chain_key = ? AND ${WAITING}`);
    const insert = this.db.statement(
      'INSERT INTO queue_messages (body, chain_key, visible_at, enqueued_at) VALUES (?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      for (const item of items) {
        const key = chainKey(item);
        if (item.source === 'requeue') replace.run(key, now);
        else if (waiting.get(key, now)) continue;
        insert.run(encodeWorkItem(item), key, visibleAt, now);
      }
    });
    return { accepted: items.length, failed: [] };
  }

  /** Leases up to `max` due messages, highest priority first. */
  async receive(max: number): Promise<ReceivedMessage[]> {
    const now = this.#clock.now();
    return this.db.transaction(() => this.#lease(this.#due(now, Math.max(0, max)), now));
  }

  /**
   * Leases up to `max` waiting messages that are NOT due yet, among those `eligible` accepts,
   * highest priority first: the local worker spends a password GET token that nothing due wants
   * on the likeliest server rather than let it go unused (local-queue-worker.ts).
   */
  async receiveAhead(max: number, eligible: (item: WorkItem) => boolean): Promise<ReceivedMessage[]> {
    const now = this.#clock.now();
    return this.db.transaction(() => {
      const rows = this.db
        .statement(
          `SELECT id, body, visible_at, receive_count FROM queue_messages WHERE visible_at > ? AND ${WAITING}`,
        )
        .all(now, now) as unknown as MessageRow[];
      return this.#lease(this.#ranked(rows, now, Math.max(0, max), eligible), now);
    });
  }

  #lease(rows: MessageRow[], now: number): ReceivedMessage[] {
    const leaseUntil = now + this.#visibilityMs;
    const lease = this.db.statement(
      'UPDATE queue_messages SET visible_at = ?, lease_until = ?, receive_count = receive_count + 1 WHERE id = ?',
    );
    return rows.map((row) => {
      lease.run(leaseUntil, leaseUntil, row.id);
      return { messageId: String(row.id), body: text(row.body), receiveCount: row.receive_count + 1 };
    });
  }

  #due(now: number, max: number): MessageRow[] {
    const sql = 'SELECT id, body, visible_at, receive_count FROM queue_messages WHERE visible_at <= ?';
    if (!this.#priority)
      return this.db
        .statement(`${sql} ORDER BY visible_at, id LIMIT ?`)
        .all(now, max) as unknown as MessageRow[];
    return this.#ranked(this.db.statement(sql).all(now) as unknown as MessageRow[], now, max);
  }

  /** The first `max` rows by priority (then longest due), skipping bodies `eligible` refuses. */
  #ranked(
    rows: MessageRow[],
    now: number,
    max: number,
    eligible?: (item: WorkItem) => boolean,
  ): MessageRow[] {
    const priority = this.#priority ?? (() => 0);
    return rows
      .flatMap((row) => {
        let item: WorkItem | undefined;
        try {
          item = JSON.parse(text(row.body)) as WorkItem;
        } catch {
          item = undefined;
        }
        if (eligible && (item === undefined || !eligible(item))) return [];
        return [{ row, priority: priority(item, now) }];
      })
      .sort((a, b) => b.priority - a.priority || a.row.visible_at - b.row.visible_at || a.row.id - b.row.id)
      .slice(0, max)
      .map((r) => r.row);
  }

  /** Deletes a processed message. Acking an unknown id is a no-op (it was acked already). */
  async ack(messageId: string): Promise<void> {
    this.db.statement('DELETE FROM queue_messages WHERE id = ?').run(Number(messageId));
  }

  /**
   * Makes a failed message visible again after `delaySeconds`, or moves it to the dead letters
   * once it has been received maxReceiveCount times (SQS redrive semantics).
   */
  async retry(messageId: string, delaySeconds: number): Promise<'retried' | 'dead-lettered'> {
    const id = Number(messageId);
    const now = this.#clock.now();
    return this.db.transaction(() => {
      const row = this.db.statement('SELECT body, receive_count FROM queue_messages WHERE id = ?').get(id) as
        | { body: unknown; receive_count: number }
        | undefined;
      if (!row) return 'retried';
      if (row.receive_count >= this.#maxReceiveCount) {
        this.#insertDeadLetter({ body: text(row.body), reason: 'max-receive-count' }, now);
        this.db.statement('DELETE FROM queue_messages WHERE id = ?').run(id);
        return 'dead-lettered';
      }
      this.db
        .statement('UPDATE queue_messages SET visible_at = ?, lease_until = NULL WHERE id = ?')
        .run(now + Math.max(0, delaySeconds) * 1000, id);
      return 'retried';
    });
  }

  async send(letter: DeadLetter, options: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    if (options.signal?.aborted) throw options.signal.reason;
    this.#insertDeadLetter(letter, this.#clock.now());
  }

  #insertDeadLetter(letter: DeadLetter, now: number): void {
    this.db
      .statement('INSERT INTO queue_dead_letters (at, reason, detail, item, body) VALUES (?, ?, ?, ?, ?)')
      .run(
        new Date(now).toISOString(),
        letter.reason,
        letter.detail ?? null,
        letter.item ? encodeWorkItem(letter.item) : null,
        letter.body ?? null,
      );
  }

  /** Every dead letter, oldest first; a garbled row is shown with its raw text, never thrown on. */
  async deadLetters(): Promise<StoredDeadLetter[]> {
    const rows = this.db
      .statement('SELECT id, at, reason, detail, item, body FROM queue_dead_letters ORDER BY id')
      .all() as Array<Record<string, unknown>>;
    return rows.map((row) => {
      const letter: StoredDeadLetter = {
        id: String(row['id']),
        at: text(row['at']),
        reason: text(row['reason']),
      };
      if (row['detail'] != null) letter.detail = text(row['detail']);
      if (row['body'] != null) letter.body = text(row['body']);
      if (row['item'] != null) {
        try {
          letter.item = JSON.parse(text(row['item'])) as WorkItem;
        } catch {
          letter.body ??= text(row['item']);
        }
      }
      return letter;
    });
  }

  /** Counts for status displays: visible now, delayed or leased, and dead letters. */
  async depth(): Promise<{ visible: number; invisible: number; deadLettered: number }> {
    const now = this.#clock.now();
    const counts = this.db
      .statement(
        `SELECT
           (SELECT count(*) FROM queue_messages WHERE visible_at <= ?) AS visible,
           (SELECT count(*) FROM queue_messages WHERE visible_at > ?) AS invisible,
           (SELECT count(*) FROM queue_dead_letters) AS dead`,
      )
      .get(now, now) as { visible: number; invisible: number; dead: number };
    return { visible: counts.visible, invisible: counts.invisible, deadLettered: counts.dead };
  }

  close(): void {
    this.db.close();
  }
}
