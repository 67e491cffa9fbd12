/**
 * The emulated servers, their password records and the jobs that created them.
 * Nothing runs on timers: every record keeps the emulated times at which things are
 * due, and `materialize(now)` applies whatever has come due before a read or a write,
 * so a fleet of thousands costs nothing while idle.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../lib/clock.ts';
import { encryptPassword, generatePassword } from './cloudbase-init.ts';
import { type DelaySpec, planDelays } from './post-delays.ts';
import type { Random, RandomStreams } from './seeded-random.ts';
import type { PostHistoryEntry, PostSource, ServerTruth } from './types.ts';

export interface ServerSpec {
  name: string;
  osType: 'Windows' | 'Linux';
  imageRef: string;
  flavorRef: string;
  keyName: string | null;
  metadata: Record<string, string>;
  tags: string[];
  /** The server's user data as text (the API takes it base64); the guest runs it at each launch. */
  userData?: string | null | undefined;
}

interface PendingPost {
  at: number;
  /** 'late-clear' is an accepted DELETE that applies at `at` (202 = processed later). */
  source: PostSource | 'late-clear';
}

export interface ServerRecord {
  spec: ServerSpec;
  id: string;
  jobId: string;
  orderId: string;
  createdAt: number;
  activeAt: number;
  /** A reinstall in progress keeps the server SHUTOFF until this time. */
  rebuildingUntil: number;
  deletedAt: number | null;
  pending: PendingPost[];
  ciphertext: string | null;
  postedAt: number | null;
  clearedAt: number | null;
  history: PostHistoryEntry[];
}

export type JobType = 'baremetalBatchCreate' | 'baremetalReinstallOs';

export interface JobRecord {
  id: string;
  type: JobType;
  beganAt: number;
  serverIds: string[];
  subJobIds: string[];
  /** Per server: when its part of the job finishes. */
  doneAt: number[];
}

export interface FleetDeps {
  clock: Clock;
  random: RandomStreams;
  publicKeyPem: () => string;
  /** Told of every stored post (emulated time of the post), for the guest's notification. */
  onPosted?: ((record: ServerRecord, at: number) => void) | undefined;
}

export class FleetError extends Error {
  override name = 'FleetError';
  readonly reason: 'not-found' | 'conflict' | 'invalid';
  constructor(reason: 'not-found' | 'conflict' | 'invalid', message: string) {
    super(message);
    this.reason = reason;
  }
}

export class Fleet {
  readonly #deps: FleetDeps;
  readonly #servers = new Map<string, ServerRecord>();
  /** Creation order, newest last. */
  readonly #order: ServerRecord[] = [];
  readonly #jobs = new Map<string, JobRecord>();

  constructor(deps: FleetDeps) {
    this.#deps = deps;
  }

  get #ids(): Random {
    return this.#deps.random.ids;
  }

  clear(): void {
    this.#servers.clear();
    this.#order.length = 0;
    this.#jobs.clear();
  }

  create(
    specs: ServerSpec[],
    delays: DelaySpec,
  ): { job: JobRecord; orderId: string; servers: ServerRecord[] } {
    const now = this.#deps.clock.now();
    const jobId = this.#ids.hex(32);
    const orderId = `CS${new Date(now).toISOString().slice(2, 16).replace(/[-T:]/g, '')}${this.#ids.chars(5, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789')}`;
    const servers = specs.map((spec) => {
      const plan = planDelays(delays, this.#deps.random.delays);
      const activeAt = now + plan.bootMs;
      const record: ServerRecord = {
        spec,
        id: this.#ids.uuid(),
        jobId,
        orderId,
        createdAt: now,
        activeAt,
        rebuildingUntil: 0,
        deletedAt: null,
        pending: spec.osType === 'Windows' ? [{ at: activeAt + plan.postMs, source: 'cloudbase-init' }] : [],
        ciphertext: null,
        postedAt: null,
        clearedAt: null,
        history: [],
      };
      this.#servers.set(record.id, record);
      this.#order.push(record);
      return record;
    });
    const job: JobRecord = {
      id: jobId,
      type: 'baremetalBatchCreate',
      beganAt: now,
      serverIds: servers.map((s) => s.id),
      subJobIds: servers.map(() => this.#ids.hex(32)),
      doneAt: servers.map((s) => s.activeAt),
    };
    this.#jobs.set(jobId, job);
    return { job, orderId, servers };
  }

  /** The record with everything due by now applied, or undefined. */
  get(id: string): ServerRecord | undefined {
    const record = this.#servers.get(id);
    if (record) this.#materialize(record, this.#deps.clock.now());
    return record;
  }

  /** Live (not deleted) servers, newest first, materialized. */
  list(): ServerRecord[] {
    const now = this.#deps.clock.now();
    const out: ServerRecord[] = [];
    for (let i = this.#order.length - 1; i >= 0; i--) {
      const record = this.#order[i]!;
      this.#materialize(record, now);
      if (record.deletedAt === null) out.push(record);
    }
    return out;
  }

  all(): ServerRecord[] {
    const now = this.#deps.clock.now();
    for (const record of this.#order) this.#materialize(record, now);
    return [...this.#order];
  }

  job(id: string): JobRecord | undefined {
    return this.#jobs.get(id);
  }

  status(record: ServerRecord, now = this.#deps.clock.now()): string {
    if (record.deletedAt !== null && record.deletedAt <= now) return 'DELETED';
    if (now < record.activeAt) return 'BUILD';
    if (now < record.rebuildingUntil) return 'SHUTOFF';
    return 'ACTIVE';
  }

  /** DELETE os-server-password: empties the record; clearing an empty record is a no-op. */
  clearPassword(id: string): ServerRecord {
    const record = this.#live(id);
    this.#clear(record, this.#deps.clock.now());
    return record;
  }

  /** An accepted DELETE that empties whatever record is there at `at`, not before. */
  scheduleClear(id: string, at: number): void {
    const record = this.#live(id);
    record.pending.push({ at, source: 'late-clear' });
    record.pending.sort((a, b) => a.at - b.at);
  }

  #clear(record: ServerRecord, at: number, source: 'delete-api' | 'late-clear' = 'delete-api'): void {
    if (record.ciphertext === null) return;
    record.ciphertext = null;
    record.clearedAt = at;
    record.history.push({ at, event: 'cleared', source });
  }

  /** A post by the guest right now (test hook). */
  guestPost(id: string): 'posted' | 'refused' | 'linux' {
    const record = this.#live(id);
    if (record.spec.osType !== 'Windows') return 'linux';
    return this.#post(record, this.#deps.clock.now(), 'guest-post');
  }

  /** Reinstall: the OS rebuilds, then Cloudbase-Init posts only if the record is empty by then. */
  reinstall(id: string, delays: DelaySpec): { job: JobRecord; postAt: number | null } {
    const record = this.#live(id);
    const now = this.#deps.clock.now();
    const status = this.status(record, now);
    if (status !== 'ACTIVE') {
      throw new FleetError('conflict', `The server is ${status} and cannot be reinstalled now.`);
    }
    const plan = planDelays(delays, this.#deps.random.delays);
    record.rebuildingUntil = now + plan.bootMs;
    let postAt: number | null = null;
    if (record.spec.osType === 'Windows') {
      postAt = record.rebuildingUntil + plan.postMs;
      record.pending.push({ at: postAt, source: 'reinstall' });
      record.pending.sort((a, b) => a.at - b.at);
    }
    const job: JobRecord = {
      id: this.#ids.hex(32),
      type: 'baremetalReinstallOs',
      beganAt: now,
      serverIds: [record.id],
      subJobIds: [this.#ids.hex(32)],
      doneAt: [record.rebuildingUntil],
    };
    this.#jobs.set(job.id, job);
    return { job, postAt };
  }

  delete(id: string): boolean {
    const record = this.#servers.get(id);
    if (!record || record.deletedAt !== null) return false;
    const now = this.#deps.clock.now();
    this.#materialize(record, now);
    record.deletedAt = now;
    record.pending.length = 0;
    return true;
  }

  truth(record: ServerRecord): ServerTruth {
    return {
      id: record.id,
      name: record.spec.name,
      status: this.status(record),
      osType: record.spec.osType,
      keyName: record.spec.keyName,
      jobId: record.jobId,
      tags: [...record.spec.tags],
      createdAt: record.createdAt,
      activeAt: record.activeAt,
      deletedAt: record.deletedAt,
      ciphertext: record.ciphertext,
      postedAt: record.postedAt,
      clearedAt: record.clearedAt,
      nextPostAt: record.pending.find((p) => p.source !== 'late-clear')?.at ?? null,
      postHistory: record.history.map((h) => ({ ...h })),
      refusedPosts: record.history.filter((h) => h.event === 'refused').map((h) => ({ ...h })),
    };
  }

  #live(id: string): ServerRecord {
    const record = this.get(id);
    if (!record || record.deletedAt !== null) throw new FleetError('not-found', 'The server does not exist.');
    return record;
  }

  #materialize(record: ServerRecord, now: number): void {
    while (record.pending.length > 0 && record.pending[0]!.at <= now) {
      const due = record.pending.shift()!;
      if (due.source === 'late-clear') this.#clear(record, due.at, 'late-clear');
      else this.#post(record, due.at, due.source);
    }
  }

  /** Nova semantics: a post while a record exists is refused (409) and changes nothing. */
  #post(record: ServerRecord, at: number, source: PostSource): 'posted' | 'refused' {
    if (record.ciphertext !== null) {
      record.history.push({ at, event: 'refused', source });
      return 'refused';
    }
    const password = generatePassword(this.#deps.random.passwords);
    record.ciphertext = encryptPassword(this.#deps.publicKeyPem(), password);
    record.postedAt = at;
    const sha256 = createHash('sha256').update(record.ciphertext).digest('hex');
    record.history.push({ at, event: 'posted', source, sha256 });
    this.#deps.onPosted?.(record, at);
    return 'posted';
  }
}
