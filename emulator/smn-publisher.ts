/**
 * The SMN side: topics, HTTP(S) subscriptions with the confirmation handshake, and signed
 * Notification pushes of CTS traces to confirmed subscribers. The built-in topic
 * (`bms-password-escrow-events`, what `admin.subscribe` uses) receives every trace, as if a
 * CTS notification were already wired to it; topics made through the SMN API receive a trace
 * only when a CTS key-event notification routes it there (see cts-notifications.ts).
 * Deliveries are fire-and-forget with a short timeout; each outcome lands in the call log.
 */

import { sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Clock } from '../lib/clock.ts';
import { smnStringToSign } from '../lib/intake/smn/smn-string-to-sign.ts';
import { EMULATOR_TOPIC_NAME } from '../lib/local/emulator-env.ts';
import type { Logger } from '../lib/observability/logger.ts';
import type { CallLog } from './call-log.ts';
import type { CtsTrace } from './cts-trace.ts';
import type { Random } from './seeded-random.ts';
import type { SmnDeliveryRecord, SubscriptionInfo } from './types.ts';

export const SMN_CERT_PATH = '/__emulator/smn/SMN_emulator.pem';

const FIXTURES = new URL('./fixtures/', import.meta.url);

export function loadSmnSigningMaterial(): { keyPem: string; certPem: string } {
  return {
    keyPem: readFileSync(new URL('smn-signing-key.pem', FIXTURES), 'utf8'),
    certPem: readFileSync(new URL('smn-signing-cert.pem', FIXTURES), 'utf8'),
  };
}

interface Subscription {
  urn: string;
  topicUrn: string;
  endpoint: string;
  token: string;
  confirmed: boolean;
}

export interface SmnTopicRecord {
  urn: string;
  name: string;
  topicId: string;
  /** The built-in topic: every trace reaches it without a CTS notification. */
  builtIn: boolean;
}

export const BUILT_IN_TOPIC_NAME = EMULATOR_TOPIC_NAME;

export interface SmnPublisherDeps {
  baseUrl: () => string;
  region: string;
  projectId: string;
  clock: Clock;
  random: Random;
  callLog: CallLog;
  logger: Logger;
  signingKeyPem: string;
  settings: () => { digest: 'sha256' | 'sha1'; dropRate: number; timeoutMs: number };
}

export class SmnPublisher {
  readonly #deps: SmnPublisherDeps;
  readonly #subscriptions = new Map<string, Subscription>();
  /** Re-subscribe tokens handed out in UnsubscribeConfirmation messages (valid 48 h live). */
  readonly #resubscribe = new Map<string, Subscription>();
  readonly #topics = new Map<string, SmnTopicRecord>();
  readonly #inFlight = new Set<Promise<void>>();
  /** The built-in topic's URN. */
  readonly topicUrn: string;

  constructor(deps: SmnPublisherDeps) {
    this.#deps = deps;
    this.topicUrn = this.#urnFor(BUILT_IN_TOPIC_NAME);
    this.reset();
  }

  #urnFor(name: string): string {
    return `urn:smn:${this.#deps.region}:${this.#deps.projectId}:${name}`;
  }

  reset(): void {
    this.#subscriptions.clear();
    this.#resubscribe.clear();
    this.#topics.clear();
    this.#topics.set(this.topicUrn, {
      urn: this.topicUrn,
      name: BUILT_IN_TOPIC_NAME,
      topicId: 'built-in',
      builtIn: true,
    });
  }

  /** Live confirmation links carry the region twice, as `region` and `region_id`. */
  #regionQuery(): string {
    const region = encodeURIComponent(this.#deps.region);
    return `region=${region}&region_id=${region}`;
  }

  #confirmUrl(token: string, topicUrn: string): string {
    return `${this.#deps.baseUrl()}/__emulator/smn/confirm?token=${token}&topic_urn=${encodeURIComponent(topicUrn)}&${this.#regionQuery()}`;
  }

  list(): SubscriptionInfo[] {
    return [...this.#subscriptions.values()].map(info);
  }

  topics(): SmnTopicRecord[] {
    return [...this.#topics.values()];
  }

  topic(urn: string): SmnTopicRecord | undefined {
    return this.#topics.get(urn);
  }

  /** CreateTopic is idempotent by name: an existing topic comes back with `created: false`. */
  createTopic(name: string): { topic: SmnTopicRecord; created: boolean } {
    const urn = this.#urnFor(name);
    const existing = this.#topics.get(urn);
    if (existing) return { topic: existing, created: false };
    const topic = { urn, name, topicId: this.#deps.random.hex(32), builtIn: false };
    this.#topics.set(urn, topic);
    return { topic, created: true };
  }

  subscriptionsOf(topicUrn: string): SubscriptionInfo[] {
    return [...this.#subscriptions.values()].filter((s) => s.topicUrn === topicUrn).map(info);
  }

  /** Registers the endpoint and POSTs it a signed SubscriptionConfirmation (awaited). */
  async subscribe(endpoint: string, topicUrn: string = this.topicUrn): Promise<SubscriptionInfo> {
    const { subscription, confirmation } = this.addSubscription(endpoint, topicUrn);
    await confirmation;
    return info(subscription);
  }

  /**
   * AddSubscription: idempotent per topic and endpoint (an existing one is returned, and an
   * unconfirmed one is sent a fresh confirmation, as SMN does); the confirmation is not awaited.
   */
  addSubscription(
    endpoint: string,
    topicUrn: string,
  ): { subscription: Subscription; created: boolean; confirmation: Promise<void> } {
    const url = new URL(endpoint);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError('SMN endpoint must be an http(s) URL');
    }
    if (!this.#topics.has(topicUrn)) throw new RangeError(`no such topic: ${topicUrn}`);
    const existing = [...this.#subscriptions.values()].find(
      (s) => s.topicUrn === topicUrn && s.endpoint === url.toString(),
    );
    const subscription: Subscription = existing ?? {
      urn: `${topicUrn}:${this.#deps.random.hex(32)}`,
      topicUrn,
      endpoint: url.toString(),
      token: this.#deps.random.hex(64),
      confirmed: false,
    };
    this.#subscriptions.set(subscription.urn, subscription);
    if (subscription.confirmed) return { subscription, created: false, confirmation: Promise.resolve() };
    const confirmation = this.#track(
      this.#deliver(subscription, {
        type: 'SubscriptionConfirmation',
        message: `You are invited to subscribe to topic: ${topicUrn}. To confirm this subscription, please visit the subscribe_url included in this message. The subscribe_url is valid only within 48 hours.`,
        subscribe_url: this.#confirmUrl(subscription.token, topicUrn),
      }),
    );
    return { subscription, created: existing === undefined, confirmation };
  }

  #track(delivery: Promise<void>): Promise<void> {
    this.#inFlight.add(delivery);
    void delivery.finally(() => this.#inFlight.delete(delivery));
    return delivery;
  }

  confirm(token: string): SubscriptionInfo | undefined {
    for (const subscription of this.#subscriptions.values()) {
      if (subscription.token === token) {
        subscription.confirmed = true;
        return info(subscription);
      }
    }
    const again = this.#resubscribe.get(token);
    if (!again) return undefined;
    this.#resubscribe.delete(token);
    again.confirmed = true;
    this.#subscriptions.set(again.urn, again);
    return info(again);
  }

  /**
   * Removes the subscription and, as SMN does, sends the endpoint a signed
   * UnsubscribeConfirmation whose subscribe_url would re-subscribe it (not awaited).
   */
  unsubscribe(urn: string): boolean {
    const subscription = this.#subscriptions.get(urn);
    if (!subscription) return false;
    this.#subscriptions.delete(urn);
    const again: Subscription = { ...subscription, token: this.#deps.random.hex(64), confirmed: false };
    this.#resubscribe.set(again.token, again);
    this.#track(
      this.#deliver(subscription, {
        type: 'UnsubscribeConfirmation',
        message: `You are unsubscribed from topic: ${subscription.topicUrn}. To subscribe to this topic again, please visit the subscribe_url included in this message. The subscribe_url is valid only within 48 hours.`,
        subscribe_url: this.#confirmUrl(again.token, subscription.topicUrn),
      }),
    );
    return true;
  }

  /**
   * Pushes one trace to every confirmed subscription of the topics `routes` accepts (the
   * built-in topic always) without waiting for the outcome.
   */
  publish(trace: CtsTrace, routes: (topicUrn: string) => boolean = () => false): void {
    for (const subscription of this.#subscriptions.values()) {
      if (!subscription.confirmed) continue;
      const topic = this.#topics.get(subscription.topicUrn);
      if (!topic || !(topic.builtIn || routes(topic.urn))) continue;
      this.#track(
        this.#deliver(subscription, {
          type: 'Notification',
          subject: `CTS key event: ${trace.trace_name}`,
          message: JSON.stringify(trace),
          unsubscribe_url: `${this.#deps.baseUrl()}/__emulator/smn/unsubscribe?${this.#regionQuery()}&subscription_urn=${encodeURIComponent(subscription.urn)}`,
        }),
      );
    }
  }

  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  async #deliver(
    subscription: Subscription,
    fields: { type: SmnDeliveryRecord['type'] } & Record<string, string>,
  ): Promise<void> {
    const settings = this.#deps.settings();
    const messageId = this.#deps.random.hex(32);
    const time = this.#deps.clock.now();
    const body: Record<string, string> = {
      ...fields,
      message_id: messageId,
      topic_urn: subscription.topicUrn,
      timestamp: `${new Date(time).toISOString().slice(0, 19)}Z`,
      signature_version: 'v1',
      signing_cert_url: `${this.#deps.baseUrl()}${SMN_CERT_PATH}`,
    };
    body['signature'] = sign(
      settings.digest,
      Buffer.from(smnStringToSign(body), 'utf8'),
      this.#deps.signingKeyPem,
    ).toString('base64');
    const record = { time, endpoint: subscription.endpoint, type: fields.type, messageId };

    if (fields.type === 'Notification' && this.#deps.random.next() < settings.dropRate) {
      this.#deps.callLog.recordSmn({ ...record, outcome: 'dropped' });
      return;
    }
    try {
      const response = await fetch(subscription.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=UTF-8',
          'x-smn-message-type': fields.type,
          'x-smn-message-id': messageId,
          'x-smn-topic-urn': subscription.topicUrn,
          'x-smn-subscription-urn': subscription.urn,
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(settings.timeoutMs),
      });
      await response.arrayBuffer().catch(() => undefined);
      this.#deps.callLog.recordSmn({
        ...record,
        outcome: response.ok ? 'delivered' : 'failed',
        status: response.status,
      });
    } catch (error) {
      const reason = error instanceof Error ? error.name : 'Error';
      this.#deps.callLog.recordSmn({ ...record, outcome: 'failed', error: reason });
      this.#deps.logger.debug('smn delivery failed', { type: fields.type, messageId, reason });
    }
  }
}

function info(subscription: Subscription): SubscriptionInfo {
  return {
    subscriptionUrn: subscription.urn,
    topicUrn: subscription.topicUrn,
    endpoint: subscription.endpoint,
    confirmed: subscription.confirmed,
  };
}
