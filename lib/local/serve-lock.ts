/**
 * One `serve` per state dir: a second one would lease the same messages. The lock is a row in
 * the state database, taken in one write transaction, so two processes started at the same
 * instant are serialised by SQLite and the second sees the first. The owner refreshes a
 * heartbeat; a lock whose process is gone, or whose heartbeat stopped (the pid was reused by
 * another program after a SIGKILL), is taken over.
 */
import { randomUUID } from 'node:crypto';
import { processAlive } from '../process-alive.ts';
import type { SqliteDatabase } from '../queue/sqlite-database.ts';

/** Real time after which a silent owner is presumed dead even if its pid is in use. */
export const LOCK_STALE_MS = 60_000;

export class StateDirInUseError extends Error {
  override name = 'StateDirInUseError';
}

interface LockRow {
  pid: number;
  token: string;
  heartbeat_at: number;
}

export class ServeLock {
  readonly #db: SqliteDatabase;
  readonly #token = randomUUID();

  private constructor(db: SqliteDatabase) {
    this.#db = db;
  }

  static acquire(db: SqliteDatabase, stateDir: string, now: () => number = Date.now): ServeLock {
    db.exec(
      'CREATE TABLE IF NOT EXISTS serve_lock (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, token TEXT NOT NULL, heartbeat_at INTEGER NOT NULL)',
    );
    const lock = new ServeLock(db);
    db.transaction(() => {
      const row = db.statement('SELECT pid, token, heartbeat_at FROM serve_lock WHERE id = 1').get() as
        | LockRow
        | undefined;
      if (row && row.pid !== process.pid && processAlive(row.pid) && now() - row.heartbeat_at < LOCK_STALE_MS)
        throw new StateDirInUseError(
          `state dir ${stateDir} is in use by process ${row.pid}; stop it or choose another --state-dir`,
        );
      db.statement(
        'INSERT INTO serve_lock (id, pid, token, heartbeat_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, token = excluded.token, heartbeat_at = excluded.heartbeat_at',
      ).run(process.pid, lock.#token, now());
    });
    return lock;
  }

  /** Refreshes the heartbeat; false when another process has taken the lock over. Throws when the database cannot be written. */
  heartbeat(now: () => number = Date.now): boolean {
    const result = this.#db
      .statement('UPDATE serve_lock SET heartbeat_at = ? WHERE id = 1 AND token = ?')
      .run(now(), this.#token);
    return Number(result.changes) === 1;
  }

  release(): void {
    this.#db.statement('DELETE FROM serve_lock WHERE id = 1 AND token = ?').run(this.#token);
  }
}
