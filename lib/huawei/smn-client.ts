/**
 * SMN v2 topic and subscription management, as `doctor` needs it: list and create topics,
 * list and add subscriptions. Built on the same signed caller as the BMS and IAM clients
 * (rate limit, fresh signature per attempt, the one retry policy, never a retry on 401/403).
 * Wire shapes: SMN API reference (ListTopics, CreateTopic, ListSubscriptionsByTopic,
 * AddSubscription); both create calls are idempotent on Huawei's side (200 when it exists).
 */
import { validateProjectId } from './path-params.ts';
import { parseJsonBody, type SignedCaller, unexpectedShape } from './signed-call.ts';

/** `urn:smn:{region}:{project_id}:{name}`; the name is 1–255 letters, digits, '-' and '_'. */
const TOPIC_URN = /^urn:smn:[a-z0-9-]+:[A-Za-z0-9]{1,64}:[A-Za-z0-9_-]{1,255}$/;
const TOPIC_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$/;

export class InvalidTopicError extends Error {
  override name = 'InvalidTopicError';
}

export function validateTopicUrn(value: string): string {
  if (!TOPIC_URN.test(value)) {
    throw new InvalidTopicError(
      `not an SMN topic URN: ${JSON.stringify(value.slice(0, 80))} (expected urn:smn:{region}:{project_id}:{name})`,
    );
  }
  return value;
}

export function validateTopicName(value: string): string {
  if (!TOPIC_NAME.test(value)) {
    throw new InvalidTopicError(
      `not an SMN topic name: ${JSON.stringify(value.slice(0, 80))} (letters, digits, '-' and '_', up to 255)`,
    );
  }
  return value;
}

export interface SmnTopic {
  topic_urn: string;
  name: string;
  [field: string]: unknown;
}

/** SMN subscription status: 0 unconfirmed, 1 confirmed, 2 no confirmation needed, 3 cancelled, 4 deleted. */
export const SUBSCRIPTION_STATUS = {
  unconfirmed: 0,
  confirmed: 1,
  notNeeded: 2,
  cancelled: 3,
  deleted: 4,
} as const;

export interface SmnSubscription {
  subscription_urn: string;
  topic_urn: string;
  protocol: string;
  endpoint: string;
  status: number;
  [field: string]: unknown;
}

const PAGE = 100;
const MAX_PAGES = 100;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';

export class SmnClient {
  readonly #caller: SignedCaller;
  readonly #endpoint: URL;

  constructor(options: { caller: SignedCaller; endpoint: URL }) {
    this.#caller = options.caller;
    this.#endpoint = options.endpoint;
  }

  /** Every topic of the project (paged). */
  listTopics(projectId: string, signal?: AbortSignal): Promise<SmnTopic[]> {
    const pid = validateProjectId(projectId);
    return this.#listAll(
      'smn.topics.list',
      pid,
      `/v2/${pid}/notifications/topics`,
      { items: 'topics', count: 'topic_count' },
      (t): t is SmnTopic =>
        isObject(t) && typeof t['topic_urn'] === 'string' && typeof t['name'] === 'string',
      signal,
    );
  }

  /** GETs `path` page by page (offset/limit) until a short page or the announced count. */
  async #listAll<T>(
    api: 'smn.topics.list' | 'smn.subscriptions.list',
    pid: string,
    path: string,
    keys: { items: string; count: string },
    keep: (item: unknown) => item is T,
    signal: AbortSignal | undefined,
  ): Promise<T[]> {
    const all: T[] = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const response = await this.#caller.call({
        api,
        method: 'GET',
        endpoint: this.#endpoint,
        path,
        query: [
          ['offset', String(page * PAGE)],
          ['limit', String(PAGE)],
        ],
        projectId: pid,
        signal,
      });
      const data = parseJsonBody(api, response);
      const items = isObject(data) ? data[keys.items] : undefined;
      if (!isObject(data) || !Array.isArray(items))
        throw unexpectedShape(api, response, `no "${keys.items}" array`);
      all.push(...items.filter(keep));
      const count = typeof data[keys.count] === 'number' ? (data[keys.count] as number) : undefined;
      if (items.length < PAGE || (count !== undefined && all.length >= count)) break;
    }
    return all;
  }

  /** Creates the topic, or answers the existing one's URN (the API is idempotent by name). */
  async createTopic(projectId: string, name: string, signal?: AbortSignal): Promise<string> {
    const pid = validateProjectId(projectId);
    const response = await this.#caller.call({
      api: 'smn.topics.create',
      method: 'POST',
      endpoint: this.#endpoint,
      path: `/v2/${pid}/notifications/topics`,
      body: { name: validateTopicName(name), display_name: name },
      projectId: pid,
      signal,
    });
    const data = parseJsonBody('smn.topics.create', response);
    if (!isObject(data) || typeof data['topic_urn'] !== 'string')
      throw unexpectedShape('smn.topics.create', response, 'no "topic_urn"');
    return data['topic_urn'];
  }

  listSubscriptions(projectId: string, topicUrn: string, signal?: AbortSignal): Promise<SmnSubscription[]> {
    const pid = validateProjectId(projectId);
    const urn = validateTopicUrn(topicUrn);
    return this.#listAll(
      'smn.subscriptions.list',
      pid,
      `/v2/${pid}/notifications/topics/${urn}/subscriptions`,
      { items: 'subscriptions', count: 'subscription_count' },
      (s): s is SmnSubscription =>
        isObject(s) && typeof s['endpoint'] === 'string' && typeof s['subscription_urn'] === 'string',
      signal,
    );
  }

  /** Adds an HTTP(S) subscription; SMN then POSTs a SubscriptionConfirmation to the endpoint. */
  async subscribe(projectId: string, topicUrn: string, endpoint: URL, signal?: AbortSignal): Promise<string> {
    const pid = validateProjectId(projectId);
    const urn = validateTopicUrn(topicUrn);
    const response = await this.#caller.call({
      api: 'smn.subscriptions.create',
      method: 'POST',
      endpoint: this.#endpoint,
      path: `/v2/${pid}/notifications/topics/${urn}/subscriptions`,
      body: {
        protocol: endpoint.protocol === 'https:' ? 'https' : 'http',
        endpoint: endpoint.href,
        remark: 'bms-password-escrow webhook',
      },
      projectId: pid,
      signal,
    });
    const data = parseJsonBody('smn.subscriptions.create', response);
    if (!isObject(data) || typeof data['subscription_urn'] !== 'string')
      throw unexpectedShape('smn.subscriptions.create', response, 'no "subscription_urn"');
    return data['subscription_urn'];
  }
}
