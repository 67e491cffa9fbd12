/**
 * One SQLite database file for the local durable state (node:sqlite, built into Node 24): the
 * queue keeps its messages and dead letters here, and the local stack its lock and status
 * board. WAL with synchronous=FULL, so a committed transaction survives a crash of the process
 * or the machine; a busy timeout, so a second connection (the `sweep` command writing to the
 * queue of a running `serve`) waits for the lock instead of failing.
 *
 * If the file is deleted while open, SQLite keeps writing to the unlinked inode and everything
 * would be lost at the next start. `checkFile()` notices (the inode at the path changed or is
 * gone) and writes the open database back to its path with VACUUM INTO, then reopens it there.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';

export class SqliteStateError extends Error {
  override name = 'SqliteStateError';
}

export type FileCheck = 'ok' | 'restored';

export class SqliteDatabase {
  readonly file: string;
  #db: DatabaseSync;
  #inode: number;
  #statements = new Map<string, StatementSync>();

  constructor(file: string) {
    this.file = file;
    this.#db = open(file);
    this.#inode = inodeOf(file) ?? -1;
  }

  /** A prepared statement, cached for this connection (a reopen starts a new cache). */
  statement(sql: string): StatementSync {
    let s = this.#statements.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  exec(sql: string): void {
    this.#db.exec(sql);
  }

  /** Runs `fn` in one write transaction (BEGIN IMMEDIATE: the write lock is taken up front). */
  transaction<T>(fn: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.#db.exec('COMMIT');
      return out;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  /**
   * Whether the database is still at its path. A deleted file (or directory) is written back
   * from the open connection; a file replaced by another one cannot be merged and throws.
   */
  checkFile(): FileCheck {
    const inode = inodeOf(this.file);
    if (inode === this.#inode) return 'ok';
    if (inode !== undefined)
      throw new SqliteStateError(`${this.file} was replaced by another file while in use`);
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    this.#db.exec(`VACUUM INTO '${this.file.replaceAll("'", "''")}'`);
    this.#db.close();
    this.#statements = new Map();
    this.#db = open(this.file);
    this.#inode = inodeOf(this.file) ?? -1;
    return 'restored';
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}

const BUSY_TIMEOUT_MS = 5000;
const OPEN_RETRY_MS = 50;

/**
 * Switching a new database to WAL takes an exclusive lock, and SQLite answers "database is
 * locked" at once, without its busy handler, when a second process opens the same new file at
 * that instant. So the open itself waits and retries, within the same bound as the busy timeout.
 */
function open(file: string): DatabaseSync {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    const db = new DatabaseSync(file, { timeout: BUSY_TIMEOUT_MS });
    try {
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
      return db;
    } catch (error) {
      db.close();
      if (!isBusy(error) || Date.now() >= deadline) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, OPEN_RETRY_MS);
    }
  }
}

function isBusy(error: unknown): boolean {
  const e = error as { errcode?: number; message?: string };
  // SQLITE_BUSY (5) and its extended codes; older builds only say it in the message.
  return (
    (typeof e.errcode === 'number' && (e.errcode & 0xff) === 5) || /database is locked/.test(e.message ?? '')
  );
}

function inodeOf(file: string): number | undefined {
  try {
    return statSync(file).ino;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
