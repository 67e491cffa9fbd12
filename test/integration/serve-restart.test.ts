/**
 * `bms-password-escrow serve` as a child process against an emulator in this process:
 * SIGKILL it mid-run, start it again on the same state dir, and every Windows server still
 * ends escrowed and cleared, each version exactly once; then SIGTERM shuts it down cleanly.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';
import { fastServeEnv } from '../../harness/serve-env.ts';
import { STATE_DB_FILE } from '../../lib/local/local-config.ts';
import { SqliteQueue } from '../../lib/queue/sqlite-queue.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'cli/bin.ts');

interface Serve {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function startServe(env: NodeJS.ProcessEnv, stateDir: string): Promise<Serve> {
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--port', '0', '--state-dir', stateDir, '--sweep-interval', '0'],
    {
      cwd: stateDir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((resolvePromise, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolvePromise({ child, url: m[1], stderr: () => err, exited });
    });
    void exited.then((code) => reject(new Error(`serve exited early with ${code}: ${err.slice(-2000)}`)));
  });
}

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 90_000,
  lastSeen: () => string = () => '',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last seen: ${lastSeen()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('serve survives SIGKILL', () => {
  let emulator: RunningEmulator;
  let stateDir: string;
  const running: ChildProcess[] = [];

  beforeAll(async () => {
    emulator = await startEmulator({ seed: 7, switches: { rateLimitsEnabled: false } });
    stateDir = await mkdtemp(join(tmpdir(), 'serve-restart-'));
  });

  afterAll(async () => {
    for (const child of running)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await emulator?.close();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('loses nothing and clears every version exactly once', async () => {
    const env = fastServeEnv(emulator, 'warn');
    const first = await startServe(env, stateDir);
    running.push(first.child);
    await emulator.admin.subscribe(`${first.url}/smn`);

    // Two servers post soon, two only after the restart (posted by hand then, so the order does
    // not depend on machine speed); one Linux server must be skipped.
    const early = emulator.admin.createServers({
      windows: 2,
      linux: 1,
      distribution: 'fixed',
      bootDelaySeconds: 1,
      postDelaySeconds: 2,
    });
    const late = emulator.admin.createServers({
      windows: 2,
      linux: 0,
      distribution: 'fixed',
      bootDelaySeconds: 1,
      postDelaySeconds: 3600,
    });
    await emulator.admin.idle();
    const windows = [...early.windowsIds, ...late.windowsIds];
    const cleared = (id: string): boolean => emulator.admin.server(id)?.clearedAt != null;

    await until('the early servers to be cleared', () => early.windowsIds.every(cleared));
    expect(late.windowsIds.some(cleared)).toBe(false);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await startServe(env, stateDir);
    running.push(second.child);
    for (const id of late.windowsIds) expect(emulator.admin.guestPost(id).status).toBe(201);
    await until('every Windows server to be cleared after the restart', () => windows.every(cleared));

    // The restarted service shows what happened before and after the crash, including a
    // server whose outcome the first process recorded but had not acked (redelivered, found
    // already cleared: still shown as cleared).
    let lastStates = '';
    await until(
      'the status page to show every server finished',
      async () => {
        const status = (await (await fetch(`${second.url}/status.json`)).json()) as {
          servers: Array<{ serverId: string; state: string; reason?: string }>;
        };
        lastStates = JSON.stringify(status.servers.map((s) => [s.serverId, s.state, s.reason]));
        const byId = new Map(status.servers.map((s) => [s.serverId, s]));
        return (
          windows.every((id) => byId.get(id)?.state === 'cleared') &&
          byId.get(early.linuxIds[0]!)?.state === 'skipped' &&
          byId.get(early.linuxIds[0]!)?.reason === 'not-windows'
        );
      },
      90_000,
      () => lastStates,
    );
    // The DELETE shows in the emulator before the hook marks its escrow cleared; once the
    // status page says cleared, both are done.
    for (const id of windows) {
      const truth = emulator.admin.server(id)!;
      expect(truth.ciphertext).toBeNull();
      const posts = truth.postHistory.filter((h) => h.event === 'posted');
      const clears = truth.postHistory.filter((h) => h.event === 'cleared');
      expect(posts).toHaveLength(1);
      expect(clears).toHaveLength(1);
      // One escrowed version per server, marked cleared, whose content matches its name.
      const dir = join(stateDir, 'escrow', emulator.projectId, id);
      const files = (await readdir(dir)).sort();
      const versions = files.filter((f) => f.endsWith('.json'));
      expect(versions).toHaveLength(1);
      const sha = versions[0]!.slice(0, -'.json'.length);
      expect(files).toContain(`${sha}.cleared`);
      const record = JSON.parse(await readFile(join(dir, versions[0]!), 'utf8')) as { ciphertext: string };
      expect(createHash('sha256').update(record.ciphertext).digest('hex')).toBe(sha);
    }

    expect(
      emulator.admin.calls().passwordEvents.filter((e) => e.serverId === early.linuxIds[0]),
    ).toHaveLength(0);

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(second.stderr()).not.toMatch(/"level":"ERROR"/);
    // Nothing was dead-lettered and the queue drained.
    const queue = new SqliteQueue({ database: join(stateDir, STATE_DB_FILE) });
    try {
      expect(await queue.depth()).toEqual({ visible: 0, invisible: 0, deadLettered: 0 });
    } finally {
      queue.close();
    }
  }, 240_000);
});
