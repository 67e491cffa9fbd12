/**
 * The local stack's HTTP surface over loopback: health, the JSON status, refusal of forged or
 * malformed SMN posts (nothing queued), and an HTML page that escapes whatever it shows.
 */
import { startEmulator } from '../../emulator/index.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLocalConfig, resolveLocalMode } from '../../lib/local/local-config.ts';
import { type LocalStack, startLocalStack } from '../../lib/local/local-stack.ts';
import type { ServerStatus } from '../../lib/local/status-board.ts';
import { renderStatusPage } from '../../lib/local/status-page.ts';
import { silentLogger } from '../../lib/observability/logger.ts';

describe('local stack HTTP surface', () => {
  let stack: LocalStack;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'local-stack-'));
    stack = await startLocalStack({
      config: { ...parseLocalConfig({}), port: 0, stateDir, sweepIntervalSeconds: 0 },
      env: {},
      startEmulator,
      logger: silentLogger,
      sweepOnStart: false,
    });
  });

  afterAll(async () => {
    await stack?.close(1000);
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('reports health and mode', async () => {
    const res = await fetch(`${stack.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, mode: 'emulator' });
    expect(stack.mode).toBe('emulator');
  });

  it('refuses a forged SMN notification and queues nothing', async () => {
    const forged = {
      type: 'Notification',
      message_id: 'a'.repeat(32),
      topic_urn: `urn:smn:${stack.region}:${stack.projectId}:bms-password-escrow-events`,
      message: JSON.stringify({ trace_name: 'createBareMetalServers' }),
      timestamp: new Date(stack.clock.now()).toISOString(),
      signature_version: 'v1',
      signature: Buffer.from('not a signature').toString('base64'),
      signing_cert_url: 'https://evil.example.com/cert.pem',
    };
    const res = await fetch(stack.webhookUrl, { method: 'POST', body: JSON.stringify(forged) });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('untrusted_url');

    const bad = await fetch(stack.webhookUrl, { method: 'POST', body: '{not json' });
    expect(bad.status).toBe(400);
    expect((await fetch(stack.webhookUrl)).status).toBe(405);
    expect(await stack.queue.depth()).toEqual({ visible: 0, invisible: 0 });
    expect(stack.board.list()).toEqual([]);
  });

  it('serves an empty status page and JSON before any server is seen', async () => {
    const page = await (await fetch(`${stack.url}/`)).text();
    expect(page).toContain('No servers seen yet');
    const json = (await (await fetch(`${stack.url}/status.json`)).json()) as {
      mode: string;
      servers: unknown[];
    };
    expect(json).toMatchObject({ mode: 'emulator', servers: [] });
    expect((await fetch(`${stack.url}/nope`)).status).toBe(404);
  });

  it('refuses a second stack on the same state dir', async () => {
    // The lock names this live process, so the takeover check must refuse.
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(stateDir, 'serve.lock'), `${process.ppid}\n`);
    await expect(
      startLocalStack({
        config: { ...parseLocalConfig({}), port: 0, stateDir },
        env: {},
        startEmulator,
        logger: silentLogger,
      }),
    ).rejects.toThrow(/in use by process/);
  });
});

describe('status page rendering', () => {
  it('escapes every value it shows', () => {
    const hostile: ServerStatus = {
      serverId: '<script>alert(1)</script>',
      projectId: 'p',
      region: 'r',
      state: 'failed',
      reason: '"><img src=x onerror=alert(1)>',
      deadLettered: true,
      firstSeenAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      source: "sweep'&",
      attempts: 3,
    };
    const html = renderStatusPage([hostile], {
      mode: 'emulator',
      region: 'cn-north-4',
      projectId: '<b>x</b>',
      dryRun: true,
      refreshSeconds: 2,
      generatedAt: 'now',
    });
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>x</b>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('failed (DLQ)');
    expect(html).toContain('dry run');
  });
});

describe('local mode resolution', () => {
  it('uses the real cloud only with both keys, and names the missing one', () => {
    expect(resolveLocalMode({})).toBe('embedded-emulator');
    expect(resolveLocalMode({ HUAWEICLOUD_SDK_AK: 'AK', HUAWEICLOUD_SDK_SK: 'SK' })).toBe('cloud');
    expect(() => resolveLocalMode({ HUAWEICLOUD_SDK_AK: 'AK' })).toThrow(/HUAWEICLOUD_SDK_SK is not set/);
    expect(() => resolveLocalMode({ HUAWEICLOUD_BMS_ENDPOINT: 'http://127.0.0.1:1' })).toThrow(
      /HUAWEICLOUD_SDK_AK is not set/,
    );
  });
});
