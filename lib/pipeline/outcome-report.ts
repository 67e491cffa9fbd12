/**
 * One structured log line and the matching EMF metrics per processed server. Server ids go
 * in the log line (useful, not secret) but never into metric dimensions (cardinality).
 */
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { WorkItem } from '../queue/work-item.ts';
import type { Outcome } from './outcome.ts';

export function outcomeReason(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'cleared':
      return outcome.newVersion ? 'new-version' : 'first-version';
    case 'escrowed':
      return 'dry-run';
    default:
      return outcome.reason;
  }
}

export function reportOutcome(
  logger: Logger,
  metrics: Metrics,
  item: WorkItem,
  outcome: Outcome,
  extra: Record<string, unknown> = {},
): void {
  const fields: Record<string, unknown> = {
    outcome: outcome.kind,
    reason: outcomeReason(outcome),
    serverId: item.serverId,
    projectId: item.projectId,
    region: item.region,
    attempt: item.attempt,
    source: item.source,
    ...extra,
  };
  if (outcome.kind === 'cleared' || outcome.kind === 'escrowed') {
    fields['versionId'] = outcome.versionId;
    fields['sha256'] = outcome.sha256;
    fields['foundAt'] = outcome.exposure.foundAt;
    if (outcome.exposure.lastEmptyCheckAt) fields['lastEmptyCheckAt'] = outcome.exposure.lastEmptyCheckAt;
    fields['clearedAt'] = outcome.exposure.clearedAt;
    fields['passwordChecks'] = outcome.exposure.passwordChecks;
  }
  if (outcome.kind === 'not-ready') fields['retryAfterSeconds'] = outcome.retryAfterSeconds;
  if (outcome.kind === 'failed') {
    fields['permanent'] = outcome.permanent;
    fields['detail'] = outcome.detail;
  }
  if (outcome.kind === 'skipped' && outcome.detail) fields['detail'] = outcome.detail;

  const level = outcome.kind === 'failed' ? (outcome.permanent ? 'error' : 'warn') : 'info';
  logger[level](`server ${outcome.kind}`, fields);

  const dims = { outcome: outcome.kind, reason: outcomeReason(outcome) };
  metrics.add('ServerOutcome', 'Count', 1, dims);
  if (outcome.kind === 'cleared') {
    metrics.add('PasswordChecksPerServer', 'Count', outcome.exposure.passwordChecks);
    const found = Date.parse(outcome.exposure.foundAt);
    const cleared = Date.parse(outcome.exposure.clearedAt ?? '');
    if (Number.isFinite(found) && Number.isFinite(cleared))
      metrics.add('FoundToClearedSeconds', 'Seconds', (cleared - found) / 1000);
    const firstSeen = Date.parse(item.firstSeenAt);
    if (Number.isFinite(firstSeen) && Number.isFinite(cleared))
      metrics.add('FirstSeenToClearedSeconds', 'Seconds', (cleared - firstSeen) / 1000);
  }
  if (outcome.kind === 'failed' && outcome.permanent)
    metrics.add('DeadLettered', 'Count', 1, { reason: outcome.reason });
}
