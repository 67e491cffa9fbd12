/**
 * Queue message bodies in and out. A body is untrusted (anyone with send rights can write
 * one), so parsing checks every field and the error says which one is wrong without echoing
 * the body.
 */
import type { WorkItem, WorkSource } from './work-item.ts';

const SOURCES: readonly WorkSource[] = [
  'smn',
  'cts',
  'eventgrid',
  'direct',
  'sweep',
  'cli',
  'requeue',
  'posted',
];
/** Huawei project ids are 32 hex characters; server ids are UUIDs. Be a little lenient. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const REGION = /^[a-z0-9-]{2,64}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const CHAIN = /^[A-Za-z0-9-]{1,64}$/;

export class InvalidWorkItemError extends Error {
  override name = 'InvalidWorkItemError';
  readonly field: string;
  constructor(field: string, message: string) {
    super(`invalid work item: ${field} ${message}`);
    this.field = field;
  }
}

export function encodeWorkItem(item: WorkItem): string {
  return JSON.stringify(item);
}

export function parseWorkItem(body: string): WorkItem {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new InvalidWorkItemError('body', 'is not JSON');
  }
  return validateWorkItem(value);
}

export function validateWorkItem(value: unknown): WorkItem {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new InvalidWorkItemError('body', 'is not a JSON object');
  const o = value as Record<string, unknown>;
  if (o['v'] !== 1) throw new InvalidWorkItemError('v', 'must be 1');
  const item: WorkItem = {
    v: 1,
    projectId: matching(o, 'projectId', ID),
    region: matching(o, 'region', REGION),
    serverId: matching(o, 'serverId', ID),
    firstSeenAt: isoTime(o, 'firstSeenAt', true)!,
    attempt: count(o, 'attempt', true)!,
    source: oneOf(o, 'source', SOURCES),
  };
  const optional: Partial<WorkItem> = {
    activeSince: isoTime(o, 'activeSince'),
    passwordChecks: count(o, 'passwordChecks'),
    origin: text(o, 'origin', 256),
    lastPasswordCheckAt: isoTime(o, 'lastPasswordCheckAt'),
    phase: o['phase'] === undefined ? undefined : oneOf(o, 'phase', ['find', 'verify', 'watch'] as const),
    lastEmptyCheckAt: isoTime(o, 'lastEmptyCheckAt'),
    foundAt: isoTime(o, 'foundAt'),
    clearedAt: isoTime(o, 'clearedAt'),
    sha256: o['sha256'] === undefined ? undefined : matching(o, 'sha256', SHA256),
    versionId: text(o, 'versionId', 256),
    verifyAttempts: count(o, 'verifyAttempts'),
    failureStreak: count(o, 'failureStreak'),
    notBefore: isoTime(o, 'notBefore'),
    deleteSentAt: isoTime(o, 'deleteSentAt'),
    launchedAt: isoTime(o, 'launchedAt'),
    freshLaunch: o['freshLaunch'] === 'first-build' ? 'first-build' : isoTime(o, 'freshLaunch'),
    postedInLaunch: flag(o, 'postedInLaunch'),
    launchMoved: flag(o, 'launchMoved'),
    guestSettledAt: isoTime(o, 'guestSettledAt'),
    chain: o['chain'] === undefined ? undefined : matching(o, 'chain', CHAIN),
  };
  for (const [key, v] of Object.entries(optional))
    if (v !== undefined) (item as unknown as Record<string, unknown>)[key] = v;
  return item;
}

function matching(o: Record<string, unknown>, field: string, pattern: RegExp): string {
  const v = o[field];
  if (typeof v !== 'string' || !pattern.test(v))
    throw new InvalidWorkItemError(field, `must match ${pattern.source}`);
  return v;
}

function oneOf<T extends string>(o: Record<string, unknown>, field: string, allowed: readonly T[]): T {
  const v = o[field];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
    throw new InvalidWorkItemError(field, `must be one of ${allowed.join(', ')}`);
  return v as T;
}

function isoTime(o: Record<string, unknown>, field: string, required = false): string | undefined {
  const v = o[field];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v.length > 40 || !Number.isFinite(Date.parse(v)))
    throw new InvalidWorkItemError(field, 'must be an ISO date-time');
  return v;
}

function count(o: Record<string, unknown>, field: string, required = false): number | undefined {
  const v = o[field];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 1_000_000)
    throw new InvalidWorkItemError(field, 'must be a whole number >= 0');
  return v;
}

function flag(o: Record<string, unknown>, field: string): boolean | undefined {
  const v = o[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new InvalidWorkItemError(field, 'must be true or false');
  return v;
}

function text(o: Record<string, unknown>, field: string, max: number): string | undefined {
  const v = o[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > max)
    throw new InvalidWorkItemError(field, `must be a string of at most ${max} characters`);
  return v;
}
