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

  it('fits 1280 px, labels emulated time, shows exposure bounds and a histogram, and no red zero', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    try {
      // The page reloads itself every 2 s; on a loaded machine that can land between two looks
      // below. Serve it once as the stack sent it (same headers, CSP included), minus the refresh.
      await page.route(`${stack.url}/`, async (route) => {
        const response = await route.fetch();
        const body = (await response.text()).replace(/<meta http-equiv="refresh"[^>]*>/, '');
        await route.fulfill({ response, body });
      });
      await page.goto(`${stack.url}/`);
      expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(1280);
      expect(await page.locator('#clock').textContent()).toMatch(/emulated/);
      expect(await page.locator('#servers thead').textContent()).toMatch(/First seen \(emulated\)/);

      // Each cleared server shows its exposure as bounds: "a – b", a ≤ b.
      for (const id of ids.cleared) {
        const cell = page.locator(`tr[data-server-id="${id}"] td.exposure`);
        const min = Number(await cell.getAttribute('data-min-seconds'));
        const max = Number(await cell.getAttribute('data-max-seconds'));
        expect(min).toBeLessThanOrEqual(max);
        expect(await cell.textContent()).toMatch(/–/);
      }
      // The histogram is an inline SVG with every cleared server in one bin.
      const bins = page.locator('#exposure-histogram svg g[data-bin]');
      expect(await bins.count()).toBeGreaterThan(0);
      const counted = await bins.evaluateAll((gs) =>
        gs.reduce((sum, g) => sum + Number(g.getAttribute('data-count')), 0),
      );
      expect(counted).toBe(ids.cleared.length);
      const bar = page.locator('#exposure-histogram svg g:not([data-count="0"]) rect').first();
      expect(Number(await bar.getAttribute('height'))).toBeGreaterThan(0);

      // "failed: 0" is not red.
      const failed = page.locator('#counts .count', { hasText: 'failed:' });
      expect(await failed.textContent()).toBe('failed: 0');
      expect(
        await page.evaluate<string>(
          'getComputedStyle(document.querySelector(\'#counts .count[data-count="0"]:last-child\')).color',
        ),
      ).not.toBe('rgb(176, 0, 32)');
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
