/**
 * SMN trust: the topic allow-list fails closed, a trace may name only its topic's project,
 * and messages shaped like the live ones (sa-brazil-1, cn-north-9) pass the default host
 * allow-lists end to end. The live Huawei hosts are not reachable from a test, so the fetch
 * is a recording stand-in that serves the fixture certificate and answers confirmations.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lib/config/env-parsers.ts';
import { parseIntakeConfig } from '../../../lib/intake/intake-config.ts';
import { parseTopicTrust, requireTopicTrust } from '../../../lib/intake/smn/topic-trust.ts';
import { checkCertUrl, checkUrl, parseHostPattern } from '../../../lib/intake/smn/url-allowlist.ts';
import { handleWebhookRequest } from '../../../lib/intake/webhook-http.ts';
import {
  createTrace,
  PROJECT_ID,
  SIGNING_CERT_PEM,
  signSmn,
  smnTimestamp,
  testConfig,
  testRuntime,
} from './intake-test-kit.ts';

const SERVER_ID = '53206ed0-56de-4d6b-b7ee-ffc62ca26f43';
const OTHER_PROJECT = 'ffffffffffffffffffffffffffffffff';

/** Shaped like the live sa-brazil-1 message (huawei-api.md §14) with our own project. */
const LIVE = {
  region: 'sa-brazil-1',
  topicUrn: `urn:smn:sa-brazil-1:${PROJECT_ID}:bms-events`,
  certUrl:
    'https://smn.sa-brazil-1.myhuaweicloud.com/smn/SMN_sa-brazil-1_3190c26a56fb435f9882e3435b0a1b2c.pem',
  confirmUrl(topicUrn: string): string {
    return `https://sa-brazil-1-console.huaweicloud.com/smn/subscription/confirm?token=0a419ac94f80f2c62f14c01e34ae5dfc&topic_urn=${topicUrn}&region=sa-brazil-1&region_id=sa-brazil-1`;
  },
  unsubscribeUrl: `https://sa-brazil-1-console.huaweicloud.com/smn/subscription/unsubscribe?region=sa-brazil-1&region_id=sa-brazil-1&subscription_urn=urn:smn:sa-brazil-1:${PROJECT_ID}:bms-events:23cf104593284665a1f98691b1576976`,
};

function recordingFetch(): { fetch: typeof fetch; urls: string[] } {
  const urls: string[] = [];
  return {
    urls,
    fetch: (async (input: string | URL | Request) => {
      const url = String(input instanceof Request ? input.url : input);
      urls.push(url);
      return url.endsWith('.pem') ? new Response(SIGNING_CERT_PEM) : new Response('{}');
    }) as typeof fetch,
  };
}

function liveRuntime(env: Record<string, string> = {}) {
  const recorder = recordingFetch();
  const runtime = testRuntime({
    config: testConfig({ SMN_TOPIC_URN_ALLOWLIST: LIVE.topicUrn, ...env }),
    fetch: recorder.fetch,
  });
  return { runtime, urls: recorder.urls };
}

function liveConfirmation(type: string, topicUrn = LIVE.topicUrn): Record<string, unknown> {
  return signSmn({
    type,
    message: `You are invited to subscribe to topic: ${topicUrn}. To confirm this subscription, please visit the subscribe_url included in this message. The subscribe_url is valid only within 48 hours.`,
    message_id: '54bb04eddfc842e9b44ca36393f77cd3',
    subscribe_url: LIVE.confirmUrl(topicUrn),
    timestamp: smnTimestamp(Date.now()),
    topic_urn: topicUrn,
    signature_version: 'v1',
    signing_cert_url: LIVE.certUrl,
  });
}

function liveNotification(trace: Record<string, unknown>, topicUrn = LIVE.topicUrn): Record<string, unknown> {
  return signSmn({
    type: 'Notification',
    message: JSON.stringify(trace),
    message_id: 'd84bd6629ef04513ad2e37bffd6e17cb',
    subject: 'SMN',
    timestamp: smnTimestamp(Date.now()),
    topic_urn: topicUrn,
    signature_version: 'v1',
    signing_cert_url: LIVE.certUrl,
    unsubscribe_url: LIVE.unsubscribeUrl,
  });
}

const post = (runtime: Parameters<typeof handleWebhookRequest>[0], body: unknown) =>
  handleWebhookRequest(runtime, { method: 'POST', headers: {}, body: JSON.stringify(body) });

describe('topic allow-list: fail closed', () => {
  it('parses unset, * and URN lists, and refuses * mixed with URNs or a malformed URN', () => {
    expect(parseTopicTrust({})).toEqual({ mode: 'unset' });
    expect(parseTopicTrust({ SMN_TOPIC_URN_ALLOWLIST: ' * ' })).toEqual({ mode: 'any' });
    expect(parseTopicTrust({ SMN_TOPIC_URN_ALLOWLIST: `${LIVE.topicUrn}, urn:smn:cn-north-4:p1:t` })).toEqual(
      {
        mode: 'list',
        urns: [LIVE.topicUrn, 'urn:smn:cn-north-4:p1:t'],
      },
    );
    expect(() => parseTopicTrust({ SMN_TOPIC_URN_ALLOWLIST: `*,${LIVE.topicUrn}` })).toThrow(ConfigError);
    expect(() => parseTopicTrust({ SMN_TOPIC_URN_ALLOWLIST: 'arn:aws:sns:x' })).toThrow(
      /SMN_TOPIC_URN_ALLOWLIST/,
    );
    expect(() => parseTopicTrust({ SMN_TOPIC_URN_ALLOWLIST: 'urn:smn:cn-north-4:p:*' })).toThrow(ConfigError);
  });

  it('refuses to start without an allow-list and warns once for *', () => {
    const warnings: string[] = [];
    const logger = { warn: (m: string) => warnings.push(m) };
    expect(() => requireTopicTrust({ mode: 'unset' }, logger)).toThrow(/SMN_TOPIC_URN_ALLOWLIST must list/);
    requireTopicTrust({ mode: 'list', urns: [LIVE.topicUrn] }, logger);
    expect(warnings).toEqual([]);
    requireTopicTrust({ mode: 'any' }, logger);
    expect(warnings).toEqual([expect.stringMatching(/ANY tenant/)]);
  });

  it('the webhook Lambda fails at init without an allow-list, naming the variable and the fix', async () => {
    // Everything else the handler checks at load is in order.
    process.env['WORK_QUEUE_URL'] = 'http://127.0.0.1:9/000000000000/q';
    process.env['HUAWEICLOUD_SDK_REGION'] = 'cn-north-4';
    process.env['HUAWEICLOUD_SDK_AK'] = 'trust-test-access-key';
    process.env['HUAWEICLOUD_SDK_SK'] = 'trust-test-secret-key';
    process.env['ESCROW_STORE'] = 'file';
    delete process.env['SMN_TOPIC_URN_ALLOWLIST'];
    await expect(import('../../../functions/webhook.ts')).rejects.toThrow(
      /SMN_TOPIC_URN_ALLOWLIST must list the SMN topic URNs this webhook accepts/,
    );
  });

  it('even past start-up, an unset allow-list trusts no topic', async () => {
    const { fetch, urls } = recordingFetch();
    const runtime = testRuntime({ config: parseIntakeConfig({}), fetch });
    const response = await post(runtime, liveConfirmation('SubscriptionConfirmation'));
    expect(response.statusCode).toBe(403);
    expect(JSON.parse(response.body).error.code).toBe('topic_not_allowed');
    expect(urls).toEqual([]);
  });

  it('* accepts another tenant topic but still holds its trace to the topic project', async () => {
    const { runtime } = liveRuntime({ SMN_TOPIC_URN_ALLOWLIST: '*' });
    const otherTopic = `urn:smn:sa-brazil-1:${OTHER_PROJECT}:t`;
    const crossProject = await post(runtime, liveNotification(createTrace([SERVER_ID]), otherTopic));
    expect(JSON.parse(crossProject.body).error.code).toBe('project_not_allowed');
    expect(runtime.queue.items).toEqual([]);
  });
});

describe('a trace names its topic project, or one on ESCROW_ALLOWED_PROJECT_IDS', () => {
  it('refuses a cross-project trace, and accepts it once the project is allowed', async () => {
    const trace = createTrace([SERVER_ID], { project_id: OTHER_PROJECT });
    const refused = liveRuntime();
    const response = await post(refused.runtime, liveNotification(trace));
    expect(response.statusCode).toBe(403);
    expect(JSON.parse(response.body).error).toMatchObject({
      code: 'project_not_allowed',
      message: expect.stringContaining('ESCROW_ALLOWED_PROJECT_IDS'),
    });
    expect(refused.runtime.queue.items).toEqual([]);

    const allowed = liveRuntime({ ESCROW_ALLOWED_PROJECT_IDS: OTHER_PROJECT });
    expect((await post(allowed.runtime, liveNotification(trace))).statusCode).toBe(200);
    expect(allowed.runtime.queue.items).toMatchObject([{ projectId: OTHER_PROJECT, serverId: SERVER_ID }]);
  });

  it('a trace without project_id takes its topic project', async () => {
    const { runtime } = liveRuntime();
    const trace = createTrace([SERVER_ID]);
    delete trace['project_id'];
    expect((await post(runtime, liveNotification(trace))).statusCode).toBe(200);
    expect(runtime.queue.items).toMatchObject([{ projectId: PROJECT_ID, region: LIVE.region }]);
  });
});

describe('live-shaped SMN messages against the default host allow-lists', () => {
  it('confirms a sa-brazil-1 subscription: fetches the live cert URL, then GETs the console confirm URL', async () => {
    const { runtime, urls } = liveRuntime();
    const response = await post(runtime, liveConfirmation('SubscriptionConfirmation'));
    expect(response.statusCode, response.body).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ accepted: 0, confirmed: true });
    expect(urls).toEqual([LIVE.certUrl, LIVE.confirmUrl(LIVE.topicUrn)]);
  });

  it('takes a sa-brazil-1 notification carrying a console unsubscribe_url', async () => {
    const { runtime } = liveRuntime();
    const response = await post(runtime, liveNotification(createTrace([SERVER_ID])));
    expect(response.statusCode, response.body).toBe(200);
    expect(runtime.queue.serverIds()).toEqual([SERVER_ID]);
  });

  it('acknowledges an UnsubscribeConfirmation and never follows its subscribe_url', async () => {
    const { runtime, urls } = liveRuntime();
    const response = await post(runtime, liveConfirmation('UnsubscribeConfirmation'));
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ accepted: 0 });
    expect(urls).toEqual([LIVE.certUrl]);
  });

  const config = parseIntakeConfig({});
  it.for([
    // Live sa-brazil-1 (huaweicloud-latam knowledge base).
    LIVE.confirmUrl(LIVE.topicUrn),
    LIVE.unsubscribeUrl,
    'https://ap-southeast-1-console.huaweicloud.com/smn/subscription/confirm?token=a&region=ap-southeast-1&region_id=ap-southeast-1',
    'https://my-kualalumpur-1-console.huaweicloud.com/smn/subscription/confirm?token=a',
    // RGC API reference example (cn-north-9).
    'https://console.huaweicloud.com/smn/subscription/unsubscribe?region=cn-north-9&region_id=cn-north-9&subscription_urn=urn:smn:cn-north-9:0919a0fb6c80f38f2f06c01ea940d5d3:hw:7b1a2ab5ce684accbf86483179f2463',
    // SMN API ConfirmSubscription on the service endpoint.
    'https://smn.cn-north-4.myhuaweicloud.com/rest/v2/notifications/subscription/confirm?topic_urn=x&endpoint=y&token=z',
  ])('accepts the subscribe/unsubscribe host of %s', (url) => {
    expect(checkUrl(url, config.subscribeHostAllowlist, 'subscribe_url').href).toBe(new URL(url).href);
  });

  it.for([
    'https://console-evil.huaweicloud.com/smn/subscription/confirm',
    'https://evil-console.huaweicloud.com/smn/subscription/confirm',
    'https://x-console.huaweicloud.com/smn/subscription/confirm',
    'https://a.sa-brazil-1-console.huaweicloud.com/smn/subscription/confirm',
    'https://sa-brazil-1-console.huaweicloud.com.evil.com/smn/subscription/confirm',
    'https://sa-brazil-1-consolex.huaweicloud.com/smn/subscription/confirm',
    'http://sa-brazil-1-console.huaweicloud.com/smn/subscription/confirm',
    'https://sa-brazil-1-console.huaweicloud.com:8443/smn/subscription/confirm',
  ])('refuses the lookalike subscribe host %s', (url) => {
    expect(() => checkUrl(url, config.subscribeHostAllowlist, 'subscribe_url')).toThrow(/subscribe_url/);
  });

  it.for([
    LIVE.certUrl,
    'https://smn.cn-north-9.myhuaweicloud.com/smn/SMN_cn-north-9_94f60ccdfbee4588aa4d555935a56ba3.pem',
    'https://smn.eu-west-101.myhuaweicloud.eu/smn/SMN_eu-west-101_94f60ccdfbee4588aa4d555935a56ba3.pem',
  ])('accepts the signing certificate URL %s', (url) => {
    expect(checkCertUrl(url, config.certHostAllowlist, 'signing_cert_url').href).toBe(url);
  });

  it('a region-prefixed wildcard label needs two fixed labels after it, like any wildcard', () => {
    expect(parseHostPattern('*-console.huaweicloud.com').labels).toEqual(['*-console', 'huaweicloud', 'com']);
    expect(() => parseHostPattern('*-console.com')).toThrow(/too broad/);
    expect(() => parseHostPattern('a*-console.huaweicloud.com')).toThrow(/invalid host label/);
  });
});
