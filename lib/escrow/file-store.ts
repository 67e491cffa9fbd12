/**
 * EscrowStore on a local directory, the default outside Lambda.
 *
 * Layout: `<root>/<projectId>/<serverId>/<sha256>.json` per escrowed ciphertext, and
 * `<sha256>.cleared` once its cloud record was cleared. Directories 0700, files 0600.
 *
 * Versions are content-addressed, so writing the same ciphertext twice (a retry, or two
 * processes at once) converges on one file. A write goes to a temp file, is fsynced, then
 * hard-linked into place (no-clobber: the first writer wins and nothing is overwritten; a
 * rename is the fallback where hard links are unsupported), and the directory is fsynced.
 * A crash leaves at most a stray `.tmp` file that nothing reads; reading a server's ledger
 * removes those whose writer is gone. A version file that does not hold the record its name
 * says (truncated, hand-edited) is not counted as escrowed, and the next put replaces it.
 */
import { randomBytes } from 'node:crypto';
import { link, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { CallOptions } from '../huawei/bms-types.ts';
import { makeDirs } from '../make-dirs.ts';
import { processAlive } from '../process-alive.ts';
import {
  EscrowRecordError,
  isSafeId,
  isSha256Hex,
  parseEscrowRecord,
  serializeEscrowRecord,
} from './escrow-record.ts';
import {
  type EscrowLedger,
  type EscrowStore,
  EscrowStoreError,
  type EscrowVersionInfo,
  type ServerRef,
} from './escrow-store.ts';
import { encodeWatchLease, parseWatchLease, type WatchStore } from './watch-lease.ts';

export const DEFAULT_ESCROW_FILE_DIR = './.escrow';
const STORE = 'file';
const VERSION_FILE = /^([0-9a-f]{64})\.json$/;
/** `.<name>.<pid>.<random>.tmp`, as writeOnce names its temp files. */
const TEMP_FILE = /^\..+\.(\d+)\.[0-9a-f]+\.tmp$/;

export interface FileEscrowStoreOptions {
  /** The root directory; created 0700 if missing. */
  root: string;
  /**
   * Test seam for crash simulation: runs after the temp file is durable and before it is
   * linked into place.
   */
  beforeCommit?: ((tempPath: string) => void | Promise<void>) | undefined;
}

function fsError(operation: string, error: unknown): EscrowStoreError {
  if (error instanceof EscrowStoreError) return error;
  const code = (error as NodeJS.ErrnoException)?.code ?? 'Unknown';
  return new EscrowStoreError(STORE, operation, `filesystem error ${code}`, { code, cause: error });
}

function checkAborted(operation: string, options?: CallOptions): void {
  if (options?.signal?.aborted)
    throw new EscrowStoreError(STORE, operation, 'aborted', {
      code: 'Aborted',
      cause: options.signal.reason,
    });
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Durably writes `content` to `dir/name` unless that file exists. Returns whether this call
 * created it.
 */
async function writeOnce(
  dir: string,
  name: string,
  content: string,
  beforeCommit?: (tempPath: string) => void | Promise<void>,
  writing?: Set<string>,
): Promise<boolean> {
  const final = join(dir, name);
  const temp = join(dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  writing?.add(temp);
  try {
    return await writeTemp(dir, final, temp, content, beforeCommit);
  } finally {
    writing?.delete(temp);
  }
}

async function writeTemp(
  dir: string,
  final: string,
  temp: string,
  content: string,
  beforeCommit?: (tempPath: string) => void | Promise<void>,
): Promise<boolean> {
  const fh = await open(temp, 'wx', 0o600);
  try {
    await fh.writeFile(content, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  let created: boolean;
  try {
    await beforeCommit?.(temp);
    try {
      await link(temp, final);
      created = true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') created = false;
      else if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS' || code === 'EOPNOTSUPP') {
        created = !(await exists(final));
        if (created) await rename(temp, final);
      } else throw error;
    }
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  await fsyncDir(dir);
  return created;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** The launch fields of a version file, for the ledger; nothing else of it leaves here. */
async function launchFields(file: string): Promise<Pick<EscrowVersionInfo, 'launchedAt' | 'postedInLaunch'>> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    const launchedAt = typeof value['launchedAt'] === 'string' ? value['launchedAt'] : undefined;
    const postedInLaunch = typeof value['postedInLaunch'] === 'boolean' ? value['postedInLaunch'] : undefined;
    return launchedAt === undefined ? {} : { launchedAt, postedInLaunch };
  } catch {
    // A corrupt version is reported by read(); the ledger just knows no launch for it.
    return {};
  }
}

export function createFileEscrowStore(options: FileEscrowStoreOptions): EscrowStore {
  const root = resolve(options.root);

  /** The server's directory; ids are validated so the path cannot leave the root. */
  const serverDir = (operation: string, ref: ServerRef): string => {
    for (const field of ['projectId', 'serverId'] as const)
      if (!isSafeId(ref[field]))
        throw new EscrowStoreError(STORE, operation, `${field} is not a valid id`, { code: 'InvalidId' });
    const dir = join(root, ref.projectId, ref.serverId);
    if (!dir.startsWith(root + sep))
      throw new EscrowStoreError(STORE, operation, 'path escapes the escrow root', { code: 'InvalidId' });
    return dir;
  };

  const versionFile = (operation: string, ref: ServerRef, versionId: string): string => {
    if (!isSha256Hex(versionId))
      throw new EscrowStoreError(STORE, operation, 'versionId is not a sha256', { code: 'InvalidId' });
    return join(serverDir(operation, ref), `${versionId}.json`);
  };

  /** Temp files of writes in progress in this process, which a ledger read must not remove. */
  const writing = new Set<string>();

  const ensureDir = async (dir: string): Promise<void> => {
    // Not mkdir's recursive mode: on a read-only filesystem it reports ENOENT instead of EROFS.
    const created = await makeDirs(dir);
    if (created === undefined) return;
    // New directory entries are durable only once their parents are fsynced.
    await fsyncDir(resolve(dir, '..'));
    await fsyncDir(resolve(dir, '../..'));
  };

  /** Whether the version file holds the record its name says; a truncated file does not. */
  const intact = async (dir: string, ref: ServerRef, sha256: string): Promise<boolean> => {
    try {
      return parseEscrowRecord(await readFile(join(dir, `${sha256}.json`), 'utf8'), ref).sha256 === sha256;
    } catch (error) {
      if (error instanceof EscrowRecordError || error instanceof SyntaxError) return false;
      throw error;
    }
  };

  /** Removes temp files left by a writer that is gone (a crash, a full disk). */
  const removeStrayTemps = async (dir: string, names: readonly string[]): Promise<void> => {
    for (const name of names) {
      const pid = Number(TEMP_FILE.exec(name)?.[1]);
      if (!pid || writing.has(join(dir, name)) || (pid !== process.pid && processAlive(pid))) continue;
      await unlink(join(dir, name)).catch(() => undefined);
    }
  };

  const info = async (dir: string, sha256: string): Promise<EscrowVersionInfo> => {
    const file = join(dir, `${sha256}.json`);
    const s = await stat(file);
    return {
      versionId: sha256,
      sha256,
      createdAt: s.mtime.toISOString(),
      cleared: await exists(join(dir, `${sha256}.cleared`)),
      ...(await launchFields(file)),
    };
  };

  const watches: WatchStore = {
    async read(ref) {
      try {
        return parseWatchLease(await readFile(join(serverDir('watch', ref), 'watch.lease'), 'utf8'));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw fsError('watch', error);
      }
    },
    async write(ref, lease) {
      const dir = serverDir('watch', ref);
      const temp = join(dir, `.watch.lease.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
      try {
        await ensureDir(dir);
        writing.add(temp);
        await writeFile(temp, encodeWatchLease(lease), { mode: 0o600 });
        await rename(temp, join(dir, 'watch.lease'));
      } catch (error) {
        await unlink(temp).catch(() => undefined);
        throw fsError('watch', error);
      } finally {
        writing.delete(temp);
      }
    },
  };

  return {
    kind: STORE,
    watches,

    async put(record, callOptions) {
      checkAborted('put', callOptions);
      const dir = serverDir('put', record);
      let content: string;
      try {
        content = serializeEscrowRecord(record);
      } catch (error) {
        if (error instanceof EscrowRecordError)
          throw new EscrowStoreError(STORE, 'put', error.message, { code: 'InvalidRecord', cause: error });
        throw error;
      }
      try {
        await ensureDir(dir);
        const final = join(dir, `${record.sha256}.json`);
        // Content-addressed: a file under this name that does not hold this record is damage.
        if ((await exists(final)) && !(await intact(dir, record, record.sha256))) await unlink(final);
        await writeOnce(dir, `${record.sha256}.json`, content, options.beforeCommit, writing);
        return await info(dir, record.sha256);
      } catch (error) {
        throw fsError('put', error);
      }
    },

    async read(ref, versionId, callOptions) {
      checkAborted('read', callOptions);
      const file = versionFile('read', ref, versionId);
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw fsError('read', error);
      }
      try {
        const record = parseEscrowRecord(text, ref);
        if (record.sha256 !== versionId)
          throw new EscrowRecordError('sha-mismatch', 'escrow file does not hold the version its name says');
        return record;
      } catch (error) {
        throw new EscrowStoreError(STORE, 'read', (error as Error).message, {
          code: 'CorruptRecord',
          cause: error,
        });
      }
    },

    async markCleared(ref, versionId, callOptions) {
      checkAborted('markCleared', callOptions);
      const file = versionFile('markCleared', ref, versionId);
      const dir = serverDir('markCleared', ref);
      try {
        if (!(await exists(file)))
          throw new EscrowStoreError(STORE, 'markCleared', 'no escrowed version with that id', {
            code: 'VersionNotFound',
          });
        await writeOnce(
          dir,
          `${versionId}.cleared`,
          `${JSON.stringify({ clearedAt: new Date().toISOString() })}\n`,
          undefined,
          writing,
        );
      } catch (error) {
        throw fsError('markCleared', error);
      }
    },

    async ledger(ref, callOptions): Promise<EscrowLedger | undefined> {
      checkAborted('ledger', callOptions);
      const dir = serverDir('ledger', ref);
      try {
        let names: string[];
        try {
          names = await readdir(dir);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
          throw error;
        }
        await removeStrayTemps(dir, names);
        const named = names.map((n) => VERSION_FILE.exec(n)?.[1]).filter((s): s is string => s !== undefined);
        const shas: string[] = [];
        for (const sha of named) if (await intact(dir, ref, sha)) shas.push(sha);
        if (shas.length === 0) return undefined;
        const versions = await Promise.all(shas.map((sha) => info(dir, sha)));
        versions.sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? ''));
        return { ref: { projectId: ref.projectId, region: ref.region, serverId: ref.serverId }, versions };
      } catch (error) {
        throw fsError('ledger', error);
      }
    },
  };
}
