/**
 * The local stack: the whole hook in one process, built from the same modules the Lambda
 * functions use. An HTTP server takes SMN deliveries (lib/intake/webhook-http.ts, as the
 * webhook Lambda does) and serves a status page; a SQLite database under the state dir holds
 * the durable queue that stands in for SQS, the single-instance lock and the status board; a worker loop runs the shared batch logic; the sweep runs on an interval;
 * escrowed versions go to the file store.
 *
 * With AK/SK in the environment it talks to the endpoints the Huawei config names (the real
 * cloud, or an external emulator); without, it starts the bundled emulator in this process,
 * shares its (possibly compressed) clock and subscribes its webhook to the emulator's topic.
 */
import { open, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Clock } from '../clock.ts';
import type { Env } from '../config/env-parsers.ts';
import { createEscrowStore, parseEscrowConfig } from '../escrow/escrow-config.ts';
import type { EscrowStore } from '../escrow/escrow-store.ts';
import { huaweiHealth } from '../huawei/auth-guard.ts';
import { ENV_SECURITY_TOKEN, envCredentialProvider } from '../huawei/credentials.ts';
import { ENV_BMS_ENDPOINT } from '../huawei/endpoints.ts';
import { createHuaweiClients } from '../huawei/huawei-clients.ts';
import { parseHuaweiConfig } from '../huawei/huawei-config.ts';
import { type IntakeConfig, parseIntakeConfig, type SweepTarget } from '../intake/intake-config.ts';
import { composeIntakeRuntime, type IntakeRuntime } from '../intake/intake-runtime.ts';
import { parsePostedConfig } from '../intake/posted/posted-config.ts';
import { handlePostedRequest, type PostedServerDirectory } from '../intake/posted/posted-intake.ts';
import { ENV_TOPIC_ALLOWLIST, parseTopicTrust, requireTopicTrust } from '../intake/smn/topic-trust.ts';
import { runSweep, type SweepReport } from '../intake/sweep.ts';
import { handleWebhookRequest } from '../intake/webhook-http.ts';
import { makeDirs } from '../make-dirs.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { createMetrics } from '../observability/metrics.ts';
import { type PipelineConfig, parsePipelineConfig } from '../pipeline/pipeline-config.ts';
import { createPollScheduler } from '../pipeline/poll-schedule.ts';
import { SqliteDatabase } from '../queue/sqlite-database.ts';
import { SqliteQueue } from '../queue/sqlite-queue.ts';
import type { EnqueueOptions, EnqueueResult, WorkItem, WorkQueue } from '../queue/work-item.ts';
import { spareTokenLook, workPriority } from '../worker/batch-worker.ts';
import { QueueWorker } from '../worker/local-queue-worker.ts';
import { createWorkerRuntime, type WorkerRuntime } from '../worker/worker-runtime.ts';
import { checkEmulatorClock, clientClock, clientEnv, emulatorTopicUrn } from './emulator-env.ts';
import {
  errorCode,
  type HealthCheck,
  HealthProbe,
  type HealthReport,
  type HealthSource,
  healthReport,
} from './health.ts';
import { isLoopbackEndpoint, type LocalConfig, resolveLocalMode, STATE_DB_FILE } from './local-config.ts';
import { type LocalHttpServer, startLocalHttpServer } from './local-http-server.ts';
import { ServeLock } from './serve-lock.ts';
import { StatusBoard, sqliteBoardStore } from './status-board.ts';
import { renderStatusPage, type StatusPageInfo } from './status-page.ts';

/** The emulator surface the stack needs (emulator/index.ts RunningEmulator satisfies it). */
export interface LocalEmulator {
  url: string;
  region: string;
  projectId: string;
  accessKey: string;
  secretKey: string;
  clock: Clock;
  admin: { subscribe(endpointUrl: string): Promise<{ confirmed: boolean }> };
  close(): Promise<void>;
}

/** What the stack asks of an emulator it starts itself. */
export interface EmbeddedEmulatorOptions {
  timeScale: number;
  seed?: number;
  switches: { distribution: 'realistic' };
  logger?: Logger | undefined;
}

export interface LocalStackOptions {
  config: LocalConfig;
  env: Env;
  /** Overrides DRY_RUN. */
  dryRun?: boolean | undefined;
  logger?: Logger | undefined;
  /** Use this emulator (the demo's) instead of starting one; it is not closed by the stack. */
  emulator?: LocalEmulator | undefined;
  /**
   * Starts the bundled emulator when no AK/SK are set (serve passes emulator/index.ts
   * `startEmulator`; lib does not import the emulator). The stack closes what it starts.
   */
  startEmulator?: ((options: EmbeddedEmulatorOptions) => Promise<LocalEmulator>) | undefined;
  /** Seed for an emulator the stack starts itself. */
  emulatorSeed?: number | undefined;
  /** Run a sweep right after start (default true). */
  sweepOnStart?: boolean | undefined;
  /** More /healthz checks (Huawei auth, clock skew…), read on every request. */
  healthChecks?: readonly HealthSource[] | undefined;
  /** Aborts a start in progress (SIGTERM while the stack is still starting). */
  signal?: AbortSignal | undefined;
}

export type LocalModeLabel = 'real cloud' | 'emulator';

export interface LocalStack {
  url: string;
  webhookUrl: string;
  mode: LocalModeLabel;
  /** The BMS endpoint the stack calls. */
  endpoint: string;
  region: string;
  projectId: string;
  stateDir: string;
  escrowDir: string;
  dryRun: boolean;
  clock: Clock;
  board: StatusBoard;
  queue: SqliteQueue;
  /** Present when the stack started (or was given) an emulator. */
  emulator: LocalEmulator | undefined;
  /** What /healthz reports. */
  health(): HealthReport;
  /** Runs one sweep now. */
  sweep(): Promise<SweepReport>;
  /** Stops accepting, lets in-flight work finish (up to `graceMs`), then closes everything. */
  close(graceMs?: number): Promise<void>;
}

export class LocalStackError extends Error {
  override name = 'LocalStackError';
}

/** Messages the stack queues pass the board first, so the page shows a server the moment it is known. */
function observedQueue(inner: SqliteQueue, board: StatusBoard): WorkQueue {
  return {
    async enqueue(items: readonly WorkItem[], options?: EnqueueOptions): Promise<EnqueueResult> {
      const result = await inner.enqueue(items, options);
      const failed = new Set(result.failed.map((f) => f.serverId));
      for (const item of items) if (!failed.has(item.serverId)) board.noteQueued(item);
      return result;
    },
  };
}

/** The configured sweep targets, or else the project this stack runs for. */
function sweepTargetsOf(config: IntakeConfig, where: SweepTarget): SweepTarget[] {
  return config.sweepTargets.length > 0 ? config.sweepTargets : [where];
}

/**
 * The status board as the /posted route's directory: a server the worker has looked at is
 * known, so a notification for it costs no show-server call.
 */
function boardDirectory(board: StatusBoard): PostedServerDirectory {
  return {
    lookup(projectId, serverId) {
      const status = board.get(serverId);
      if (!status || status.projectId !== projectId) return undefined;
      if (status.state === 'cleared' || status.state === 'escrowed') return 'done';
      if (status.state === 'skipped') return 'refused';
      // Waiting on a password GET means it was shown Windows and ACTIVE; queued or BUILD does not.
      return status.state === 'waiting' && (status.reason === 'not-posted' || status.reason === 'deferred')
        ? 'eligible'
        : undefined;
    },
  };
}

function loopbackOrigin(url: string): string {
  const u = new URL(url);
  return `http://${u.host}`;
}

interface Target {
  env: Record<string, string | undefined>;
  clock: Clock;
  mode: LocalModeLabel;
  emulator: LocalEmulator | undefined;
  ownsEmulator: boolean;
}

/** Decides where Huawei calls go and builds the environment the shared parsers will read. */
async function resolveTarget(options: LocalStackOptions, escrowDir: string): Promise<Target> {
  const base: Record<string, string | undefined> = { ...options.env };
  base['ESCROW_FILE_DIR'] ??= escrowDir;
  const allowEmulatorHost = (origin: string): void => {
    // The emulator's signing cert and confirm URL are plain http on loopback: allowed here, by
    // the local configuration only, never by the Lambda defaults.
    base['SMN_CERT_HOST_ALLOWLIST'] ??= origin;
    base['SMN_SUBSCRIBE_HOST_ALLOWLIST'] ??= origin;
  };

  let emulator = options.emulator;
  if (!emulator && resolveLocalMode(options.env) === 'cloud') {
    const bms = options.env[ENV_BMS_ENDPOINT];
    const external = bms !== undefined && bms.trim() !== '' && isLoopbackEndpoint(new URL(bms));
    const clock = clientClock(options.env, options.config);
    if (external) {
      allowEmulatorHost(loopbackOrigin(bms));
      await checkEmulatorClock(bms, clock);
    }
    return {
      env: base,
      clock,
      mode: external ? 'emulator' : 'real cloud',
      emulator: undefined,
      ownsEmulator: false,
    };
  }
  let ownsEmulator = false;
  if (!emulator) {
    if (!options.startEmulator)
      throw new Error('no AK/SK are set and no emulator was given to start; set HUAWEICLOUD_SDK_AK/SK');
    emulator = await options.startEmulator({
      timeScale: options.config.timeScale,
      ...(options.emulatorSeed !== undefined && { seed: options.emulatorSeed }),
      switches: { distribution: 'realistic' },
      logger: options.logger,
    });
    ownsEmulator = true;
  }
  Object.assign(base, clientEnv(emulator));
  delete base[ENV_SECURITY_TOKEN];
  // clientEnv names the emulator's topic in SMN_TOPIC_URN_ALLOWLIST: trusted explicitly.
  allowEmulatorHost(loopbackOrigin(emulator.url));
  return { env: base, clock: emulator.clock, mode: 'emulator', emulator, ownsEmulator };
}

async function resolveProjectId(
  env: Env,
  clock: Clock,
  signal?: AbortSignal,
): Promise<{ region: string; projectId: string }> {
  const config = parseHuaweiConfig(env);
  if (config.projectId !== undefined) return { region: config.region, projectId: config.projectId };
  const clients = createHuaweiClients(config, { credentials: envCredentialProvider(env), clock });
  try {
    return { region: config.region, projectId: await clients.projectId(signal) };
  } finally {
    await clients.close();
  }
}

/** Real milliseconds between two health ticks (lock heartbeat, database file, escrow probe). */
const HEALTH_TICK_MS = 5000;

type Cleanup = () => Promise<void> | void;

interface LocalState {
  stateDir: string;
  escrowDir: string;
  db: SqliteDatabase;
  lock: ServeLock;
}

/** The state dir, its database and the lock on it. */
async function openLocalState(config: LocalConfig, cleanups: Cleanup[]): Promise<LocalState> {
  if (config.stateDir.trim() === '') throw new LocalStackError('the state dir must not be empty');
  const stateDir = resolve(config.stateDir);
  try {
    await makeDirs(stateDir);
  } catch (error) {
    throw new LocalStackError(`cannot create the state dir ${stateDir}: ${errorCode(error)}`, {
      cause: error,
    });
  }
  let db: SqliteDatabase;
  try {
    db = new SqliteDatabase(join(stateDir, STATE_DB_FILE));
  } catch (error) {
    throw new LocalStackError(`cannot open the state database in ${stateDir}: ${errorCode(error)}`, {
      cause: error,
    });
  }
  cleanups.push(() => db.close());
  const lock = ServeLock.acquire(db, stateDir);
  cleanups.push(() => lock.release());
  return { stateDir, escrowDir: join(stateDir, 'escrow'), db, lock };
}

interface WorkPlane {
  board: StatusBoard;
  queue: SqliteQueue;
  store: EscrowStore;
  pipeline: WorkerRuntime;
  pipelineConfig: PipelineConfig;
  intake: IntakeRuntime;
  intakeConfig: IntakeConfig;
  worker: QueueWorker;
  workerHealth: HealthProbe;
}

/** The queue, the escrow store, the pipeline and intake over them, and the worker loop. */
async function buildWorkPlane(
  options: LocalStackOptions,
  state: LocalState,
  target: Target,
  where: { region: string; projectId: string },
  logger: Logger,
  cleanups: Cleanup[],
): Promise<WorkPlane> {
  const { config } = options;
  const { env, clock } = target;
  // Metrics are CloudWatch's business; locally the status page and the log say it all.
  const metrics = createMetrics({ sink: { write: () => true } });
  const board = new StatusBoard({ store: sqliteBoardStore(state.db), now: () => clock.now() });
  await board.load();
  const pipelineConfig = parsePipelineConfig(env);
  const queue = new SqliteQueue({
    database: state.db,
    clock,
    visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
    // The queue sees the whole fleet: a batch takes the due servers most likely to have posted
    // (a guest's "posted" hint first), the order each batch is given on SQS.
    priority: workPriority(createPollScheduler(pipelineConfig.scheduler), pipelineConfig.deadlineSeconds),
  });
  const observed = observedQueue(queue, board);

  if (options.dryRun !== undefined) pipelineConfig.dryRun = options.dryRun;
  const store = await createEscrowStore(parseEscrowConfig(env));
  const pipeline = await createWorkerRuntime(env, {
    config: pipelineConfig,
    clock,
    logger: logger.child({ component: 'worker' }),
    metrics,
    store,
    queue: observed,
    dlq: queue,
  });
  cleanups.push(() => pipeline.close());
  pipeline.batch.onOutcome = (item, outcome, updated) => board.noteOutcome(item, outcome, updated);

  const intakeConfig = parseIntakeConfig(env);
  const intake = composeIntakeRuntime({
    config: intakeConfig,
    queue: observed,
    bmsFor: pipeline.process.bmsFor,
    escrowStore: async () => store,
    clock,
    logger: logger.child({ component: 'intake' }),
    metrics,
    posted: parsePostedConfig(env, sweepTargetsOf(intakeConfig, where)),
    postedDirectory: boardDirectory(board),
  });

  const workerHealth = new HealthProbe('worker');
  const worker = new QueueWorker({
    queue,
    batch: pipeline.batch,
    logger,
    batchSize: config.batchSize,
    idlePollMs: config.idlePollMs,
    retryDelaySeconds: 30,
    // A password GET token that nothing due wants goes to the likeliest waiting server.
    pullForward: spareTokenLook(pipeline.process),
    onDeadLettered: (item, reason) => {
      if (item) board.noteDeadLettered(item, reason);
    },
    beforeSettle: () => board.flush(),
    onRound: (error) => (error === undefined ? workerHealth.ok() : workerHealth.fail(errorCode(error))),
  });
  return { board, queue, store, pipeline, pipelineConfig, intake, intakeConfig, worker, workerHealth };
}

/**
 * Every HEALTH_TICK_MS: refresh the lock, put a deleted database back in place, and write a
 * probe into the escrow dir. Each feeds a named /healthz check.
 */
function startHealthMonitor(state: LocalState, logger: Logger): { checks: HealthSource; stop(): void } {
  const queueHealth = new HealthProbe('state-database');
  const escrowHealth = new HealthProbe('escrow-store');
  const lockHealth = new HealthProbe('lock');
  let running = false;
  const tick = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      try {
        if (state.db.checkFile() === 'restored')
          logger.error('the state database was deleted while in use; written back from the open copy', {
            file: state.db.file,
          });
        if (state.lock.heartbeat()) lockHealth.ok();
        else lockHealth.fail('taken over by another process');
        queueHealth.ok();
      } catch (error) {
        queueHealth.fail(errorCode(error));
      }
      try {
        await probeWritable(state.escrowDir);
        escrowHealth.ok();
      } catch (error) {
        escrowHealth.fail(errorCode(error));
      }
    } finally {
      running = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), HEALTH_TICK_MS);
  timer.unref();
  return {
    checks: () => [queueHealth.check(), escrowHealth.check(), lockHealth.check()],
    stop: () => clearInterval(timer),
  };
}

/** Writes, syncs and removes a small file in `dir`: what an escrow write needs, minus the secret. */
async function probeWritable(dir: string): Promise<void> {
  await makeDirs(dir);
  const probe = join(dir, `.healthz-${process.pid}.probe`);
  try {
    const handle = await open(probe, 'w', 0o600);
    try {
      await handle.writeFile('probe\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
  } finally {
    await rm(probe, { force: true });
  }
}

/** Signed calls cannot make progress: auth failing (the breaker is open) or the clock skewed. */
function huaweiCheck(): HealthCheck {
  const h = huaweiHealth();
  return { name: 'huawei', ok: !h.degraded, detail: h.degraded ? (h.detail ?? `auth ${h.auth}`) : undefined };
}

/** The status page and JSON read the queue; a broken queue shows as unavailable, never as a 500. */
async function queueDepth(queue: SqliteQueue): Promise<StatusPageInfo['queueDepth']> {
  try {
    const depth = await queue.depth();
    return { ready: depth.visible, delayed: depth.invisible, deadLettered: depth.deadLettered };
  } catch {
    return undefined;
  }
}

async function startHttp(
  options: LocalStackOptions,
  plane: WorkPlane,
  target: Target,
  where: { region: string; projectId: string },
  health: () => HealthReport,
  logger: Logger,
): Promise<LocalHttpServer> {
  const { config } = options;
  const pageInfo = async (): Promise<StatusPageInfo> => ({
    mode: target.mode,
    region: where.region,
    projectId: where.projectId,
    dryRun: plane.pipelineConfig.dryRun,
    queueDepth: await queueDepth(plane.queue),
    refreshSeconds: config.refreshSeconds,
    generatedAt: new Date(target.clock.now()).toISOString(),
    emulatedTimeScale: target.mode === 'emulator' ? target.clock.scale : undefined,
  });
  return startLocalHttpServer({
    host: config.host,
    port: config.port,
    maxBodyBytes: plane.intakeConfig.maxBodyBytes,
    logger,
    routes: {
      smn: (body, headers, signal) =>
        handleWebhookRequest(plane.intake, { method: 'POST', headers, body }, signal),
      posted: (body, headers, signal) =>
        handlePostedRequest(plane.intake.posted, { method: 'POST', headers, body }, signal),
      health: () => ({ ...health(), mode: target.mode, batches: plane.worker.batches }),
      statusPage: async () => renderStatusPage(plane.board.list(), await pageInfo()),
      statusJson: async () => ({ ...(await pageInfo()), servers: plane.board.list() }),
    },
  });
}

/** Sweeps at start (unless told not to) and then every sweepIntervalSeconds of clock time. */
function startSweepLoop(
  options: LocalStackOptions,
  clock: Clock,
  sweep: () => Promise<SweepReport>,
  logger: Logger,
): { stop(): Promise<void> } {
  const interval = options.config.sweepIntervalSeconds;
  const stop = new AbortController();
  const loop = (async () => {
    if (interval === 0 && options.sweepOnStart === false) return;
    let first = options.sweepOnStart !== false;
    while (!stop.signal.aborted) {
      if (!first) {
        if (interval === 0) return;
        try {
          await clock.sleep(interval * 1000, stop.signal);
        } catch {
          return;
        }
      }
      first = false;
      try {
        await sweep();
      } catch (error) {
        logger.warn('sweep failed; the next one will try again', { error });
      }
    }
  })();
  return {
    async stop() {
      stop.abort(new Error('closing'));
      await loop;
    },
  };
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ sink: process.stderr, fields: { component: 'local' } });
  const cleanups: Cleanup[] = [];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse())
      await Promise.resolve()
        .then(fn)
        .catch(() => {});
  };

  try {
    const state = await openLocalState(config, cleanups);
    const target = await resolveTarget(options, state.escrowDir);
    if (target.ownsEmulator && target.emulator) {
      const em = target.emulator;
      cleanups.push(() => em.close());
    }
    options.signal?.throwIfAborted();
    const { env, clock } = target;
    const where = await resolveProjectId(env, clock, options.signal);
    // An external emulator on loopback publishes to its one topic in this project.
    if (target.mode === 'emulator' && !target.emulator)
      env[ENV_TOPIC_ALLOWLIST] ??= emulatorTopicUrn(where.region, where.projectId);
    // Against the real cloud, no topic allow-list means no start (see topic-trust.ts).
    requireTopicTrust(parseTopicTrust(env), logger);
    const plane = await buildWorkPlane(options, state, target, where, logger, cleanups);

    const monitor = startHealthMonitor(state, logger);
    cleanups.push(() => monitor.stop());
    let closing = false;
    const health = (): HealthReport =>
      healthReport([
        () => ({ name: 'accepting', ok: !closing, detail: closing ? 'shutting down' : undefined }),
        monitor.checks,
        () => plane.workerHealth.check(),
        huaweiCheck,
        ...(options.healthChecks ?? []),
      ]);
    const http = await startHttp(options, plane, target, where, health, logger);
    cleanups.push(() => http.close());
    const webhookUrl = `${http.url}/smn`;

    if (target.emulator) {
      const subscription = await target.emulator.admin.subscribe(webhookUrl);
      if (!subscription.confirmed)
        throw new LocalStackError(
          'the emulator SMN subscription was not confirmed; see the log for the refusal',
        );
    }

    plane.worker.start();
    const sweepTargets = sweepTargetsOf(plane.intakeConfig, where);
    const sweep = (): Promise<SweepReport> =>
      // The SQLite queue keeps one chain per server: no watch leases to read here.
      runSweep(
        { ...plane.intake, escrow: { ...plane.store, watches: undefined } },
        { targets: sweepTargets, dryRun: false },
      );
    const sweepLoop = startSweepLoop(options, clock, sweep, logger);

    logger.info('local stack started', {
      url: http.url,
      mode: target.mode,
      ...where,
      stateDir: state.stateDir,
      dryRun: plane.pipelineConfig.dryRun,
      timeScale: clock.scale,
    });

    let closed: Promise<void> | undefined;
    return {
      url: http.url,
      webhookUrl,
      mode: target.mode,
      endpoint: parseHuaweiConfig(env).endpoints.bms.origin,
      ...where,
      stateDir: state.stateDir,
      escrowDir: parseEscrowConfig(env).fileDir,
      dryRun: plane.pipelineConfig.dryRun,
      clock,
      board: plane.board,
      queue: plane.queue,
      emulator: target.emulator,
      health,
      sweep,
      close(graceMs = 10_000) {
        closed ??= (async () => {
          closing = true;
          // Stop taking deliveries first: SMN redelivers what we refuse, nothing is lost.
          await http.close(Math.min(graceMs, 5000));
          await plane.worker.stop(graceMs);
          await sweepLoop.stop();
          await plane.board.flush();
          await cleanup();
          logger.info('local stack stopped', { stateDir: state.stateDir });
        })();
        return closed;
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
