/**
 * Parses a CTS trace (structure:
 * https://support.huaweicloud.com/intl/en-us/usermanual-cts/cts_03_0010.html), as delivered
 * inside an SMN message, a FunctionGraph CTS trigger or an EventGrid event, and finds the
 * servers it announces.
 * `request`/`response` arrive as JSON strings from the CTS API and as objects in the
 * FunctionGraph sample; `trace_rating` was once called `trace_status`: both are accepted.
 */

import { idProblem, isValidId } from '../ids.ts';
import { describeType, IntakeError } from '../intake-errors.ts';

export interface CtsTrace {
  trace_name: string;
  service_type: string;
  resource_type: string | undefined;
  resource_id: string | undefined;
  trace_rating: string | undefined;
  trace_id: string | undefined;
  project_id: string | undefined;
  /** HTTP status of the traced call, when CTS recorded one. */
  code: number | undefined;
  /** The traced call's response body, parsed when it was a JSON string. */
  response: unknown;
}

export interface TraceFilter {
  traceNames: readonly string[];
  serviceTypes: readonly string[];
}

/** What a relevant trace points at: servers directly, or jobs to resolve into servers. */
export interface TraceTargets {
  serverIds: string[];
  jobIds: string[];
}

const MAX_TRACE_CHARS = 256 * 1024;

function optionalString(trace: Record<string, unknown>, field: string): string | undefined {
  const value = trace[field];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string')
    throw new IntakeError(
      'invalid_message',
      `CTS trace field "${field}" must be a string, got ${describeType(value)}`,
    );
  return value;
}

function parseMaybeJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (!text.startsWith('{') && !text.startsWith('[')) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    // A response body CTS could not render as JSON simply carries no ids.
    return undefined;
  }
}

/** Accepts the trace as an object or as the JSON text of one. */
export function parseCtsTrace(input: unknown): CtsTrace {
  let value = input;
  if (typeof input === 'string') {
    if (input.length > MAX_TRACE_CHARS)
      throw new IntakeError('payload_too_large', `CTS trace is longer than ${MAX_TRACE_CHARS} characters`);
    try {
      value = JSON.parse(input);
    } catch {
      throw new IntakeError('invalid_message', 'CTS trace is not valid JSON');
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new IntakeError('invalid_message', `CTS trace must be a JSON object, got ${describeType(value)}`);
  const trace = value as Record<string, unknown>;

  const traceName = optionalString(trace, 'trace_name');
  const serviceType = optionalString(trace, 'service_type');
  if (traceName === undefined) throw new IntakeError('invalid_message', 'CTS trace is missing "trace_name"');
  if (serviceType === undefined)
    throw new IntakeError('invalid_message', 'CTS trace is missing "service_type"');

  const rawCode = trace['code'];
  let code: number | undefined;
  if (typeof rawCode === 'number' && Number.isInteger(rawCode)) code = rawCode;
  else if (typeof rawCode === 'string' && /^\d{3}$/.test(rawCode)) code = Number(rawCode);
  else if (rawCode !== undefined && rawCode !== null && rawCode !== '')
    throw new IntakeError('invalid_message', 'CTS trace field "code" must be an HTTP status code');

  // The FunctionGraph sample shows `resource_id: {}`; an object carries no id.
  const rawResourceId = trace['resource_id'];
  const resourceId =
    rawResourceId !== null && typeof rawResourceId === 'object' && !Array.isArray(rawResourceId)
      ? undefined
      : optionalString(trace, 'resource_id');

  return {
    trace_name: traceName,
    service_type: serviceType,
    resource_type: optionalString(trace, 'resource_type'),
    resource_id: resourceId,
    trace_rating: optionalString(trace, 'trace_rating') ?? optionalString(trace, 'trace_status'),
    trace_id: optionalString(trace, 'trace_id'),
    project_id: optionalString(trace, 'project_id'),
    code,
    response: parseMaybeJson(trace['response']),
  };
}

const lower = (values: readonly string[]): string[] => values.map((v) => v.toLowerCase());

/** Why the trace is not about a new server, or undefined when it is. */
export function irrelevanceReason(trace: CtsTrace, filter: TraceFilter): string | undefined {
  if (!lower(filter.serviceTypes).includes(trace.service_type.toLowerCase())) return 'service-type';
  if (!lower(filter.traceNames).includes(trace.trace_name.toLowerCase())) return 'trace-name';
  // A failed call created nothing.
  if (trace.code !== undefined && trace.code >= 400) return 'failed-call';
  return undefined;
}

const SERVER_KEYS = new Set(['server_id', 'serverid', 'server_ids', 'serverids']);
const JOB_KEYS = new Set(['job_id', 'jobid']);
const SERVER_CONTAINERS = new Set(['server', 'servers']);

interface Collected {
  serverIds: Set<string>;
  jobIds: Set<string>;
  problems: string[];
}

function collectString(kind: 'server id' | 'job id', value: unknown, out: Collected): void {
  const values = Array.isArray(value) ? value : [value];
  for (const v of values) {
    if (v === null || v === undefined || v === '') continue;
    const problem = idProblem(kind, v);
    if (problem) out.problems.push(`response ${problem}`);
    else (kind === 'server id' ? out.serverIds : out.jobIds).add(v as string);
  }
}

/** Walks the response body (bounded) for server ids and job ids in the places BMS puts them. */
function walk(
  node: unknown,
  parentKey: string,
  depth: number,
  out: Collected,
  budget: { nodes: number },
): void {
  if (depth > 6 || --budget.nodes < 0 || node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) walk(item, parentKey, depth + 1, out, budget);
    return;
  }
  for (const [key, value] of Object.entries(node)) {
    const k = key.toLowerCase();
    if (SERVER_KEYS.has(k)) collectString('server id', value, out);
    else if (JOB_KEYS.has(k)) collectString('job id', value, out);
    else if (k === 'id' && SERVER_CONTAINERS.has(parentKey)) collectString('server id', value, out);
    else walk(value, k, depth + 1, out, budget);
  }
}

/**
 * The servers (or jobs) a relevant trace announces. `resource_id` may be a server id, a
 * comma-separated list of them, or a job id [U]. Anything id-shaped but malformed (a path
 * separator, an encoded one, a query character) makes the whole trace invalid rather than
 * being quietly dropped, because a well-formed Huawei trace never carries one.
 */
export function traceTargets(trace: CtsTrace): TraceTargets {
  const out: Collected = { serverIds: new Set(), jobIds: new Set(), problems: [] };
  let unusable: string | undefined;
  if (trace.resource_id !== undefined) {
    for (const part of trace.resource_id.split(',').map((s) => s.trim())) {
      if (isValidId('server id', part)) out.serverIds.add(part);
      else if (isValidId('job id', part)) out.jobIds.add(part);
      else {
        const problem = idProblem('server id', part);
        // An order id in resource_id is fine when the response names the servers; a path or
        // query trick never is.
        if (problem?.includes('not well-formed')) unusable = `resource_id: ${problem}`;
        else if (problem) out.problems.push(`resource_id: ${problem}`);
      }
    }
  }
  walk(trace.response, '', 0, out, { nodes: 2000 });
  if (out.problems.length > 0) throw new IntakeError('invalid_id', `CTS trace ${out.problems[0]}`);
  if (out.serverIds.size === 0 && out.jobIds.size === 0) {
    if (unusable) throw new IntakeError('invalid_id', `CTS trace ${unusable}`);
    throw new IntakeError('no_targets', 'CTS trace names no server id and no job id');
  }
  return { serverIds: [...out.serverIds], jobIds: [...out.jobIds] };
}
