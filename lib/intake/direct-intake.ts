/**
 * Direct intake: a pipeline (or an EventBridge rule) names the servers it just created,
 * `{project_id, region, server_ids[]}`, or the job that creates them,
 * `{project_id, region, job_id}`. The payload may arrive raw or as an EventBridge event's
 * `detail`. The answer says what was queued and what was refused and why.
 */
import { randomUUID } from 'node:crypto';
import { isObject } from '../is-object.ts';
import { resolveJob } from './cts/job-resolver.ts';
import { enqueueServers } from './enqueue-servers.ts';
import { idProblem, validateJobId, validateProjectId, validateRegion } from './ids.ts';
import type { IntakeDeps } from './intake-deps.ts';
import { describeType, IntakeError } from './intake-errors.ts';

export interface DirectIntakeRequest {
  projectId: string;
  region: string;
  serverIds: unknown[];
  jobId: string | undefined;
}

export interface DirectIntakeResult {
  projectId: string;
  region: string;
  accepted: string[];
  rejected: Array<{ index: number; reason: string }>;
  /** Present when the request named a job. */
  job?: { jobId: string; status: string; serverIds: string[] } | undefined;
}

/** Unwraps an EventBridge envelope (`detail-type` + `detail`) when there is one. */
function unwrapEventBridge(payload: unknown): unknown {
  if (isObject(payload) && 'detail-type' in payload && 'detail' in payload) return payload['detail'];
  return payload;
}

export function parseDirectRequest(payload: unknown, maxServerIds: number): DirectIntakeRequest {
  let body = unwrapEventBridge(payload);
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      throw new IntakeError('invalid_json', 'direct intake payload is not valid JSON');
    }
  }
  if (!isObject(body))
    throw new IntakeError(
      'invalid_message',
      `direct intake payload must be an object, got ${describeType(body)}`,
    );
  const projectId = validateProjectId(body['project_id'], 'project_id');
  const region = validateRegion(body['region'], 'region');
  const rawIds = body['server_ids'];
  const rawJob = body['job_id'];
  if (rawIds === undefined && rawJob === undefined)
    throw new IntakeError(
      'invalid_message',
      'direct intake payload needs "server_ids" (an array) or "job_id"',
    );
  if (rawIds !== undefined && !Array.isArray(rawIds))
    throw new IntakeError('invalid_message', `"server_ids" must be an array, got ${describeType(rawIds)}`);
  if (Array.isArray(rawIds) && rawIds.length > maxServerIds)
    throw new IntakeError(
      'payload_too_large',
      `"server_ids" holds more than ${maxServerIds} entries; split the request`,
    );
  const jobId = rawJob === undefined ? undefined : validateJobId(rawJob, 'job_id');
  return { projectId, region, serverIds: rawIds ?? [], jobId };
}

export async function runDirectIntake(
  deps: IntakeDeps,
  request: DirectIntakeRequest,
  signal?: AbortSignal,
): Promise<DirectIntakeResult> {
  const rejected: DirectIntakeResult['rejected'] = [];
  const valid: string[] = [];
  request.serverIds.forEach((id, index) => {
    const problem = idProblem('server id', id);
    if (problem) rejected.push({ index, reason: problem });
    else valid.push(id as string);
  });

  const base = { projectId: request.projectId, region: request.region };
  const accepted: string[] = [];
  if (valid.length > 0) {
    const summary = await enqueueServers(
      deps,
      { ...base, serverIds: valid, source: 'direct', origin: `direct:${randomUUID()}` },
      signal,
    );
    accepted.push(...summary.enqueued);
  }

  let job: DirectIntakeResult['job'];
  if (request.jobId !== undefined) {
    const resolved = await resolveJob(deps.bmsFor(request.region), request.projectId, request.jobId, {
      signal,
    });
    // A stable origin lets a retried request skip the servers this instance already queued.
    const summary = await enqueueServers(
      deps,
      { ...base, serverIds: resolved.serverIds, source: 'direct', origin: `direct-job:${request.jobId}` },
      signal,
    );
    for (const id of [...summary.enqueued, ...summary.duplicates])
      if (!accepted.includes(id)) accepted.push(id);
    job = { jobId: resolved.jobId, status: resolved.status, serverIds: resolved.serverIds };
    if (resolved.pending)
      throw new IntakeError(
        'job_pending',
        `BMS job is ${resolved.status}: ${resolved.serverIds.length} server(s) queued so far, retry for the rest`,
      );
  }
  deps.logger.info('direct intake', { ...base, accepted, rejected: rejected.length, jobId: request.jobId });
  return { ...base, accepted, rejected, job };
}
