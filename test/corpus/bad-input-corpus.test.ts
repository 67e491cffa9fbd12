/**
 * The bad-input corpus: every case goes through the exported Lambda handlers
 * (functions/webhook.ts, functions/direct-intake.ts) and must get a 4xx (or, for direct
 * intake, a refusal) with a clear error, enqueue nothing, crash nothing and fetch nothing
 * from a foreign host. A loopback "foreign" server counts the requests it gets (must be 0)
 * and the injected fetch refuses, and records, any URL other than the trusted cert server.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smnStringToSign } from '../../lib/intake/smn/smn-string-to-sign.ts';
import {
  createTrace,
  PROJECT_ID,
  REGION,
  RecordingQueue,
  SIGNING_KEY_PEM,
  signSmn,
  smnTimestamp,
  startCertServer,
  startForeignServer,
  TOPIC_URN,
  testConfig,
  testRuntime,
} from '../unit/intake/intake-test-kit.ts';

const load = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, import.meta.url), 'utf8')) as T;
const malformed =
  load<Array<{ name: string; raw?: string; json?: unknown; code: string }>>('./malformed-bodies.json');
const mutations = load<
  Array<{
    name: string;
    set?: Record<string, unknown>;
    delete?: string[];
    trace?: Record<string, unknown>;
    header?: Record<string, string>;
    ageSeconds?: number;
    timestamp?: string;
    resign: boolean;
    code: string;
  }>
>('./notification-mutations.json');
const hostileUrls = load<string[]>('./hostile-urls.json');
const certUrls = load<Array<{ name: string; url: string }>>('./cert-urls.json');
const badIds = load<string[]>('./bad-ids.json');

const SERVER_ID = '53206ed0-56de-4d6b-b7ee-ffc62ca26f43';
const MAX_BODY = 256 * 1024;

interface Ctx {
  certUrl: string;
  certBase: string;
  foreign: string;
  foreignPort: number;
  now: number;
}

type Request =
  | { kind: 'webhook'; body: string; headers?: Record<string, string>; isBase64Encoded?: boolean }
  | { kind: 'direct'; payload: unknown };

interface Case {
  group: string;
  name: string;
  /** Expected error code; undefined = any 4xx refusal. */
  code?: string | undefined;
  /** Nothing at all may be fetched, not even from the trusted certificate host. */
  fetchesNothing?: boolean;
  build(ctx: Ctx): Request;
}

const fill = (text: string, ctx: Ctx): string =>
  text
    .replaceAll('{foreignPort}', String(ctx.foreignPort))
    .replaceAll('{foreign}', ctx.foreign)
    .replaceAll('{cert}', ctx.certBase)
    .replaceAll('{uuid}', SERVER_ID);

function notification(
  ctx: Ctx,
  trace: Record<string, unknown> = createTrace([SERVER_ID]),
): Record<string, unknown> {
  return signSmn({
    type: 'Notification',
    message: JSON.stringify(trace),
    message_id: 'd84bd6629ef04513ad2e37bffd6e17cb',
    subject: 'CTS key event',
    timestamp: smnTimestamp(ctx.now),
    topic_urn: TOPIC_URN,
    signature_version: 'v1',
    signing_cert_url: ctx.certUrl,
  });
}

function confirmation(ctx: Ctx, type = 'SubscriptionConfirmation'): Record<string, unknown> {
  return signSmn({
    type,
    message: `You are invited to subscribe to topic: ${TOPIC_URN}.`,
    message_id: '54bb04eddfc842e9b44ca36393f77cd3',
    subscribe_url: `${ctx.certBase}/smn/subscription/confirm?token=abc`,
    timestamp: smnTimestamp(ctx.now),
    topic_urn: TOPIC_URN,
    signature_version: 'v1',
    signing_cert_url: ctx.certUrl,
  });
}

const resign = (body: Record<string, unknown>): Record<string, unknown> => signSmn(body);
const webhook = (body: unknown, headers?: Record<string, string>): Request => ({
  kind: 'webhook',
  body: typeof body === 'string' ? body : JSON.stringify(body),
  ...(headers ? { headers } : {}),
});

const foreignKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

function specialSignature(kind: string, body: Record<string, unknown>): string {
  const text = Buffer.from(smnStringToSign(body), 'utf8');
  if (kind === 'SIGN:other text')
    return sign('sha256', Buffer.from('other text'), SIGNING_KEY_PEM).toString('base64');
  if (kind === 'FORGE') return sign('sha256', text, foreignKey).toString('base64');
  if (kind === 'SHA1') return sign('sha1', text, SIGNING_KEY_PEM).toString('base64');
  return kind;
}

const cases: Case[] = [];

// 1. Malformed bodies from the data file.
for (const m of malformed)
  cases.push({
    group: 'malformed',
    name: m.name,
    code: m.code,
    build: () => webhook(m.raw ?? JSON.stringify(m.json)),
  });

// 2. Mutations of a valid signed notification.
for (const m of mutations) {
  cases.push({
    group: 'mutation',
    name: m.name,
    code: m.code,
    build(ctx) {
      const trace = { ...createTrace([SERVER_ID]), ...(m.trace ?? {}) };
      const timestamp =
        m.timestamp ?? (m.ageSeconds !== undefined ? smnTimestamp(ctx.now - m.ageSeconds * 1000) : undefined);
      let body: Record<string, unknown> = {
        ...notification(ctx, trace),
        ...(timestamp ? { timestamp } : {}),
      };
      for (const [k, v] of Object.entries(m.set ?? {})) if (k !== 'signature') body[k] = v;
      for (const k of m.delete ?? []) delete body[k];
      if (m.resign) body = resign(body);
      const sig = m.set?.['signature'];
      if (sig !== undefined) body['signature'] = typeof sig === 'string' ? specialSignature(sig, body) : sig;
      return webhook(body, m.header);
    },
  });
}

// 3. Each signed field altered after signing (generated), for both message families.
const alterations: Array<[string, (v: string) => string]> = [
  ['appended', (v) => `${v}x`],
  ['prefixed', (v) => ` ${v}`],
  ['first char swapped', (v) => (v[0] === 'a' ? 'b' : 'a') + v.slice(1)],
  ['upper-cased', (v) => v.toUpperCase()],
  ['truncated', (v) => v.slice(0, -1)],
];
const SIGNED: Record<string, string[]> = {
  Notification: ['message', 'message_id', 'subject', 'timestamp', 'topic_urn', 'type'],
  SubscriptionConfirmation: ['message', 'message_id', 'subscribe_url', 'timestamp', 'topic_urn', 'type'],
};
for (const [family, fields] of Object.entries(SIGNED)) {
  for (const field of fields) {
    for (const [how, alter] of alterations) {
      cases.push({
        group: 'altered-after-signing',
        name: `${family}.${field} ${how}`,
        build(ctx) {
          const body = family === 'Notification' ? notification(ctx) : confirmation(ctx);
          const original = String(body[field]);
          const altered = alter(original);
          // Upper-casing a timestamp changes nothing; make sure every variant really differs.
          body[field] = altered === original ? `${original}0` : altered;
          return webhook(body);
        },
      });
    }
  }
  cases.push({
    group: 'altered-after-signing',
    name: `${family} signed subject removed`,
    build(ctx) {
      const body = family === 'Notification' ? notification(ctx) : confirmation(ctx);
      if (family === 'Notification') delete body['subject'];
      else body['subject'] = 'added after signing';
      if (family !== 'Notification') body['message'] = `${body['message']} `;
      return webhook(body);
    },
  });
}

// 4. Missing and wrongly typed fields (re-signed, so only the shape check can refuse them).
const REQUIRED: Record<string, string[]> = {
  Notification: ['message', 'message_id', 'topic_urn', 'timestamp', 'signature', 'signing_cert_url', 'type'],
  SubscriptionConfirmation: [
    'message',
    'message_id',
    'subscribe_url',
    'topic_urn',
    'timestamp',
    'signature',
    'signing_cert_url',
  ],
};
for (const [family, fields] of Object.entries(REQUIRED)) {
  for (const field of fields) {
    cases.push({
      group: 'missing-field',
      name: `${family} without ${field}`,
      code: 'invalid_message',
      build(ctx) {
        const body = family === 'Notification' ? notification(ctx) : confirmation(ctx);
        delete body[field];
        return webhook(field === 'signature' ? body : resign(body));
      },
    });
    for (const value of [1, true, {}, [], 1.5e300]) {
      if (field === 'type') continue;
      cases.push({
        group: 'wrong-type',
        name: `${family}.${field} = ${JSON.stringify(value)}`,
        code: 'invalid_message',
        build(ctx) {
          const body = family === 'Notification' ? notification(ctx) : confirmation(ctx);
          body[field] = value;
          return webhook(body);
        },
      });
    }
  }
}

// 5. Oversized bodies.
cases.push(
  {
    group: 'oversized',
    name: 'ASCII body of 256 KiB + 1',
    code: 'payload_too_large',
    build: () => webhook(`{"type":"Notification","message":"${'a'.repeat(MAX_BODY)}"}`),
  },
  {
    group: 'oversized',
    name: 'multi-byte body under the limit in characters, over it in bytes',
    code: 'payload_too_large',
    build: () => webhook(`{"message":"${'€'.repeat(MAX_BODY / 2)}"}`),
  },
  {
    group: 'oversized',
    name: 'base64-encoded oversized body',
    code: 'payload_too_large',
    build: () => ({
      kind: 'webhook',
      body: Buffer.alloc(MAX_BODY + 10, 'a').toString('base64'),
      isBase64Encoded: true,
    }),
  },
  {
    group: 'oversized',
    name: 'signed notification with a 300 KiB message',
    code: 'payload_too_large',
    build: (ctx) => webhook(notification(ctx, { ...createTrace([SERVER_ID]), pad: 'x'.repeat(300 * 1024) })),
  },
  {
    group: 'oversized',
    name: 'deeply nested JSON',
    build: () => webhook(`${'['.repeat(100_000)}${']'.repeat(100_000)}`),
  },
);

// 6. SSRF: hostile certificate and subscribe URLs.
for (const url of hostileUrls) {
  cases.push({
    group: 'ssrf-cert-url',
    name: `signing_cert_url ${JSON.stringify(url)}`,
    build: (ctx) => webhook(resign({ ...notification(ctx), signing_cert_url: fill(url, ctx) })),
  });
  cases.push({
    group: 'ssrf-subscribe-url',
    name: `subscribe_url ${JSON.stringify(url)}`,
    code: 'untrusted_url',
    build: (ctx) => webhook(resign({ ...confirmation(ctx), subscribe_url: fill(url, ctx) })),
  });
}

// 6b. Certificate URLs refused before any fetch, even on the allowed host.
for (const c of certUrls)
  cases.push({
    group: 'cert-url',
    name: c.name,
    code: 'untrusted_url',
    fetchesNothing: true,
    build: (ctx) => webhook(resign({ ...notification(ctx), signing_cert_url: fill(c.url, ctx) })),
  });

// 6c. Another tenant's topic, correctly signed (SMN signs every tenant with one certificate).
const FOREIGN_TOPIC = 'urn:smn:cn-north-4:ffffffffffffffffffffffffffffffff:bms-events';
for (const type of ['SubscriptionConfirmation', 'UnsubscribeConfirmation'])
  cases.push({
    group: 'forged-topic',
    name: `${type} from another tenant's topic`,
    code: 'topic_not_allowed',
    fetchesNothing: true,
    build: (ctx) =>
      webhook(
        resign({
          ...confirmation(ctx, type),
          topic_urn: FOREIGN_TOPIC,
          subscribe_url: `${ctx.certBase}/smn/subscription/confirm?token=abc&topic_urn=${encodeURIComponent(FOREIGN_TOPIC)}`,
        }),
      ),
  });
cases.push(
  {
    group: 'forged-topic',
    name: "Notification from another tenant's topic naming our project",
    code: 'topic_not_allowed',
    fetchesNothing: true,
    build: (ctx) => webhook(resign({ ...notification(ctx), topic_urn: FOREIGN_TOPIC })),
  },
  {
    group: 'forged-topic',
    name: 'our topic, but a subscribe_url that confirms another topic',
    code: 'untrusted_url',
    build: (ctx) =>
      webhook(
        resign({
          ...confirmation(ctx),
          subscribe_url: `${ctx.certBase}/smn/subscription/confirm?token=abc&topic_urn=${encodeURIComponent(FOREIGN_TOPIC)}`,
        }),
      ),
  },
  {
    group: 'cross-project',
    name: 'trace names another project than its topic (correctly signed)',
    code: 'project_not_allowed',
    build: (ctx) =>
      webhook(
        notification(ctx, createTrace([SERVER_ID], { project_id: 'ffffffffffffffffffffffffffffffff' })),
      ),
  },
);

// 7. Ids that are not well-formed, wherever an id is read.
const JOB_ID_SYNTAX = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;
for (const raw of badIds) {
  const label = JSON.stringify(raw);
  cases.push({
    group: 'bad-id',
    name: `trace resource_id ${label}`,
    build: (ctx) => {
      const id = fill(raw, ctx);
      return webhook(notification(ctx, createTrace([id], { response: JSON.stringify({ server_id: id }) })));
    },
  });
  cases.push({
    group: 'bad-id',
    name: `trace response servers[].id ${label}`,
    code: raw === '' ? 'no_targets' : 'invalid_id',
    build: (ctx) =>
      webhook(
        notification(
          ctx,
          createTrace([], {
            resource_id: '',
            response: JSON.stringify({ servers: [{ id: fill(raw, ctx) }] }),
          }),
        ),
      ),
  });
  if (raw !== '')
    cases.push({
      group: 'bad-id',
      name: `trace project_id ${label}`,
      code: 'invalid_id',
      build: (ctx) => webhook(notification(ctx, createTrace([SERVER_ID], { project_id: fill(raw, ctx) }))),
    });
  cases.push({
    group: 'bad-id',
    name: `direct server_ids [${label}]`,
    build: (ctx) => ({
      kind: 'direct',
      payload: { project_id: PROJECT_ID, region: REGION, server_ids: [fill(raw, ctx)] },
    }),
  });
  cases.push({
    group: 'bad-id',
    name: `direct project_id ${label}`,
    code: 'invalid_id',
    build: (ctx) => ({
      kind: 'direct',
      payload: { project_id: fill(raw, ctx), region: REGION, server_ids: [SERVER_ID] },
    }),
  });
  cases.push({
    group: 'bad-id',
    name: `EventBridge detail region ${label}`,
    code: 'invalid_id',
    build: (ctx) => ({
      kind: 'direct',
      payload: {
        'detail-type': 'BMS created',
        detail: { project_id: PROJECT_ID, region: fill(raw, ctx), server_ids: [SERVER_ID] },
      },
    }),
  });
  if (!JOB_ID_SYNTAX.test(raw))
    cases.push({
      group: 'bad-id',
      name: `direct job_id ${label}`,
      code: 'invalid_id',
      build: (ctx) => ({
        kind: 'direct',
        payload: { project_id: PROJECT_ID, region: REGION, job_id: fill(raw, ctx) },
      }),
    });
}

// 8. Direct intake shapes.
const directShapes: Array<[string, unknown, string]> = [
  ['null', null, 'invalid_message'],
  ['array', [SERVER_ID], 'invalid_message'],
  ['string not json', 'server', 'invalid_json'],
  ['neither server_ids nor job_id', { project_id: PROJECT_ID, region: REGION }, 'invalid_message'],
  [
    'server_ids not an array',
    { project_id: PROJECT_ID, region: REGION, server_ids: SERVER_ID },
    'invalid_message',
  ],
  [
    'server_ids over the cap',
    { project_id: PROJECT_ID, region: REGION, server_ids: Array(1001).fill(SERVER_ID) },
    'payload_too_large',
  ],
  ['project_id missing', { region: REGION, server_ids: [SERVER_ID] }, 'invalid_id'],
  ['project_id number', { project_id: 12, region: REGION, server_ids: [SERVER_ID] }, 'invalid_id'],
  ['job_id object', { project_id: PROJECT_ID, region: REGION, job_id: { id: 1 } }, 'invalid_id'],
  ['EventBridge detail null', { 'detail-type': 'x', detail: null }, 'invalid_message'],
];
for (const [name, payload, code] of directShapes)
  cases.push({ group: 'direct-shape', name, code, build: () => ({ kind: 'direct', payload }) });

describe(`bad-input corpus (${cases.length} cases)`, () => {
  const queue = new RecordingQueue();
  const fetched: string[] = [];
  let ctx: Ctx;
  let cert: Awaited<ReturnType<typeof startCertServer>>;
  let foreign: Awaited<ReturnType<typeof startForeignServer>>;
  const counts = new Map<string, number>();
  let direct: typeof import('../../functions/direct-intake.ts');
  let webhook: typeof import('../../functions/webhook.ts');

  beforeAll(async () => {
    cert = await startCertServer();
    foreign = await startForeignServer();
    ctx = {
      certUrl: cert.certUrl,
      certBase: cert.url,
      foreign: foreign.url,
      foreignPort: foreign.port,
      // Read at each case's build: a timestamp fixed at setup drifts into the window on a slow run.
      get now() {
        return Date.now();
      },
    };
    const config = testConfig({
      SMN_CERT_HOST_ALLOWLIST: `${cert.url},smn.*.myhuaweicloud.com,smn.*.myhuaweicloud.eu`,
      SMN_SUBSCRIBE_HOST_ALLOWLIST: cert.url,
      SMN_TOPIC_URN_ALLOWLIST: TOPIC_URN,
    });
    const guardedFetch: typeof fetch = async (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      fetched.push(url);
      if (!url.startsWith(`${cert.url}/`)) throw new Error(`test refused a fetch of a foreign URL: ${url}`);
      return fetch(input, init);
    };
    const runtime = testRuntime({ config, queue, fetch: guardedFetch });
    // The handlers parse their configuration at module load, as on Lambda.
    process.env['WORK_QUEUE_URL'] ??= 'http://127.0.0.1:9/000000000000/corpus';
    process.env['HUAWEICLOUD_SDK_REGION'] ??= 'cn-north-4';
    process.env['HUAWEICLOUD_SDK_AK'] ??= 'corpus-access-key';
    process.env['HUAWEICLOUD_SDK_SK'] ??= 'corpus-secret-key';
    process.env['SMN_TOPIC_URN_ALLOWLIST'] ??= TOPIC_URN;
    direct = await import('../../functions/direct-intake.ts');
    webhook = await import('../../functions/webhook.ts');
    direct.runtime.setFactory(async () => runtime);
    webhook.runtime.setFactory(async () => runtime);
  });

  afterAll(async () => {
    direct?.runtime.setFactory(undefined);
    webhook?.runtime.setFactory(undefined);
    console.log(
      `bad-input corpus: ${cases.length} cases (${[...counts].map(([g, n]) => `${g} ${n}`).join(', ')})`,
    );
    await cert?.close();
    await foreign?.close();
  });

  const lambdaContext = {} as Context;

  it.for(cases.map((c) => [`${c.group}: ${c.name}`, c] as const))('%s', async ([, c]) => {
    counts.set(c.group, (counts.get(c.group) ?? 0) + 1);
    const request = c.build(ctx);
    const fetchedBefore = fetched.length;
    if (request.kind === 'webhook') {
      const event = {
        version: '2.0',
        routeKey: 'POST /smn',
        rawPath: '/smn',
        headers: { 'content-type': 'application/json', ...(request.headers ?? {}) },
        body: request.body,
        isBase64Encoded: request.isBase64Encoded ?? false,
        requestContext: { http: { method: 'POST', path: '/smn' } },
      } as unknown as APIGatewayProxyEventV2;
      const response = (await webhook.handler(event, lambdaContext)) as APIGatewayProxyStructuredResultV2;
      expect(response.statusCode, response.body).toBeGreaterThanOrEqual(400);
      expect(response.statusCode, response.body).toBeLessThan(500);
      const payload = JSON.parse(String(response.body)) as { error: { code: string; message: string } };
      expect(payload.error.message.length).toBeGreaterThan(10);
      if (c.code) expect(payload.error.code).toBe(c.code);
      // Never echo the signature back.
      const signature = /"signature":"([^"]+)"/.exec(request.body)?.[1];
      if (typeof signature === 'string' && signature.length > 8)
        expect(response.body).not.toContain(signature);
    } else {
      const result = (await direct.handler(request.payload, lambdaContext)) as {
        accepted: string[];
        rejected: Array<{ reason: string }>;
        error?: { code: string; message: string };
      };
      expect(result.accepted).toEqual([]);
      if (c.code) expect(result.error?.code).toBe(c.code);
      else expect(result.error?.code ?? result.rejected[0]?.reason).toBeTruthy();
      if (!result.error) expect(result.rejected).toHaveLength(1);
    }
    expect(queue.items).toEqual([]);
    expect(foreign.hits()).toBe(0);
    if (c.fetchesNothing) expect(fetched.slice(fetchedBefore)).toEqual([]);
    expect(fetched.filter((u) => !u.startsWith(`${cert.url}/`))).toEqual([]);
  });

  it('a valid signed notification passes through the same handler (the corpus is not refusing everything)', async () => {
    const event = {
      headers: {},
      body: JSON.stringify(notification(ctx)),
      isBase64Encoded: false,
      requestContext: { http: { method: 'POST' } },
    } as unknown as APIGatewayProxyEventV2;
    const response = (await webhook.handler(event, lambdaContext)) as APIGatewayProxyStructuredResultV2;
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(String(response.body))).toEqual({ accepted: 1 });
    expect(queue.serverIds()).toEqual([SERVER_ID]);
    queue.items.length = 0;
    expect(cert.hits()).toBe(1);
  });
});
