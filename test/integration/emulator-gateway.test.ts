import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';
import { jsonBody, signedFetch } from '../helpers/signed-fetch.ts';

async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('emulated API gateway: authentication', () => {
  let emu: RunningEmulator;
  let creds: { accessKey: string; secretKey: string };
  let listUrl: string;

  beforeAll(async () => {
    // 600x: the five-minute lockout lasts half a second.
    emu = await startEmulator({ seed: 11, timeScale: 600 });
    creds = { accessKey: emu.accessKey, secretKey: emu.secretKey };
    listUrl = `${emu.url}/v1/${emu.projectId}/baremetalservers/detail`;
  });
  afterAll(() => emu.close());
  beforeEach(() => emu.admin.reset());

  it('rejects a bad signature, an unknown AK and a missing header with 401 APIGW.0301', async () => {
    const bad = await signedFetch(listUrl, creds, { tamper: true });
    expect(bad.status).toBe(401);
    const body = await jsonBody<Record<string, string>>(bad);
    expect(body).toMatchObject({ error_code: 'APIGW.0301' });
    expect(body['error_msg']).toContain('verify aksk signature fail');
    expect(body['request_id']).toBe(bad.headers.get('x-request-id'));
    expect(JSON.stringify(body)).not.toContain(emu.secretKey);

    const wrongSk = await signedFetch(listUrl, { accessKey: emu.accessKey, secretKey: 'x'.repeat(40) });
    expect(wrongSk.status).toBe(401);
    const unknown = await signedFetch(listUrl, {
      accessKey: 'NOSUCHACCESSKEY00000',
      secretKey: emu.secretKey,
    });
    expect(unknown.status).toBe(401);
    const unsigned = await fetch(listUrl);
    expect(unsigned.status).toBe(401);
    expect((await jsonBody<Record<string, string>>(unsigned))['error_code']).toBe('APIGW.0301');
    expect(emu.admin.calls().apis['server.list']).toMatchObject({ total: 4, '401': 4, '2xx': 0 });
  });

  it('accepts a 14-minute-old X-Sdk-Date and rejects a 16-minute-old one', async () => {
    const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);
    expect((await signedFetch(listUrl, creds, { date: minutesAgo(14) })).status).toBe(200);
    const skewed = await signedFetch(listUrl, creds, { date: minutesAgo(16) });
    expect(skewed.status).toBe(401);
    expect((await jsonBody<Record<string, string>>(skewed))['error_code']).toBe('APIGW.0301');
    expect((await signedFetch(listUrl, creds, { date: new Date(Date.now() + 16 * 60_000) })).status).toBe(
      401,
    );
  });

  it('locks an AK after five consecutive failures, even for a correct signature, until the lockout passes', async () => {
    // 30 emulated minutes (3 s real at 600x): the locked request lands inside it even under load.
    emu.admin.setSwitches({ lockoutSeconds: 1800 });
    for (let i = 0; i < 4; i++)
      expect((await signedFetch(listUrl, creds, { tamper: true })).status).toBe(401);
    // A success resets the streak.
    expect((await signedFetch(listUrl, creds)).status).toBe(200);
    for (let i = 0; i < 5; i++)
      expect((await signedFetch(listUrl, creds, { tamper: true })).status).toBe(401);
    const locked = await signedFetch(listUrl, creds);
    expect(locked.status).toBe(401);
    expect((await jsonBody<Record<string, string>>(locked))['error_msg']).toContain('locked');
    const unlocked = await until(async () => {
      const res = await signedFetch(listUrl, creds);
      return res.status === 200 ? res : undefined;
    }, 'the lockout to expire');
    expect(unlocked.status).toBe(200);
  });

  it('answers a project id that is not the credential’s with 400 Common.0018', async () => {
    const res = await signedFetch(
      `${emu.url}/v1/0123456789abcdef0123456789abcdef/baremetalservers/detail`,
      creds,
    );
    expect(res.status).toBe(400);
    expect(await jsonBody(res)).toEqual({
      error: { code: 'Common.0018', message: 'tenantId in token is not the same with in URL.' },
    });
  });

  it('accepts temporary credentials only with their signed security token', async () => {
    const temp = emu.admin.issueTemporaryCredentials(1800);
    expect(Date.parse(temp.expiresAt)).toBeGreaterThan(emu.clock.now());
    const ok = await signedFetch(listUrl, temp);
    expect(ok.status).toBe(200);
    const noToken = await signedFetch(listUrl, { accessKey: temp.accessKey, secretKey: temp.secretKey });
    expect(noToken.status).toBe(401);
    const wrongToken = await signedFetch(listUrl, { ...temp, securityToken: `${temp.securityToken}x` });
    expect(wrongToken.status).toBe(401);
    // 1800 emulated seconds are 3 s real at 600x: long enough for the calls above under load.
    const expired = await until(async () => {
      const res = await signedFetch(listUrl, temp);
      return res.status === 401 ? res : undefined;
    }, 'the token to expire');
    expect((await jsonBody<Record<string, string>>(expired))['error_msg']).toContain('token expires');
  });
});

describe('emulated API gateway: throttling and faults', () => {
  let emu: RunningEmulator;
  let creds: { accessKey: string; secretKey: string };
  let base: string;

  beforeAll(async () => {
    // Real time, so the one-minute window cannot slide during the test.
    emu = await startEmulator({ seed: 12 });
    creds = { accessKey: emu.accessKey, secretKey: emu.secretKey };
    base = `${emu.url}/v1/${emu.projectId}`;
  });
  afterAll(() => emu.close());
  beforeEach(() => emu.admin.reset());

  it('throttles the 51st password GET in a minute with the real 429 body and Retry-After', async () => {
    const { windowsIds } = emu.admin.createServers({ windows: 1, linux: 0 });
    const url = `${base}/baremetalservers/${windowsIds[0]}/os-server-password`;
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) statuses.push((await signedFetch(url, creds)).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const limited = await signedFetch(url, creds);
    expect(limited.status).toBe(429);
    const body = await jsonBody<Record<string, string>>(limited);
    expect(body).toEqual({
      error_msg:
        'The throttling threshold has been reached: policy user over ratelimit,limit:50,time:1 minute',
      error_code: 'APIGW.0308',
      request_id: limited.headers.get('x-request-id'),
    });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Other APIs have their own windows.
    expect((await signedFetch(`${base}/baremetalservers/${windowsIds[0]}`, creds)).status).toBe(200);
    expect(emu.admin.calls().apis['password.get']).toMatchObject({ total: 51, '2xx': 50, '429': 1 });

    emu.admin.setSwitches({ retryAfterHeader: false });
    const quiet = await signedFetch(url, creds);
    expect(quiet.status).toBe(429);
    expect(quiet.headers.get('retry-after')).toBeNull();
  });

  it('honours per-API limit overrides', async () => {
    emu.admin.setSwitches({ rateLimits: { 'server.list': 2 } });
    const url = `${base}/baremetalservers/detail`;
    expect((await signedFetch(url, creds)).status).toBe(200);
    expect((await signedFetch(url, creds)).status).toBe(200);
    const limited = await signedFetch(url, creds);
    expect((await jsonBody<Record<string, string>>(limited))['error_msg']).toContain('limit:2,');
  });

  it('injects 5xx errors only on the targeted API', async () => {
    const { windowsIds } = emu.admin.createServers({ windows: 1, linux: 0 });
    emu.admin.setFaults({ errorRate: 1, apis: ['password.get'] });
    const failed = await signedFetch(`${base}/baremetalservers/${windowsIds[0]}/os-server-password`, creds);
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect(failed.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
    expect((await signedFetch(`${base}/baremetalservers/${windowsIds[0]}`, creds)).status).toBe(200);
    expect(emu.admin.calls().apis['password.get']).toMatchObject({ '5xx': 1 });
    expect(emu.admin.calls().passwordEvents.at(-1)).toMatchObject({ method: 'GET', status: failed.status });
  });

  it('resets connections and injects spurious 429s at the configured rates', async () => {
    emu.admin.setFaults({ resetRate: 1 });
    await expect(signedFetch(`${base}/baremetalservers/detail`, creds)).rejects.toThrow();
    expect(emu.admin.calls().apis['server.list']).toMatchObject({ resets: 1 });
    emu.admin.setFaults({ resetRate: 0, throttleRate: 1 });
    const throttled = await signedFetch(`${base}/baremetalservers/detail`, creds);
    expect(throttled.status).toBe(429);
    expect((await jsonBody<Record<string, string>>(throttled))['error_code']).toBe('APIGW.0308');
  });

  it('draws the same faults for the same seed', async () => {
    const run = async () => {
      emu.admin.reset();
      emu.admin.setFaults({ errorRate: 0.5 });
      const out: number[] = [];
      for (let i = 0; i < 12; i++)
        out.push((await signedFetch(`${base}/baremetalservers/detail`, creds)).status);
      return out;
    };
    const first = await run();
    expect(new Set(first).size).toBeGreaterThan(1);
    expect(await run()).toEqual(first);
  });
});
