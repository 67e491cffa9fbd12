/**
 * POST /posted: a guest says "my password record is posted". A hint, never an authority.
 *
 * A notification that passes every check below queues one hint work item (source 'posted',
 * no delay). The worker orders hints first and spends the next password token on them; a hint
 * that finds nothing is dropped without starting a chain, so the server's own schedule goes on
 * as before. Nothing is escrowed or cleared on a notification's word: the GET, escrow,
 * read-back, DELETE and verify are the usual ones.
 *
 * One thing a signed notification may end: the repost watch. With `"settled": true` (bound into
 * the HMAC) the guest says Cloudbase-Init's SetUserPasswordPlugin has finished in this launch:
 * the snippet read the plugin's "done" status, which Cloudbase-Init writes only after the
 * plugin returns, so after its POST and every retry of it; a plugin marked done never runs
 * again in that instance. So no further post can come from this launch, and the watch that
 * waits for one (a retried or rerun POST after our clear) would only spend GETs. The hint
 * carries the time it was signed (`guestSettledAt`, never later than its arrival); decide.ts
 * applies it only to a launch that began before that. Unsigned notifications never carry it:
 * without the key it is a claim anyone could make.
 *
 * Checks, cheapest first, so that a flood spends nothing that matters:
 *   enabled → POST → JSON content type → size → strict shape and ids → timestamp window →
 *   HMAC (constant time) → project may notify → replay (dropped) → one hint per server per
 *   interval (dropped) → for a server the hook does not know: one show-server call from a
 *   bounded budget, refused unless Windows and ACTIVE → enqueue.
 * Refusals never echo the body or the signature.
 */
import type { Clock } from '../../clock.ts';
import { osType } from '../../huawei/bms-server.ts';
import type { BmsApi, BmsServer } from '../../huawei/bms-types.ts';
import { isHuaweiApiError } from '../../huawei/errors.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { WorkItem, WorkQueue } from '../../queue/work-item.ts';
import { DedupeCache } from '../dedupe-cache.ts';
import { requireId } from '../ids.ts';
import { describeType, IntakeError } from '../intake-errors.ts';
import { errorResponse, type JsonResponse, jsonResponse } from '../intake-response.ts';
import type { PostedConfig } from './posted-config.ts';
import { verifyPosted } from './posted-signature.ts';

/** A notification is four short fields; anything larger is not one. */
export const POSTED_MAX_BODY_BYTES = 1024;
const FIELDS = ['server_id', 'project_id', 'timestamp', 'signature', 'settled'];

/**
 * What the hook already knows of a server, so a notification for it costs no Huawei call:
 * 'eligible' (a Windows server, seen ACTIVE, not done), 'done' (escrowed and cleared),
 * 'refused' (skipped: not Windows, deleted, opted out…), or undefined (unknown).
 */
export type DirectoryAnswer = 'eligible' | 'done' | 'refused' | undefined;

export interface PostedServerDirectory {
  lookup(projectId: string, serverId: string): DirectoryAnswer;
}

export interface PostedNotification {
  serverId: string;
  projectId: string;
  /** Unix seconds. */
  timestamp: number;
  signature: string | undefined;
  /** The guest saw Cloudbase-Init's password plugin marked done (signed with the rest). */
  settled: boolean;
}

export interface PostedRequest {
  method: string;
  headers: Readonly<Record<string, string | undefined>>;
  body: string | undefined;
  isBase64Encoded?: boolean | undefined;
}

/** Per-process memory: replays, recent hints, servers already shown, the show budget. */
export class PostedGate {
  readonly replays: DedupeCache;
  readonly eligible: DedupeCache;
  readonly refused: DedupeCache;
  readonly #lastHint = new Map<string, number>();
  readonly #shows: number[] = [];
  readonly #capacity: number;
  readonly #showsPerMinute: number;

  constructor(config: Pick<PostedConfig, 'cacheSize' | 'showsPerMinute'>) {
    this.#capacity = config.cacheSize;
    this.#showsPerMinute = config.showsPerMinute;
    this.replays = new DedupeCache(config.cacheSize);
    this.eligible = new DedupeCache(config.cacheSize);
    this.refused = new DedupeCache(config.cacheSize);
  }

  /** Whether this server had a notification-triggered action less than `intervalMs` ago. */
  recentlyHinted(serverId: string, nowMs: number, intervalMs: number): boolean {
    const last = this.#lastHint.get(serverId);
    return last !== undefined && nowMs - last < intervalMs;
  }

  /** Forgets a hint that could not be queued, so the guest's retry is not taken for a repeat. */
  forgetHint(serverId: string): void {
    this.#lastHint.delete(serverId);
  }

  noteHint(serverId: string, nowMs: number): void {
    this.#lastHint.delete(serverId);
    this.#lastHint.set(serverId, nowMs);
    while (this.#lastHint.size > this.#capacity)
      this.#lastHint.delete(this.#lastHint.keys().next().value as string);
  }

  /** Takes one show-server call from the per-minute budget, or says there is none left. */
  takeShow(nowMs: number): boolean {
    while (this.#shows.length > 0 && nowMs - this.#shows[0]! >= 60_000) this.#shows.shift();
    if (this.#shows.length >= this.#showsPerMinute) return false;
    this.#shows.push(nowMs);
    return true;
  }
}

export interface PostedDeps {
  config: PostedConfig;
  queue: WorkQueue;
  bmsFor(region: string): BmsApi;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  gate: PostedGate;
  directory?: PostedServerDirectory | undefined;
}

export type PostedResult =
  | { hinted: true }
  | { hinted: false; reason: 'duplicate' | 'rate-limited' | 'already-done' };

function header(headers: PostedRequest['headers'], name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

function decodeBody(request: PostedRequest): string {
  const raw = request.body ?? '';
  const bytes = request.isBase64Encoded ? Math.floor((raw.length * 3) / 4) : Buffer.byteLength(raw, 'utf8');
  if (bytes > POSTED_MAX_BODY_BYTES)
    throw new IntakeError('payload_too_large', `a notification is at most ${POSTED_MAX_BODY_BYTES} bytes`);
  return request.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
}

export function parsePostedNotification(body: string): PostedNotification {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new IntakeError('invalid_json', 'the body is not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new IntakeError('invalid_message', `the body must be a JSON object, got ${describeType(value)}`);
  const o = value as Record<string, unknown>;
  const unexpected = Object.keys(o).filter((k) => !FIELDS.includes(k)).length;
  if (unexpected > 0)
    throw new IntakeError(
      'invalid_message',
      `${unexpected} unexpected field(s); a notification carries only ${FIELDS.join(', ')}`,
    );
  const serverId = requireId('server id', o['server_id'], 'server_id');
  const projectId = requireId('project id', o['project_id'], 'project_id');
  const timestamp = o['timestamp'];
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp <= 0)
    throw new IntakeError('invalid_message', 'timestamp must be whole Unix seconds');
  const signature = o['signature'];
  if (signature !== undefined && typeof signature !== 'string')
    throw new IntakeError('signature_invalid', 'signature must be a hex string');
  const settled = o['settled'];
  if (settled !== undefined && typeof settled !== 'boolean')
    throw new IntakeError('invalid_message', 'settled must be true or false');
  return { serverId, projectId, timestamp, signature, settled: settled === true };
}

/** The HTTP contract of POST /posted, shared by the Lambda handler and `serve`. */
export async function handlePostedRequest(
  deps: PostedDeps,
  request: PostedRequest,
  signal?: AbortSignal,
): Promise<JsonResponse> {
  if (deps.config.mode === 'off')
    return jsonResponse(404, {
      error: { code: 'posted_disabled', message: 'posted notifications are not enabled here' },
    });
  if (request.method.toUpperCase() !== 'POST')
    return jsonResponse(405, { error: { code: 'method_not_allowed', message: 'use POST' } });
  try {
    const type = header(request.headers, 'content-type')?.split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json')
      throw new IntakeError('unsupported_media_type', 'send the notification as application/json');
    const notification = parsePostedNotification(decodeBody(request));
    const result = await acceptNotification(deps, notification, signal);
    deps.metrics.add('PostedNotification', 'Count', 1, { result: result.hinted ? 'hinted' : result.reason });
    return jsonResponse(result.hinted ? 202 : 200, result);
  } catch (error) {
    return errorResponse(error, deps.logger, deps.metrics, 'posted notification');
  }
}

/** Everything after the wire format: authenticity, freshness, limits, eligibility, the hint. */
export async function acceptNotification(
  deps: PostedDeps,
  n: PostedNotification,
  signal?: AbortSignal,
): Promise<PostedResult> {
  const { config, gate } = deps;
  const nowMs = deps.clock.now();
  if (Math.abs(nowMs / 1000 - n.timestamp) > config.maxSkewSeconds)
    throw new IntakeError(
      'message_expired',
      `timestamp is more than ${config.maxSkewSeconds} s from our clock`,
    );
  if (config.mode === 'hmac') {
    if (
      n.signature === undefined ||
      !verifyPosted(config.key!, n.serverId, n.projectId, n.timestamp, n.signature, n.settled)
    )
      throw new IntakeError('signature_invalid', 'the signature does not match');
  }
  const region = config.projects.get(n.projectId);
  if (region === undefined) throw new IntakeError('project_not_allowed', 'this project may not notify');

  const replayKey = `${n.serverId}.${n.projectId}.${n.timestamp}`;
  if (gate.replays.has(replayKey)) return { hinted: false, reason: 'duplicate' };
  gate.replays.add(replayKey);
  const intervalMs = config.minIntervalSeconds * 1000;
  if (gate.recentlyHinted(n.serverId, nowMs, intervalMs)) return { hinted: false, reason: 'rate-limited' };

  const known = deps.directory?.lookup(n.projectId, n.serverId);
  if (known === 'done') return { hinted: false, reason: 'already-done' };
  if (known === 'refused' || gate.refused.has(n.serverId))
    throw new IntakeError('server_not_eligible', 'the hook does not escrow this server');
  if (known !== 'eligible' && !gate.eligible.has(n.serverId)) {
    if (!gate.takeShow(nowMs))
      throw new IntakeError('rate_limited', 'too many notifications for unknown servers; retry later', {
        retryable: true,
      });
    // Counted before the call, so a server refused for now costs at most one show per interval.
    gate.noteHint(n.serverId, nowMs);
    await checkEligible(deps, n, region, signal);
    gate.eligible.add(n.serverId);
  }
  gate.noteHint(n.serverId, nowMs);

  const hint: WorkItem = {
    v: 1,
    projectId: n.projectId,
    region,
    serverId: n.serverId,
    firstSeenAt: new Date(nowMs).toISOString(),
    attempt: 0,
    source: 'posted',
    origin: 'posted',
    // The earlier of the signed time and ours: a notification replayed after a reinstall keeps
    // its old time, which falls before the new launch, so it cannot end that launch's watch.
    ...(config.mode === 'hmac' && n.settled
      ? { guestSettledAt: new Date(Math.min(nowMs, n.timestamp * 1000)).toISOString() }
      : {}),
  };
  let queued = 0;
  try {
    queued = (await deps.queue.enqueue([hint], { signal })).accepted;
  } finally {
    if (queued !== 1) gate.forgetHint(n.serverId);
  }
  if (queued !== 1)
    throw new IntakeError('enqueue_failed', 'the hint could not be queued; retry later', { retryable: true });
  deps.logger.info('posted notification: hint queued', { serverId: n.serverId, projectId: n.projectId });
  return { hinted: true };
}

/** One show-server call: the notification is refused unless the server is Windows and ACTIVE. */
async function checkEligible(
  deps: PostedDeps,
  n: PostedNotification,
  region: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  let server: BmsServer;
  try {
    server = await deps.bmsFor(region).showServer(n.projectId, n.serverId, { signal });
  } catch (error) {
    if (isHuaweiApiError(error) && error.kind === 'not-found') {
      deps.gate.refused.add(n.serverId);
      throw new IntakeError('server_not_eligible', 'no such server in this project', { cause: error });
    }
    if (isHuaweiApiError(error) && error.kind === 'auth')
      throw new IntakeError('upstream_auth_failed', 'the show-server call was refused (AK/SK or policy)', {
        cause: error,
      });
    throw new IntakeError('upstream_unavailable', 'the server could not be looked up; retry later', {
      cause: error,
      retryable: true,
    });
  }
  if (osType(server) !== 'windows') {
    deps.gate.refused.add(n.serverId);
    throw new IntakeError('server_not_eligible', 'not a Windows server');
  }
  const status = String(server.status ?? '').toUpperCase();
  if (status !== 'ACTIVE')
    throw new IntakeError('server_not_eligible', `the server is ${status || 'in no state'}, not ACTIVE`);
}
