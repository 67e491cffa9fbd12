/**
 * What the local stack knows about each server, for the status page, the demo's progress
 * lines and its summary. It is a view, not the source of truth (that is the queue and the
 * escrow store), so it holds only ids, states, reasons and timestamps: never a ciphertext.
 * It is saved in the state database so a restarted `serve` still shows what happened before.
 */

import type { Outcome } from '../pipeline/outcome.ts';
import type { SqliteDatabase } from '../queue/sqlite-database.ts';
import type { WorkItem } from '../queue/work-item.ts';

export type ServerState = 'waiting' | 'escrowed' | 'cleared' | 'skipped' | 'failed';

export interface ServerStatus {
  serverId: string;
  projectId: string;
  region: string;
  state: ServerState;
  /** Skip or failure reason, or what a waiting server waits for. */
  reason?: string | undefined;
  /** True once a failed server was moved to the dead-letter queue. */
  deadLettered?: boolean | undefined;
  firstSeenAt: string;
  updatedAt: string;
  /** How the hook learned of the server first (smn, sweep, direct…). */
  source: string;
  attempts: number;
  passwordChecks?: number | undefined;
  versionId?: string | undefined;
  foundAt?: string | undefined;
  clearedAt?: string | undefined;
  /** The last GET that found nothing, and when the server was seen ACTIVE: the post was after. */
  lastEmptyCheckAt?: string | undefined;
  activeSince?: string | undefined;
  /** When the guest notified that it had posted (the `posted` snippet), if it did. */
  postedHintAt?: string | undefined;
  /** The server launch (launched_at) the state is about; a reinstall starts the server over. */
  launchedAt?: string | undefined;
}

export type StatusListener = (status: ServerStatus, previous: ServerStatus | undefined) => void;

/** Where a board persists: every saved server at load, the changed ones on save. */
export interface BoardStore {
  load(): ServerStatus[];
  save(changed: readonly ServerStatus[]): void;
}

/** One row per server in the state database; a row that does not parse is left out of the view. */
export function sqliteBoardStore(db: SqliteDatabase): BoardStore {
  db.exec('CREATE TABLE IF NOT EXISTS status_board (server_id TEXT PRIMARY KEY, status TEXT NOT NULL)');
  return {
    load() {
      const out: ServerStatus[] = [];
      for (const row of db.statement('SELECT status FROM status_board').all()) {
        try {
          const s = JSON.parse(String(row['status'])) as ServerStatus;
          if (typeof s?.serverId === 'string' && typeof s.firstSeenAt === 'string') out.push(s);
        } catch {
          // Hand-edited or garbled: the view starts without it; the queue still has the work.
        }
      }
      return out;
    },
    save(changed) {
      const upsert = db.statement(
        'INSERT INTO status_board (server_id, status) VALUES (?, ?) ON CONFLICT (server_id) DO UPDATE SET status = excluded.status',
      );
      db.transaction(() => {
        for (const s of changed) upsert.run(s.serverId, JSON.stringify(s));
      });
    },
  };
}

/** A state never moves backwards: a late duplicate of an old message must not un-clear a server. */
const RANK: Record<ServerState, number> = { waiting: 0, escrowed: 1, failed: 2, skipped: 3, cleared: 3 };

/**
 * What bounds the post time, newest knowledge first, and whether a guest's "posted" hint was
 * processed for the server (a hint item is first seen when the notification arrived).
 */
function postBounds(
  item: WorkItem | undefined,
  exposure: { lastEmptyCheckAt?: string | undefined },
  previous: ServerStatus | undefined,
): Pick<ServerStatus, 'lastEmptyCheckAt' | 'activeSince' | 'postedHintAt'> {
  return {
    lastEmptyCheckAt: exposure.lastEmptyCheckAt ?? item?.lastEmptyCheckAt ?? previous?.lastEmptyCheckAt,
    activeSince: item?.activeSince ?? previous?.activeSince,
    postedHintAt: item?.source === 'posted' ? item.firstSeenAt : previous?.postedHintAt,
  };
}

export class StatusBoard {
  readonly #servers = new Map<string, ServerStatus>();
  readonly #listeners = new Set<StatusListener>();
  readonly #store: BoardStore | undefined;
  readonly #now: () => number;
  readonly #dirty = new Set<string>();
  #scheduled = false;
  #saving: Promise<void> = Promise.resolve();

  constructor(options: { store?: BoardStore | undefined; now?: () => number } = {}) {
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
  }

  /** Restores the board a previous run saved. */
  async load(): Promise<void> {
    for (const s of this.#store?.load() ?? []) this.#servers.set(s.serverId, s);
  }

  onChange(listener: StatusListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  list(): ServerStatus[] {
    return [...this.#servers.values()].sort(
      (a, b) => a.firstSeenAt.localeCompare(b.firstSeenAt) || a.serverId.localeCompare(b.serverId),
    );
  }

  get(serverId: string): ServerStatus | undefined {
    return this.#servers.get(serverId);
  }

  /** A message was queued (a new server, or a duplicate of a known one). */
  noteQueued(item: WorkItem): void {
    if (this.#servers.has(item.serverId)) return;
    this.#set({
      serverId: item.serverId,
      projectId: item.projectId,
      region: item.region,
      state: 'waiting',
      reason: 'queued',
      firstSeenAt: item.firstSeenAt,
      updatedAt: this.#iso(),
      source: item.source,
      attempts: item.attempt,
    });
  }

  /**
   * One processing of `item` ended in `outcome`; `updated` is the item as re-queued (it carries
   * the escrowed version while the clear is being verified). A permanent failure goes to the DLQ.
   */
  noteOutcome(item: WorkItem, outcome: Outcome, updated: WorkItem = item): void {
    const known = this.#servers.get(item.serverId);
    // A launch that moved on since the state shown (a reinstall) makes the server pending again.
    const relaunched =
      known?.launchedAt !== undefined &&
      updated.launchedAt !== undefined &&
      known.launchedAt !== updated.launchedAt;
    const previous = relaunched ? undefined : known;
    const base = {
      ...this.#base(item, known, updated.passwordChecks),
      launchedAt: updated.launchedAt ?? known?.launchedAt,
    };
    let next: ServerStatus;
    switch (outcome.kind) {
      case 'cleared':
        next = {
          ...base,
          state: 'cleared',
          reason: 'escrowed, read back, record deleted',
          versionId: outcome.versionId,
          passwordChecks: outcome.exposure.passwordChecks,
          foundAt: outcome.exposure.foundAt,
          clearedAt: outcome.exposure.clearedAt,
          ...postBounds(updated, outcome.exposure, previous),
        };
        break;
      case 'escrowed':
        next = {
          ...base,
          state: 'escrowed',
          reason: 'dry run: not cleared',
          versionId: outcome.versionId,
          passwordChecks: outcome.exposure.passwordChecks,
          foundAt: outcome.exposure.foundAt,
          ...postBounds(updated, outcome.exposure, previous),
        };
        break;
      case 'skipped':
        // A redelivery after we cleared (a crash before the ack, a duplicate event) finds the
        // record gone and this boot's password in escrow: the server is done, not skipped.
        if (outcome.reason === 'already-cleared') {
          if (previous?.state === 'cleared') return;
          next = {
            ...base,
            state: 'cleared',
            reason: 'escrowed earlier; record already gone',
            versionId: previous?.versionId,
            foundAt: previous?.foundAt,
            clearedAt: previous?.clearedAt,
            ...postBounds(undefined, {}, previous),
          };
        } else {
          next = { ...base, state: 'skipped', reason: outcome.reason };
        }
        break;
      case 'not-ready':
        // A verify-phase item has escrowed its version and waits for the clear to show.
        next =
          outcome.reason === 'clear-pending' || updated.versionId !== undefined
            ? {
                ...base,
                state: 'escrowed',
                reason:
                  outcome.reason === 'watching'
                    ? 'cleared; watching for the reinstalled OS to post'
                    : 'clear pending',
                versionId: updated.versionId,
                foundAt: updated.foundAt,
                clearedAt: updated.clearedAt,
                ...postBounds(updated, {}, previous),
              }
            : { ...base, state: 'waiting', reason: outcome.reason, ...postBounds(updated, {}, previous) };
        break;
      case 'failed':
        next = outcome.permanent
          ? { ...base, state: 'failed', reason: outcome.reason, deadLettered: true }
          : { ...base, state: 'waiting', reason: `retrying after ${outcome.reason}` };
        break;
    }
    if (previous && RANK[next.state] < RANK[previous.state]) return;
    if (previous?.state === 'cleared' && next.state === 'skipped') return;
    this.#set(next);
  }

  /** The queue gave up on a message (max receive count): the server is surfaced as failed. */
  noteDeadLettered(item: WorkItem, reason: string): void {
    const previous = this.#servers.get(item.serverId);
    if (previous && (previous.state === 'cleared' || previous.state === 'skipped')) return;
    this.#set({
      ...this.#base(item, previous, item.passwordChecks),
      state: 'failed',
      reason,
      deadLettered: true,
    });
  }

  /** What every update carries: identity, first sighting and counters, merged with what was known. */
  #base(
    item: WorkItem,
    previous: ServerStatus | undefined,
    passwordChecks: number | undefined,
  ): ServerStatus {
    return {
      serverId: item.serverId,
      projectId: item.projectId,
      region: item.region,
      firstSeenAt: previous?.firstSeenAt ?? item.firstSeenAt,
      source: previous?.source ?? item.source,
      state: 'waiting',
      updatedAt: this.#iso(),
      attempts: Math.max(previous?.attempts ?? 0, item.attempt + 1),
      passwordChecks: passwordChecks ?? previous?.passwordChecks,
    };
  }

  /** Waits until the latest state is on disk. */
  async flush(): Promise<void> {
    await this.#saving;
  }

  #set(status: ServerStatus): void {
    const previous = this.#servers.get(status.serverId);
    this.#servers.set(status.serverId, status);
    for (const listener of this.#listeners) listener(status, previous);
    this.#scheduleSave(status.serverId);
  }

  /** Changes made in one turn of the event loop are saved in one transaction. */
  #scheduleSave(serverId: string): void {
    const store = this.#store;
    if (!store) return;
    this.#dirty.add(serverId);
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#saving = this.#saving.then(() => {
      this.#scheduled = false;
      const ids = [...this.#dirty];
      this.#dirty.clear();
      try {
        store.save(ids.map((id) => this.#servers.get(id)).filter((s): s is ServerStatus => s !== undefined));
      } catch {
        // A failed save only loses the view, not work (the queue keeps that): try again with the next change.
        for (const id of ids) this.#dirty.add(id);
      }
    });
  }

  #iso(): string {
    return new Date(this.#now()).toISOString();
  }
}
