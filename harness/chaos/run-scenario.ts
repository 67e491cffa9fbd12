/**
 * Runs one chaos scenario in this process, end to end over real wires: the emulator over HTTP
 * under compressed time, CTS → SMN pushes into the product's webhook handler (or direct intake),
 * the durable file queue, the shared batch worker with the real signed client, the file store or
 * the Secrets Manager fake through the real AWS SDK, the sweep as the backstop. Faults come from
 * the emulator (5xx, 429, resets, latency, DELETE status, dropped notifications), the relay
 * (duplicates, hold-backs), the store (write failures, differing read-backs) and worker crashes at
 * step boundaries; a crashed worker's leased messages come back after the visibility timeout, as
 * SQS would redeliver them. After quiescence the invariants are checked against the truth.
 */

import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startEmulator } from '../../emulator/index.ts';
import { createRandom, deriveSeed } from '../../emulator/seeded-random.ts';
import type { Clock } from '../../lib/clock.ts';
import type { EscrowStore } from '../../lib/escrow/escrow-store.ts';
import { createFileEscrowStore } from '../../lib/escrow/file-store.ts';
import { createSecretsManagerEscrowStore } from '../../lib/escrow/secrets-manager-store.ts';
import { AuthGuard } from '../../lib/huawei/auth-guard.ts';
import type { BmsApi } from '../../lib/huawei/bms-types.ts';
import { staticCredentialProvider } from '../../lib/huawei/credentials.ts';
import { createHuaweiClients, type HuaweiClients } from '../../lib/huawei/huawei-clients.ts';
import { parseHuaweiConfig } from '../../lib/huawei/huawei-config.ts';
import { parseIntakeConfig } from '../../lib/intake/intake-config.ts';
import { runSweep } from '../../lib/intake/sweep.ts';
import { clientEnv } from '../../lib/local/emulator-env.ts';
import { STATE_DB_FILE } from '../../lib/local/local-config.ts';
import { createLogger, type Logger } from '../../lib/observability/logger.ts';
import { createMetrics, type Metrics } from '../../lib/observability/metrics.ts';
import { parsePipelineConfig } from '../../lib/pipeline/pipeline-config.ts';
import { SqliteQueue } from '../../lib/queue/sqlite-queue.ts';
import type { WorkItem } from '../../lib/queue/work-item.ts';
import { QueueWorker } from '../../lib/worker/local-queue-worker.ts';
import { createWorkerRuntime } from '../../lib/worker/worker-runtime.ts';
import { type SecretsManagerFake, startSecretsManagerFake } from '../fakes/secrets-manager-fake.ts';
import { clockAlignedLedger } from './clock-alignment.ts';
import { snapshotEscrow } from './escrow-snapshot.ts';
import { EventRelay } from './event-relay.ts';
import {
  ChaosCrash,
  crashingBms,
  crashingStore,
  faultyStore,
  type ReadBack,
  recordingStore,
  type StoreFaultCounts,
  WorkerLife,
} from './fault-injectors.ts';
import { type CheckResult, checkInvariants } from './invariants.ts';
import type { CrashPoint, ScenarioSpec } from './scenario.ts';

export interface FaultTally {
  huawei5xx: number;
  huawei429: number;
  huaweiResets: number;
  huaweiLatencyMs: number;
  deleteStatus: number;
  smnDropped: number;
  eventsDuplicated: number;
  eventsDelayed: number;
  eventsDroppedDirect: number;
  eventsRefused: number;
  storeWriteFailures: number;
  storeReadMismatches: number;
  crashes: Partial<Record<CrashPoint | 'sigkill', number>>;
  reinstalls: number;
  /** Reinstalls started right after the hook's GET found a record, before its DELETE. */
  reinstallsBetweenGetAndDelete: number;
  sweeps: number;
}

export interface ScenarioResult {
  spec: ScenarioSpec;
  realSeconds: number;
  quiescent: boolean;
  check: CheckResult;
  faults: FaultTally;
  outcomes: Record<string, number>;
}

export interface RunOptions {
  /** Real seconds before the scenario gives up waiting for quiescence (then checks anyway). */
  timeoutSeconds?: number | undefined;
}

const DEADLINE_SECONDS = 5400;

function stateRoot(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

interface Capture {
  logs: string[];
  metrics: string[];
  queue: string[];
}

function captureSinks(clock: Clock): { capture: Capture; logger: Logger; metrics: Metrics } {
  const capture: Capture = { logs: [], metrics: [], queue: [] };
  const logger = createLogger({
    level: 'debug',
    sink: { write: (line: string) => capture.logs.push(line) },
    now: () => clock.now(),
  });
  const metrics = createMetrics({ sink: { write: (line: string) => capture.metrics.push(line) } });
  return { capture, logger, metrics };
}

/**
 * The one queue, seen through one worker life: enqueues and DLQ sends are captured (they are
 * queue output), and once the life is dead every call fails before touching the database.
 */
function lifeQueue(queue: SqliteQueue, life: WorkerLife | undefined, capture: Capture): SqliteQueue {
  return new Proxy(queue, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        life?.assertAlive();
        if (property === 'enqueue') capture.queue.push(JSON.stringify(args[0] as WorkItem[]));
        if (property === 'send') capture.queue.push(JSON.stringify(args[0]));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

export async function runScenario(spec: ScenarioSpec, options: RunOptions = {}): Promise<ScenarioResult> {
  const started = Date.now();
  const random = (name: string) => createRandom(deriveSeed(spec.seed, name));
  const emulator = await startEmulator({
    seed: spec.seed,
    timeScale: spec.timeScale,
    switches: {
      deletePasswordStatus: spec.deletePasswordStatus,
      lostDeleteResponses: spec.ambiguousDeletes,
      deleteApplyDelaySeconds: spec.deletePasswordStatus === 202 ? spec.deleteApplyDelaySeconds : 0,
      smnDropRate: spec.intake === 'smn' ? spec.events.dropRate : 0,
      distribution: spec.distribution,
      faults: spec.huawei,
    },
  });
  const clock = emulator.clock;
  const { capture, logger, metrics } = captureSinks(clock);
  const stateDir = await mkdtemp(join(stateRoot(), 'chaos-'));
  const cleanups: Array<() => Promise<unknown>> = [
    () => emulator.close(),
    () => rm(stateDir, { recursive: true, force: true }),
  ];
  const faults: FaultTally = {
    huawei5xx: 0,
    huawei429: 0,
    huaweiResets: 0,
    huaweiLatencyMs: spec.huawei.latencyMs,
    deleteStatus: spec.deletePasswordStatus,
    smnDropped: 0,
    eventsDuplicated: 0,
    eventsDelayed: 0,
    eventsDroppedDirect: 0,
    eventsRefused: 0,
    storeWriteFailures: 0,
    storeReadMismatches: 0,
    crashes: {},
    reinstalls: 0,
    reinstallsBetweenGetAndDelete: 0,
    sweeps: 0,
  };
  const outcomes: Record<string, number> = {};

  try {
    const env: Record<string, string> = {
      ...clientEnv(emulator),
      ESCROW_DEADLINE_SECONDS: String(DEADLINE_SECONDS),
      ESCROW_SCHEDULER: 'model',
      // The campaign waits for quiescence; the repost watch after each clear is the simulator's.
      ESCROW_REPOST_WATCH_SECONDS: '0',
    };
    const scenarioGuard = new AuthGuard({ now: () => Date.now() });
    const huaweiClients = (): HuaweiClients =>
      createHuaweiClients(parseHuaweiConfig(env), {
        authGuard: scenarioGuard,
        credentials: staticCredentialProvider({
          accessKey: emulator.accessKey,
          secretKey: emulator.secretKey,
        }),
        clock,
        logger,
      });

    // The store, and the raw view the verdict reads.
    let sm: SecretsManagerFake | undefined;
    let smClient: SecretsManagerClient | undefined;
    let rawStore: EscrowStore;
    if (spec.store === 'secrets-manager') {
      sm = await startSecretsManagerFake();
      const fake = sm;
      smClient = new SecretsManagerClient({ endpoint: fake.endpoint, ...fake.clientConfig, maxAttempts: 1 });
      const client = smClient;
      cleanups.push(async () => {
        client.destroy();
        await fake.close();
      });
      rawStore = createSecretsManagerEscrowStore({ client });
      fake.faults.latencyMs = spec.storeFaults.latencyMs;
    } else {
      rawStore = createFileEscrowStore({ root: join(stateDir, 'escrow') });
    }
    const storeFaultCounts: StoreFaultCounts = { writeFailures: 0, tamperedReads: 0 };
    const faultedStore =
      spec.store === 'file'
        ? faultyStore(rawStore, random('store-faults'), spec.storeFaults, storeFaultCounts)
        : rawStore;
    const readBacks = new Map<string, ReadBack[]>();
    const recorded = recordingStore(
      faultedStore,
      () => emulator.admin.calls().passwordEvents.length,
      readBacks,
    );

    const queue = new SqliteQueue({ database: join(stateDir, STATE_DB_FILE), clock });
    cleanups.push(async () => queue.close());
    const intakeClients = huaweiClients();
    cleanups.push(() => intakeClients.close());
    const origin = new URL(emulator.url).origin;
    const relay = new EventRelay(
      {
        config: parseIntakeConfig({
          SMN_CERT_HOST_ALLOWLIST: origin,
          SMN_SUBSCRIBE_HOST_ALLOWLIST: origin,
          SMN_TOPIC_URN_ALLOWLIST: emulator.smnTopicUrn,
        }),
        queue: lifeQueue(queue, undefined, capture),
        bmsFor: () => intakeClients.bms,
        clock,
        logger: logger.child({ component: 'intake' }),
        metrics,
      },
      random('events'),
      { ...spec.events, maxDelayMs: 1200 },
    );
    cleanups.push(() => relay.close());
    if (spec.intake === 'smn') {
      const subscription = await emulator.admin.subscribe(await relay.listen());
      if (!subscription.confirmed) throw new Error('chaos: SMN subscription not confirmed');
    }

    // The worker, one life at a time.
    const crashRandom = random('crashes');
    // Reinstall between GET and DELETE: the hook holds the old ciphertext while the OS is rebuilt.
    const betweenRandom = random('reinstall-between');
    const reinstalledBetween = new Set<string>();
    const reinstallingBms = (inner: BmsApi): BmsApi => ({
      // BmsClient's methods live on its prototype: delegate each one, a spread would drop them.
      showServer: (...args) => inner.showServer(...args),
      listServers: (...args) => inner.listServers(...args),
      deletePassword: (...args) => inner.deletePassword(...args),
      showJob: (...args) => inner.showJob(...args),
      async getPassword(projectId, serverId, options) {
        const record = await inner.getPassword(projectId, serverId, options);
        if (
          record !== undefined &&
          reinstalledBetween.size < spec.reinstallsBetweenGetAndDelete &&
          !reinstalledBetween.has(serverId) &&
          betweenRandom.next() < 0.5
        ) {
          reinstalledBetween.add(serverId);
          faults.reinstalls++;
          faults.reinstallsBetweenGetAndDelete++;
          emulator.admin.reinstall(serverId, { bootDelaySeconds: 30, postDelaySeconds: 60 });
        }
        return record;
      },
    });
    const smFaultRandom = random('sm-faults');
    const stop = new AbortController();
    const workerLoop = (async () => {
      while (!stop.signal.aborted) {
        const life = new WorkerLife(crashRandom, spec.crashRate, (point) => {
          faults.crashes[point] = (faults.crashes[point] ?? 0) + 1;
        });
        const clients = huaweiClients();
        const gated = lifeQueue(queue, life, capture);
        const runtime = await createWorkerRuntime(env, {
          config: parsePipelineConfig(env),
          clock,
          logger: logger.child({ component: 'worker' }),
          metrics,
          store: crashingStore(recorded, life),
          bmsFor: () => crashingBms(reinstallingBms(clients.bms), life),
          // Fresh per scenario: the process-wide guard would carry one scenario's skew and
          // breaker into the next, and a single-seed replay would not see the same run.
          authGuard: scenarioGuard,
          rateBudgetFor: () => clients.rateLimiter,
          queue: gated,
          dlq: gated,
        });
        runtime.batch.onOutcome = (_item, outcome) => {
          const key =
            outcome.kind === 'failed' || outcome.kind === 'skipped'
              ? `${outcome.kind}:${outcome.reason}`
              : outcome.kind;
          outcomes[key] = (outcomes[key] ?? 0) + 1;
        };
        const worker = new QueueWorker({
          queue: gated,
          batch: runtime.batch,
          logger,
          batchSize: 10,
          idlePollMs: 15,
          retryDelaySeconds: 30,
        });
        let handled = 1;
        while (!stop.signal.aborted && !life.dead) {
          // Faults are drawn per working round, not per idle poll: an idle loop spins every
          // 15 ms and would otherwise pile up thousands of pending store failures.
          if (sm && handled > 0) {
            if (smFaultRandom.next() < spec.storeFaults.writeFailRate) sm.faults.failNextWrites(1);
            if (smFaultRandom.next() < spec.storeFaults.tamperReadRate) sm.faults.tamperNextReads(1);
          }
          handled = 0;
          try {
            handled = await worker.runOnce(life.signal);
          } catch (error) {
            if (!(error instanceof ChaosCrash)) logger.error('chaos worker round failed', { error });
          }
          if (handled === 0 && !life.dead) await new Promise((r) => setTimeout(r, 15));
        }
        await clients.close();
      }
    })();

    // Servers arrive in waves over the first half hour.
    const serverRandom = random('servers');
    const windowsIds: string[] = [];
    const waveAt = Array.from(
      { length: spec.waves },
      (_, i) => clock.now() + (i === 0 ? 0 : serverRandom.next() * 1_800_000),
    ).sort((a, b) => a - b);
    let wavesDone = 0;
    const perWave = (total: number, i: number) =>
      Math.floor(total / spec.waves) + (i < total % spec.waves ? 1 : 0);
    const reinstallCandidates: string[] = [];
    const reinstalled = new Set<string>();
    const target = { projectId: emulator.projectId, region: emulator.region };

    let nextSweepAt = clock.now() + spec.sweepIntervalSeconds * 1000;
    const sweepRandom = random('sweep');
    const sweep = async () => {
      faults.sweeps++;
      try {
        await runSweep(
          { ...relay.intake, escrow: clockAlignedLedger(rawStore, clock) },
          { targets: [target], batchSize: 1 + Math.floor(sweepRandom.next() * 20) },
        );
      } catch (error) {
        logger.warn('chaos sweep failed; the next one retries', { error });
      }
    };

    const deadline = Date.now() + (options.timeoutSeconds ?? 90) * 1000;
    let finalSweepDone = false;
    let quiescent = false;
    while (Date.now() < deadline) {
      const now = clock.now();
      while (wavesDone < spec.waves && waveAt[wavesDone]! <= now) {
        const created = emulator.admin.createServers({
          windows: perWave(spec.windows, wavesDone),
          linux: perWave(spec.linux, wavesDone),
          ...(spec.distribution === 'fixed' && {
            bootDelaySeconds: Math.round(60 + serverRandom.next() * 300),
            postDelaySeconds: Math.round(60 + serverRandom.next() * 1500),
          }),
        });
        windowsIds.push(...created.windowsIds);
        if (spec.intake === 'direct') relay.direct(created.serverIds, target);
        for (const id of created.windowsIds)
          if (reinstallCandidates.length < spec.reinstalls) reinstallCandidates.push(id);
        wavesDone++;
      }
      for (const id of reinstallCandidates) {
        if (reinstalled.has(id) || emulator.admin.server(id)?.clearedAt == null) continue;
        reinstalled.add(id);
        faults.reinstalls++;
        emulator.admin.reinstall(id, {
          bootDelaySeconds: Math.round(60 + serverRandom.next() * 240),
          postDelaySeconds: Math.round(60 + serverRandom.next() * 900),
        });
        if (spec.intake === 'direct') relay.direct([id], target);
      }
      if (now >= nextSweepAt) {
        nextSweepAt = now + spec.sweepIntervalSeconds * 1000;
        await sweep();
      }

      const truths = windowsIds.map((id) => emulator.admin.server(id)!);
      const settled =
        wavesDone === spec.waves &&
        reinstalled.size === reinstallCandidates.length &&
        truths.every((t) => t.nextPostAt === null && t.ciphertext === null);
      const depth = await queue.depth();
      const idle = relay.inFlight === 0 && depth.visible + depth.invisible === 0;
      if (settled && idle) {
        await emulator.admin.idle();
        if (finalSweepDone) {
          quiescent = true;
          break;
        }
        // Every post has happened: one last sweep must find nothing left to do.
        await sweep();
        finalSweepDone = true;
      }
      await new Promise((r) => setTimeout(r, 25));
    }

    stop.abort();
    await workerLoop;
    await relay.drain();

    // The verdict.
    const calls = emulator.admin.calls();
    for (const counts of Object.values(calls.apis)) {
      faults.huawei5xx += counts['5xx'];
      faults.huawei429 += counts['429'];
      faults.huaweiResets += counts.resets;
    }
    faults.smnDropped = calls.smnDeliveries.filter((d) => d.outcome === 'dropped').length;
    faults.eventsDuplicated = relay.counts.duplicated;
    faults.eventsDelayed = relay.counts.delayed;
    faults.eventsDroppedDirect = relay.counts.dropped;
    faults.eventsRefused = relay.counts.refused;
    faults.storeWriteFailures = sm
      ? sm.calls().filter((c) => c.error === 'InternalServiceError').length
      : storeFaultCounts.writeFailures;
    faults.storeReadMismatches = outcomes['failed:escrow-mismatch'] ?? 0;

    const truths = emulator.admin.servers();
    sm?.faults.reset();
    const { escrow, secrets } = await snapshotEscrow({
      store: rawStore,
      truths,
      target,
      secretKey: emulator.secretKey,
      privateKeyPem: emulator.admin.decryptKey().privateKeyPem,
    });
    const queueFiles = await readStateFiles(stateDir);
    const deadLetters = await queue.deadLetters();
    const depth = await queue.depth();
    const check = checkInvariants({
      truths,
      escrow,
      passwordEvents: calls.passwordEvents,
      readBacks,
      outputs: {
        logs: capture.logs,
        metrics: capture.metrics,
        'queue messages': capture.queue,
        'state database': queueFiles,
        'webhook responses': relay.responses,
        'secrets manager call log': sm ? [JSON.stringify(sm.calls())] : [],
      },
      secrets,
      queuedMessages: depth.visible + depth.invisible,
      deadLetters,
    });
    if (!quiescent) check.violations.unshift('did not reach quiescence before the timeout');
    return { spec, realSeconds: (Date.now() - started) / 1000, quiescent, check, faults, outcomes };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

/**
 * The raw bytes of the state database and its WAL, as text: queue messages, dead letters and
 * the status board, including pages SQLite has freed but not overwritten.
 */
export async function readStateFiles(stateDir: string): Promise<string[]> {
  const names = (await readdir(stateDir).catch(() => [] as string[])).filter((n) =>
    n.startsWith(STATE_DB_FILE),
  );
  return Promise.all(names.map((n) => readFile(join(stateDir, n), 'latin1').catch(() => '')));
}
