/**
 * The crash that no in-process trick can fake: `bms-password-escrow serve` (the local service:
 * webhook, durable file queue, worker loop, sweep, file store) runs as a child process against
 * an emulator in this process, and is SIGKILLed at seeded random moments, then restarted on
 * the same state dir and port. Notifications sent while it is down fail and are lost; the
 * sweep at each start and the durable queue must make up for everything. `serve` on an external
 * emulator runs on the wall clock, so this scenario uses short fixed delays at real time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEmulator } from '../../emulator/index.ts';
import { createRandom, deriveSeed } from '../../emulator/seeded-random.ts';
import { createFileEscrowStore } from '../../lib/escrow/file-store.ts';
import { STATE_DB_FILE } from '../../lib/local/local-config.ts';
import { SqliteQueue } from '../../lib/queue/sqlite-queue.ts';
import { fastServeEnv } from '../serve-env.ts';
import { snapshotEscrow } from './escrow-snapshot.ts';
import { checkInvariants } from './invariants.ts';
import { readStateFiles, type ScenarioResult } from './run-scenario.ts';
import type { ScenarioSpec } from './scenario.ts';

const ROOT = resolve(import.meta.dirname, '../..');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

interface Child {
  process: ChildProcess;
  output: string[];
  ready: Promise<void>;
  exited: Promise<void>;
}

function startServe(env: NodeJS.ProcessEnv, stateDir: string, port: number): Child {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'cli/bin.ts'),
      'serve',
      '--port',
      String(port),
      '--state-dir',
      stateDir,
      '--sweep-interval',
      '4',
    ],
    { cwd: stateDir, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: string[] = [];
  let stdout = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const ready = new Promise<void>((resolvePromise, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      output.push(d.toString());
      stdout += d.toString();
      if (stdout.includes('Listening on')) resolvePromise();
    });
    void exited.then(() =>
      reject(new Error(`serve exited before listening: ${output.join('').slice(-1500)}`)),
    );
  });
  ready.catch(() => undefined);
  child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  return { process: child, output, ready, exited };
}

export interface SigkillOptions {
  seed: number;
  windows?: number | undefined;
  kills?: number | undefined;
  timeoutSeconds?: number | undefined;
}

export async function runSigkillScenario(options: SigkillOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const random = createRandom(deriveSeed(options.seed, 'sigkill'));
  const windows = options.windows ?? 8;
  const kills = options.kills ?? 3;
  const spec: ScenarioSpec = {
    seed: options.seed,
    store: 'file',
    intake: 'smn',
    windows,
    linux: 2,
    waves: 3,
    distribution: 'fixed',
    timeScale: 1,
    huawei: { errorRate: 0.05, throttleRate: 0.03, resetRate: 0.03, latencyMs: 0 },
    deletePasswordStatus: random.next() < 0.5 ? 202 : 204,
    events: { dropRate: 0, duplicateRate: 0, delayRate: 0 },
    storeFaults: { writeFailRate: 0, tamperReadRate: 0, latencyMs: 0 },
    crashRate: 0,
    reinstalls: 0,
    sweepIntervalSeconds: 4,
    ambiguousDeletes: 0,
    deleteApplyDelaySeconds: 0,
    reinstallsBetweenGetAndDelete: 0,
  };
  const emulator = await startEmulator({
    seed: options.seed,
    switches: {
      rateLimitsEnabled: false,
      deletePasswordStatus: spec.deletePasswordStatus,
      faults: spec.huawei,
    },
  });
  const stateDir = await mkdtemp(join(tmpdir(), 'chaos-sigkill-'));
  const children: Child[] = [];
  try {
    const env = fastServeEnv(emulator, 'debug');
    const port = await freePort();
    const spawnOne = async (): Promise<Child> => {
      const child = startServe(env, stateDir, port);
      children.push(child);
      await child.ready;
      return child;
    };
    let current = await spawnOne();
    await emulator.admin.subscribe(`http://127.0.0.1:${port}/smn`);

    // Three waves within ~6 s; posts 1–10 s after boot; kills at random moments in the first ~14 s.
    const windowsIds: string[] = [];
    const waves = [0, 2000 + random.next() * 2000, 4000 + random.next() * 2000];
    const killAt = Array.from({ length: kills }, () => 500 + random.next() * 13_000).sort((a, b) => a - b);
    const t0 = Date.now();
    let wave = 0;
    let killed = 0;
    const deadline = Date.now() + (options.timeoutSeconds ?? 60) * 1000;
    const queue = new SqliteQueue({ database: join(stateDir, STATE_DB_FILE) });
    let quiescent = false;
    while (Date.now() < deadline) {
      const elapsed = Date.now() - t0;
      if (wave < waves.length && elapsed >= waves[wave]!) {
        const perWave = Math.ceil(windows / 3);
        const created = emulator.admin.createServers({
          windows: Math.min(perWave, windows - windowsIds.length),
          linux: wave === 0 ? spec.linux : 0,
          distribution: 'fixed',
          bootDelaySeconds: 1,
          postDelaySeconds: Math.round(1 + random.next() * 9),
        });
        windowsIds.push(...created.windowsIds);
        wave++;
      }
      if (killed < killAt.length && elapsed >= killAt[killed]!) {
        current.process.kill('SIGKILL');
        await current.exited;
        killed++;
        await new Promise((r) => setTimeout(r, Math.round(random.next() * 800)));
        current = await spawnOne();
      }
      if (wave === waves.length && killed === killAt.length) {
        const truths = windowsIds.map((id) => emulator.admin.server(id)!);
        const depth = await queue.depth();
        if (
          truths.every((t) => t.nextPostAt === null && t.ciphertext === null) &&
          depth.visible + depth.invisible === 0
        ) {
          quiescent = true;
          break;
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    current.process.kill('SIGTERM');
    await current.exited;

    const calls = emulator.admin.calls();
    const truths = emulator.admin.servers();
    const store = createFileEscrowStore({ root: join(stateDir, 'escrow') });
    const { escrow, secrets } = await snapshotEscrow({
      store,
      truths,
      target: { projectId: emulator.projectId, region: emulator.region },
      secretKey: emulator.secretKey,
      privateKeyPem: emulator.admin.decryptKey().privateKeyPem,
    });
    const depth = await queue.depth();
    const check = checkInvariants({
      truths,
      escrow,
      passwordEvents: calls.passwordEvents,
      outputs: {
        'service stdout/stderr': children.flatMap((c) => c.output),
        'state database (queue, dead letters, status board)': await readStateFiles(stateDir),
      },
      secrets,
      queuedMessages: depth.visible + depth.invisible,
      deadLetters: await queue.deadLetters(),
    });
    if (!quiescent) check.violations.unshift('did not reach quiescence before the timeout');
    let h5 = 0;
    let h429 = 0;
    let resets = 0;
    for (const c of Object.values(calls.apis)) {
      h5 += c['5xx'];
      h429 += c['429'];
      resets += c.resets;
    }
    return {
      spec,
      realSeconds: (Date.now() - started) / 1000,
      quiescent,
      check,
      faults: {
        huawei5xx: h5,
        huawei429: h429,
        huaweiResets: resets,
        huaweiLatencyMs: 0,
        deleteStatus: spec.deletePasswordStatus,
        reinstallsBetweenGetAndDelete: 0,
        smnDropped: calls.smnDeliveries.filter((d) => d.outcome !== 'delivered').length,
        eventsDuplicated: 0,
        eventsDelayed: 0,
        eventsDroppedDirect: 0,
        eventsRefused: 0,
        storeWriteFailures: 0,
        storeReadMismatches: 0,
        crashes: { sigkill: killed },
        reinstalls: 0,
        sweeps: 0,
      },
      outcomes: {},
    };
  } finally {
    for (const child of children)
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
    await emulator.close();
    await rm(stateDir, { recursive: true, force: true });
  }
}
