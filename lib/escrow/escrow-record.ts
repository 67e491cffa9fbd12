/**
 * The one serialized form of an escrowed version, shared by every store. Parsing is strict:
 * a value that is corrupt, from another schema or about another server is an error the
 * pipeline can act on (do not clear), never a crash and never a silently wrong record.
 * Error messages name fields, never their values.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { registerSecret } from '../observability/redact.ts';
import type { EscrowRecord, ServerRef } from './escrow-store.ts';

export type EscrowRecordProblem = 'not-json' | 'schema' | 'field' | 'sha-mismatch' | 'foreign';

export class EscrowRecordError extends Error {
  override name = 'EscrowRecordError';
  readonly reason: EscrowRecordProblem;
  constructor(reason: EscrowRecordProblem, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Project, server and region ids as used in paths and secret names: no separators, no dots first. */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Nova stores at most 1020 characters; leave room for larger keys without accepting junk. */
const MAX_CIPHERTEXT = 4096;
const MAX_TEXT = 1024;

export function isSafeId(value: unknown): value is string {
  return typeof value === 'string' && SAFE_ID.test(value);
}

export function isSha256Hex(value: unknown): value is string {
  return typeof value === 'string' && SHA256_HEX.test(value);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Constant-time equality of two ciphertexts (compares their digests, so lengths do not leak). */
export function sameCiphertext(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

export function refOf(record: EscrowRecord): ServerRef {
  return { projectId: record.projectId, region: record.region, serverId: record.serverId };
}

export function sameRef(a: ServerRef, b: ServerRef): boolean {
  return a.projectId === b.projectId && a.region === b.region && a.serverId === b.serverId;
}

export interface EscrowRecordInput {
  ref: ServerRef;
  /** The base64 ciphertext exactly as GET os-server-password returned it. */
  ciphertext: string;
  retrievedAt: Date | string;
  serverName?: string | undefined;
  keyName?: string | undefined;
  plaintext?: string | undefined;
  launchedAt?: string | undefined;
  postedInLaunch?: boolean | undefined;
}

/** Builds and validates a record; computes the sha256 that keys the version. */
export function buildEscrowRecord(input: EscrowRecordInput): EscrowRecord {
  const retrievedAt = input.retrievedAt instanceof Date ? input.retrievedAt.toISOString() : input.retrievedAt;
  return validate({
    schema: 1,
    serverId: input.ref.serverId,
    serverName: input.serverName,
    projectId: input.ref.projectId,
    region: input.ref.region,
    keyName: input.keyName,
    ciphertext: input.ciphertext,
    sha256: sha256Hex(input.ciphertext),
    retrievedAt,
    plaintext: input.plaintext,
    launchedAt: input.launchedAt,
    postedInLaunch: input.postedInLaunch,
  });
}

/** JSON with a fixed key order, so the same record always serializes to the same bytes. */
export function serializeEscrowRecord(record: EscrowRecord): string {
  const r = validate(record);
  return JSON.stringify({
    schema: r.schema,
    serverId: r.serverId,
    serverName: r.serverName,
    projectId: r.projectId,
    region: r.region,
    keyName: r.keyName,
    ciphertext: r.ciphertext,
    sha256: r.sha256,
    retrievedAt: r.retrievedAt,
    plaintext: r.plaintext,
    launchedAt: r.launchedAt,
    postedInLaunch: r.postedInLaunch,
  });
}

/** Parses a stored value; with `expected`, also rejects a record that belongs to another server. */
export function parseEscrowRecord(text: string, expected?: ServerRef): EscrowRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new EscrowRecordError('not-json', 'escrow record is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new EscrowRecordError('not-json', 'escrow record is not a JSON object');
  const record = validate(value as EscrowRecord);
  if (expected !== undefined && !sameRef(refOf(record), expected))
    throw new EscrowRecordError('foreign', 'escrow record belongs to a different server');
  return record;
}

function validate(r: EscrowRecord): EscrowRecord {
  if (r.schema !== 1) throw new EscrowRecordError('schema', 'escrow record has an unknown schema');
  for (const field of ['serverId', 'projectId', 'region'] as const) {
    if (!isSafeId(r[field])) throw fieldError(field, 'must be an id of letters, digits, ".", "_" or "-"');
  }
  for (const field of ['serverName', 'keyName'] as const) {
    const v = r[field];
    if (v !== undefined && v !== null && (typeof v !== 'string' || v.length > MAX_TEXT))
      throw fieldError(field, `must be a string of at most ${MAX_TEXT} characters`);
  }
  const c = r.ciphertext;
  if (
    typeof c !== 'string' ||
    c.length === 0 ||
    c.length > MAX_CIPHERTEXT ||
    c.length % 4 !== 0 ||
    !BASE64.test(c)
  )
    throw fieldError('ciphertext', 'must be non-empty base64');
  if (!isSha256Hex(r.sha256)) throw fieldError('sha256', 'must be 64 lower-case hex digits');
  if (!timingSafeEqual(Buffer.from(r.sha256, 'hex'), createHash('sha256').update(c, 'utf8').digest()))
    throw new EscrowRecordError('sha-mismatch', 'escrow record ciphertext does not match its sha256');
  if (typeof r.retrievedAt !== 'string' || Number.isNaN(Date.parse(r.retrievedAt)))
    throw fieldError('retrievedAt', 'must be an ISO date-time');
  if (r.launchedAt !== undefined && r.launchedAt !== null && Number.isNaN(Date.parse(String(r.launchedAt))))
    throw fieldError('launchedAt', 'must be an ISO date-time when present');
  if (r.postedInLaunch !== undefined && r.postedInLaunch !== null && typeof r.postedInLaunch !== 'boolean')
    throw fieldError('postedInLaunch', 'must be true or false when present');
  if (
    r.plaintext !== undefined &&
    r.plaintext !== null &&
    (typeof r.plaintext !== 'string' || r.plaintext === '')
  )
    throw fieldError('plaintext', 'must be a non-empty string when present');
  // A plaintext that passes through here must never reach a log line, wherever it came from.
  registerSecret(r.plaintext ?? undefined);
  return {
    schema: 1,
    serverId: r.serverId,
    serverName: r.serverName ?? undefined,
    projectId: r.projectId,
    region: r.region,
    keyName: r.keyName ?? undefined,
    ciphertext: c,
    sha256: r.sha256,
    retrievedAt: r.retrievedAt,
    plaintext: r.plaintext ?? undefined,
    launchedAt: r.launchedAt ?? undefined,
    postedInLaunch: r.postedInLaunch ?? undefined,
  };
}

function fieldError(field: string, expected: string): EscrowRecordError {
  return new EscrowRecordError('field', `escrow record field ${field} ${expected}`);
}
