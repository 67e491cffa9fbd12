/**
 * The local stack's status page in real headless Chromium: it lists every server the stack
 * has seen with its state (cleared, skipped with its reason, waiting) and shows no secret.
 * Chromium is Debian's package (/usr/bin/chromium). Without it the test skips with a message,
 * unless REQUIRE_BROWSER=1 (CI), which makes its absence a failure.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';
import { parseLocalConfig } from '../../lib/local/local-config.ts';
import { type LocalStack, startLocalStack } from '../../lib/local/local-stack.ts';
import { silentLogger } from '../../lib/observability/logger.ts';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const required = process.env['REQUIRE_BROWSER'] === '1';

if (!haveChromium && !required)
  console.warn(
    `browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium; REQUIRE_BROWSER=1 makes this fail)`,
  );

describe('status page prerequisites', () => {
  it.runIf(required)('has Chromium when REQUIRE_BROWSER=1', () => {
    expect(haveChromium, `${CHROMIUM} is missing: apt-get install -y chromium`).toBe(true);
  });
});

describe.skipIf(!haveChromium)('status page in headless Chromium', () => {
  let stack: LocalStack;
  let browser: Browser;
  let stateDir: string;
  let ids: { cleared: string[]; skipped: string; waiting: string };

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'status-page-'));
    stack = await startLocalStack({
      config: {
        ...parseLocalConfig({}),
        port: 0,
        stateDir,
        timeScale: 120,
        sweepIntervalSeconds: 0,
        idlePollMs: 50,
      },
      env: {},
      startEmulator,
      logger: silentLogger,
      sweepOnStart: false,
    });
    const emulator = stack.emulator as RunningEmulator;
    const soon = emulator.admin.createServers({
      windows: 2,
      linux: 1,
      distribution: 'fixed',
      bootDelaySeconds: 30,
      postDelaySeconds: 60,
    });
    // Posts in two emulated hours: still waiting while the page is looked at.
    const later = emulator.admin.createServers({
      windows: 1,
      linux: 0,
      distribution: 'fixed',
      bootDelaySeconds: 30,
      postDelaySeconds: 7200,
    });
    ids = { cleared: soon.windowsIds, skipped: soon.linuxIds[0]!, waiting: later.windowsIds[0]! };
    const deadline = Date.now() + 20_000;
    const state = (id: string): string | undefined => stack.board.get(id)?.state;
    while (
      !(
        ids.cleared.every((id) => state(id) === 'cleared') &&
        state(ids.skipped) === 'skipped' &&
        state(ids.waiting)
      )
    ) {
      if (Date.now() > deadline) throw new Error('servers did not reach their states in time');
      await new Promise((r) => setTimeout(r, 100));
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  }, 40_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close(1000);
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('lists each server with its state', async () => {
    const page = await browser.newPage();
    try {
      const response = await page.goto(`${stack.url}/`);
      expect(response?.status()).toBe(200);
      expect(await page.title()).toBe('bms-password-escrow status');
      await expect.poll(() => page.locator('#mode').textContent()).toContain('emulator');

      const rowState = (id: string) =>
        page.locator(`tr[data-server-id="${id}"] td.state`).getAttribute('data-state');
      for (const id of ids.cleared) expect(await rowState(id)).toBe('cleared');
      expect(await rowState(ids.skipped)).toBe('skipped');
      expect(await page.locator(`tr[data-server-id="${ids.skipped}"]`).textContent()).toContain(
        'not-windows',
      );
      expect(await rowState(ids.waiting)).toBe('waiting');
      expect(await page.locator('#servers tbody tr').count()).toBe(4);
      expect(await page.locator('#counts').textContent()).toMatch(/cleared: 2.*skipped: 1/s);

      // Nothing secret-shaped on the page, and it refreshes itself.
      expect(await page.content()).not.toMatch(/[A-Za-z0-9+/]{120,}/);
      expect(await page.locator('meta[http-equiv="refresh"]').getAttribute('content')).toBe('2');
    } finally {
      await page.close();
    }
  });
});
