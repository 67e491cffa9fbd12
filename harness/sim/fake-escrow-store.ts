/**
 * An in-memory EscrowStore with the semantics the pipeline relies on, as Secrets Manager gives
 * them: a put is durable once acknowledged (and may be durable though the acknowledgement was
 * lost), versions are content-addressed by sha256 and never overwritten, version ids are opaque,
 * reads come from durable storage, the ledger lists every version with the store's own
 * timestamp, and markCleared is idempotent. Values go through the project's own serializer and
 * strict parser, as they do in the real adapters.
 *
 * Seeded faults: a put refused before or after it became durable, reads, ledger lookups and
 * markCleared failing. `brokenAckWithoutStore` turns it into the store the oracle must catch:
 * it acknowledges puts it keeps only in a volatile cache and serves reads from that cache.
 *
 * What is durable and what was read back is reported to the oracle; it keeps its own books.
 */

import type { Random } from '../../emulator/seeded-random.ts';
import { parseEscrowRecord, serializeEscrowRecord } from '../../lib/escrow/escrow-record.ts';
import {
  type EscrowLedger,
  type EscrowRecord,
  type EscrowStore,
  EscrowStoreError,
  type EscrowVersionInfo,
  type ServerRef,
} from '../../lib/escrow/escrow-store.ts';
import type { WatchLease, WatchStore } from '../../lib/escrow/watch-lease.ts';
import type { CallOptions } from '../../lib/huawei/bms-types.ts';
import type { FaultCounts } from './fake-cloud.ts';
import type { SimScenario } from './scenario.ts';
import type { SimLoop } from './sim-loop.ts';

interface StoredVersion {
  versionId: string;
  sha256: string;
  /** The serialized record, as a durable store holds bytes. */
  value: string;
  createdAt: string;
  cleared: boolean;
  /** Non-secret launch facts kept beside the value, as the file store's ledger reports them. */
  launchedAt: string | undefined;
  postedInLaunch: boolean | undefined;
}

export interface StoreObserver {
  onDurable(serverId: string, sha256: string): void;
  onReadBack(serverId: string, sha256: string): void;
}

const STORE = 'sim';

export class SimEscrowStore implements EscrowStore {
  readonly kind = STORE;
  readonly #durable = new Map<string, StoredVersion[]>();
  /** Only used when broken: what a write-back cache that never flushed would hold. */
  readonly #volatile = new Map<string, StoredVersion[]>();
  readonly #loop: SimLoop;
  readonly #random: Random;
  readonly #scenario: SimScenario;
  readonly #faults: FaultCounts;
  readonly #observer: StoreObserver;
  readonly #broken: boolean;
  /** The per-server watch lease of one polling chain on SQS (lib/worker/chain-lease.ts), when modelled. */
  readonly watches: WatchStore | undefined;

  constructor(args: {
    loop: SimLoop;
    random: Random;
    scenario: SimScenario;
    faults: FaultCounts;
    observer: StoreObserver;
    brokenAckWithoutStore?: boolean | undefined;
    watches?: boolean | undefined;
  }) {
    this.#loop = args.loop;
    this.#random = args.random;
    this.#scenario = args.scenario;
    this.#faults = args.faults;
    this.#observer = args.observer;
    this.#broken = args.brokenAckWithoutStore ?? false;
    this.watches = args.watches ? this.#watchStore() : undefined;
  }

  /** Last writer wins, as the tag on the server's secret; reads and writes fail like the ledger's. */
  #watchStore(): WatchStore {
    const leases = new Map<string, WatchLease>();
    return {
      read: async (ref, options) => {
        await this.#latency('watch read', options);
        if (this.#roll(this.#scenario.store.ledgerFailRate))
          throw this.#fail('watch read', 'store-watch-fail');
        const lease = leases.get(this.#key(ref));
        return lease && { ...lease };
      },
      write: async (ref, lease, options) => {
        await this.#latency('watch write', options);
        if (this.#roll(this.#scenario.store.markFailRate))
          throw this.#fail('watch write', 'store-watch-fail');
        leases.set(this.#key(ref), { ...lease });
      },
    };
  }

  #key(ref: ServerRef): string {
    return `${ref.projectId}/${ref.region}/${ref.serverId}`;
  }

  #roll(rate: number): boolean {
    return rate > 0 && this.#random.next() < rate;
  }

  async #latency(operation: string, options: CallOptions | undefined): Promise<void> {
    const [lo, hi] = this.#scenario.store.latencyMs;
    try {
      await this.#loop.sleep(this.#random.int(lo, hi), options?.signal);
    } catch (cause) {
      throw new EscrowStoreError(STORE, operation, 'aborted', { code: 'Aborted', cause });
    }
  }

  #fail(operation: string, kind: string): EscrowStoreError {
    this.#faults.add(kind);
    return new EscrowStoreError(STORE, operation, 'injected failure', { code: 'SimFault' });
  }

  #info(v: StoredVersion): EscrowVersionInfo {
    const launch =
      v.launchedAt === undefined ? {} : { launchedAt: v.launchedAt, postedInLaunch: v.postedInLaunch };
    return {
      versionId: v.versionId,
      sha256: v.sha256,
      createdAt: v.createdAt,
      cleared: v.cleared,
      ...launch,
    };
  }

  async put(record: EscrowRecord, options?: CallOptions): Promise<EscrowVersionInfo> {
    await this.#latency('put', options);
    if (this.#roll(this.#scenario.store.putFailRate)) throw this.#fail('put', 'store-put-fail');
    let value: string;
    try {
      value = serializeEscrowRecord(record);
    } catch (error) {
      throw new EscrowStoreError(STORE, 'put', (error as Error).message, { code: 'InvalidRecord' });
    }
    const books = this.#broken ? this.#volatile : this.#durable;
    const key = this.#key(record);
    const versions = books.get(key) ?? [];
    books.set(key, versions);
    let version = versions.find((v) => v.sha256 === record.sha256);
    if (!version) {
      version = {
        versionId: this.#random.uuid(),
        sha256: record.sha256,
        value,
        createdAt: new Date(this.#loop.now()).toISOString(),
        cleared: false,
        launchedAt: record.launchedAt,
        postedInLaunch: record.launchedAt === undefined ? undefined : record.postedInLaunch,
      };
      versions.push(version);
      if (!this.#broken) this.#observer.onDurable(record.serverId, record.sha256);
    }
    const info = this.#info(version);
    await this.#latency('put', options);
    if (this.#roll(this.#scenario.store.putLostAckRate)) throw this.#fail('put', 'store-put-lost-ack');
    return info;
  }

  #find(ref: ServerRef, versionId: string): StoredVersion | undefined {
    const books = this.#broken ? this.#volatile : this.#durable;
    return books.get(this.#key(ref))?.find((v) => v.versionId === versionId);
  }

  async read(ref: ServerRef, versionId: string, options?: CallOptions): Promise<EscrowRecord | undefined> {
    await this.#latency('read', options);
    if (this.#roll(this.#scenario.store.readFailRate)) throw this.#fail('read', 'store-read-fail');
    const version = this.#find(ref, versionId);
    if (!version) return undefined;
    const record = parseEscrowRecord(version.value, ref);
    if (!this.#broken) this.#observer.onReadBack(ref.serverId, record.sha256);
    return record;
  }

  async markCleared(ref: ServerRef, versionId: string, options?: CallOptions): Promise<void> {
    await this.#latency('markCleared', options);
    if (this.#roll(this.#scenario.store.markFailRate)) throw this.#fail('markCleared', 'store-mark-fail');
    const version = this.#find(ref, versionId);
    if (!version)
      throw new EscrowStoreError(STORE, 'markCleared', 'no escrowed version with that id', {
        code: 'VersionNotFound',
      });
    version.cleared = true;
  }

  async ledger(ref: ServerRef, options?: CallOptions): Promise<EscrowLedger | undefined> {
    await this.#latency('ledger', options);
    if (this.#roll(this.#scenario.store.ledgerFailRate)) throw this.#fail('ledger', 'store-ledger-fail');
    const books = this.#broken ? this.#volatile : this.#durable;
    const versions = books.get(this.#key(ref));
    if (!versions || versions.length === 0) return undefined;
    return {
      ref: { projectId: ref.projectId, region: ref.region, serverId: ref.serverId },
      versions: versions.map((v) => this.#info(v)),
    };
  }
}
