/**
 * The exact text Huawei SMN signs, shared by the webhook's verifier and the emulator's
 * signer: for each field in a fixed order, "key\nvalue\n" (a trailing newline included).
 * `subject` is left out of a Notification when it is null or empty.
 */
export type SmnMessageType = 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';

const NOTIFICATION_FIELDS = ['message', 'message_id', 'subject', 'timestamp', 'topic_urn', 'type'] as const;
const CONFIRMATION_FIELDS = [
  'message',
  'message_id',
  'subscribe_url',
  'timestamp',
  'topic_urn',
  'type',
] as const;

export function smnStringToSign(body: Readonly<Record<string, unknown>>): string {
  const fields = body['type'] === 'Notification' ? NOTIFICATION_FIELDS : CONFIRMATION_FIELDS;
  let out = '';
  for (const field of fields) {
    const value = body[field];
    if (field === 'subject' && (value === undefined || value === null || value === '')) continue;
    out += `${field}\n${typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value)}\n`;
  }
  return out;
}
