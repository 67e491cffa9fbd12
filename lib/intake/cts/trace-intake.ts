/**
 * From one CTS trace (whatever envelope it came in) to queued servers: filter by service
 * type and trace name, find server ids or job ids, resolve jobs through the BMS API, and
 * enqueue. Shared by the SMN webhook, the FunctionGraph triggers and EventGrid.
 */
import type { WorkSource } from '../../queue/work-item.ts';
import { enqueueServers } from '../enqueue-servers.ts';
import { validateProjectId, validateRegion } from '../ids.ts';
import type { IntakeDeps } from '../intake-deps.ts';
import { IntakeError } from '../intake-errors.ts';
import { assertTraceProject } from '../smn/topic-trust.ts';
import { irrelevanceReason, parseCtsTrace, traceTargets } from './cts-trace.ts';
import { resolveJob } from './job-resolver.ts';

export interface TraceContext {
  /** Region the event belongs to (from the topic URN, or the configured default). */
  region: string | undefined;
  /** Project to use when the trace does not name one. */
  projectId: string | undefined;
  /** The project in the SMN topic URN the trace came through: the trace may name only it (or an allowed one). */
  topicProjectId?: string | undefined;
  source: WorkSource;
  origin: string;
}

export type TraceIntakeResult =
  | { status: 'ignored'; reason: string }
  | { status: 'accepted'; enqueued: number; duplicates: number };

export async function intakeTrace(
  deps: IntakeDeps,
  input: unknown,
  context: TraceContext,
  signal?: AbortSignal,
): Promise<TraceIntakeResult> {
  const trace = parseCtsTrace(input);
  const reason = irrelevanceReason(trace, deps.config);
  if (reason !== undefined) {
    deps.logger.debug('CTS trace ignored', { reason, traceName: trace.trace_name, origin: context.origin });
    return { status: 'ignored', reason };
  }
  const projectId = validateProjectId(trace.project_id ?? context.projectId, 'project_id');
  if (context.topicProjectId !== undefined)
    assertTraceProject(projectId, context.topicProjectId, deps.config.allowedProjectIds);
  const region = validateRegion(context.region, 'region');
  const targets = traceTargets(trace);

  const serverIds = [...targets.serverIds];
  let pendingJob = false;
  // A trace that names its server needs no job lookup: per-server traces also carry the batch's
  // job id, and resolving it would enqueue every sibling once per trace.
  const jobIds = serverIds.length > 0 ? [] : targets.jobIds;
  for (const jobId of jobIds) {
    const job = await resolveJob(deps.bmsFor(region), projectId, jobId, { signal });
    serverIds.push(...job.serverIds);
    pendingJob ||= job.pending;
    deps.logger.info('BMS job resolved', {
      jobId,
      jobStatus: job.status,
      servers: job.serverIds.length,
      pending: job.pending,
    });
  }

  const summary = await enqueueServers(
    deps,
    { projectId, region, serverIds, source: context.source, origin: context.origin },
    signal,
  );
  deps.logger.info('CTS trace accepted', {
    origin: context.origin,
    traceName: trace.trace_name,
    projectId,
    region,
    serverIds: summary.enqueued,
    duplicates: summary.duplicates.length,
  });
  // The servers known so far are queued; ask the sender to come back for the rest.
  if (pendingJob)
    throw new IntakeError('job_pending', 'a BMS job is still running and has not named all its servers yet');
  return { status: 'accepted', enqueued: summary.enqueued.length, duplicates: summary.duplicates.length };
}
