/**
 * Parses an SMN HTTP(S) delivery body (format and signature:
 * https://support.huaweicloud.com/intl/en-us/usermanual-smn/smn_ug_a9002.html, smn_ug_a9003.html)
 * into a typed message. The size is checked before parsing, every field's type is checked,
 * and `message` is kept exactly as received because it is part of the signed text.
 */
import { describeType, IntakeError } from '../intake-errors.ts';
import type { SmnMessageType } from './smn-string-to-sign.ts';

interface SmnCommon {
  message: string;
  message_id: string;
  topic_urn: string;
  timestamp: string;
  signature: string;
  signature_version: string | undefined;
  signing_cert_url: string;
}

export interface SmnNotification extends SmnCommon {
  type: 'Notification';
  subject: string | undefined;
  unsubscribe_url: string | undefined;
}

export interface SmnConfirmation extends SmnCommon {
  type: 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';
  subscribe_url: string;
}

export type SmnMessage = SmnNotification | SmnConfirmation;

const TYPES: readonly SmnMessageType[] = [
  'Notification',
  'SubscriptionConfirmation',
  'UnsubscribeConfirmation',
];
/** urn:smn:{region}:{project_id}:{topic name} */
const TOPIC_URN = /^urn:smn:([a-z0-9-]{1,64}):([A-Za-z0-9*]{1,64}):([A-Za-z0-9_*-]{1,255})$/;
const MESSAGE_ID = /^[A-Za-z0-9_-]{1,128}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export interface TopicUrnParts {
  region: string;
  projectId: string;
  topic: string;
}

export function parseTopicUrn(urn: string): TopicUrnParts | undefined {
  const m = TOPIC_URN.exec(urn);
  return m ? { region: m[1]!, projectId: m[2]!, topic: m[3]! } : undefined;
}

function stringField(body: Record<string, unknown>, field: string, maxLength: number): string {
  const value = body[field];
  if (value === undefined || value === null)
    throw new IntakeError('invalid_message', `SMN message is missing "${field}"`);
  if (typeof value !== 'string')
    throw new IntakeError(
      'invalid_message',
      `SMN message field "${field}" must be a string, got ${describeType(value)}`,
    );
  if (value.length > maxLength)
    throw new IntakeError(
      'invalid_message',
      `SMN message field "${field}" is longer than ${maxLength} characters`,
    );
  return value;
}

function optionalString(body: Record<string, unknown>, field: string, maxLength: number): string | undefined {
  const value = body[field];
  return value === undefined || value === null ? undefined : stringField(body, field, maxLength);
}

/** Parses JSON text of at most `maxBytes` UTF-8 bytes into a plain object, or throws IntakeError. */
export function parseJsonObject(
  raw: string | Uint8Array,
  maxBytes: number,
  what: string,
): Record<string, unknown> {
  const bytes = typeof raw === 'string' ? Buffer.byteLength(raw, 'utf8') : raw.byteLength;
  if (bytes > maxBytes)
    throw new IntakeError('payload_too_large', `${what} is larger than ${maxBytes} bytes`);
  const text = typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new IntakeError('invalid_json', `${what} is not valid JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new IntakeError('invalid_message', `${what} must be a JSON object, got ${describeType(value)}`);
  return value as Record<string, unknown>;
}

/** Validates an already-parsed SMN body. */
export function parseSmnMessage(body: Record<string, unknown>): SmnMessage {
  const type = body['type'];
  if (typeof type !== 'string')
    throw new IntakeError('invalid_message', 'SMN message is missing a string "type"');
  if (!(TYPES as readonly string[]).includes(type))
    throw new IntakeError('unknown_message_type', `SMN message type is not one of ${TYPES.join(', ')}`);

  const common: SmnCommon = {
    message: stringField(body, 'message', 256 * 1024),
    message_id: stringField(body, 'message_id', 128),
    topic_urn: stringField(body, 'topic_urn', 512),
    timestamp: stringField(body, 'timestamp', 40),
    signature: stringField(body, 'signature', 4096),
    signature_version: optionalString(body, 'signature_version', 16),
    signing_cert_url: stringField(body, 'signing_cert_url', 2048),
  };
  if (!MESSAGE_ID.test(common.message_id))
    throw new IntakeError('invalid_message', 'SMN message_id must be 1-128 letters, digits, "-" or "_"');
  if (!parseTopicUrn(common.topic_urn))
    throw new IntakeError(
      'invalid_message',
      'SMN topic_urn must look like urn:smn:{region}:{project_id}:{topic}',
    );
  if (!TIMESTAMP.test(common.timestamp) || Number.isNaN(Date.parse(common.timestamp)))
    throw new IntakeError(
      'invalid_message',
      'SMN timestamp must be an ISO-8601 time such as 2024-07-10T09:45:00Z',
    );
  if (!BASE64.test(common.signature) || common.signature.length % 4 !== 0)
    throw new IntakeError('invalid_message', 'SMN signature must be base64');
  if (common.signature_version !== undefined && common.signature_version !== 'v1')
    throw new IntakeError('invalid_message', 'SMN signature_version must be "v1"');

  if (type === 'Notification') {
    return {
      ...common,
      type,
      subject: optionalString(body, 'subject', 1024),
      unsubscribe_url: optionalString(body, 'unsubscribe_url', 2048),
    };
  }
  return {
    ...common,
    type: type as SmnConfirmation['type'],
    subscribe_url: stringField(body, 'subscribe_url', 2048),
  };
}

/** Size check, JSON parse and field validation in one step. */
export function parseSmnBody(raw: string | Uint8Array, maxBytes: number): SmnMessage {
  return parseSmnMessage(parseJsonObject(raw, maxBytes, 'SMN message body'));
}
