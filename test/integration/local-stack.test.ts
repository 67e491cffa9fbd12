/**
 * The local stack's HTTP surface over loopback: health, the JSON status, refusal of forged or
 * malformed SMN posts (nothing queued), and an HTML page that escapes whatever it shows.
 */

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../emulator/index.ts';
import { startEmulator } from '../../emulator/index.ts';
import { parseLocalConfig, resolveLocalMode, STATE_DB_FILE } from '../../lib/local/local-config.ts';
import { type LocalStack, startLocalStack } from '../../lib/local/local-stack.ts';
import type { ServerStatus } from '../../lib/local/status-board.ts';
import { renderStatusPage } from '../../lib/local/status-page.ts';
import { silentLogger } from '../../lib/observability/logger.ts';
import { SqliteQueue } from '../../lib/queue/sqlite-queue.ts';
import type { WorkItem } from '../../lib/queue/work-item.ts';

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
    const health = (await res.json()) as { checks: Array<{ name: string; ok: boolean }> };
    expect(health).toMatchObject({ ok: true, status: 'ok', mode: 'emulator' });
    expect(health.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(['accepting', 'state-database', 'escrow-store', 'lock', 'worker']),
    );
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
    expect(await stack.queue.depth()).toEqual({ visible: 0, invisible: 0, deadLettered: 0 });
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

  it('keeps the status page up with a garbled dead letter in the queue', async () => {
    stack.queue.db
      .statement(
        `INSERT INTO queue_dead_letters (at, reason, item, body) VALUES ('?', '', '{garbled', x'00ff')`,
      )
      .run();
    expect((await fetch(`${stack.url}/`)).status).toBe(200);
    expect((await fetch(`${stack.url}/status.json`)).status).toBe(200);
    expect((await stack.queue.depth()).deadLettered).toBe(1);
  });

  it('sweeps a server that has not posted into one waiting message, however many sweeps run', async () => {
    const ids = (stack.emulator as RunningEmulator).admin.createServers({
      windows: 1,
      linux: 0,
      distribution: 'fixed',
      bootDelaySeconds: 1,
      postDelaySeconds: 10_000_000,
    }).windowsIds;
    for (let i = 0; i < 4; i++) await stack.sweep();
    const waiting = stack.queue.db
      .statement('SELECT count(*) AS n FROM queue_messages WHERE chain_key LIKE ?')
      .get(`%/${ids[0]}`) as { n: number };
    expect(waiting.n).toBe(1);
  });

  it('refuses a second stack on the same state dir', async () => {
    // The lock names this live process, so the takeover check must refuse.
    stack.queue.db.statement('UPDATE serve_lock SET pid = ?').run(process.ppid);
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

describe('local stack whose state dir is deleted while it runs', () => {
  let stack: LocalStack;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'local-stack-deleted-'));
    stack = await startLocalStack({
      config: { ...parseLocalConfig({}), port: 0, stateDir, sweepIntervalSeconds: 0 },
      env: {},
      logger: silentLogger,
      sweepOnStart: false,
      startEmulator,
    });
  });
  afterAll(async () => {
    await stack?.close(1000);
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('keeps answering and writes its database back, losing nothing', async () => {
    const item: WorkItem = {
      v: 1,
      projectId: stack.projectId,
      region: stack.region,
      serverId: 'kept-across-the-deletion',
      firstSeenAt: new Date(stack.clock.now()).toISOString(),
      attempt: 0,
      source: 'direct',
    };
    await stack.queue.enqueue([item], { delaySeconds: 900 });
    await rm(stateDir, { recursive: true, force: true });
    for (const path of ['/', '/status.json']) expect((await fetch(`${stack.url}${path}`)).status).toBe(200);

    const file = join(stateDir, STATE_DB_FILE);
    for (let i = 0; i < 200 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 100));
    const reader = new SqliteQueue({ database: file });
    try {
      expect(await reader.depth()).toMatchObject({ invisible: 1 });
    } finally {
      reader.close();
    }
    expect(((await (await fetch(`${stack.url}/healthz`)).json()) as { ok: boolean }).ok).toBe(true);
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
