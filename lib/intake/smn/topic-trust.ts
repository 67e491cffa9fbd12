/**
 * Which SMN topics the hook trusts, and which projects a trace from a topic may name.
 *
 * SMN signs every tenant's messages in a region with the same regional certificate, so a
 * valid signature proves only that SMN sent the message, not that it came from *our* topic.
 * Trust is therefore fail-closed: with no SMN_TOPIC_URN_ALLOWLIST the webhook refuses to
 * start, and every message is refused should it run anyway. Only an explicit `*` accepts any
 * topic (with a warning at start).
 */
import { ConfigError, type Env, readList } from '../../config/env-parsers.ts';
import type { Logger } from '../../observability/logger.ts';
import { IntakeError } from '../intake-errors.ts';
import { parseTopicUrn } from './smn-message.ts';

export const ENV_TOPIC_ALLOWLIST = 'SMN_TOPIC_URN_ALLOWLIST';
export const ENV_ALLOWED_PROJECTS = 'ESCROW_ALLOWED_PROJECT_IDS';

export type TopicTrust = { mode: 'unset' } | { mode: 'any' } | { mode: 'list'; urns: readonly string[] };

export function parseTopicTrust(env: Env): TopicTrust {
  const entries = readList(env, ENV_TOPIC_ALLOWLIST);
  if (entries.length === 0) return { mode: 'unset' };
  if (entries.includes('*')) {
    if (entries.length > 1)
      throw new ConfigError(ENV_TOPIC_ALLOWLIST, 'must be either * alone or a list of topic URNs, not both');
    return { mode: 'any' };
  }
  for (const urn of entries)
    if (!parseTopicUrn(urn) || urn.includes('*'))
      throw new ConfigError(
        ENV_TOPIC_ALLOWLIST,
        'must be comma-separated topic URNs such as urn:smn:cn-north-4:{project_id}:{topic}, or *',
      );
  return { mode: 'list', urns: entries };
}

/** Throws unless `urn` is trusted; an unset allow-list trusts nothing. */
export function assertTopicAllowed(trust: TopicTrust, urn: string): void {
  if (trust.mode === 'any') return;
  if (trust.mode === 'unset')
    throw new IntakeError(
      'topic_not_allowed',
      `no ${ENV_TOPIC_ALLOWLIST} is configured, so no SMN topic is trusted`,
    );
  if (!trust.urns.includes(urn))
    throw new IntakeError('topic_not_allowed', `SMN topic_urn is not on ${ENV_TOPIC_ALLOWLIST}`);
}

/**
 * The webhook's start-up check: refuses an unset allow-list with the fix in the message,
 * and warns once that `*` trusts every tenant's topic.
 */
export function requireTopicTrust(trust: TopicTrust, logger: Pick<Logger, 'warn'>): void {
  if (trust.mode === 'unset')
    throw new ConfigError(
      ENV_TOPIC_ALLOWLIST,
      'must list the SMN topic URNs this webhook accepts (urn:smn:{region}:{project_id}:{topic}); ' +
        "SMN signs every tenant's messages with the same certificate, so without it any tenant could " +
        'send us notifications. Set it to * to accept any topic (not recommended)',
    );
  if (trust.mode === 'any')
    logger.warn(
      `${ENV_TOPIC_ALLOWLIST}=* accepts correctly signed notifications from ANY tenant's SMN topic; list your topic URNs instead`,
    );
}

/**
 * A trace delivered through a topic may only name the topic's own project, or one the
 * operator listed on ESCROW_ALLOWED_PROJECT_IDS (a shared topic for several projects).
 */
export function assertTraceProject(
  traceProjectId: string,
  topicProjectId: string,
  allowedProjectIds: readonly string[],
): void {
  if (traceProjectId === topicProjectId || allowedProjectIds.includes(traceProjectId)) return;
  throw new IntakeError(
    'project_not_allowed',
    `the trace's project_id is not the project of the SMN topic and is not on ${ENV_ALLOWED_PROJECTS}`,
  );
}
