/**
 * The one way the intake puts servers on the work queue: one WorkItem per server, skipping
 * (origin, server) pairs this instance already enqueued. A partial enqueue failure is a
 * retryable error, so the sender redelivers and nothing is lost; the pairs that did go
 * through are remembered and not sent twice.
 */
import type { WorkItem, WorkSource } from '../queue/work-item.ts';
import type { IntakeDeps } from './intake-deps.ts';
import { IntakeError } from './intake-errors.ts';

export interface EnqueueRequest {
  projectId: string;
  region: string;
  serverIds: readonly string[];
  source: WorkSource;
  /** Where the event came from (e.g. "smn:<message id>"); the dedupe key's first half. */
  origin: string;
}

export interface EnqueueSummary {
  enqueued: string[];
  duplicates: string[];
}

type EnqueueDeps = Pick<IntakeDeps, 'queue' | 'clock' | 'dedupe' | 'metrics'>;

export async function enqueueServers(
  deps: EnqueueDeps,
  request: EnqueueRequest,
  signal?: AbortSignal,
): Promise<EnqueueSummary> {
  const key = (serverId: string): string => `${request.origin}|${serverId}`;
  const unique = [...new Set(request.serverIds)];
  const duplicates = unique.filter((id) => deps.dedupe.has(key(id)));
  const fresh = unique.filter((id) => !duplicates.includes(id));
  if (fresh.length === 0) return { enqueued: [], duplicates };

  const firstSeenAt = new Date(deps.clock.now()).toISOString();
  const items: WorkItem[] = fresh.map((serverId) => ({
    v: 1,
    projectId: request.projectId,
    region: request.region,
    serverId,
    firstSeenAt,
    attempt: 0,
    source: request.source,
    origin: request.origin,
  }));

  let failed: Set<string>;
  try {
    const result = await deps.queue.enqueue(items, { signal });
    failed = new Set(result.failed.map((f) => f.serverId));
  } catch (cause) {
    throw new IntakeError('enqueue_failed', 'the work queue refused the servers; try again later', { cause });
  }
  const enqueued = fresh.filter((id) => !failed.has(id));
  for (const id of enqueued) deps.dedupe.add(key(id));
  deps.metrics.add('IntakeEnqueued', 'Count', enqueued.length, { source: request.source });
  if (failed.size > 0)
    throw new IntakeError(
      'enqueue_failed',
      `the work queue refused ${failed.size} of ${fresh.length} servers; try again later`,
    );
  return { enqueued, duplicates };
}
