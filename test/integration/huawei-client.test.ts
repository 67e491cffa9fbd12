/**
 * The Huawei client against the emulator over real HTTP on loopback. The emulator runs at
 * 120x so minutes of rate-limit and backoff time pass in a second or two; the client uses
 * the emulator's clock so both sides agree on what "a minute" is.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';
import { AuthGuard } from '../../lib/huawei/auth-guard.ts';
import type { CredentialProvider } from '../../lib/huawei/credentials.ts';
import { staticCredentialProvider } from '../../lib/huawei/credentials.ts';
import { HuaweiApiError } from '../../lib/huawei/errors.ts';
import {
  type HttpRequest,
  type HttpResponse,
  type HttpTransport,
  UndiciTransport,
} from '../../lib/huawei/http-transport.ts';
import { createHuaweiClients, type HuaweiClients } from '../../lib/huawei/huawei-clients.ts';
import { parseHuaweiConfig } from '../../lib/huawei/huawei-config.ts';
import { InvalidPathParamError } from '../../lib/huawei/path-params.ts';
import { createLogger } from '../../lib/observability/logger.ts';

const TIME_SCALE = 120;
const MISSING_SERVER = '00000000-0000-4000-8000-000000000000';

/** Wraps the real transport to see every response the client received (and react to it). */
class ObservingTransport implements HttpTransport {
  readonly statuses: number[] = [];
  sent = 0;
  onResponse: ((response: HttpResponse, request: HttpRequest) => void) | undefined;
  readonly #inner: HttpTransport;
  constructor(inner: HttpTransport) {
    this.#inner = inner;
  }
  async send(request: HttpRequest): Promise<HttpResponse> {
    this.sent++;
    const response = await this.#inner.send(request);
    this.statuses.push(response.status);
    this.onResponse?.(response, request);
    return response;
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

let emu: RunningEmulator;
const opened: HuaweiClients[] = [];
const logLines: string[] = [];

function clients(
  options: {
    credentials?: CredentialProvider;
    env?: Record<string, string>;
    transport?: HttpTransport;
    authGuard?: AuthGuard;
  } = {},
): HuaweiClients {
  const config = parseHuaweiConfig({
    HUAWEICLOUD_SDK_REGION: emu.region,
    HUAWEICLOUD_BMS_ENDPOINT: emu.url,
    HUAWEICLOUD_IAM_ENDPOINT: emu.url,
    ...options.env,
  });
  const c = createHuaweiClients(config, {
    credentials:
      options.credentials ?? staticCredentialProvider({ accessKey: emu.accessKey, secretKey: emu.secretKey }),
    clock: emu.clock,
    transport:
      options.transport ??
      new UndiciTransport({ connectTimeoutMs: config.connectTimeoutMs, timeoutMs: config.timeoutMs }),
    logger: createLogger({ level: 'debug', sink: { write: (line: string) => logLines.push(line) } }),
    // Each test's clients share a breaker of their own, so one test's 401 does not stop the next.
    authGuard: options.authGuard ?? new AuthGuard(),
  });
  opened.push(c);
  return c;
}

const counts = (api: string) =>
  emu.admin.calls().apis[api] ?? { total: 0, '2xx': 0, '401': 0, '429': 0, '5xx': 0 };

beforeAll(async () => {
  emu = await startEmulator({ timeScale: TIME_SCALE, seed: 4242 });
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
  emu.admin.reset();
});

afterAll(async () => {
  await emu.close();
  // Nothing the client logged (retries, failures) may carry a credential.
  const all = logLines.join('\n');
  expect(all).not.toContain(emu.secretKey);
});

describe('IAM', () => {
  it('resolves the project id of the region once and caches it', async () => {
    const c = clients();
    expect(await c.iam.resolveProjectId(emu.region)).toBe(emu.projectId);
    expect(await c.projectId()).toBe(emu.projectId);
    expect(counts('iam.projects').total).toBe(1);
  });

  it('reports a region without a project as not-found', async () => {
    const c = clients();
    await expect(c.iam.resolveProjectId('ap-southeast-9')).rejects.toMatchObject({
      kind: 'not-found',
      api: 'iam.projects',
    });
  });
});

describe('BMS endpoints', () => {
  it('creates servers, shows the job and a server, and reinstalls over the API', async () => {
    const c = clients();
    const created = await c.bms.createServers(emu.projectId, {
      server: {
        name: 'win',
        imageRef: 'windows-2022',
        flavorRef: 'physical.o2.medium',
        key_name: 'kp',
        count: 2,
      },
    });
    expect(created.job_id).toMatch(/^[0-9a-f]{32}$/);
    const job = await c.bms.showJob(emu.projectId, created.job_id);
    expect(['INIT', 'RUNNING', 'SUCCESS']).toContain(job.status);
    const serverId = job.entities?.sub_jobs?.[0]?.entities?.server_id;
    expect(serverId).toBeDefined();
    const server = await c.bms.showServer(emu.projectId, serverId!);
    expect(server.id).toBe(serverId);
    expect(server.metadata?.os_type).toBe('Windows');

    const [booted] = emu.admin.createServers({
      windows: 1,
      linux: 0,
      bootDelaySeconds: 0,
      postDelaySeconds: 3600,
    }).serverIds;
    await emu.clock.sleep(2000);
    const reinstall = await c.bms.reinstallServer(emu.projectId, booted!, {
      'os-reinstall': { keyname: 'kp' },
    });
    expect(reinstall.job_id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('iterates every page of the server list', async () => {
    const c = clients();
    const { serverIds } = emu.admin.createServers({ windows: 3, linux: 2 });
    const seen: string[] = [];
    for await (const server of c.bms.listServers(emu.projectId, { limit: 2 })) seen.push(server.id);
    expect(seen.sort()).toEqual([...serverIds].sort());
    expect(counts('server.list').total).toBe(3);
  });

  it('stops paging when count is reached on an exactly full page', async () => {
    const c = clients();
    emu.admin.createServers({ windows: 2, linux: 2 });
    const seen: string[] = [];
    for await (const server of c.bms.listServers(emu.projectId, { limit: 2 })) seen.push(server.id);
    expect(seen).toHaveLength(4);
    expect(counts('server.list').total).toBe(2);
  });

  for (const emptyPassword of ['empty-string', 'null', 'missing'] as const) {
    it(`reads "no password yet" rendered as ${emptyPassword} as undefined`, async () => {
      emu.admin.setSwitches({ emptyPassword });
      const c = clients();
      const [id] = emu.admin.createServers({ windows: 1, linux: 0 }).serverIds;
      expect(await c.bms.getPassword(emu.projectId, id!)).toBeUndefined();
    });
  }

  for (const deletePasswordStatus of [200, 202, 204] as const) {
    it(`gets the posted ciphertext and clears it (DELETE answered ${deletePasswordStatus})`, async () => {
      emu.admin.setSwitches({ deletePasswordStatus });
      const c = clients();
      const [id] = emu.admin.createServers({ windows: 1, linux: 0, postDelaySeconds: 10_000_000 }).serverIds;
      expect(emu.admin.guestPost(id!).accepted).toBe(true);
      const record = await c.bms.getPassword(emu.projectId, id!);
      expect(record?.ciphertext).toBe(emu.admin.server(id!)?.ciphertext);
      await c.bms.deletePassword(emu.projectId, id!);
      expect(emu.admin.server(id!)?.ciphertext).toBeNull();
      expect(await c.bms.getPassword(emu.projectId, id!)).toBeUndefined();
    });
  }

  for (const notFoundStatus of [404, 400] as const) {
    it(`maps an unknown server answered ${notFoundStatus} BMS.0040 to not-found`, async () => {
      emu.admin.setSwitches({ notFoundStatus });
      const c = clients();
      const error = await c.bms.getPassword(emu.projectId, MISSING_SERVER).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HuaweiApiError);
      expect(error).toMatchObject({ kind: 'not-found', status: notFoundStatus, code: 'BMS.0040' });
      expect((error as HuaweiApiError).requestId).toMatch(/^[0-9a-f]+$/);
      expect(counts('password.get').total).toBe(1);
    });
  }

  it('rejects hostile ids before any request is made', async () => {
    const c = clients();
    const hostile = [
      `${MISSING_SERVER}/../x`,
      `${MISSING_SERVER}%2F`,
      '..',
      `${MISSING_SERVER}?a=1`,
      ` ${MISSING_SERVER}`,
    ];
    for (const id of hostile) {
      await expect(c.bms.getPassword(emu.projectId, id)).rejects.toBeInstanceOf(InvalidPathParamError);
      await expect(c.bms.deletePassword(emu.projectId, id)).rejects.toBeInstanceOf(InvalidPathParamError);
    }
    await expect(c.bms.showJob(`${emu.projectId}/..`, 'abc')).rejects.toBeInstanceOf(InvalidPathParamError);
    const iterator = c.bms.listServers('../other')[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toBeInstanceOf(InvalidPathParamError);
    expect(Object.values(emu.admin.calls().apis).reduce((n, a) => n + a.total, 0)).toBe(0);
  });

  it('signs temporary credentials with their security token', async () => {
    const temporary = emu.admin.issueTemporaryCredentials(900);
    const c = clients({
      credentials: staticCredentialProvider({ ...temporary, expiresAt: new Date(temporary.expiresAt) }),
    });
    const [id] = emu.admin.createServers({ windows: 1, linux: 0 }).serverIds;
    expect((await c.bms.showServer(emu.projectId, id!)).id).toBe(id);
  });
});

describe('retries', () => {
  it('retries a 5xx and then succeeds', async () => {
    const transport = new ObservingTransport(new UndiciTransport());
    const c = clients({ transport });
    const [id] = emu.admin.createServers({ windows: 1, linux: 0 }).serverIds;
    emu.admin.setFaults({ errorRate: 1, apis: ['server.get'] });
    transport.onResponse = (response) => {
      if (response.status >= 500) emu.admin.setFaults({ errorRate: 0 });
    };
    expect((await c.bms.showServer(emu.projectId, id!)).id).toBe(id);
    expect(transport.statuses).toHaveLength(2);
    expect(transport.statuses[0]).toBeGreaterThanOrEqual(500);
    expect(counts('server.get')).toMatchObject({ total: 2, '2xx': 1, '5xx': 1 });
  });

  it('retries a 429 APIGW.0308 after its Retry-After and then succeeds', async () => {
    const transport = new ObservingTransport(new UndiciTransport());
    const c = clients({ transport });
    const [id] = emu.admin.createServers({ windows: 1, linux: 0 }).serverIds;
    emu.admin.guestPost(id!);
    emu.admin.setFaults({ throttleRate: 1, apis: ['password.get'] });
    transport.onResponse = (response) => {
      if (response.status === 429) {
        expect(response.headers['retry-after']).toBe('1');
        emu.admin.setFaults({ throttleRate: 0 });
      }
    };
    const record = await c.bms.getPassword(emu.projectId, id!);
    expect(record?.ciphertext).toBe(emu.admin.server(id!)?.ciphertext);
    expect(counts('password.get')).toMatchObject({ total: 2, '2xx': 1, '429': 1 });
    // The backoff before the retry honoured Retry-After (1 s) rather than the shorter jittered delay.
    const retry = logLines.map((line) => JSON.parse(line)).findLast((l) => l.message.includes('retrying'));
    expect(retry).toMatchObject({
      api: 'password.get',
      attempt: 1,
      error: { kind: 'throttled', code: 'APIGW.0308' },
    });
    expect(retry.delayMs).toBeGreaterThanOrEqual(1000);
  });

  it('sends exactly one request on 401 and never puts the secret or the body in the error', async () => {
    const c = clients({
      credentials: staticCredentialProvider({
        accessKey: emu.accessKey,
        secretKey: 'WrongSecretKeyWrongSecretKey00',
      }),
    });
    const [id] = emu.admin.createServers({ windows: 1, linux: 0 }).serverIds;
    const error = (await c.bms.getPassword(emu.projectId, id!).catch((e: unknown) => e)) as HuaweiApiError;
    expect(error).toMatchObject({ kind: 'auth', status: 401, code: 'APIGW.0301' });
    expect(counts('password.get')).toMatchObject({ total: 1, '401': 1 });
    // Password calls never quote the response, not even the gateway's message.
    expect(error.message).not.toContain('Incorrect IAM');
    expect(error.message).not.toContain('WrongSecretKey');
    expect(error.message).not.toContain(emu.secretKey);
  });

  it('gets locked out after five bad signatures, and recovers after the lockout', async () => {
    // Five emulated minutes (2.5 s real at 120x), like the real gateway: long enough that the
    // locked request lands inside it on a loaded machine.
    emu.admin.setSwitches({ lockoutSeconds: 300 });
    // A breaker that never waits and never gives up: the emulator's lockout itself is under test.
    const reckless = new AuthGuard({ cooldownMs: 0, maxProbes: 100 });
    const bad = clients({
      credentials: staticCredentialProvider({
        accessKey: emu.accessKey,
        secretKey: 'AnotherWrongSecretKey000000',
      }),
      authGuard: reckless,
    });
    const good = clients({ authGuard: new AuthGuard({ cooldownMs: 0, maxProbes: 100 }) });
    const [id] = emu.admin.createServers({ windows: 1, linux: 0 }).serverIds;
    for (let i = 0; i < 5; i++) {
      await expect(bad.bms.showServer(emu.projectId, id!)).rejects.toMatchObject({
        kind: 'auth',
        status: 401,
      });
    }
    expect(counts('server.get')).toMatchObject({ total: 5, '401': 5 });
    const locked = await good.bms.showServer(emu.projectId, id!).catch((e: unknown) => e as HuaweiApiError);
    expect(locked).toMatchObject({ kind: 'auth', status: 401 });
    expect(locked.message).toMatch(/locked/);
    expect(counts('server.get').total).toBe(6);
    await emu.clock.sleep(301_000);
    expect((await good.bms.showServer(emu.projectId, id!)).id).toBe(id);
  });
});

describe('timeouts and aborts', () => {
  it('times out a response that does not come, retried up to maxAttempts', async () => {
    const transport = new ObservingTransport(new UndiciTransport({ timeoutMs: 150 }));
    const c = clients({ env: { HUAWEICLOUD_MAX_ATTEMPTS: '2' }, transport });
    const [id] = emu.admin.createServers({ windows: 1, linux: 0 }).serverIds;
    // 10 emulated minutes = 5 s of real time at 120x, far beyond the 150 ms timeout.
    emu.admin.setFaults({ latencyMs: 600_000, apis: ['server.get'] });
    await expect(c.bms.showServer(emu.projectId, id!)).rejects.toMatchObject({
      kind: 'timeout',
      api: 'server.get',
    });
    expect(transport.sent).toBe(2);
    expect(transport.statuses).toEqual([]);
    emu.admin.setFaults({ latencyMs: 0 });
  });

  it('aborts an in-flight call when the signal fires', async () => {
    const c = clients();
    const [id] = emu.admin.createServers({ windows: 1, linux: 0 }).serverIds;
    emu.admin.setFaults({ latencyMs: 600_000, apis: ['password.get'] });
    const controller = new AbortController();
    const pending = c.bms.getPassword(emu.projectId, id!, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toMatchObject({ kind: 'aborted', api: 'password.get' });
    emu.admin.setFaults({ latencyMs: 0 });
  });

  it('sends nothing when the signal has already fired', async () => {
    const c = clients();
    await expect(
      c.bms.getPassword(emu.projectId, MISSING_SERVER, { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ kind: 'aborted' });
    expect(counts('password.get').total).toBe(0);
  });
});

describe('rate limiting', () => {
  it('paces a burst of 120 password GETs over more than two emulated minutes, and all succeed', async () => {
    const c = clients();
    const [id] = emu.admin.createServers({ windows: 1, linux: 0 }).serverIds;
    const startedAt = emu.clock.now();
    await Promise.all(Array.from({ length: 120 }, () => c.bms.getPassword(emu.projectId, id!)));
    // Zero 429s is not asserted here: at 120x the bucket's 2-calls-a-minute headroom is about
    // 20 ms of real time, less than a loaded machine's scheduling stalls. The limiter's
    // sliding-minute bound is proven on a fake clock (test/unit/huawei/rate-limiter.test.ts)
    // and the fleet bench counts 429s at scale.
    expect(counts('password.get')['2xx']).toBe(120);
    // 1 at once, then 48 a minute: the last of 120 cannot go before 2.4 emulated minutes.
    expect(emu.clock.now() - startedAt).toBeGreaterThan(2 * 60_000);
  });
});
