/**
 * The hostile corpus for POST /posted, through the exported Lambda handler
 * (functions/posted.ts) against the emulator over loopback: forged and
 * re-pointed signatures, stale and future timestamps, malformed and oversize bodies, wrong
 * content types and methods, foreign projects, unknown, Linux, BUILD and deleted servers,
 * replays, per-server limits and floods. Every hostile case is refused or dropped, queues no
 * hint, and spends at most the show-server calls it is allowed (none before the signature and
 * project checks pass; one for a server the hook does not know). No password call is made at
 * all, and the record posted at the start is still in place at the end.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';
import type { Env } from '../../lib/config/env-parsers.ts';
import type { HuaweiClients } from '../../lib/huawei/huawei-clients.ts';
import { parseIntakeConfig } from '../../lib/intake/intake-config.ts';
import type { IntakeRuntime } from '../../lib/intake/intake-runtime.ts';
import { parsePostedConfig } from '../../lib/intake/posted/posted-config.ts';
import { signPosted } from '../../lib/intake/posted/posted-signature.ts';
import { emulatorClients, type RecordingQueue, testRuntime } from '../unit/intake/intake-test-kit.ts';

interface CorpusCase {
  group: string;
  name: string;
  code: string;
  set?: Record<string, unknown>;
  delete?: string[];
  transform?: 'upper' | 'truncate' | 'extend' | 'flip' | 'base64';
  key?: string;
  message?: string;
  shiftTimestamp?: number;
  ageSeconds?: number;
  timestampScale?: number;
  timestamp?: number;
  timestampFraction?: boolean;
  timestampAsString?: boolean;
  raw?: string;
  padTo?: number;
  padChar?: string;
  base64?: boolean;
  header?: Record<string, string | null>;
  method?: string;
  upperProject?: boolean;
  resign?: boolean;
  /** Show-server calls the case may spend (default 0). */
  shows?: number;
}

const load = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, import.meta.url), 'utf8')) as T;
const fileCases = load<CorpusCase[]>('./posted-cases.json');
const badIds = load<string[]>('./bad-ids.json');

const KEY = 'corpus-deployment-key-0123456789abcdef-0123';
const UNKNOWN_SERVER = '0f0e0d0c-0b0a-4999-8888-777766665555';

interface Servers {
  windows: string;
  other: string;
  linux: string;
  build: string;
  deleted: string;
}

interface Request {
  method: string;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
}

describe('POST /posted hostile corpus', () => {
  let emulator: RunningEmulator;
  let clients: HuaweiClients;
  let servers: Servers;
  let projectId: string;
  let runtime: IntakeRuntime & { queue: RecordingQueue };
  let posted: typeof import('../../functions/posted.ts');
  const counts = new Map<string, number>();
  const lambdaContext = {} as Context;

  const env = (extra: Env = {}): Env => ({
    HUAWEICLOUD_SDK_REGION: emulator.region,
    HUAWEICLOUD_SDK_PROJECT_ID: emulator.projectId,
    ESCROW_POSTED_HMAC_KEY: KEY,
    ...extra,
  });

  /** A fresh runtime (fresh replay cache, limits and budget) per case, over the same emulator. */
  const fresh = (extra: Env = {}): IntakeRuntime & { queue: RecordingQueue } => {
    const config = parseIntakeConfig(env(extra));
    runtime = testRuntime({
      config,
      bmsFor: () => clients.bms,
      clock: emulator.clock,
      posted: parsePostedConfig(env(extra), config.sweepTargets),
    });
    posted.runtime.setFactory(async () => runtime);
    return runtime;
  };

  const shows = (): number => emulator.admin.calls().apis['server.get']?.total ?? 0;
  const nowSeconds = (): number => Math.floor(emulator.clock.now() / 1000);

  const valid = (serverId = servers.windows, timestamp = nowSeconds(), key = KEY) => ({
    server_id: serverId,
    project_id: projectId,
    timestamp,
    signature: signPosted(Buffer.from(key), serverId, projectId, timestamp),
  });

  const post = async (request: Partial<Request> & { body: string }) => {
    const event = {
      version: '2.0',
      routeKey: 'POST /posted',
      rawPath: '/posted',
      headers: request.headers ?? { 'content-type': 'application/json' },
      body: request.body,
      isBase64Encoded: request.isBase64Encoded ?? false,
      requestContext: { http: { method: request.method ?? 'POST', path: '/posted' } },
    } as unknown as APIGatewayProxyEventV2;
    const response = (await posted.handler(event, lambdaContext)) as APIGatewayProxyStructuredResultV2;
    return {
      status: response.statusCode ?? 0,
      body: JSON.parse(String(response.body)) as Record<string, unknown>,
    };
  };

  function build(c: CorpusCase): Request {
    const fill = (text: string, n: Record<string, unknown>): string =>
      text
        .replaceAll('{server}', servers.windows)
        .replaceAll('{project}', projectId)
        .replaceAll('{timestamp}', String(n['timestamp']))
        .replaceAll('{signature}', String(n['signature']));
    let timestamp = nowSeconds() - (c.ageSeconds ?? 0);
    if (c.timestampScale) timestamp *= c.timestampScale;
    if (c.timestamp !== undefined) timestamp = c.timestamp;
    const n: Record<string, unknown> = valid(servers.windows, timestamp, c.key ?? KEY);
    if (c.message) {
      const message = c.message
        .replace('{server}', servers.windows)
        .replace('{project}', projectId)
        .replace('{timestamp}', String(timestamp));
      n['signature'] = createHmac('sha256', KEY).update(message).digest('hex');
    }
    const substitute = (v: unknown): unknown =>
      typeof v === 'string'
        ? v
            .replace('{otherServer}', servers.other)
            .replace('{unknownServer}', UNKNOWN_SERVER)
            .replace('{linuxServer}', servers.linux)
            .replace('{buildServer}', servers.build)
            .replace('{deletedServer}', servers.deleted)
            .replace('{server}', servers.windows)
        : v;
    for (const [k, v] of Object.entries(c.set ?? {})) n[k] = substitute(v);
    if (c.upperProject) n['project_id'] = projectId.toUpperCase();
    if (c.resign)
      n['signature'] = signPosted(
        Buffer.from(KEY),
        String(n['server_id']),
        String(n['project_id']),
        Number(n['timestamp']),
      );
    for (const k of c.delete ?? []) delete n[k];
    const sig = String(n['signature']);
    if (c.transform === 'upper') n['signature'] = sig.toUpperCase();
    if (c.transform === 'truncate') n['signature'] = sig.slice(0, 63);
    if (c.transform === 'extend') n['signature'] = `${sig}00`;
    if (c.transform === 'flip') n['signature'] = (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1);
    if (c.transform === 'base64') n['signature'] = Buffer.from(sig, 'hex').toString('base64');
    if (c.shiftTimestamp) n['timestamp'] = Number(n['timestamp']) + c.shiftTimestamp;
    if (c.timestampFraction) n['timestamp'] = Number(n['timestamp']) + 0.5;
    if (c.timestampAsString) n['timestamp'] = String(n['timestamp']);
    let body = c.raw === undefined ? JSON.stringify(n) : fill(c.raw, n);
    if (c.padTo) {
      const filler = (c.padChar ?? ' ').repeat(c.padTo);
      body = `${body.slice(0, -1)},"pad":"${filler}"}`;
    }
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    for (const [k, v] of Object.entries(c.header ?? {})) {
      if (v === null) delete headers[k];
      else headers[k] = v;
    }
    return {
      method: c.method ?? 'POST',
      headers,
      body: c.base64 ? Buffer.from(body).toString('base64') : body,
      isBase64Encoded: c.base64 ?? false,
    };
  }

  const idCases: CorpusCase[] = badIds.flatMap((id, i) => [
    { group: 'bad-id', name: `server_id #${i}`, set: { server_id: id }, resign: false, code: 'invalid_id' },
    { group: 'bad-id', name: `project_id #${i}`, set: { project_id: id }, resign: false, code: 'invalid_id' },
  ]);
  const cases = [...fileCases, ...idCases];

  beforeAll(async () => {
    // The handler checks its configuration at import; the runtime itself is replaced per case.
    process.env['WORK_QUEUE_URL'] ??= 'http://127.0.0.1:9/000000000000/corpus';
    process.env['HUAWEICLOUD_SDK_REGION'] ??= 'cn-north-4';
    process.env['HUAWEICLOUD_SDK_AK'] ??= 'corpus-access-key';
    process.env['HUAWEICLOUD_SDK_SK'] ??= 'corpus-secret-key';
    posted = await import('../../functions/posted.ts');
    emulator = await startEmulator({ seed: 5, switches: { distribution: 'fixed' } });
    clients = emulatorClients(emulator);
    projectId = emulator.projectId;
    const now = { bootDelaySeconds: 0, postDelaySeconds: 10_000_000 };
    const win = emulator.admin.createServers({ windows: 2, linux: 1, ...now });
    const build = emulator.admin.createServers({ windows: 1, linux: 0, bootDelaySeconds: 10_000_000 });
    const gone = emulator.admin.createServers({ windows: 1, linux: 0, ...now });
    emulator.admin.deleteServer(gone.windowsIds[0]!);
    servers = {
      windows: win.windowsIds[0]!,
      other: win.windowsIds[1]!,
      linux: win.linuxIds[0]!,
      build: build.windowsIds[0]!,
      deleted: gone.windowsIds[0]!,
    };
    expect(emulator.admin.guestPost(servers.windows).accepted).toBe(true);
  });

  afterAll(async () => {
    posted.runtime.setFactory(undefined);
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    console.log(
      `posted corpus: ${total} hostile cases (${[...counts].map(([g, n]) => `${g} ${n}`).join(', ')})`,
    );
    // Nothing was fetched, escrowed or cleared on any notification's word.
    expect(emulator.admin.calls().passwordEvents).toEqual([]);
    expect(emulator.admin.server(servers.windows)!.ciphertext).not.toBeNull();
    await clients?.close();
    await emulator?.close();
  });

  const count = (group: string, n = 1) => counts.set(group, (counts.get(group) ?? 0) + n);

  it('accepts the valid notification the cases mutate (the control)', async () => {
    fresh();
    const before = shows();
    const res = await post({ body: JSON.stringify(valid()) });
    expect(res).toEqual({ status: 202, body: { hinted: true } });
    expect(runtime.queue.items).toMatchObject([{ serverId: servers.windows, source: 'posted', projectId }]);
    expect(shows() - before).toBe(1);
  });

  it.for(cases.map((c) => [`${c.group}: ${c.name}`, c] as const))('%s', async ([, c]) => {
    count(c.group);
    fresh();
    const before = shows();
    const request = build(c);
    const res = await post(request);
    expect(res.status, JSON.stringify(res.body)).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    const error = res.body['error'] as { code: string; message: string };
    expect(error.code).toBe(c.code);
    // Never echo a signature (or anything shaped like one) back.
    const signature = /[0-9a-fA-F]{64}/.exec(request.body)?.[0];
    if (signature) expect(JSON.stringify(res.body)).not.toContain(signature);
    expect(runtime.queue.items).toEqual([]);
    expect(shows() - before).toBe(c.shows ?? 0);
  });

  it('a signed "settled" is carried on the hint; unsigned, the same claim is ignored', async () => {
    fresh();
    const timestamp = nowSeconds();
    const settled = {
      ...valid(servers.windows, timestamp),
      settled: true,
      signature: signPosted(Buffer.from(KEY), servers.windows, projectId, timestamp, true),
    };
    const before = emulator.clock.now();
    expect((await post({ body: JSON.stringify(settled) })).status).toBe(202);
    expect(runtime.queue.items).toHaveLength(1);
    // The signed time (whole seconds), not the arrival: a replay keeps its old time.
    expect(runtime.queue.items[0]!.guestSettledAt).toBe(new Date(timestamp * 1000).toISOString());
    expect(timestamp * 1000).toBeLessThanOrEqual(before);
    // "settled": false, or absent, says nothing.
    fresh();
    expect((await post({ body: JSON.stringify({ ...valid(), settled: false }) })).status).toBe(202);
    expect(runtime.queue.items[0]!.guestSettledAt).toBeUndefined();
    fresh({ ESCROW_POSTED_HMAC_KEY: '', ESCROW_POSTED_MODE: 'unsigned' });
    const { signature: _, ...unsigned } = valid();
    expect((await post({ body: JSON.stringify({ ...unsigned, settled: true }) })).status).toBe(202);
    expect(runtime.queue.items).toHaveLength(1);
    expect(runtime.queue.items[0]!.guestSettledAt).toBeUndefined();
  });

  it('posted: off answers 404 and looks at nothing', async () => {
    count('disabled');
    fresh({ ESCROW_POSTED_HMAC_KEY: '', ESCROW_POSTED_MODE: 'off' });
    const res = await post({ body: JSON.stringify(valid()) });
    expect(res.status).toBe(404);
    expect(runtime.queue.items).toEqual([]);
  });

  it('replay: the same notification twice queues one hint', async () => {
    count('replay');
    fresh();
    const n = JSON.stringify(valid());
    expect((await post({ body: n })).status).toBe(202);
    const before = shows();
    expect(await post({ body: n })).toEqual({ status: 200, body: { hinted: false, reason: 'duplicate' } });
    expect(runtime.queue.items).toHaveLength(1);
    expect(shows() - before).toBe(0);
  });

  it('per server: a second fresh notification within the interval is dropped', async () => {
    count('rate-limit');
    fresh();
    expect((await post({ body: JSON.stringify(valid(servers.windows, nowSeconds() - 2)) })).status).toBe(202);
    const before = shows();
    const second = await post({ body: JSON.stringify(valid(servers.windows, nowSeconds())) });
    expect(second).toEqual({ status: 200, body: { hinted: false, reason: 'rate-limited' } });
    expect(runtime.queue.items).toHaveLength(1);
    expect(shows() - before).toBe(0);
  });

  it('a refused server costs one show, however often it notifies', async () => {
    count('repeat-refused');
    fresh();
    const before = shows();
    for (let i = 0; i < 20; i++) {
      const res = await post({ body: JSON.stringify(valid(servers.linux, nowSeconds() - i)) });
      expect(res.status).toBeGreaterThanOrEqual(200);
      expect([200, 422]).toContain(res.status);
    }
    expect(shows() - before).toBe(1);
    expect(runtime.queue.items).toEqual([]);
  });

  it('flood of forged notifications: no Huawei call, nothing queued', async () => {
    count('flood');
    fresh();
    const before = shows();
    for (let i = 0; i < 1000; i++) {
      const n = { ...valid(servers.windows, nowSeconds() - (i % 200)), signature: 'ab'.repeat(32) };
      expect((await post({ body: JSON.stringify(n) })).status).toBe(403);
    }
    expect(shows() - before).toBe(0);
    expect(runtime.queue.items).toEqual([]);
  });

  it('flood of signed notifications for unknown servers: shows capped by the budget, nothing queued', async () => {
    count('flood');
    fresh({ ESCROW_POSTED_SHOWS_PER_MINUTE: '25' });
    const before = shows();
    const statuses = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      const id = `0f0e0d0c-0b0a-4999-8888-${String(i).padStart(12, '0')}`;
      const res = await post({ body: JSON.stringify(valid(id)) });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
    expect(shows() - before).toBe(25);
    expect(statuses.get(422)).toBe(25);
    expect(statuses.get(429)).toBe(275);
    expect(runtime.queue.items).toEqual([]);
  });

  it('flood for one real server: one hint, one show', async () => {
    count('flood');
    fresh();
    const before = shows();
    for (let i = 0; i < 200; i++)
      await post({ body: JSON.stringify(valid(servers.windows, nowSeconds() - (i % 250))) });
    expect(runtime.queue.items).toHaveLength(1);
    expect(shows() - before).toBe(1);
  });

  it("a hint that could not be queued answers 503, and the guest's retry gets through", async () => {
    fresh();
    runtime.queue.failNext.add(servers.windows);
    expect((await post({ body: JSON.stringify(valid(servers.windows, nowSeconds() - 1)) })).status).toBe(503);
    expect((await post({ body: JSON.stringify(valid()) })).status).toBe(202);
    expect(runtime.queue.items).toHaveLength(1);
  });

  it('unsigned mode only when named: without it an unsigned notification is refused', async () => {
    count('unsigned');
    fresh();
    const { signature: _, ...unsigned } = valid();
    expect((await post({ body: JSON.stringify(unsigned) })).status).toBe(403);
    expect(runtime.queue.items).toEqual([]);
    fresh({ ESCROW_POSTED_HMAC_KEY: '', ESCROW_POSTED_MODE: 'unsigned' });
    expect((await post({ body: JSON.stringify(unsigned) })).status).toBe(202);
  });
});
