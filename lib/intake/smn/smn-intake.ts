/**
 * One SMN HTTP(S) delivery, end to end: size and shape, signature and freshness, then
 * confirm a subscription, log an unsubscribe, or take the CTS trace in a notification.
 * Transport-free: the API Gateway handler and the tests' loopback server both call it.
 */

import { intakeTrace } from '../cts/trace-intake.ts';
import type { IntakeDeps } from '../intake-deps.ts';
import { IntakeError } from '../intake-errors.ts';
import { parseSmnBody, parseTopicUrn } from './smn-message.ts';
import type { SmnVerifier } from './smn-verifier.ts';
import type { SubscriptionConfirmer } from './subscription-confirmer.ts';

export interface SmnIntakeDeps extends IntakeDeps {
  verifySmn: SmnVerifier;
  confirmSubscription: SubscriptionConfirmer;
}

export interface SmnDelivery {
  body: string | Uint8Array;
  /** Header names in any case. */
  headers: Readonly<Record<string, string | undefined>>;
}

export type SmnDeliveryResult =
  | { type: 'SubscriptionConfirmation'; confirmed: true }
  | { type: 'UnsubscribeConfirmation' }
  | { type: 'Notification'; accepted: number; duplicates: number; ignored?: string | undefined };

function header(headers: SmnDelivery['headers'], name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

export async function handleSmnDelivery(
  deps: SmnIntakeDeps,
  delivery: SmnDelivery,
  signal?: AbortSignal,
): Promise<SmnDeliveryResult> {
  const message = parseSmnBody(delivery.body, deps.config.maxBodyBytes);
  // The headers are not signed, but one that disagrees with the signed body is a tampering sign.
  const headerType = header(delivery.headers, 'x-smn-message-type');
  if (headerType !== undefined && headerType !== message.type)
    throw new IntakeError('invalid_message', 'X-SMN-MESSAGE-TYPE header does not match the message type');

  await deps.verifySmn(message, signal);
  const log = deps.logger.child({ smnMessageId: message.message_id, smnType: message.type });

  switch (message.type) {
    case 'SubscriptionConfirmation':
      await deps.confirmSubscription(message.subscribe_url, message.topic_urn, signal);
      log.info('SMN subscription confirmed', { topicUrn: message.topic_urn });
      return { type: 'SubscriptionConfirmation', confirmed: true };
    case 'UnsubscribeConfirmation':
      // Acknowledged and logged, never followed: its subscribe_url would re-subscribe, and
      // whether to do that is the operator's decision (doctor --fix), not a message's.
      log.warn(
        'SMN subscription was cancelled; this endpoint will get no more notifications from the topic',
        {
          topicUrn: message.topic_urn,
        },
      );
      return { type: 'UnsubscribeConfirmation' };
    case 'Notification': {
      const topic = parseTopicUrn(message.topic_urn);
      const result = await intakeTrace(
        deps,
        message.message,
        {
          region: topic?.region,
          projectId: topic?.projectId,
          topicProjectId: topic?.projectId,
          source: 'smn',
          origin: `smn:${message.message_id}`,
        },
        signal,
      );
      return result.status === 'ignored'
        ? { type: 'Notification', accepted: 0, duplicates: 0, ignored: result.reason }
        : { type: 'Notification', accepted: result.enqueued, duplicates: result.duplicates };
    }
  }
}
