/**
 * The local stack: the whole hook in one process, built from the same modules the Lambda
 * functions use. An HTTP server takes SMN deliveries (lib/intake/webhook-http.ts, as the
 * webhook Lambda does) and serves a status page; a durable file queue under the state dir
 * stands in for SQS; a worker loop runs the shared batch logic; the sweep runs on an interval;
 * escrowed versions go to the file store.
 *
 * With AK/SK in the environment it talks to the endpoints the Huawei config names (the real
 * cloud, or an external emulator); without, it starts the bundled emulator in this process,
 * shares its (possibly compressed) clock and subscribes its webhook to the emulator's topic.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Clock } from '../clock.ts';
import { huaweiHealth } from '../huawei/auth-guard.ts';
import type { Env } from '../config/env-parsers.ts';
import { createEscrowStore, parseEscrowConfig } from '../escrow/escrow-config.ts';
import { ENV_SECURITY_TOKEN, envCredentialProvider } from '../huawei/credentials.ts';
import { ENV_BMS_ENDPOINT } from '../huawei/endpoints.ts';
import { createHuaweiClients } from '../huawei/huawei-clients.ts';
import { parseHuaweiConfig } from '../huawei/huawei-config.ts';
import { parseIntakeConfig, type SweepTarget } from '../intake/intake-config.ts';
import { composeIntakeRuntime, type IntakeRuntime } from '../intake/intake-runtime.ts';
import { runSweep, type SweepReport } from '../intake/sweep.ts';
import { handleWebhookRequest } from '../intake/webhook-http.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { createMetrics } from '../observability/metrics.ts';
import { parsePipelineConfig } from '../pipeline/pipeline-config.ts';
import { createWorkerRuntime, type WorkerRuntime } from '../worker/worker-runtime.ts';
import { FileQueue } from '../queue/file-queue.ts';
import type { EnqueueOptions, EnqueueResult, WorkItem, WorkQueue } from '../queue/work-item.ts';
import { checkEmulatorClock, clientClock, clientEnv } from './emulator-env.ts';
import { isLoopbackEndpoint, type LocalConfig, resolveLocalMode } from './local-config.ts';
import { type LocalHttpServer, startLocalHttpServer } from './local-http-server.ts';
import { QueueWorker } from '../worker/file-queue-worker.ts';
import { StatusBoard } from './status-board.ts';
import { renderStatusPage } from './status-page.ts';

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
  queue: FileQueue;
  /** Present when the stack started (or was given) an emulator. */
  emulator: LocalEmulator | undefined;
  /** Runs one sweep now. */
  sweep(): Promise<SweepReport>;
  /** Stops accepting, lets in-flight work finish (up to `graceMs`), then closes everything. */
  close(graceMs?: number): Promise<void>;
}

export class LocalStackError extends Error {
  override name = 'LocalStackError';
}

/** Messages the stack queues pass the board first, so the page shows a server the moment it is known. */
function observedQueue(inner: FileQueue, board: StatusBoard): WorkQueue {
  return {
    async enqueue(items: readonly WorkItem[], options?: EnqueueOptions): Promise<EnqueueResult> {
      const result = await inner.enqueue(items, options);
      const failed = new Set(result.failed.map((f) => f.serverId));
      for (const item of items) if (!failed.has(item.serverId)) board.noteQueued(item);
      return result;
    },
  };
}

/** One `serve` per state dir: a second one would lease the same messages. A dead owner's lock is taken over. */
async function takeLock(stateDir: string): Promise<string> {
  const lock = join(stateDir, 'serve.lock');
  try {
    const pid = Number((await readFile(lock, 'utf8')).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid))
      throw new LocalStackError(
        `state dir ${stateDir} is in use by process ${pid}; stop it or choose another --state-dir`,
      );
  } catch (error) {
    if (error instanceof LocalStackError) throw error;
  }
  await writeFile(lock, `${process.pid}\n`);
  return lock;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function loopbackOrigin(url: string): string {
  const u = new URL(url);
  return `http://${u.host}`;
}

interface Target {
  env: Env;
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

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ sink: process.stderr, fields: { component: 'local' } });
  const stateDir = resolve(config.stateDir);
  const escrowDir = join(stateDir, 'escrow');
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const lock = await takeLock(stateDir);

  const cleanups: Array<() => Promise<void>> = [() => rm(lock, { force: true })];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
  };

  try {
    const target = await resolveTarget(options, escrowDir);
    if (target.ownsEmulator && target.emulator) {
      const em = target.emulator;
      cleanups.push(() => em.close());
    }
    const { env, clock } = target;
    const { region, projectId } = await resolveProjectId(env, clock);
    // Metrics are CloudWatch's business; locally the status page and the log say it all.
    const metrics = createMetrics({ sink: { write: () => true } });

    const board = new StatusBoard({ file: join(stateDir, 'status.json'), now: () => clock.now() });
    await board.load();
    const fileQueue = new FileQueue({
      dir: join(stateDir, 'queue'),
      clock,
      visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
    });
    const queue = observedQueue(fileQueue, board);

    const pipelineConfig = parsePipelineConfig(env);
    if (options.dryRun !== undefined) pipelineConfig.dryRun = options.dryRun;
    const store = await createEscrowStore(parseEscrowConfig(env));
    const pipeline: WorkerRuntime = await createWorkerRuntime(env, {
      config: pipelineConfig,
      clock,
      logger: logger.child({ component: 'worker' }),
      metrics,
      store,
      queue,
      dlq: fileQueue,
    });
    cleanups.push(() => pipeline.close());
    pipeline.batch.onOutcome = (item, outcome, updated) => board.noteOutcome(item, outcome, updated);

    const intakeConfig = parseIntakeConfig(env);
    const intake: IntakeRuntime = composeIntakeRuntime({
      config: intakeConfig,
      queue,
      bmsFor: pipeline.process.bmsFor,
      escrowStore: async () => store,
      clock,
      logger: logger.child({ component: 'intake' }),
      metrics,
    });
    const sweepTargets: SweepTarget[] =
      intakeConfig.sweepTargets.length > 0 ? intakeConfig.sweepTargets : [{ region, projectId }];

    const worker = new QueueWorker({
      queue: fileQueue,
      batch: pipeline.batch,
      logger,
      batchSize: config.batchSize,
      idlePollMs: config.idlePollMs,
      retryDelaySeconds: 30,
      onDeadLettered: (item, reason) => {
        if (item) board.noteDeadLettered(item, reason);
      },
      beforeSettle: () => board.flush(),
    });

    let closing = false;
    const pageInfo = async () => {
      const depth = await fileQueue.depth();
      const dead = (await fileQueue.deadLetters()).length;
      return {
        mode: target.mode,
        region,
        projectId,
        dryRun: pipelineConfig.dryRun,
        queueDepth: { ready: depth.visible, delayed: depth.invisible, deadLettered: dead },
        refreshSeconds: config.refreshSeconds,
        generatedAt: new Date(clock.now()).toISOString(),
      };
    };
    const http: LocalHttpServer = await startLocalHttpServer({
      host: config.host,
      port: config.port,
      maxBodyBytes: intakeConfig.maxBodyBytes,
      logger,
      routes: {
        smn: (body, headers, signal) =>
          handleWebhookRequest(intake, { method: 'POST', headers, body }, signal),
        health: () => {
          // Degraded whenever signed calls cannot make progress (auth failing, clock skew).
          const huawei = huaweiHealth();
          return { ok: !closing && !huawei.degraded, mode: target.mode, batches: worker.batches, huawei };
        },
        statusPage: async () => renderStatusPage(board.list(), await pageInfo()),
        statusJson: async () => ({ ...(await pageInfo()), servers: board.list() }),
      },
    });
    cleanups.push(() => http.close());
    const webhookUrl = `${http.url}/smn`;

    if (target.emulator) {
      const subscription = await target.emulator.admin.subscribe(webhookUrl);
      if (!subscription.confirmed)
        throw new LocalStackError(
          'the emulator SMN subscription was not confirmed; see the log for the refusal',
        );
    }

    worker.start();

    const sweep = (): Promise<SweepReport> =>
      runSweep({ ...intake, escrow: store }, { targets: sweepTargets, dryRun: false });
    const sweepStop = new AbortController();
    const sweepLoop = (async () => {
      if (config.sweepIntervalSeconds === 0 && options.sweepOnStart === false) return;
      let first = options.sweepOnStart !== false;
      while (!sweepStop.signal.aborted) {
        if (!first) {
          if (config.sweepIntervalSeconds === 0) return;
          try {
            await clock.sleep(config.sweepIntervalSeconds * 1000, sweepStop.signal);
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

    logger.info('local stack started', {
      url: http.url,
      mode: target.mode,
      region,
      projectId,
      stateDir,
      dryRun: pipelineConfig.dryRun,
      timeScale: clock.scale,
    });

    let closed: Promise<void> | undefined;
    return {
      url: http.url,
      webhookUrl,
      mode: target.mode,
      endpoint: parseHuaweiConfig(env).endpoints.bms.origin,
      region,
      projectId,
      stateDir,
      escrowDir: parseEscrowConfig(env).fileDir,
      dryRun: pipelineConfig.dryRun,
      clock,
      board,
      queue: fileQueue,
      emulator: target.emulator,
      sweep,
      close(graceMs = 10_000) {
        closed ??= (async () => {
          closing = true;
          sweepStop.abort(new Error('closing'));
          // Stop taking deliveries first: SMN redelivers what we refuse, nothing is lost.
          await http.close(Math.min(graceMs, 5000));
          await worker.stop(graceMs);
          await sweepLoop;
          await board.flush();
          await cleanup();
          logger.info('local stack stopped', { stateDir });
        })();
        return closed;
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
