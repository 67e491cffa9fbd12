/**
 * The SMN v2 and CTS v3 management APIs `doctor` uses, behind the same gateway as BMS and
 * IAM (signature, deny switch, rate limits, project check): topics, subscriptions and
 * key-event notifications. Shapes follow the SMN and CTS API references; the services' own
 * error codes are unconfirmed ([U]), so errors use the BMS-style `{"error":{code,message}}`
 * body every client here already reads.
 */
import { parseQuery } from '../lib/huawei/canonical-request.ts';
import { type HandlerContext, path, type RouteDefinition } from './bms-routes.ts';
import { CtsNotificationError } from './cts-notifications.ts';
import { parseJson, type RouteResponse, serviceError } from './http-util.ts';

function jsonBody(body: Buffer): Record<string, unknown> | undefined {
  try {
    const parsed = parseJson(body);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const requestId = (ctx: HandlerContext): string => ctx.core.random.requests.hex(32);

function page<T>(items: T[], rawQuery: string): T[] {
  const query = new Map(parseQuery(rawQuery));
  const offset = Number(query.get('offset') ?? 0);
  const limit = Number(query.get('limit') ?? 100);
  return items.slice(offset, offset + limit);
}

function listTopics(ctx: HandlerContext): RouteResponse {
  const topics = ctx.core.smn.topics().map((t) => ({
    topic_urn: t.urn,
    name: t.name,
    display_name: t.name,
    push_policy: 0,
    enterprise_project_id: '0',
    topic_id: t.topicId,
  }));
  return {
    status: 200,
    body: { request_id: requestId(ctx), topic_count: topics.length, topics: page(topics, ctx.rawQuery) },
  };
}

const TOPIC_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$/;

function createTopic(ctx: HandlerContext): RouteResponse {
  const name = jsonBody(ctx.body)?.['name'];
  if (typeof name !== 'string' || !TOPIC_NAME.test(name))
    return serviceError(400, 'SMN.00010002', 'name is invalid.');
  const { topic, created } = ctx.core.smn.createTopic(name);
  return { status: created ? 201 : 200, body: { request_id: requestId(ctx), topic_urn: topic.urn } };
}

const topicNotFound = (): RouteResponse => serviceError(404, 'SMN.00010008', 'Topic not found.');

/** SMN status codes: 0 unconfirmed, 1 confirmed. */
function listSubscriptions(ctx: HandlerContext, topicUrn: string): RouteResponse {
  if (!ctx.core.smn.topic(topicUrn)) return topicNotFound();
  const subscriptions = ctx.core.smn.subscriptionsOf(topicUrn).map((s) => ({
    topic_urn: s.topicUrn,
    protocol: new URL(s.endpoint).protocol.replace(':', ''),
    subscription_urn: s.subscriptionUrn,
    owner: ctx.core.projectId,
    endpoint: s.endpoint,
    remark: '',
    status: s.confirmed ? 1 : 0,
  }));
  return {
    status: 200,
    body: {
      request_id: requestId(ctx),
      subscription_count: subscriptions.length,
      subscriptions: page(subscriptions, ctx.rawQuery),
    },
  };
}

function addSubscription(ctx: HandlerContext, topicUrn: string): RouteResponse {
  if (!ctx.core.smn.topic(topicUrn)) return topicNotFound();
  const body = jsonBody(ctx.body);
  const protocol = body?.['protocol'];
  const endpoint = body?.['endpoint'];
  if ((protocol !== 'http' && protocol !== 'https') || typeof endpoint !== 'string')
    return serviceError(400, 'SMN.00010003', 'protocol must be http or https with an endpoint URL.');
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return serviceError(400, 'SMN.00010003', 'endpoint is not a URL.');
  }
  if (url.protocol !== `${protocol}:`)
    return serviceError(400, 'SMN.00010003', 'endpoint does not match protocol.');
  const { subscription, created } = ctx.core.smn.addSubscription(url.href, topicUrn);
  return {
    status: created ? 201 : 200,
    body: { request_id: requestId(ctx), subscription_urn: subscription.urn },
  };
}

function listNotifications(ctx: HandlerContext, type: string): RouteResponse {
  if (type !== 'smn' && type !== 'fun')
    return serviceError(400, 'CTS.0001', 'notification_type must be smn or fun.');
  return { status: 200, body: { notifications: ctx.core.cts.list(type) } };
}

function writeNotification(ctx: HandlerContext, mode: 'create' | 'update'): RouteResponse {
  const body = jsonBody(ctx.body);
  if (!body) return serviceError(400, 'CTS.0001', 'The request body is not valid JSON.');
  try {
    if (mode === 'create') {
      const record = ctx.core.cts.create(body, {
        projectId: ctx.core.projectId,
        random: ctx.core.random.traces,
        now: ctx.core.clock.now(),
      });
      return { status: 201, body: record };
    }
    const record = ctx.core.cts.update(body);
    return record
      ? { status: 200, body: record }
      : serviceError(404, 'CTS.0004', 'The notification does not exist.');
  } catch (error) {
    if (error instanceof CtsNotificationError) return serviceError(400, 'CTS.0001', error.message);
    throw error;
  }
}

export const MANAGEMENT_ROUTES: RouteDefinition[] = [
  {
    method: 'GET',
    pattern: path('/v2/{project_id}/notifications/topics'),
    build: (projectId) => ({ api: 'smn.topics.list', projectId, handle: listTopics }),
  },
  {
    method: 'POST',
    pattern: path('/v2/{project_id}/notifications/topics'),
    build: (projectId) => ({ api: 'smn.topics.create', projectId, handle: createTopic }),
  },
  {
    method: 'GET',
    pattern: path('/v2/{project_id}/notifications/topics/{topic_urn}/subscriptions'),
    build: (projectId, urn) => ({
      api: 'smn.subscriptions.list',
      projectId,
      handle: (c) => listSubscriptions(c, urn),
    }),
  },
  {
    method: 'POST',
    pattern: path('/v2/{project_id}/notifications/topics/{topic_urn}/subscriptions'),
    build: (projectId, urn) => ({
      api: 'smn.subscriptions.create',
      projectId,
      handle: (c) => addSubscription(c, urn),
    }),
  },
  {
    method: 'GET',
    pattern: path('/v3/{project_id}/notifications/{notification_type}'),
    build: (projectId, type) => ({
      api: 'cts.notifications.list',
      projectId,
      handle: (c) => listNotifications(c, type),
    }),
  },
  {
    method: 'POST',
    pattern: path('/v3/{project_id}/notifications'),
    build: (projectId) => ({
      api: 'cts.notifications.create',
      projectId,
      handle: (c) => writeNotification(c, 'create'),
    }),
  },
  {
    method: 'PUT',
    pattern: path('/v3/{project_id}/notifications'),
    build: (projectId) => ({
      api: 'cts.notifications.update',
      projectId,
      handle: (c) => writeNotification(c, 'update'),
    }),
  },
];
