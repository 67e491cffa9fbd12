/**
 * The emulated guest's "posted" notification: only servers whose user data carries the snippet
 * notify; each notification is signed like the snippet and names the server and project; it
 * comes a seeded 1–5 s (emulated) after the post; a seeded share is lost, the same share for the
 * same seed; a 5xx is retried with backoff; and a server created through the BMS API with
 * base64 user_data behaves the same.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';
import { renderPostedSnippet } from '../../guest/posted-snippet.ts';
import { verifyPosted } from '../../lib/intake/posted/posted-signature.ts';
import { signedFetch } from '../helpers/signed-fetch.ts';

const KEY = 'emulator-posted-test-key-0123456789abcdef';

interface Received {
  body: { server_id: string; project_id: string; timestamp: number; settled?: boolean; signature: string };
  contentType: string | undefined;
}

async function recorder(
  statuses: number[] = [],
): Promise<{ url: string; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => {
      text += c.toString();
    });
    req.on('end', () => {
      got.push({ body: JSON.parse(text) as Received['body'], contentType: req.headers['content-type'] });
      res.writeHead(statuses.shift() ?? 202, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/posted`,
    got,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let emulators: RunningEmulator[] = [];
afterEach(async () => {
  for (const e of emulators) await e.close();
  emulators = [];
});

/** Windows servers whose user data carries the snippet, posting at `postDelaySeconds` after ACTIVE. */
function snippetServers(emu: RunningEmulator, hookUrl: string, windows: number, postDelaySeconds = NEVER) {
  const userData = renderPostedSnippet({ hookUrl, hmacKey: KEY });
  return emu.admin.createServers({ windows, linux: 0, userData, bootDelaySeconds: 0, postDelaySeconds });
}

async function emulator(seed: number, lossRate = 0): Promise<RunningEmulator> {
  const e = await startEmulator({ seed, timeScale: 20, switches: { postedNotifyLossRate: lossRate } });
  emulators.push(e);
  return e;
}

describe('emulated guest: posted notifications', () => {
  it('notifies, signed like the snippet, 1–5 s after the post; only snippet servers do', async () => {
    const hook = await recorder();
    const emu = await emulator(3);
    const created = snippetServers(emu, hook.url, 3, 30);
    const userData = renderPostedSnippet({ hookUrl: hook.url, hmacKey: KEY });
    emu.admin.createServers({ windows: 0, linux: 1, bootDelaySeconds: 0, userData });
    const plain = emu.admin.createServers({
      windows: 2,
      linux: 0,
      bootDelaySeconds: 0,
      postDelaySeconds: 30,
    });
    await emu.clock.sleep(40_000);
    for (const id of [...created.windowsIds, ...plain.windowsIds]) emu.admin.server(id);
    await emu.admin.idle();

    expect(hook.got.map((g) => g.body.server_id).sort()).toEqual([...created.windowsIds].sort());
    for (const { body, contentType } of hook.got) {
      expect(contentType).toBe('application/json');
      expect(Object.keys(body).sort()).toEqual([
        'project_id',
        'server_id',
        'settled',
        'signature',
        'timestamp',
      ]);
      expect(body.project_id).toBe(emu.projectId);
      // The emulated password plugin always finishes with its post, so the guest says so, signed.
      expect(body.settled).toBe(true);
      expect(
        verifyPosted(Buffer.from(KEY), body.server_id, body.project_id, body.timestamp, body.signature, true),
      ).toBe(true);
    }
    for (const note of emu.admin.postedNotifications()) {
      expect(note.outcome).toBe('delivered');
      expect(note.time - note.postedAt).toBeGreaterThanOrEqual(1000);
    }
    await hook.close();
  });

  it('loses a seeded share, the same one for the same seed', async () => {
    const lostIds = async (): Promise<string[]> => {
      const hook = await recorder();
      const emu = await emulator(9, 0.5);
      const ids = snippetServers(emu, hook.url, 40).windowsIds;
      for (const id of ids) emu.admin.guestPost(id);
      await emu.admin.idle();
      const notes = emu.admin.postedNotifications();
      expect(notes).toHaveLength(40);
      expect(hook.got).toHaveLength(notes.filter((n) => n.outcome === 'delivered').length);
      await hook.close();
      return notes
        .filter((n) => n.outcome === 'lost')
        .map((n) => n.serverId)
        .sort();
    };
    const first = await lostIds();
    expect(first.length).toBeGreaterThan(8);
    expect(first.length).toBeLessThan(32);
    expect(await lostIds()).toEqual(first);
  });

  it('retries a 5xx with backoff and stops at a refusal', async () => {
    const hook = await recorder([503, 502, 202, 403]);
    const emu = await emulator(4);
    const [a, b] = snippetServers(emu, hook.url, 2).windowsIds;
    emu.admin.guestPost(a!);
    await emu.admin.idle();
    emu.admin.guestPost(b!);
    await emu.admin.idle();
    const notes = emu.admin.postedNotifications();
    expect(notes.find((n) => n.serverId === a)).toMatchObject({
      outcome: 'delivered',
      attempts: 3,
      status: 202,
    });
    expect(notes.find((n) => n.serverId === b)).toMatchObject({
      outcome: 'refused',
      attempts: 1,
      status: 403,
    });
    await hook.close();
  });

  it('runs the snippet from base64 user_data given to the BMS create API', async () => {
    const hook = await recorder();
    const emu = await emulator(6);
    emu.admin.setSwitches({ bootDelaySeconds: 0, postDelaySeconds: NEVER });
    const userData = Buffer.from(renderPostedSnippet({ hookUrl: hook.url, hmacKey: KEY })).toString('base64');
    const base = `${emu.url}/v1/${emu.projectId}`;
    const creds = { accessKey: emu.accessKey, secretKey: emu.secretKey };
    const server = { name: 'web', imageRef: 'win2022-image', flavorRef: 'f', key_name: 'KeyPair-emulator' };
    const res = await signedFetch(`${base}/baremetalservers`, creds, {
      method: 'POST',
      body: { server: { ...server, user_data: userData } },
    });
    expect(res.status).toBe(200);
    const bad = await signedFetch(`${base}/baremetalservers`, creds, {
      method: 'POST',
      body: { server: { ...server, user_data: 'not base64!' } },
    });
    expect(bad.status).toBe(400);
    const [id] = emu.admin.servers().map((s) => s.id);
    emu.admin.guestPost(id!);
    await emu.admin.idle();
    expect(hook.got.map((g) => g.body.server_id)).toEqual([id]);
    await hook.close();
  });
});

const NEVER = 10_000_000;
