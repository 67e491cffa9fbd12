/**
 * `serve` as a child process, on the failures of its local state: two processes started at the
 * same instant on one state dir, state dirs that cannot work ('' and /proc/x), and a disk that
 * fills up under it (a tmpfs in a private mount namespace, where the machine allows one).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';
import { fastServeEnv } from '../../harness/serve-env.ts';
import { canUnshare } from '../helpers/mount-namespace.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'cli/bin.ts');

interface Run {
  child: ChildProcess;
  /** Resolves with the URL once it listens, or undefined if it exits first. */
  listening: Promise<string | undefined>;
  exited: Promise<number | null>;
  output: () => string;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): Run {
  const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const listening = new Promise<string | undefined>((r) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) r(m[1]);
    });
    void exited.then(() => r(undefined));
  });
  return { child, listening, exited, output: () => out };
}

const serveArgs = (stateDir: string): string[] => [
  BIN,
  'serve',
  '--port',
  '0',
  '--state-dir',
  stateDir,
  '--sweep-interval',
  '0',
];

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('serve and its state dir', () => {
  let emulator: RunningEmulator;
  let base: string;
  const children: ChildProcess[] = [];
  const start = (command: string, args: string[], env: NodeJS.ProcessEnv): Run => {
    const r = run(command, args, env);
    children.push(r.child);
    return r;
  };

  beforeAll(async () => {
    emulator = await startEmulator({ seed: 11, switches: { rateLimitsEnabled: false } });
    base = await mkdtemp(join(tmpdir(), 'serve-state-'));
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await emulator?.close();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('never runs two serve processes started at the same instant on one state dir', async () => {
    const env = fastServeEnv(emulator, 'warn');
    for (let trial = 0; trial < 10; trial++) {
      const stateDir = join(base, `pair-${trial}`);
      const pair = [
        start(process.execPath, serveArgs(stateDir), env),
        start(process.execPath, serveArgs(stateDir), env),
      ];
      const urls = await Promise.all(pair.map((p) => p.listening));
      const running = pair.filter((_, i) => urls[i] !== undefined);
      expect(running, `trial ${trial}: ${pair.map((p) => p.output()).join('\n---\n')}`).toHaveLength(1);
      const refused = pair.find((_, i) => urls[i] === undefined)!;
      expect(await refused.exited).toBe(1);
      expect(refused.output()).toMatch(/is in use by process \d+/);
      running[0]!.child.kill('SIGTERM');
      expect(await running[0]!.exited).toBe(0);
    }
  }, 240_000);

  it("refuses --state-dir '' as a usage error instead of using the current directory", async () => {
    const cwd = await mkdtemp(join(base, 'cwd-'));
    const r = run(process.execPath, serveArgs(''), fastServeEnv(emulator, 'warn'), cwd);
    expect(await r.exited).toBe(2);
    expect(r.output()).toMatch(/--state-dir expects a directory/);
    expect(await readdir(cwd)).toEqual([]);
  }, 30_000);

  it('fails fast with the reason on a state dir that cannot be created (/proc/x) instead of spinning', async () => {
    const r = start(process.execPath, serveArgs('/proc/x'), fastServeEnv(emulator, 'warn'));
    const code = await Promise.race([r.exited, r.listening.then(() => r.exited)]);
    expect(code).toBe(1);
    expect(r.output()).toMatch(/cannot create the state dir \/proc\/x: ENOENT/);
  }, 30_000);

  it.skipIf(!canUnshare())(
    'reports degraded on a full disk, leaks no temp files, and recovers when space returns',
    async () => {
      const mount = await mkdtemp(join(base, 'disk-'));
      const r = start(
        'unshare',
        [
          '-Urm',
          'sh',
          '-c',
          'mount -t tmpfs -o size=4m tmpfs "$1" && shift && exec "$@"',
          'sh',
          mount,
          process.execPath,
          ...serveArgs(join(mount, 'state')),
        ],
        fastServeEnv(emulator, 'warn'),
      );
      const url = await r.listening;
      expect(url, r.output()).toBeDefined();
      // The child's own view of the tmpfs, reachable from outside its mount namespace.
      const inside = `/proc/${r.child.pid}/root${mount}`;
      const health = async () =>
        (await (await fetch(`${url}/healthz`)).json()) as {
          ok: boolean;
          status: string;
          checks: Array<{ name: string; ok: boolean; detail?: string }>;
        };
      await until('health ok', async () => (await health()).ok);

      const filler = join(inside, 'filler');
      await writeFile(filler, Buffer.alloc(8 * 1024 * 1024)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOSPC') throw e;
      });
      // Whichever write meets the full disk first (the state database's or the escrow probe's)
      // turns the health degraded; the escrow probe's own tick follows within seconds.
      const escrowCheck = async () => (await health()).checks.find((c) => c.name === 'escrow-store');
      await until('the escrow-store check to fail', async () => (await escrowCheck())?.ok === false, 30_000);
      const degraded = await health();
      expect(degraded.ok).toBe(false);
      expect(degraded.status).toBe('degraded');
      expect(degraded.checks.find((c) => c.name === 'escrow-store')).toMatchObject({
        ok: false,
        detail: 'ENOSPC',
      });
      for (const failing of degraded.checks.filter((c) => !c.ok))
        expect(failing.detail).toMatch(/ENOSPC|disk is full/);
      expect((await fetch(`${url}/healthz`)).status).toBe(503);
      // The status page still answers.
      expect((await fetch(`${url}/`)).status).toBe(200);

      const files = async (dir: string): Promise<string[]> =>
        (await readdir(dir, { recursive: true })).map(String).filter((f) => f.endsWith('.tmp'));
      expect(await files(join(inside, 'state'))).toEqual([]);

      await rm(filler);
      await until('health ok again', async () => (await health()).ok);
      r.child.kill('SIGTERM');
      expect(await r.exited).toBe(0);
    },
    120_000,
  );
});
