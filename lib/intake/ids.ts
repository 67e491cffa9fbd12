/**
 * Strict validators for the identifiers that reach URLs and queue messages. Every id is
 * checked against a closed character set, so nothing carrying a path separator, an encoded
 * separator, a query or fragment character, whitespace or a control character gets through.
 * Messages say which rule failed and never echo the value. The final shape check is the
 * BMS client's own (path-params.ts, endpoints.ts), so intake never accepts an id the client
 * would refuse, or the other way round.
 */
import { isValidRegion } from '../huawei/endpoints.ts';
import { type PathParamName, validatePathParam } from '../huawei/path-params.ts';
import { IntakeError } from './intake-errors.ts';

export type IdKind = 'project id' | 'server id' | 'job id' | 'region';

/** Names the first dangerous feature of `value`, so the error explains itself. */
function firstProblem(value: string): string | undefined {
  if (value === '') return 'is empty';
  if (value.length > 64) return 'is longer than 64 characters';
  if (value.includes('/') || value.includes('\\')) return "contains a path separator ('/' or '\\')";
  if (value.includes('..')) return "contains '..'";
  if (value.includes('%')) return "contains '%' (percent-encoding is not allowed)";
  if (/[?#&=]/.test(value)) return 'contains a query or fragment character (? # & =)';
  if (/\s/.test(value)) return 'contains whitespace';
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) return 'contains a control character';
  return undefined;
}

const EXPECTED: Record<IdKind, string> = {
  'project id': 'letters and digits only (an IAM project id, 32 hex digits)',
  'server id': 'a UUID (8-4-4-4-12 hex digits)',
  'job id': "letters, digits and '-' (a BMS job id, 32 hex digits)",
  region: 'a region id such as cn-north-4',
};

const PATH_PARAM: Record<Exclude<IdKind, 'region'>, PathParamName> = {
  'project id': 'projectId',
  'server id': 'serverId',
  'job id': 'jobId',
};

function wellFormed(kind: IdKind, value: string): boolean {
  if (kind === 'region') return isValidRegion(value);
  try {
    validatePathParam(PATH_PARAM[kind], value);
    return true;
  } catch {
    return false;
  }
}

/** Returns the reason `value` is not a valid id of `kind`, or undefined when it is. */
export function idProblem(kind: IdKind, value: unknown): string | undefined {
  if (typeof value !== 'string') return `${kind} must be a string`;
  const problem = firstProblem(value);
  if (problem !== undefined) return `${kind} ${problem}; expected ${EXPECTED[kind]}`;
  if (!wellFormed(kind, value)) return `${kind} is not well-formed; expected ${EXPECTED[kind]}`;
  return undefined;
}

export function isValidId(kind: IdKind, value: unknown): value is string {
  return idProblem(kind, value) === undefined;
}

/** Returns `value` when it is a valid id of `kind`; throws IntakeError('invalid_id') otherwise. */
export function requireId(kind: IdKind, value: unknown, field?: string): string {
  const problem = idProblem(kind, value);
  if (problem !== undefined) throw new IntakeError('invalid_id', field ? `${field}: ${problem}` : problem);
  return value as string;
}

export const validateProjectId = (value: unknown, field?: string): string =>
  requireId('project id', value, field);
export const validateServerId = (value: unknown, field?: string): string =>
  requireId('server id', value, field);
export const validateJobId = (value: unknown, field?: string): string => requireId('job id', value, field);
export const validateRegion = (value: unknown, field?: string): string => requireId('region', value, field);
