/**
 * Shared helpers for the intake tests: a recording WorkQueue (the port itself, in memory),
 * SMN signing with the emulator's NOT-SECRET fixture key, a loopback HTTP server that
 * feeds requests to the webhook, and a BMS client pointed at the emulator.
 */
import { sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../../../lib/clock.ts';
import type { Env } from '../../../lib/config/env-parsers.ts';
import type { BmsApi } from '../../../lib/huawei/bms-types.ts';
import { staticCredentialProvider } from '../../../lib/huawei/credentials.ts';
import { createHuaweiClients, type HuaweiClients } from '../../../lib/huawei/huawei-clients.ts';
import { parseHuaweiConfig } from '../../../lib/huawei/huawei-config.ts';
import { parseIntakeConfig } from '../../../lib/intake/intake-config.ts';
import {
  composeIntakeRuntime,
  type IntakeParts,
  type IntakeRuntime,
} from '../../../lib/intake/intake-runtime.ts';
import { smnStringToSign } from '../../../lib/intake/smn/smn-string-to-sign.ts';
import { handleWebhookRequest } from '../../../lib/intake/webhook-http.ts';
import { clientEnv } from '../../../lib/local/emulator-env.ts';
import { silentLogger } from '../../../lib/observability/logger.ts';
import { nullMetrics } from '../../../lib/observability/metrics.ts';
import type { EnqueueOptions, EnqueueResult, WorkItem, WorkQueue } from '../../../lib/queue/work-item.ts';
import { projectRoot } from '../../helpers/fixtures.ts';

export const SIGNING_KEY_PEM = readFileSync(`${projectRoot}/emulator/fixtures/smn-signing-key.pem`, 'utf8');
export const SIGNING_CERT_PEM = readFileSync(`${projectRoot}/emulator/fixtures/smn-signing-cert.pem`, 'utf8');
export const PROJECT_ID = '0a419ac94f80f2c62f14c01e34abcdef';
export const REGION = 'cn-north-4';
export const TOPIC_URN = `urn:smn:${REGION}:${PROJECT_ID}:bms-events`;

export class RecordingQueue implements WorkQueue {
  readonly items: WorkItem[] = [];
  /** Server ids the next enqueue refuses (then forgotten). */
  failNext = new Set<string>();
  async enqueue(items: readonly WorkItem[], _options?: EnqueueOptions): Promise<EnqueueResult> {
    const failed = items
      .filter((i) => this.failNext.has(i.serverId))
      .map((i) => ({ serverId: i.serverId, reason: 'test' }));
    this.failNext.clear();
    const failedIds = new Set(failed.map((f) => f.serverId));
    this.items.push(...items.filter((i) => !failedIds.has(i.serverId)));
    return { accepted: items.length - failed.length, failed };
  }
  serverIds(): string[] {
    return this.items.map((i) => i.serverId);
  }
}

/** Signs an SMN body in place the way Huawei does (the emulator's fixture key, sha256 by default). */
export function signSmn<T extends Record<string, unknown>>(
  body: T,
  digest: 'sha256' | 'sha1' = 'sha256',
): T & { signature: string } {
  const signature = sign(digest, Buffer.from(smnStringToSign(body), 'utf8'), SIGNING_KEY_PEM).toString(
    'base64',
  );
  return { ...body, signature };
}

export function smnTimestamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

export interface NotificationOptions {
  certUrl: string;
  trace: unknown;
  now?: number;
  messageId?: string;
  topicUrn?: string;
}

export function signedNotification(options: NotificationOptions): Record<string, unknown> {
  return signSmn({
    type: 'Notification',
    message: typeof options.trace === 'string' ? options.trace : JSON.stringify(options.trace),
    message_id: options.messageId ?? 'd84bd6629ef04513ad2e37bffd6e17cb',
    subject: 'CTS key event',
    timestamp: smnTimestamp(options.now ?? Date.now()),
    topic_urn: options.topicUrn ?? TOPIC_URN,
    signature_version: 'v1',
    signing_cert_url: options.certUrl,
    unsubscribe_url: 'https://console.huaweicloud.com/smn/subscription/unsubscribe?x=1',
  });
}

export function createTrace(
  serverIds: string[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    trace_id: 'cbdd4480-2e03-11ef-82de-cf140e2a70fb',
    trace_name: 'createBareMetalServers',
    trace_rating: 'normal',
    trace_type: 'ApiCall',
    service_type: 'BMS',
    resource_type: 'bms',
    resource_id: serverIds.join(','),
    project_id: PROJECT_ID,
    code: '200',
    request: '{"server":{"adminPass":"********"}}',
    response: JSON.stringify({ job_id: undefined, server_id: serverIds[0] }),
    time: Date.now(),
    ...extra,
  };
}

export function testConfig(env: Env = {}) {
  return parseIntakeConfig({
    SMN_MAX_BODY_BYTES: String(256 * 1024),
    SMN_TOPIC_URN_ALLOWLIST: TOPIC_URN,
    ...env,
  });
}

export function testRuntime(parts: Partial<IntakeParts> & Pick<IntakeParts, 'config'>): IntakeRuntime & {
  queue: RecordingQueue;
} {
  const queue = (parts.queue as RecordingQueue | undefined) ?? new RecordingQueue();
  return composeIntakeRuntime({
    bmsFor: () => {
      throw new Error('no BMS API in this test');
    },
    logger: silentLogger,
    metrics: nullMetrics,
    ...parts,
    queue,
  }) as IntakeRuntime & { queue: RecordingQueue };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export interface ReceivedDelivery {
  headers: Record<string, string | undefined>;
  body: string;
  status: number;
  response: string;
}

/** A loopback HTTP server that hands each request to the webhook's HTTP contract and keeps a log. */
export async function startWebhookServer(
  runtime: () => IntakeRuntime,
): Promise<{ url: string; received: ReceivedDelivery[]; close(): Promise<void> }> {
  const received: ReceivedDelivery[] = [];
  const server: Server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(request.headers)) headers[k] = Array.isArray(v) ? v.join(',') : v;
      const result = await handleWebhookRequest(runtime(), {
        method: request.method ?? 'GET',
        headers,
        body,
      });
      received.push({ headers, body, status: result.statusCode, response: result.body });
      response.writeHead(result.statusCode, result.headers).end(result.body);
    })();
  });
  return { ...(await listen(server)), received };
}

/** A loopback server answering every request with the fixture signing certificate, counting them. */
async function startPemServer(contentType: string): Promise<{
  url: string;
  port: number;
  hits: () => number;
  close(): Promise<void>;
}> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': contentType }).end(SIGNING_CERT_PEM);
  });
  const handle = await listen(server);
  return { ...handle, port: (server.address() as AddressInfo).port, hits: () => hits };
}

/** A loopback server that must never be contacted; counts every request it gets. */
export function startForeignServer(): ReturnType<typeof startPemServer> {
  return startPemServer('text/plain');
}

/** Serves the fixture signing certificate (standing in for smn.{region}.myhuaweicloud.com). */
export async function startCertServer(): Promise<
  Awaited<ReturnType<typeof startPemServer>> & { certUrl: string }
> {
  const server = await startPemServer('application/x-pem-file');
  return { ...server, certUrl: `${server.url}/smn/SMN_test.pem` };
}

async function listen(server: Server): Promise<{ url: string; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface EmulatorLike {
  url: string;
  region: string;
  projectId: string;
  accessKey: string;
  secretKey: string;
}

/** The real signed BMS client, pointed at the emulator. */
export function emulatorClients(emulator: EmulatorLike): HuaweiClients {
  const config = parseHuaweiConfig(clientEnv(emulator));
  return createHuaweiClients(config, {
    credentials: staticCredentialProvider({ accessKey: emulator.accessKey, secretKey: emulator.secretKey }),
    clock: systemClock,
  });
}

export function bmsForRegion(region: string, bms: BmsApi): (r: string) => BmsApi {
  return (r) => {
    if (r !== region) throw new Error(`no BMS client for region ${r}`);
    return bms;
  };
}
