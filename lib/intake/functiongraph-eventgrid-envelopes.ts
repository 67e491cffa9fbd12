/**
 * The envelopes a platform (not an HTTP sender) invokes us with (FunctionGraph event sources:
 * https://support.huaweicloud.com/intl/en-us/devg-functiongraph/functiongraph_02_0102.html;
 * EventGrid: https://support.huaweicloud.com/intl/en-us/usermanual-eg/eg-ug-015.html):
 * a FunctionGraph SMN trigger `{"record":[{"smn":{…}}]}` (no signature: delivered inside
 * Huawei Cloud), a FunctionGraph CTS trigger `{"cts":{…}}`, and EventGrid CloudEvents 1.0,
 * one or a batch. Each is unwrapped to its CTS trace and handed to trace-intake.
 */
import { createHash } from 'node:crypto';
import { isObject } from '../is-object.ts';
import type { WorkSource } from '../queue/work-item.ts';
import { intakeTrace, type TraceContext } from './cts/trace-intake.ts';
import { isValidId } from './ids.ts';
import type { IntakeDeps } from './intake-deps.ts';
import { describeType, IntakeError } from './intake-errors.ts';
import { parseTopicUrn } from './smn/smn-message.ts';
import { assertTopicAllowed } from './smn/topic-trust.ts';

export interface TraceEnvelope {
  trace: unknown;
  context: TraceContext;
}

export type PlatformEventKind = 'smn-trigger' | 'cts-trigger' | 'cloudevents';

const MAX_RECORDS = 20;
const MAX_CLOUDEVENT_CHARS = 64 * 1024;

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function fingerprint(value: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(value) ?? '')
    .digest('hex')
    .slice(0, 32);
}

function context(
  source: WorkSource,
  origin: string,
  region: string | undefined,
  projectId: string | undefined,
  deps: IntakeDeps,
): TraceContext {
  return {
    source,
    origin,
    region: region ?? deps.config.defaultRegion,
    projectId: projectId ?? deps.config.defaultProjectId,
  };
}

function smnTriggerEnvelopes(event: Record<string, unknown>, deps: IntakeDeps): TraceEnvelope[] {
  const records = event['record'];
  if (!Array.isArray(records) || records.length === 0 || records.length > MAX_RECORDS)
    throw new IntakeError(
      'unsupported_event',
      `FunctionGraph SMN trigger "record" must hold 1-${MAX_RECORDS} records`,
    );
  return records.map((record, i) => {
    const smn = isObject(record) ? record['smn'] : undefined;
    if (!isObject(smn))
      throw new IntakeError('invalid_message', `SMN trigger record ${i} has no "smn" object`);
    const topicUrn = str(smn['topic_urn']);
    const messageId = str(smn['message_id']);
    if (!topicUrn || !messageId)
      throw new IntakeError(
        'invalid_message',
        `SMN trigger record ${i} needs string topic_urn and message_id`,
      );
    // Only the platform can invoke this entry, so an unset allow-list is not a hole here; a
    // configured one still applies.
    if (deps.config.topicTrust.mode === 'list') assertTopicAllowed(deps.config.topicTrust, topicUrn);
    const topic = parseTopicUrn(topicUrn);
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(messageId))
      throw new IntakeError('invalid_message', `SMN trigger record ${i} message_id is not well-formed`);
    return {
      trace: smn['message'],
      context: {
        ...context('smn', `smn:${messageId}`, topic?.region, topic?.projectId, deps),
        topicProjectId: topic?.projectId,
      },
    };
  });
}

function ctsTriggerEnvelope(event: Record<string, unknown>, deps: IntakeDeps): TraceEnvelope {
  const trace = event['cts'];
  if (!isObject(trace))
    throw new IntakeError('invalid_message', `FunctionGraph CTS trigger "cts" must be an object`);
  const traceId = str(trace['trace_id']);
  const origin = traceId && /^[A-Za-z0-9_-]{1,128}$/.test(traceId) ? traceId : fingerprint(trace);
  return { trace, context: context('cts', `cts:${origin}`, undefined, undefined, deps) };
}

function cloudEventEnvelope(event: unknown, i: number, deps: IntakeDeps): TraceEnvelope {
  if (!isObject(event))
    throw new IntakeError('invalid_message', `CloudEvent ${i} must be an object, got ${describeType(event)}`);
  if (event['specversion'] !== '1.0')
    throw new IntakeError('unsupported_event', `CloudEvent ${i} specversion must be "1.0"`);
  const id = str(event['id']);
  if (!id || !/^[A-Za-z0-9_.:-]{1,128}$/.test(id))
    throw new IntakeError('invalid_message', `CloudEvent ${i} needs an id of 1-128 safe characters`);
  if (!str(event['source']) || !str(event['type']))
    throw new IntakeError('invalid_message', `CloudEvent ${i} needs string source and type`);
  if ((JSON.stringify(event)?.length ?? 0) > MAX_CLOUDEVENT_CHARS)
    throw new IntakeError('payload_too_large', `CloudEvent ${i} is larger than 64 KiB`);
  const region = isValidId('region', event['region']) ? (event['region'] as string) : undefined;
  return { trace: event['data'], context: context('eventgrid', `eventgrid:${id}`, region, undefined, deps) };
}

/** Recognises the envelope and unwraps it; throws IntakeError('unsupported_event') otherwise. */
export function unwrapPlatformEvent(
  event: unknown,
  deps: IntakeDeps,
): { kind: PlatformEventKind; envelopes: TraceEnvelope[] } {
  if (Array.isArray(event)) {
    if (event.length === 0 || event.length > MAX_RECORDS)
      throw new IntakeError('unsupported_event', `a CloudEvents batch must hold 1-${MAX_RECORDS} events`);
    return { kind: 'cloudevents', envelopes: event.map((e, i) => cloudEventEnvelope(e, i, deps)) };
  }
  if (!isObject(event))
    throw new IntakeError(
      'unsupported_event',
      `event must be an object or an array, got ${describeType(event)}`,
    );
  if ('record' in event) return { kind: 'smn-trigger', envelopes: smnTriggerEnvelopes(event, deps) };
  if ('cts' in event) return { kind: 'cts-trigger', envelopes: [ctsTriggerEnvelope(event, deps)] };
  if ('specversion' in event) return { kind: 'cloudevents', envelopes: [cloudEventEnvelope(event, 0, deps)] };
  throw new IntakeError(
    'unsupported_event',
    'event is not a FunctionGraph SMN trigger, a FunctionGraph CTS trigger or a CloudEvent',
  );
}

export interface PlatformEventResult {
  kind: PlatformEventKind;
  accepted: number;
  duplicates: number;
  ignored: number;
  rejected: Array<{ index: number; code: string; message: string }>;
}

/**
 * Processes every envelope. Non-retryable refusals are reported per record; if any record
 * failed retryably, the first such error is thrown after the others were processed, so the
 * platform redelivers (already-queued servers are skipped by the dedupe cache).
 */
export async function handlePlatformEvent(
  deps: IntakeDeps,
  event: unknown,
  signal?: AbortSignal,
): Promise<PlatformEventResult> {
  const { kind, envelopes } = unwrapPlatformEvent(event, deps);
  const result: PlatformEventResult = { kind, accepted: 0, duplicates: 0, ignored: 0, rejected: [] };
  let retry: IntakeError | undefined;
  for (const [index, envelope] of envelopes.entries()) {
    try {
      const outcome = await intakeTrace(deps, envelope.trace, envelope.context, signal);
      if (outcome.status === 'ignored') result.ignored++;
      else {
        result.accepted += outcome.enqueued;
        result.duplicates += outcome.duplicates;
      }
    } catch (error) {
      if (!(error instanceof IntakeError)) throw error;
      if (error.retryable) retry ??= error;
      else result.rejected.push({ index, code: error.code, message: error.message });
    }
  }
  if (retry) throw retry;
  return result;
}
