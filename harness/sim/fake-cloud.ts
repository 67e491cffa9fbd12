/**
 * The cloud side of the simulation: BMS servers, their password records (Nova write-once
 * semantics: a post lands only on an empty record), reinstalls that move launched_at, and the
 * gateway in front of them. The hook reaches it through `CloudTransport`, an HttpTransport, so
 * the real BMS client, signer, retry policy and rate limiter sit on the path, and a blind
 * retry of an ambiguous DELETE happens exactly as it would on the wire.
 *
 * Every post and every applied clear is reported to the `CloudObserver` (the oracle) at the
 * moment it happens.
 */

import type { Random } from '../../emulator/seeded-random.ts';
import { sha256Hex } from '../../lib/escrow/escrow-record.ts';
import { HuaweiApiError } from '../../lib/huawei/errors.ts';
import type { HttpRequest, HttpResponse, HttpTransport } from '../../lib/huawei/http-transport.ts';
import type { SimScenario } from './scenario.ts';
import type { SimLoop } from './sim-loop.ts';

export interface SimServer {
  id: string;
  name: string;
  windows: boolean;
  status: 'BUILD' | 'ACTIVE' | 'SHUTOFF';
  taskState: string | null;
  /** True ms; undefined before the first ACTIVE. */
  launchedAt: number | undefined;
  /** 0 before the first boot, then 1, 2… one per (re)install. */
  launch: number;
  record: string | undefined;
  /** Clears accepted with 202 and not applied yet. */
  pendingClears: number;
}

export type ClearCause = 'immediate' | 'late-202';

/** first: the launch's first post; retry: Cloudbase-Init re-sending the same one; rerun: a new one after a reboot. */
export type PostKind = 'first' | 'retry' | 'rerun';

export interface CloudObserver {
  onPost(server: SimServer, ciphertext: string, kind: PostKind): void;
  /** `ciphertext` is what the clear removed (undefined: the record was already empty). */
  onClear(
    server: SimServer,
    ciphertext: string | undefined,
    cause: ClearCause,
    afterAmbiguous: boolean,
  ): void;
  onRebuildWipe(server: SimServer, ciphertext: string): void;
}

export class FaultCounts {
  readonly counts = new Map<string, number>();
  add(kind: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }
}

/** Huawei's gateway refuses signatures more than 15 minutes off its clock. */
const SIGNATURE_WINDOW_MS = 15 * 60_000;
const LOCKOUT_FAILURES = 5;
const LOCKOUT_MS = 5 * 60_000;
const MINUTE_MS = 60_000;

function huaweiTime(ms: number): string {
  // "2019-05-22T03:23:59.000000": no zone, UTC.
  return `${new Date(ms).toISOString().slice(0, 19)}.000000`;
}

function parseSdkDate(value: string | undefined): number {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(value ?? '');
  if (!m) return Number.NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

export class SimCloud {
  readonly servers = new Map<string, SimServer>();
  readonly projectId: string;
  readonly #loop: SimLoop;
  readonly #observer: CloudObserver;
  readonly #scenario: SimScenario;
  readonly #random: Random;
  readonly faults: FaultCounts;
  readonly #trace: (line: string) => void;
  /** Per API, the true times of the calls the gateway let through in the last minute. */
  readonly #window = new Map<string, number[]>();
  #authFailures: number[] = [];
  #lockedUntil = 0;
  /** Callers (worker incarnations) whose last DELETE on a server had an ambiguous outcome. */
  readonly #ambiguous = new Set<string>();
  lockouts = 0;

  constructor(args: {
    loop: SimLoop;
    observer: CloudObserver;
    scenario: SimScenario;
    random: Random;
    faults: FaultCounts;
    projectId: string;
    trace: (line: string) => void;
  }) {
    this.#loop = args.loop;
    this.#observer = args.observer;
    this.#scenario = args.scenario;
    this.#random = args.random;
    this.faults = args.faults;
    this.projectId = args.projectId;
    this.#trace = args.trace;
  }

  addServer(id: string, windows: boolean): SimServer {
    const server: SimServer = {
      id,
      name: `sim-${this.servers.size + 1}`,
      windows,
      status: 'BUILD',
      taskState: 'spawning',
      launchedAt: undefined,
      launch: 0,
      record: undefined,
      pendingClears: 0,
    };
    this.servers.set(id, server);
    return server;
  }

  boot(server: SimServer): void {
    server.status = 'ACTIVE';
    server.taskState = null;
    server.launchedAt = this.#loop.now();
    server.launch++;
    this.#trace(`cloud ${server.name} ACTIVE launch ${server.launch}`);
  }

  startRebuild(server: SimServer): void {
    server.status = 'SHUTOFF';
    server.taskState = 'rebuilding';
    this.#trace(`cloud ${server.name} reinstall starts (record ${server.record ? 'present' : 'empty'})`);
    if (this.#scenario.rebuildClearsRecord && server.record !== undefined) {
      this.#observer.onRebuildWipe(server, server.record);
      server.record = undefined;
    }
  }

  /** Cloudbase-Init's POST: lands only on an empty record (Nova answers 409 otherwise). */
  guestPost(server: SimServer, ciphertext: string, kind: PostKind): boolean {
    if (server.record !== undefined || server.status !== 'ACTIVE') return false;
    server.record = ciphertext;
    this.#trace(`guest ${server.name} posts ${sha256Hex(ciphertext).slice(0, 8)} (launch ${server.launch})`);
    this.#observer.onPost(server, ciphertext, kind);
    return true;
  }

  #applyClear(server: SimServer, cause: ClearCause, afterAmbiguous: boolean): void {
    const removed = server.record;
    server.record = undefined;
    this.#trace(
      `cloud ${server.name} record cleared (${cause}${afterAmbiguous ? ', after an ambiguous DELETE' : ''}) ${removed ? sha256Hex(removed).slice(0, 8) : 'was empty'}`,
    );
    this.#observer.onClear(server, removed, cause, afterAmbiguous);
  }

  /** A transport for one caller (a worker incarnation, the sweep). */
  transport(caller: string): HttpTransport {
    return {
      send: (request) => this.#send(caller, request),
      close: async () => undefined,
    };
  }

  #roll(rate: number): boolean {
    return rate > 0 && this.#random.next() < rate;
  }

  #latency(): number {
    const [lo, hi] = this.#scenario.huawei.latencyMs;
    return this.#random.int(lo, hi);
  }

  async #send(caller: string, request: HttpRequest): Promise<HttpResponse> {
    const h = this.#scenario.huawei;
    const api = request.api;
    // The request travels; faults before it arrives leave the cloud untouched.
    await this.#travel(api, request.signal);
    if (this.#roll(h.resetRate)) {
      this.faults.add('reset');
      throw new HuaweiApiError({ kind: 'network', api, cause: new Error('ECONNRESET') });
    }
    const auth = this.#checkSignature(request);
    if (auth) return auth;
    if (this.#roll(h.serverErrorRate)) {
      this.faults.add('5xx');
      return this.#error(503, 'APIGW.0201', 'Service unavailable');
    }
    if (this.#roll(h.throttleRate) || this.#overLimit(api)) {
      this.faults.add('429');
      return this.#error(429, 'APIGW.0308', 'The throttling threshold has been reached', {
        'retry-after': String(this.#random.int(1, 30)),
      });
    }
    const response = this.#handle(caller, request);
    // Only a DELETE changes the record: its answer travels back while the world moves on.
    if (request.method === 'DELETE') await this.#travel(api, request.signal);
    if (this.#roll(request.method === 'DELETE' ? h.lostDeleteRate : h.lostResponseRate)) {
      this.faults.add(request.method === 'DELETE' ? 'lost-response-delete' : 'lost-response');
      if (request.method === 'DELETE') this.#ambiguous.add(`${caller}|${request.url.pathname}`);
      const how = this.#random.int(0, 2);
      if (how === 0) throw new HuaweiApiError({ kind: 'network', api, cause: new Error('ECONNRESET') });
      if (how === 1) throw new HuaweiApiError({ kind: 'timeout', api, cause: new Error('headers timeout') });
      return this.#error(500, 'BMS.0001', 'Internal error');
    }
    return response;
  }

  /** Half a round trip; an abort on the way rejects as the real transport does. */
  async #travel(api: string, signal: AbortSignal | undefined): Promise<void> {
    try {
      await this.#loop.sleep(this.#latency(), signal);
    } catch (cause) {
      throw new HuaweiApiError({ kind: 'aborted', api, cause });
    }
  }

  #overLimit(api: string): boolean {
    const now = this.#loop.now();
    const limit = api.startsWith('password.') ? 50 : 1000;
    const times = (this.#window.get(api) ?? []).filter((t) => t > now - MINUTE_MS);
    this.#window.set(api, times);
    if (times.length >= limit) return true;
    times.push(now);
    return false;
  }

  #checkSignature(request: HttpRequest): HttpResponse | undefined {
    const now = this.#loop.now();
    if (now < this.#lockedUntil) {
      this.faults.add('401-locked');
      return this.#error(401, 'APIGW.0301', 'Incorrect IAM authentication information: account locked');
    }
    const signed = parseSdkDate(request.headers['X-Sdk-Date'] ?? request.headers['x-sdk-date']);
    if (Number.isFinite(signed) && Math.abs(signed - now) <= SIGNATURE_WINDOW_MS) {
      // The lockout counts consecutive failures of the AK/SK ("more than five consecutive
      // times", APIG.0301 FAQ): any authenticated request starts the count again.
      this.#authFailures = [];
      return undefined;
    }
    this.faults.add('401-skew');
    this.#authFailures = this.#authFailures.filter((t) => t > now - LOCKOUT_MS);
    this.#authFailures.push(now);
    if (this.#authFailures.length >= LOCKOUT_FAILURES) {
      this.#lockedUntil = now + LOCKOUT_MS;
      this.lockouts++;
      this.#trace('cloud AK/SK locked for 5 minutes (5 bad signatures)');
    }
    return this.#error(
      401,
      'APIGW.0301',
      'Incorrect IAM authentication information: verify aksk signature fail',
    );
  }

  #error(status: number, code: string, message: string, headers: Record<string, string> = {}): HttpResponse {
    return {
      status,
      headers: {
        'content-type': 'application/json',
        date: new Date(this.#loop.now()).toUTCString(),
        ...headers,
      },
      body: JSON.stringify({ error_code: code, error_msg: message, request_id: 'sim' }),
    };
  }

  #ok(status: number, body: unknown): HttpResponse {
    return {
      status,
      headers: { 'content-type': 'application/json', date: new Date(this.#loop.now()).toUTCString() },
      body: body === undefined ? '' : JSON.stringify(body),
    };
  }

  #serverJson(s: SimServer): Record<string, unknown> {
    return {
      id: s.id,
      name: s.name,
      status: s.status,
      tenant_id: this.projectId,
      key_name: 'sim-key',
      metadata: { os_type: s.windows ? 'Windows' : 'Linux' },
      'OS-EXT-STS:task_state': s.taskState,
      'OS-SRV-USG:launched_at': s.launchedAt === undefined ? '' : huaweiTime(s.launchedAt),
      tags: [],
    };
  }

  #handle(caller: string, request: HttpRequest): HttpResponse {
    const path = request.url.pathname;
    const m = /^\/v1\/([^/]+)\/baremetalservers(?:\/([^/]+))?(\/os-server-password)?\/?$/.exec(path);
    if (!m || m[1] !== this.projectId) return this.#error(404, 'BMS.0040', 'not found');
    const id = m[2];
    if (id === 'detail' && request.method === 'GET') {
      const limit = Number(request.url.searchParams.get('limit') ?? '1000');
      const page = Number(request.url.searchParams.get('offset') ?? '1');
      const all = [...this.servers.values()];
      const slice = all.slice((page - 1) * limit, page * limit);
      return this.#ok(200, { servers: slice.map((s) => this.#serverJson(s)), count: all.length });
    }
    const server = id === undefined ? undefined : this.servers.get(id);
    if (!server) return this.#error(404, 'BMS.0040', 'server not found');
    if (!m[3]) return this.#ok(200, { server: this.#serverJson(server) });
    const key = `${caller}|${path}`;
    if (request.method === 'GET') {
      this.#ambiguous.delete(key);
      return this.#ok(200, { password: server.record ?? '' });
    }
    if (request.method === 'DELETE') {
      const afterAmbiguous = this.#ambiguous.has(key);
      this.#ambiguous.delete(key);
      const status = this.#scenario.huawei.deleteStatus;
      if (status === 202 && this.#roll(this.#scenario.huawei.lateDeleteRate)) {
        this.faults.add('late-202');
        const [lo, hi] = this.#scenario.huawei.lateDeleteSeconds;
        const delay = this.#random.int(lo * 1000, hi * 1000);
        server.pendingClears++;
        this.#trace(`cloud ${server.name} DELETE accepted, applies in ${(delay / 1000).toFixed(1)} s`);
        this.#loop.after(
          delay,
          () => {
            server.pendingClears--;
            this.#applyClear(server, 'late-202', afterAmbiguous);
          },
          'late-202',
        );
      } else this.#applyClear(server, 'immediate', afterAmbiguous);
      return this.#ok(status, undefined);
    }
    return this.#error(405, 'APIGW.0101', 'method not allowed');
  }
}
