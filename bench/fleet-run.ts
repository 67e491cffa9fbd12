/**
 * One fleet run: an emulator with the documented rate limits and the 'realistic' post-delay
 * distribution, N Windows servers created at once and handed to direct intake, and the worker
 * in a child process (bench/fleet-worker.ts) under one scheduler. Every figure comes from the
 * emulator's truth and call log, not from what the hook believes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEmulator } from '../emulator/index.ts';
import { clientEnv } from '../lib/local/emulator-env.ts';
import { runDirectIntake } from '../lib/intake/direct-intake.ts';
import { parseIntakeConfig } from '../lib/intake/intake-config.ts';
import { composeIntakeRuntime } from '../lib/intake/intake-runtime.ts';
import { silentLogger } from '../lib/observability/logger.ts';
import { nullMetrics } from '../lib/observability/metrics.ts';
import type { SchedulerKind } from '../lib/pipeline/pipeline-config.ts';
import { FileQueue } from '../lib/queue/file-queue.ts';
import { clockEpoch } from '../harness/chaos/clock-alignment.ts';

const ROOT = resolve(import.meta.dirname, '..');
const MINUTE = 60_000;

export interface FleetRunOptions {
  scheduler: SchedulerKind;
  servers: number;
  timeScale: number;
  seed: number;
  /** Emulated minutes after creation at which the run is cut off. */
  maxMinutes: number;
  /** ESCROW_DEADLINE_SECONDS for the worker. */
  deadlineSeconds: number;
  /** Let the file queue order due messages by the scheduler's priority (see fleet-worker.ts). */
  queuePriority?: boolean | undefined;
  /** Messages the worker leases per batch, and servers it works on at once. */
  batchSize: number;
  concurrency: number;
  /** Label in the report (defaults to the scheduler). */
  label?: string | undefined;
}

export interface ServerFigures {
  /** Emulated ms from creation to the first Cloudbase-Init post; null if never posted. */
  postMs: number | null;
  /** Emulated ms from creation to ACTIVE. */
  activeMs: number;
  /** Emulated ms from the post to the DELETE that cleared it; null if never cleared. */
  exposureMs: number | null;
  clearedMs: number | null;
  gets: number;
  deletes: number;
}

export interface FleetRunResult {
  scheduler: string;
  servers: ServerFigures[];
  /** Emulated ms from creation to the last DELETE that cleared a record. */
  makespanMs: number;
  finished: boolean;
  passwordGets: number;
  passwordDeletes: number;
  /** 429s received per API. */
  throttled: Record<string, number>;
  deadLetters: Record<string, number>;
  worker: { peakRssBytes: number; peakHeapBytes: number; maxRssBytes: number; batches: number };
  realSeconds: number;
}

function waitForLine(child: ChildProcess, predicate: (line: string) => boolean): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let buffer = '';
    const onData = (d: Buffer): void => {
      buffer += d.toString();
      for (const line of buffer.split('\n')) {
        if (predicate(line)) {
          child.stdout!.off('data', onData);
          resolvePromise(line);
          return;
        }
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`fleet worker exited with ${code}`)));
  });
}

export async function runFleet(options: FleetRunOptions): Promise<FleetRunResult> {
  const started = Date.now();
  const emulator = await startEmulator({
    seed: options.seed,
    timeScale: options.timeScale,
    switches: { distribution: 'realistic' },
  });
  const dir = await mkdtemp(
    join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), `fleet-${options.scheduler}-`),
  );
  let child: ChildProcess | undefined;
  try {
    const queue = new FileQueue({ dir: join(dir, 'queue'), clock: emulator.clock });
    const created = emulator.admin.createServers({
      windows: options.servers,
      linux: 0,
      distribution: 'realistic',
    });
    const t0 = emulator.admin.server(created.serverIds[0]!)!.createdAt;
    // Direct intake: the provisioning pipeline names the servers it just created.
    const intake = composeIntakeRuntime({
      config: parseIntakeConfig({}),
      queue,
      bmsFor: () => {
        throw new Error('not used by a server-id request');
      },
      clock: emulator.clock,
      logger: silentLogger,
      metrics: nullMetrics,
    });
    await runDirectIntake(intake, {
      projectId: emulator.projectId,
      region: emulator.region,
      serverIds: created.serverIds,
      jobId: undefined,
    });

    child = spawn(process.execPath, [join(ROOT, 'bench/fleet-worker.ts')], {
      env: {
        // Scheduler knobs (ESCROW_*) pass through, so variants can be compared with one command.
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('ESCROW_'))),
        PATH: process.env['PATH'],
        ...clientEnv(emulator),
        ESCROW_SCHEDULER: options.scheduler,
        ESCROW_DEADLINE_SECONDS: String(options.deadlineSeconds),
        FLEET_QUEUE_DIR: join(dir, 'queue'),
        FLEET_ESCROW_DIR: join(dir, 'escrow'),
        FLEET_CLOCK_SCALE: String(emulator.clock.scale),
        FLEET_CLOCK_EPOCH: String(clockEpoch(emulator.clock)),
        FLEET_QUEUE_PRIORITY: options.queuePriority ? '1' : '0',
        FLEET_BATCH_SIZE: String(options.batchSize),
        ESCROW_CONCURRENCY: String(options.concurrency),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await waitForLine(child, (l) => l === 'ready');

    let finished = false;
    while (emulator.clock.now() - t0 < options.maxMinutes * MINUTE) {
      await new Promise((r) => setTimeout(r, 250));
      const truths = emulator.admin.servers();
      const allCleared = truths.every((t) => t.nextPostAt === null && t.clearedAt !== null);
      const depth = await queue.depth();
      const dead = (await queue.deadLetters()).length;
      if ((allCleared || dead > 0) && depth.visible + depth.invisible === 0) {
        finished = allCleared;
        break;
      }
    }
    const report = waitForLine(child, (l) => l.startsWith('{'));
    child.kill('SIGTERM');
    const worker = JSON.parse(await report) as FleetRunResult['worker'];

    const calls = emulator.admin.calls();
    const counts = new Map<string, { gets: number; deletes: number }>();
    for (const e of calls.passwordEvents) {
      const c = counts.get(e.serverId) ?? { gets: 0, deletes: 0 };
      if (e.method === 'GET') c.gets++;
      else c.deletes++;
      counts.set(e.serverId, c);
    }
    let makespanMs = 0;
    const servers = emulator.admin.servers().map((t): ServerFigures => {
      const posted = t.postHistory.find((h) => h.event === 'posted');
      const cleared = t.postHistory.find((h) => h.event === 'cleared');
      if (cleared) makespanMs = Math.max(makespanMs, cleared.at - t0);
      const c = counts.get(t.id) ?? { gets: 0, deletes: 0 };
      return {
        postMs: posted ? posted.at - t0 : null,
        activeMs: t.activeAt - t0,
        exposureMs: posted && cleared ? cleared.at - posted.at : null,
        clearedMs: cleared ? cleared.at - t0 : null,
        gets: c.gets,
        deletes: c.deletes,
      };
    });
    const throttled: Record<string, number> = {};
    for (const [api, c] of Object.entries(calls.apis)) if (c['429'] > 0) throttled[api] = c['429'];
    const deadLetters: Record<string, number> = {};
    for (const letter of await queue.deadLetters())
      deadLetters[letter.reason] = (deadLetters[letter.reason] ?? 0) + 1;
    return {
      scheduler: options.label ?? options.scheduler,
      servers,
      makespanMs,
      finished,
      passwordGets: calls.passwordEvents.filter((e) => e.method === 'GET').length,
      passwordDeletes: calls.passwordEvents.filter((e) => e.method === 'DELETE').length,
      throttled,
      deadLetters,
      worker,
      realSeconds: (Date.now() - started) / 1000,
    };
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  }
}
