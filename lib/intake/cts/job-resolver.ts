/**
 * Turns a BMS job id into the ids of the servers it created, through
 * GET /v1/{project_id}/jobs/{job_id} (`entities.sub_jobs[].entities.server_id`).
 *
 * A job that is still running and has not named all its servers yet comes back `pending`;
 * callers enqueue the servers known so far and then fail retryably (`job_pending`, answered
 * 503): SMN redelivers, a direct caller retries, and the sweep catches anything whose
 * redeliveries run out. This keeps the WorkItem contract free of a second "resolve this
 * job" message kind.
 */
import type { BmsApi, BmsJob, CallOptions } from '../../huawei/bms-types.ts';
import { isHuaweiApiError } from '../../huawei/errors.ts';
import { isValidId } from '../ids.ts';
import { IntakeError } from '../intake-errors.ts';

export interface ResolvedJob {
  jobId: string;
  status: string;
  serverIds: string[];
  /** True while the job runs and has not named all its servers: enqueue these, then retry later. */
  pending: boolean;
}

function serverIdsOf(job: BmsJob): { ids: string[]; missing: number } {
  const ids = new Set<string>();
  let missing = 0;
  if (isValidId('server id', job.entities?.server_id)) ids.add(job.entities.server_id);
  const subJobs = Array.isArray(job.entities?.sub_jobs) ? job.entities.sub_jobs : [];
  for (const sub of subJobs) {
    const id = sub?.entities?.server_id;
    if (isValidId('server id', id)) ids.add(id);
    else if (sub?.status !== 'FAIL') missing++;
  }
  const total = job.entities?.sub_jobs_total;
  if (typeof total === 'number' && total > subJobs.length) missing += total - subJobs.length;
  return { ids: [...ids], missing };
}

export async function resolveJob(
  bms: BmsApi,
  projectId: string,
  jobId: string,
  options: CallOptions = {},
): Promise<ResolvedJob> {
  let job: BmsJob;
  try {
    job = await bms.showJob(projectId, jobId, options);
  } catch (cause) {
    if (isHuaweiApiError(cause, 'auth'))
      throw new IntakeError(
        'upstream_auth_failed',
        'BMS job query was refused (authentication or permission)',
        {
          cause,
        },
      );
    if (isHuaweiApiError(cause) && cause.retryable)
      throw new IntakeError('upstream_unavailable', 'BMS job query failed; try again later', { cause });
    if (isHuaweiApiError(cause, 'aborted'))
      throw new IntakeError('upstream_unavailable', 'BMS job query was aborted', { cause });
    if (isHuaweiApiError(cause))
      throw new IntakeError('job_not_found', 'BMS job was not found or could not be read', { cause });
    throw new IntakeError('upstream_unavailable', 'BMS job query failed unexpectedly', { cause });
  }
  const { ids, missing } = serverIdsOf(job);
  const finished = job.status === 'SUCCESS' || job.status === 'FAIL';
  return {
    jobId,
    status: String(job.status),
    serverIds: ids,
    pending: !finished && (ids.length === 0 || missing > 0),
  };
}
