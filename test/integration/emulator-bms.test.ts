import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';
import { createPasswordDecryptor, parsePrivateKey } from '../../lib/escrow/decrypt.ts';
import { jsonBody, signedFetch } from '../helpers/signed-fetch.ts';

/** The product's own decryptor: RSA PKCS#1 v1.5, as Cloudbase-Init encrypts. */
function decryptPkcs1(privateKeyPem: string, ciphertextB64: string): string {
  return createPasswordDecryptor(parsePrivateKey(privateKeyPem)).decrypt(ciphertextB64);
}

interface ServerBody {
  server: {
    id: string;
    name: string;
    status: string;
    tenant_id: string;
    key_name?: string;
    created: string;
    'OS-SRV-USG:launched_at': string;
    metadata: { os_type: string };
    tags: string[];
  };
}

interface JobBody {
  job_id: string;
  job_type: string;
  status: string;
  entities: {
    server_id?: string;
    sub_jobs_total: number;
    sub_jobs: Array<{ entities: { server_id: string } }>;
  };
}

interface ErrorBody {
  error: { code: string; message: string };
}

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('emulator BMS v1 and IAM over signed HTTP', () => {
  let emu: RunningEmulator;
  let creds: { accessKey: string; secretKey: string };
  let base: string;
  const get = (path: string) => signedFetch(`${base}${path}`, creds, { projectId: emu.projectId });

  beforeAll(async () => {
    // 600x: a minute of emulated time is 100 ms.
    emu = await startEmulator({
      seed: 7,
      timeScale: 600,
      switches: { bootDelaySeconds: 60, postDelaySeconds: 60 },
    });
    creds = { accessKey: emu.accessKey, secretKey: emu.secretKey };
    base = `${emu.url}/v1/${emu.projectId}`;
  });
  afterAll(() => emu.close());
  beforeEach(() => emu.admin.reset());

  it('looks up the project id by region name through IAM', async () => {
    const res = await signedFetch(`${emu.url}/v3/projects?name=${emu.region}`, creds);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
    const body = await jsonBody<{ projects: Array<{ id: string; name: string }> }>(res);
    expect(body.projects).toEqual([expect.objectContaining({ id: emu.projectId, name: emu.region })]);
    const other = await jsonBody<{ projects: unknown[] }>(
      await signedFetch(`${emu.url}/v3/projects?name=eu-west-0`, creds),
    );
    expect(other.projects).toEqual([]);
  });

  it('walks a Windows server through BUILD → ACTIVE → posted → DELETE → empty', async () => {
    const { windowsIds } = emu.admin.createServers({
      windows: 1,
      linux: 0,
      // 20 emulated minutes of BUILD (2 s real) so the first GET sees it on a loaded machine;
      // no post of its own: the guest posts by hand below.
      bootDelaySeconds: 1200,
      postDelaySeconds: 10_000_000,
    });
    const id = windowsIds[0]!;
    const first = await jsonBody<ServerBody>(await get(`/baremetalservers/${id}`));
    expect(first.server).toMatchObject({
      id,
      status: 'BUILD',
      tenant_id: emu.projectId,
      key_name: 'KeyPair-emulator',
    });
    expect(first.server['metadata'].os_type).toBe('Windows');
    expect(first.server['tags']).toContain('__type_baremetal');
    expect(first.server['created']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(await jsonBody(await get(`/baremetalservers/${id}/os-server-password`))).toEqual({ password: '' });

    const active = await until(async () => {
      const s = (await jsonBody<ServerBody>(await get(`/baremetalservers/${id}`))).server;
      return s['status'] === 'ACTIVE' ? s : undefined;
    }, 'ACTIVE');
    expect(active['OS-SRV-USG:launched_at']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    // Make the guest post now; a second post is refused while the record exists.
    expect(emu.admin.guestPost(id)).toEqual({ accepted: true, status: 201 });
    expect(emu.admin.guestPost(id)).toEqual({ accepted: false, status: 409 });

    const posted = await jsonBody<{ password: string }>(
      await get(`/baremetalservers/${id}/os-server-password`),
    );
    expect(posted.password).toHaveLength(344);
    const truth = emu.admin.server(id)!;
    expect(truth.ciphertext).toBe(posted.password);
    expect(truth.refusedPosts).toHaveLength(1);
    const plaintext = decryptPkcs1(emu.admin.decryptKey().privateKeyPem, posted.password);
    expect(plaintext).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(plaintext).toMatch(/[a-z]/);
    expect(plaintext).toMatch(/[A-Z]/);
    expect(plaintext).toMatch(/[0-9]/);

    const del = await signedFetch(`${base}/baremetalservers/${id}/os-server-password`, creds, {
      method: 'DELETE',
    });
    expect(del.status).toBe(202);
    expect(await del.text()).toBe('');
    expect(await jsonBody(await get(`/baremetalservers/${id}/os-server-password`))).toEqual({ password: '' });
    const again = await signedFetch(`${base}/baremetalservers/${id}/os-server-password`, creds, {
      method: 'DELETE',
    });
    expect(again.status).toBe(202);

    const after = emu.admin.server(id)!;
    expect(after.ciphertext).toBeNull();
    expect(after.clearedAt).toBeGreaterThanOrEqual(after.postedAt!);
    const events = emu.admin.calls().passwordEvents.filter((e) => e.serverId === id);
    expect(events.map((e) => `${e.method} ${e.status}`)).toEqual([
      'GET 200',
      'GET 200',
      'DELETE 202',
      'GET 200',
      'DELETE 202',
    ]);
    expect(events[1]!.returnedPassword).toBe(true);
  });

  it('has Cloudbase-Init post on its own after the post delay, and never for Linux', async () => {
    const { windowsIds, linuxIds } = emu.admin.createServers({
      windows: 1,
      linux: 1,
      bootDelaySeconds: 0,
      postDelaySeconds: 30,
    });
    const ciphertext = await until(async () => {
      const body = await jsonBody<{ password: string }>(
        await get(`/baremetalservers/${windowsIds[0]}/os-server-password`),
      );
      return body.password !== '' ? body.password : undefined;
    }, 'the post');
    expect(ciphertext).toBe(emu.admin.server(windowsIds[0]!)!.ciphertext);
    expect(emu.admin.server(windowsIds[0]!)!.postHistory[0]!.source).toBe('cloudbase-init');
    const linux = emu.admin.server(linuxIds[0]!)!;
    expect(linux).toMatchObject({ osType: 'Linux', keyName: null, nextPostAt: null });
    expect(await jsonBody(await get(`/baremetalservers/${linuxIds[0]}/os-server-password`))).toEqual({
      password: '',
    });
    expect(emu.admin.guestPost(linuxIds[0]!)).toEqual({ accepted: false, status: 400 });
  });

  it('reinstall posts a new password only if the record was cleared in time', async () => {
    const { windowsIds } = emu.admin.createServers({
      windows: 2,
      linux: 0,
      bootDelaySeconds: 0,
      // Posted by hand; an automatic post later in the test would add refused posts.
      postDelaySeconds: 10_000_000,
    });
    const [kept, cleared] = windowsIds as [string, string];
    // 20 emulated minutes (2 s real): still SHUTOFF when checked right after, even under load.
    emu.admin.setSwitches({ bootDelaySeconds: 1200 });
    emu.admin.guestPost(kept);
    emu.admin.guestPost(cleared);
    const oldCipher = emu.admin.server(cleared)!.ciphertext;
    await signedFetch(`${base}/baremetalservers/${cleared}/os-server-password`, creds, { method: 'DELETE' });

    const res = await signedFetch(`${base}/baremetalservers/${cleared}/reinstallos`, creds, {
      method: 'POST',
      body: { 'os-reinstall': { keyname: 'KeyPair-emulator' } },
    });
    expect(res.status).toBe(202);
    const { job_id } = await jsonBody<{ job_id: string }>(res);
    emu.admin.reinstall(kept, { bootDelaySeconds: 0, postDelaySeconds: 0 });
    expect(emu.admin.server(cleared)!.status).toBe('SHUTOFF');

    // The API reinstall takes 1200 s + 60 s of emulated time = 2.1 s real.
    const reposted = await until(() => {
      const s = emu.admin.server(cleared)!;
      return s.ciphertext !== null ? s : undefined;
    }, 'the reinstall post');
    expect(reposted.ciphertext).not.toBe(oldCipher);
    expect(reposted.postHistory.map((h) => `${h.event}:${h.source}`)).toEqual([
      'posted:guest-post',
      'cleared:delete-api',
      'posted:reinstall',
    ]);
    const stale = emu.admin.server(kept)!;
    expect(stale.refusedPosts.map((h) => h.source)).toEqual(['reinstall']);
    const job = await jsonBody<JobBody>(await get(`/jobs/${job_id}`));
    expect(job).toMatchObject({ job_type: 'baremetalReinstallOs', status: 'SUCCESS' });
    expect(job['entities'].server_id).toBe(cleared);
  });

  it('creates servers through the API and reports them via the job', async () => {
    // 2 s real: the job still reads RUNNING right after the create, even under load.
    emu.admin.setSwitches({ bootDelaySeconds: 1200 });
    const res = await signedFetch(`${base}/baremetalservers`, creds, {
      method: 'POST',
      body: {
        server: {
          name: 'web',
          imageRef: 'win2019-image',
          flavorRef: 'physical.s4.large',
          key_name: 'KeyPair-emulator',
          count: 3,
          metadata: { op_svc_userid: 'u1' },
          server_tags: [{ key: 'escrow', value: 'yes' }],
          extendparam: { chargingMode: 'prePaid', isAutoPay: 'true' },
          adminPass: 'should-never-appear',
        },
      },
    });
    expect(res.status).toBe(200);
    const { job_id, order_id } = await jsonBody<{ job_id: string; order_id: string }>(res);
    expect(order_id).toMatch(/^CS/);
    const running = await jsonBody<JobBody>(await get(`/jobs/${job_id}`));
    expect(running).toMatchObject({ status: 'RUNNING', job_type: 'baremetalBatchCreate', job_id });
    const done = await until(async () => {
      const job = await jsonBody<JobBody>(await get(`/jobs/${job_id}`));
      return job['status'] === 'SUCCESS' ? job : undefined;
    }, 'job SUCCESS');
    const ids: string[] = done['entities'].sub_jobs.map((s) => s.entities.server_id);
    expect(done['entities'].sub_jobs_total).toBe(3);
    for (const id of ids) {
      const { server } = await jsonBody<ServerBody>(await get(`/baremetalservers/${id}`));
      expect(server['metadata'].os_type).toBe('Windows');
      expect(server['tags']).toContain('escrow=yes');
      expect(server['name']).toMatch(/^web-000[123]$/);
    }

    const linuxNoKey = await signedFetch(`${base}/baremetalservers`, creds, {
      method: 'POST',
      body: { server: { name: 'db', imageRef: 'centos-image', flavorRef: 'f' } },
    });
    expect(linuxNoKey.status).toBe(200);
    const windowsNoKey = await signedFetch(`${base}/baremetalservers`, creds, {
      method: 'POST',
      body: { server: { name: 'w', imageRef: 'win-image', flavorRef: 'f' } },
    });
    expect(windowsNoKey.status).toBe(400);
    expect((await jsonBody<ErrorBody>(windowsNoKey)).error.code).toBe('BMS.0001');
    expect((await jsonBody<ErrorBody>(await get('/jobs/00000000000000000000000000000000'))).error.code).toBe(
      'BMS.0101',
    );
  });

  it('paginates with offset as a page number and filters by name, status and tags', async () => {
    emu.admin.createServers({
      windows: 5,
      linux: 2,
      namePrefix: 'fleet',
      tags: { team: 'a' },
      bootDelaySeconds: 360_000,
    });
    emu.admin.createServers({ windows: 1, linux: 0, namePrefix: 'other', bootDelaySeconds: 360_000 });
    const page = async (query: string) =>
      jsonBody<{ count: number; servers: Array<{ id: string; name: string }> }>(
        await get(`/baremetalservers/detail?${query}`),
      );
    const seen = new Set<string>();
    for (let offset = 1; offset <= 3; offset++) {
      const p = await page(`limit=3&offset=${offset}&name=fleet`);
      expect(p.count).toBe(7);
      expect(p.servers.length).toBe(offset < 3 ? 3 : 1);
      for (const s of p.servers) seen.add(s.id);
    }
    expect(seen.size).toBe(7);
    expect((await page('limit=3&offset=4&name=fleet')).servers).toEqual([]);
    expect((await page('')).servers.length).toBe(8);
    expect((await page('tags=team=a')).count).toBe(7);
    expect((await page('status=BUILD')).count).toBe(8);
    expect((await page('status=ACTIVE')).count).toBe(0);
    expect((await get('/baremetalservers/detail?limit=1001')).status).toBe(400);
    expect((await get('/baremetalservers/detail?offset=0')).status).toBe(400);
  });

  it('answers unknown servers with BMS.0040 (404 by default, 400 when switched)', async () => {
    const missing = '11111111-2222-4333-8444-555555555555';
    const res = await get(`/baremetalservers/${missing}/os-server-password`);
    expect(res.status).toBe(404);
    expect(await jsonBody(res)).toEqual({
      error: { code: 'BMS.0040', message: 'The server does not exist.' },
    });
    emu.admin.setSwitches({ notFoundStatus: 400 });
    expect((await get(`/baremetalservers/${missing}`)).status).toBe(400);
    const del = await signedFetch(`${base}/baremetalservers/${missing}/os-server-password`, creds, {
      method: 'DELETE',
    });
    expect(del.status).toBe(400);
  });

  it('renders the empty record and the DELETE status per switch', async () => {
    // Never posts on its own: the record must stay empty through the switch changes.
    const { windowsIds } = emu.admin.createServers({ windows: 1, linux: 0, postDelaySeconds: 10_000_000 });
    const path = `/baremetalservers/${windowsIds[0]}/os-server-password`;
    emu.admin.setSwitches({ emptyPassword: 'null', deletePasswordStatus: 204 });
    expect(await jsonBody(await get(path))).toEqual({ password: null });
    expect((await signedFetch(`${base}${path}`, creds, { method: 'DELETE' })).status).toBe(204);
    emu.admin.setSwitches({ emptyPassword: 'missing', deletePasswordStatus: 200 });
    expect(await jsonBody(await get(path))).toEqual({});
    expect((await signedFetch(`${base}${path}`, creds, { method: 'DELETE' })).status).toBe(200);
  });

  it('shows a deleted server as DELETED and no longer lists it or its password', async () => {
    const { windowsIds } = emu.admin.createServers({ windows: 1, linux: 0, namePrefix: 'gone' });
    expect(emu.admin.deleteServer(windowsIds[0]!)).toBe(true);
    const { server } = await jsonBody<{ server: { status: string } }>(
      await get(`/baremetalservers/${windowsIds[0]}`),
    );
    expect(server.status).toBe('DELETED');
    expect((await jsonBody<{ count: number }>(await get('/baremetalservers/detail?name=gone'))).count).toBe(
      0,
    );
    expect((await get(`/baremetalservers/${windowsIds[0]}/os-server-password`)).status).toBe(404);
  });

  it('serves the admin surface over HTTP too', async () => {
    const created = await fetch(`${emu.url}/__emulator/servers`, {
      method: 'POST',
      body: JSON.stringify({ windows: 1, linux: 0, bootDelaySeconds: 0, postDelaySeconds: 10_000_000 }),
    });
    expect(created.status).toBe(201);
    const { windowsIds } = (await created.json()) as { windowsIds: string[] };
    const post = await fetch(`${emu.url}/__emulator/servers/${windowsIds[0]}/guest-post`, { method: 'POST' });
    expect(post.status).toBe(201);
    expect(
      (await fetch(`${emu.url}/__emulator/servers/${windowsIds[0]}/guest-post`, { method: 'POST' })).status,
    ).toBe(409);
    const truth = (await (await fetch(`${emu.url}/__emulator/servers/${windowsIds[0]}`)).json()) as {
      ciphertext: string;
    };
    expect(truth.ciphertext).toHaveLength(344);
    const bad = await fetch(`${emu.url}/__emulator/faults`, {
      method: 'PUT',
      body: JSON.stringify({ errorRate: 2 }),
    });
    expect(bad.status).toBe(400);
    expect((await fetch(`${emu.url}/__emulator/nope`)).status).toBe(404);
    expect((await fetch(`${emu.url}/v1/${emu.projectId}/nothing`)).status).toBe(404);
  });
});
