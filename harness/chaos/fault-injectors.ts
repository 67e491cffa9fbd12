/**
 * Decorators that put faults between the pipeline and its effects, without touching the
 * product code:
 *
 * - WorkerLife + crashingBms/crashingStore: a worker "process" that dies at a step boundary.
 *   At the chosen point the life is marked dead, its batch signal aborts, and from then on every
 *   call it makes fails before reaching the wire, exactly as if the process had vanished:
 *   requests already sent still land, nothing after the crash happens.
 * - faultyStore: escrow write failures and read-backs that differ (file-store scenarios; the
 *   Secrets Manager fake injects the same faults server-side).
 * - recordingStore: the read-back log the premature-clear check needs: every read that returned a
 *   self-consistent record, stamped with the position in the emulator's ordered password log.
 */

import type { Random } from '../../emulator/seeded-random.ts';
import { sha256Hex } from '../../lib/escrow/escrow-record.ts';
import { type EscrowRecord, type EscrowStore, EscrowStoreError } from '../../lib/escrow/escrow-store.ts';
import type { BmsApi } from '../../lib/huawei/bms-types.ts';
import type { CrashPoint } from './scenario.ts';

export class ChaosCrash extends Error {
  override name = 'ChaosCrash';
  readonly point: CrashPoint | 'dead';
  constructor(point: CrashPoint | 'dead') {
    super(`chaos: worker crashed (${point})`);
    this.point = point;
  }
}

/** One incarnation of the worker process. */
export class WorkerLife {
  readonly controller = new AbortController();
  crashedAt: CrashPoint | undefined;
  readonly #random: Random;
  readonly #rate: number;
  readonly #onCrash: (point: CrashPoint) => void;
  /** Servers whose markCleared ran in this life: their next GET is the verify. */
  readonly clearedHere = new Set<string>();

  constructor(random: Random, crashRate: number, onCrash: (point: CrashPoint) => void) {
    this.#random = random;
    this.#rate = crashRate;
    this.#onCrash = onCrash;
  }

  get dead(): boolean {
    return this.crashedAt !== undefined;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Throws if the process is already gone: a dead process makes no calls. */
  assertAlive(): void {
    if (this.dead) throw new ChaosCrash('dead');
  }

  /** Rolls the die at a step boundary; on a hit the process dies here. */
  boundary(point: CrashPoint): void {
    this.assertAlive();
    if (this.#rate <= 0 || this.#random.next() >= this.#rate) return;
    this.crashedAt = point;
    this.#onCrash(point);
    this.controller.abort(new ChaosCrash(point));
    throw new ChaosCrash(point);
  }
}

export function crashingBms(inner: BmsApi, life: WorkerLife): BmsApi {
  return {
    async showServer(...args) {
      life.assertAlive();
      const server = await inner.showServer(...args);
      life.boundary('after-show');
      return server;
    },
    listServers(...args) {
      life.assertAlive();
      return inner.listServers(...args);
    },
    async showJob(...args) {
      life.assertAlive();
      return inner.showJob(...args);
    },
    async getPassword(projectId, serverId, options) {
      if (life.clearedHere.has(serverId)) life.boundary('before-verify');
      else life.assertAlive();
      const record = await inner.getPassword(projectId, serverId, options);
      life.boundary('after-get');
      return record;
    },
    async deletePassword(...args) {
      life.assertAlive();
      await inner.deletePassword(...args);
      life.boundary('after-delete');
    },
  };
}

export function crashingStore(inner: EscrowStore, life: WorkerLife): EscrowStore {
  return {
    kind: inner.kind,
    async put(...args) {
      life.assertAlive();
      const info = await inner.put(...args);
      life.boundary('after-put');
      return info;
    },
    async read(...args) {
      life.assertAlive();
      const record = await inner.read(...args);
      life.boundary('after-read');
      return record;
    },
    async markCleared(ref, versionId, options) {
      life.assertAlive();
      await inner.markCleared(ref, versionId, options);
      life.clearedHere.add(ref.serverId);
      life.boundary('after-mark-cleared');
    },
    async ledger(...args) {
      life.assertAlive();
      return inner.ledger(...args);
    },
  };
}

export interface StoreFaultCounts {
  writeFailures: number;
  tamperedReads: number;
}

/** A record that still parses and hashes consistently but holds a different ciphertext. */
export function tamperRecord(record: EscrowRecord): EscrowRecord {
  const flipped = record.ciphertext.startsWith('A')
    ? `B${record.ciphertext.slice(1)}`
    : `A${record.ciphertext.slice(1)}`;
  return { ...record, ciphertext: flipped, sha256: sha256Hex(flipped) };
}

/** Write failures and tampered read-backs at the given rates (drawn from `random`). */
export function faultyStore(
  inner: EscrowStore,
  random: Random,
  rates: { writeFailRate: number; tamperReadRate: number; latencyMs: number },
  counts: StoreFaultCounts,
): EscrowStore {
  const pause = (): Promise<void> =>
    rates.latencyMs > 0 ? new Promise((r) => setTimeout(r, rates.latencyMs)) : Promise.resolve();
  return {
    kind: inner.kind,
    async put(record, options) {
      await pause();
      if (random.next() < rates.writeFailRate) {
        counts.writeFailures++;
        throw new EscrowStoreError(inner.kind, 'put', 'injected write failure', { code: 'ChaosEIO' });
      }
      return inner.put(record, options);
    },
    async read(ref, versionId, options) {
      await pause();
      const record = await inner.read(ref, versionId, options);
      if (record && random.next() < rates.tamperReadRate) {
        counts.tamperedReads++;
        return tamperRecord(record);
      }
      return record;
    },
    markCleared: (...args) => inner.markCleared(...args),
    ledger: (...args) => inner.ledger(...args),
  };
}

export interface ReadBack {
  sha256: string;
  /** How many password calls the emulator had logged when the read completed. */
  passwordEventIndex: number;
}

/** Logs every read that returned a self-consistent record, per server. */
export function recordingStore(
  inner: EscrowStore,
  passwordEventCount: () => number,
  log: Map<string, ReadBack[]>,
): EscrowStore {
  return {
    kind: inner.kind,
    put: (...args) => inner.put(...args),
    async read(ref, versionId, options) {
      const record = await inner.read(ref, versionId, options);
      if (record && sha256Hex(record.ciphertext) === record.sha256) {
        const list = log.get(ref.serverId) ?? [];
        list.push({ sha256: record.sha256, passwordEventIndex: passwordEventCount() });
        log.set(ref.serverId, list);
      }
      return record;
    },
    markCleared: (...args) => inner.markCleared(...args),
    ledger: (...args) => inner.ledger(...args),
  };
}
