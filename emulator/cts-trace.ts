/**
 * CTS traces for BMS creates and reinstalls, shaped like the documented trace structure
 * (request/response as JSON strings, times in epoch ms). Which resource id a create
 * trace carries is unconfirmed, hence the per-server / per-job switch.
 */
import type { Random } from './seeded-random.ts';

export interface CtsTrace {
  trace_id: string;
  trace_name: string;
  trace_rating: 'normal';
  trace_type: 'ApiCall';
  service_type: 'BMS';
  resource_type: 'bms';
  resource_id: string;
  resource_name: string;
  api_version: string;
  source_ip: string;
  event_type: 'system';
  tracker_name: 'system';
  read_only: false;
  time: number;
  record_time: number;
  request: string;
  response: string;
  code: '200';
  project_id: string;
  domain_id: string;
  user: Record<string, unknown>;
}

export interface TraceContext {
  projectId: string;
  domainId: string;
  random: Random;
  now: number;
}

export interface CreateTraceInput {
  traceName: string;
  mode: 'per-server' | 'job';
  /** The create request as the caller sent it (admin passwords are masked here). */
  request: unknown;
  jobId: string;
  orderId: string;
  servers: Array<{ id: string; name: string }>;
}

function user(ctx: TraceContext): Record<string, unknown> {
  return {
    id: 'f36972ced0e94a8a8e0d619f1214abcd',
    name: 'emulator-user',
    user_name: 'emulator-user',
    domain: { name: 'emulator-domain', id: ctx.domainId },
    account_id: ctx.domainId,
    type: 'User',
    principal_urn: `iam::${ctx.domainId}:user:emulator-user`,
    principal_id: 'f36972ced0e94a8a8e0d619f1214abcd',
    principal_is_root_user: 'false',
  };
}

/** Replaces any admin password field so traces never carry one, as real CTS masks them. */
export function maskRequest(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskRequest);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = /^(adminpass|admin_pass|adminPass)$/i.test(k) ? '********' : maskRequest(v);
  }
  return out;
}

function baseTrace(
  ctx: TraceContext,
  traceName: string,
): Omit<CtsTrace, 'resource_id' | 'resource_name' | 'request' | 'response'> {
  return {
    trace_id: ctx.random.uuid(),
    trace_name: traceName,
    trace_rating: 'normal',
    trace_type: 'ApiCall',
    service_type: 'BMS',
    resource_type: 'bms',
    api_version: '1.0',
    source_ip: '127.0.0.1',
    event_type: 'system',
    tracker_name: 'system',
    read_only: false,
    time: ctx.now,
    record_time: ctx.now,
    code: '200',
    project_id: ctx.projectId,
    domain_id: ctx.domainId,
    user: user(ctx),
  };
}

export function createTraces(input: CreateTraceInput, ctx: TraceContext): CtsTrace[] {
  const request = JSON.stringify(maskRequest(input.request));
  if (input.mode === 'job') {
    return [
      {
        ...baseTrace(ctx, input.traceName),
        resource_id: '',
        resource_name: input.servers[0]?.name ?? '',
        request,
        response: JSON.stringify({ job_id: input.jobId, order_id: input.orderId }),
      },
    ];
  }
  return input.servers.map((server) => ({
    ...baseTrace(ctx, input.traceName),
    resource_id: server.id,
    resource_name: server.name,
    request,
    response: JSON.stringify({ job_id: input.jobId, order_id: input.orderId, server_id: server.id }),
  }));
}

export function reinstallTrace(
  input: { traceName: string; serverId: string; serverName: string; jobId: string; request: unknown },
  ctx: TraceContext,
): CtsTrace {
  return {
    ...baseTrace(ctx, input.traceName),
    resource_id: input.serverId,
    resource_name: input.serverName,
    request: JSON.stringify(maskRequest(input.request)),
    response: JSON.stringify({ job_id: input.jobId }),
  };
}
