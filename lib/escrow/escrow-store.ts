/**
 * The escrow store port. Adapters: AWS Secrets Manager (secrets-manager-store.ts) and a
 * local directory (file-store.ts). The pipeline writes a version, reads it back by id and
 * compares it, and only then may the cloud record be cleared.
 */
import type { CallOptions } from '../huawei/bms-types.ts';
import type { WatchStore } from './watch-lease.ts';

export interface ServerRef {
  projectId: string;
  region: string;
  serverId: string;
}

/** What one escrowed version holds. Never logged; only `sha256` and ids may be. */
export interface EscrowRecord {
  schema: 1;
  serverId: string;
  serverName?: string | undefined;
  projectId: string;
  region: string;
  keyName?: string | undefined;
  /** The base64 RSA ciphertext exactly as the BMS API returned it. */
  ciphertext: string;
  /** Lower-case hex SHA-256 of `ciphertext`; also the idempotency key of the version. */
  sha256: string;
  /** ISO time the record was read from the BMS API (cloud time: skew-corrected). */
  retrievedAt: string;
  /**
   * The server's launch when the record was read: ISO of `OS-SRV-USG:launched_at`, which a
   * reinstall moves. Absent in records written before launches were tracked.
   */
  launchedAt?: string | undefined;
  /**
   * True when the hook takes the ciphertext as this launch's own post (it saw the record empty
   * first, or saw no sign of a reinstall): clearing it finishes the launch. False: the launch's
   * own post may still come after the clear, and is watched for.
   */
  postedInLaunch?: boolean | undefined;
  /** Only in decrypt mode. */
  plaintext?: string | undefined;
}

/** Non-secret facts about one stored version. */
export interface EscrowVersionInfo {
  versionId: string;
  sha256: string;
  createdAt?: string | undefined;
  /** True once the matching cloud record was cleared after this version was verified. */
  cleared: boolean;
  /** The record's launchedAt / postedInLaunch, where the store can tell without reading the secret. */
  launchedAt?: string | undefined;
  postedInLaunch?: boolean | undefined;
}

/** Non-secret view of everything escrowed for one server: the sweep's ledger. */
export interface EscrowLedger {
  ref: ServerRef;
  versions: EscrowVersionInfo[];
}

export interface EscrowStore {
  readonly kind: string;
  /**
   * Stores `record` as a version keyed by its sha256. Writing the same ciphertext again is a
   * no-op that returns the existing version; a new ciphertext becomes a new version and
   * never overwrites an old one.
   */
  put(record: EscrowRecord, options?: CallOptions): Promise<EscrowVersionInfo>;
  /** Reads one version back from durable storage (not from a cache). */
  read(ref: ServerRef, versionId: string, options?: CallOptions): Promise<EscrowRecord | undefined>;
  /** Marks a version as cleared in the cloud. Idempotent. */
  markCleared(ref: ServerRef, versionId: string, options?: CallOptions): Promise<void>;
  /** The ledger for one server, or undefined if nothing was ever escrowed for it. */
  ledger(ref: ServerRef, options?: CallOptions): Promise<EscrowLedger | undefined>;
  /** Which polling chain watches each server (watch-lease.ts); absent where the queue itself keeps one chain. */
  readonly watches?: WatchStore | undefined;
}

export class EscrowStoreError extends Error {
  override name = 'EscrowStoreError';
  readonly store: string;
  readonly operation: string;
  readonly code: string | undefined;
  readonly requestId: string | undefined;
  constructor(
    store: string,
    operation: string,
    message: string,
    details: { code?: string | undefined; requestId?: string | undefined; cause?: unknown } = {},
  ) {
    super(
      `${store} ${operation}: ${message}`,
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.store = store;
    this.operation = operation;
    this.code = details.code;
    this.requestId = details.requestId;
  }
}
