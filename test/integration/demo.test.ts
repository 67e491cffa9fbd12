/**
 * `npm start` runs `node scripts/demo.ts`. Run that entry point as a child process in a clean
 * working directory and hold it to what it promises: every Windows server escrowed and cleared
 * (per the emulator's own records and the escrow files on disk), every Linux server skipped
 * without a password call, and output fit for a pipe.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DemoSummary } from '../../cli/demo-runner.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const cleanup: string[] = [];

afterAll(async () => {
  for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
});

function runDemo(
  cwd: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'scripts/demo.ts'), ...args], {
    cwd,
    // No credentials, nothing from the caller's configuration.
    env: { PATH: process.env['PATH'], HOME: cwd },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((r) => child.once('close', (code) => r({ code, stdout, stderr })));
}

describe('npm start (scripts/demo.ts)', () => {
  it('escrows and clears every Windows server and skips every Linux one', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'demo-cwd-'));
    cleanup.push(cwd);
    const run = await runDemo(cwd, ['--json', '--time-scale', '150']);
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    const summary = JSON.parse(run.stdout) as DemoSummary;
    cleanup.push(summary.stateDir);

    expect(summary.ok).toBe(true);
    expect(summary.stateDir.startsWith(tmpdir())).toBe(true);
    const windows = summary.servers.filter((s) => s.os === 'Windows');
    const linux = summary.servers.filter((s) => s.os === 'Linux');
    expect(windows).toHaveLength(8);
    expect(linux).toHaveLength(4);
    for (const s of windows) {
      expect(s).toMatchObject({
        outcome: 'cleared',
        passwordPosted: true,
        recordCleared: true,
        escrowFiles: 1,
      });
      expect(s.exposureMinutes).toBeGreaterThanOrEqual(0);
      // What the hook knows brackets the truth: from its finding GET, at most from its last
      // empty GET (or ACTIVE), to its DELETE. One second of slack for ISO rounding.
      const truth = s.exposureMinutes! * 60;
      expect(s.hookExposure).not.toBeNull();
      expect(s.hookExposure!.minSeconds).toBeLessThanOrEqual(truth + 1);
      expect(s.hookExposure!.maxSeconds).not.toBeNull();
      expect(s.hookExposure!.maxSeconds!).toBeGreaterThanOrEqual(truth - 1);
      expect(s.notified).toBe(false);
      expect(s.passwordCalls).toBeGreaterThan(0);
      // The escrow file on disk is the version the summary counted, and it was marked cleared.
      const dir = (await readdir(summary.escrowDir))[0]!;
      const files = await readdir(join(summary.escrowDir, dir, s.serverId));
      const version = files.find((f) => f.endsWith('.json'))!;
      expect(files).toContain(version.replace('.json', '.cleared'));
      const record = JSON.parse(
        await readFile(join(summary.escrowDir, dir, s.serverId, version), 'utf8'),
      ) as {
        ciphertext: string;
        sha256: string;
      };
      expect(createHash('sha256').update(record.ciphertext).digest('hex')).toBe(record.sha256);
    }
    for (const s of linux) {
      expect(s).toMatchObject({
        outcome: 'skipped',
        reason: 'not-windows',
        passwordCalls: 0,
        escrowFiles: 0,
      });
    }

    // Piped output: progress lines on stderr, no terminal escape codes, no secret-shaped text.
    expect(run.stderr).toMatch(/cleared/);
    expect(run.stderr).not.toMatch(/\x1b\[/);
    expect(run.stdout).not.toMatch(/[A-Za-z0-9+/]{120,}/);
    // Nothing was written into the working directory.
    expect(await readdir(cwd)).toEqual([]);
  }, 90_000);

  it('prints a readable summary table without --json', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'demo-cwd-'));
    cleanup.push(cwd);
    const run = await runDemo(cwd, ['--windows', '2', '--linux', '1', '--time-scale', '150']);
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    expect(run.stdout).toMatch(
      /Server\s+OS\s+Outcome\s+Exposure \(emulated min\)\s+Hook's bounds \(emulated\)\s+Notified\s+Password calls/,
    );
    expect(run.stdout).toMatch(
      /demo-win-\d+\s+Windows\s+cleared\s+[\d.]+\s+[\d.]+ (s|min)( – [\d.]+ (s|min))?\s/,
    );
    expect(run.stdout).toMatch(/2\/2 Windows passwords escrowed, read back and cleared/);
    expect(run.stdout).toMatch(/skipped \(not-windows\)/);
    const escrowDir = /Escrow files: (\S+)/.exec(run.stdout)?.[1];
    expect(escrowDir).toBeDefined();
    cleanup.push(resolve(escrowDir!, '..'));
    expect(run.stdout).not.toMatch(/\x1b\[/);
  }, 90_000);
});
