/**
 * One simulated scenario of the whole hook, in one process, on simulated time.
 *
 * The code under test is the real one: CTS trace intake and enqueue (lib/intake/cts), the
 * sweep (lib/intake/sweep.ts), the batch worker (lib/worker/batch-worker.ts) and through it the
 * per-server state machine (lib/pipeline), the BMS client, signer, retry policy and rate
 * limiter (lib/huawei), the escrow record codec, the logger, redactor and metrics. Only the
 * outside world is fake: the cloud (fake-cloud.ts, behind an HttpTransport), the escrow store,
 * the SQS queue and DLQ, SMN delivery, the guest, the operator who reinstalls, and time.
 *
 * Actors, all on the seeded SimLoop: servers being built and booted, the guest posting (and,
 * when its POST's answer is lost, checking and posting again), reinstalls at any moment,
 * SMN delivering CTS traces (dropped, duplicated, delayed, to warm or fresh intake instances,
 * redelivered after an intake error), a sweep on a timer, and several Lambda-like workers that
 * poll the queue, may run one server concurrently, time out, and die at any I/O boundary
 * (their messages come back after the visibility timeout).
 */

import { createRandom, deriveSeed, type Random } from '../../emulator/seeded-random.ts';
import type { EscrowStore } from '../../lib/escrow/escrow-store.ts';
import type { WatchStore } from '../../lib/escrow/watch-lease.ts';
import { AuthGuard } from '../../lib/huawei/auth-guard.ts';
import { BmsClient } from '../../lib/huawei/bms-client.ts';
import { staticCredentialProvider } from '../../lib/huawei/credentials.ts';
import type { HttpTransport } from '../../lib/huawei/http-transport.ts';
import { RateLimiter } from '../../lib/huawei/rate-limiter.ts';
import { SignedCaller } from '../../lib/huawei/signed-call.ts';
import { intakeTrace } from '../../lib/intake/cts/trace-intake.ts';
import { DedupeCache } from '../../lib/intake/dedupe-cache.ts';
import { parseIntakeConfig } from '../../lib/intake/intake-config.ts';
import type { IntakeDeps, SweepDeps } from '../../lib/intake/intake-deps.ts';
import { runSweep } from '../../lib/intake/sweep.ts';
import { createLogger, type Logger } from '../../lib/observability/logger.ts';
import { createMetrics, type Metrics } from '../../lib/observability/metrics.ts';
import { registerSecret } from '../../lib/observability/redact.ts';
import { guestSettled } from '../../lib/pipeline/decide.ts';
import { parsePipelineConfig } from '../../lib/pipeline/pipeline-config.ts';
import { processDepsFrom } from '../../lib/pipeline/process-deps.ts';
import type { DeadLetterQueue } from '../../lib/queue/dead-letter.ts';
import type { WorkQueue } from '../../lib/queue/work-item.ts';
import { type BatchWorkerDeps, runBatch } from '../../lib/worker/batch-worker.ts';
import { FaultCounts, SimCloud, type SimServer } from './fake-cloud.ts';
import { SimEscrowStore } from './fake-escrow-store.ts';
import { SimDlq, SimQueue } from './fake-queue.ts';
import { Oracle, type Violation } from './oracle.ts';
import { SimPostedGuests } from './posted-guest.ts';
import { drawScenario, type SimScenario } from './scenario.ts';
import { SimLoop } from './sim-loop.ts';

const START_MS = Date.UTC(2026, 11, 1, 0, 0, 0);
const REGION = 'cn-north-4';
const ENV_HORIZON_MS = 3_600_000;
/** After the world stops changing, how long the hook may take before the run is cut off. */
const SETTLE_CAP_MS = 3 * 3_600_000;
const DEFAULT_MAX_STEPS = 60_000;

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/**
 * Ciphertexts come from one fixed pool (RSA-2048 sized: 344 base64 characters) so the
 * redactor's registry, which is process-wide and bounded, stays the same size across scenarios.
 */
const POOL = (() => {
  const r = createRandom(0x5eed);
  return Array.from({ length: 256 }, () => `${r.chars(342, BASE64)}==`);
})();
/** Per-deployment keys of the posted notifications, from a fixed pool (the redactor's registry is process-wide). */
const POSTED_KEYS = Array.from(
  { length: 4 },
  (_, i) => `sim-posted-key-${i}-${createRandom(0xbeef + i).chars(32, BASE64)}`,
);
const CREDENTIALS = {
  accessKey: 'SIMAK6Q2W9E4R7T1Y3U8',
  secretKey: 'simsk0f3e8d2c7b1a6958473625140fedcba9876',
};

export interface RunOptions {
  /** Keep every trace line (replay, determinism test); otherwise only the last few hundred. */
  fullTrace?: boolean | undefined;
  /** Print trace lines as they happen. */
  onTrace?: ((line: string) => void) | undefined;
  /** The oracle's self-test: a store that acknowledges puts without storing them. */
  brokenStore?: boolean | undefined;
  maxSteps?: number | undefined;
  /** Override parts of the drawn scenario (tests). */
  tweak?: ((scenario: SimScenario) => void) | undefined;
}

export interface SimResult {
  scenario: SimScenario;
  steps: number;
  simSeconds: number;
  end: 'quiescent' | 'idle' | 'step-limit' | 'time-cap';
  violations: Violation[];
  faults: Map<string, number>;
  trace: string[];
  servers: number;
  posts: number;
  lockouts: number;
  /** Exposures the hook reported through degraded health rather than the DLQ. */
  surfacedByHealth: number;
}

const TRACE_TAIL = 400;

/** A promise that never settles: what a call made by a process that has died returns. */
const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

class Life {
  dead = false;
  reason = '';
}

export async function runSimScenario(seed: number, options: RunOptions = {}): Promise<SimResult> {
  const scenario = drawScenario(seed);
  options.tweak?.(scenario);
  const stream = (name: string): Random => createRandom(deriveSeed(seed, name));
  const loop = new SimLoop(START_MS, stream('schedule'));
  const faults = new FaultCounts();
  const env = stream('environment');
  const ids = stream('ids');

  const trace: string[] = [];
  const addTrace = (line: string): void => {
    const text = `${((loop.now() - START_MS) / 1000).toFixed(3).padStart(10)}s ${line}`;
    options.onTrace?.(text);
    trace.push(text);
    if (!options.fullTrace && trace.length > TRACE_TAIL * 2) trace.splice(0, trace.length - TRACE_TAIL);
  };

  const oracle = new Oracle(() => loop.now(), [CREDENTIALS.secretKey, CREDENTIALS.accessKey]);
  const projectId = ids.hex(32);
  const cloud = new SimCloud({
    loop,
    observer: oracle,
    scenario,
    random: stream('cloud'),
    faults,
    projectId,
    trace: addTrace,
  });
  const store = new SimEscrowStore({
    loop,
    random: stream('store'),
    scenario,
    faults,
    observer: oracle,
    brokenAckWithoutStore: options.brokenStore,
    watches: scenario.leases,
  });
  const logLines: string[] = [];
  const queueLines: string[] = [];
  const dlq = new SimDlq(loop, queueLines, addTrace);
  const queue = new SimQueue({ loop, random: stream('queue'), scenario, faults, lines: queueLines, dlq });
  const hookClock = loop.clock(scenario.skewMs);
  const sink = { write: (line: string) => logLines.push(line) };
  const loggerFor = (component: string): Logger =>
    createLogger({ level: 'info', sink, now: () => hookClock.now(), fields: { component } });
  const metricsFor = (): Metrics => createMetrics({ sink, now: () => hookClock.now() });
  const credentials = staticCredentialProvider(CREDENTIALS);
  const jitter = stream('retry-jitter');
  const endpoint = new URL('https://bms.cn-north-4.myhuaweicloud.com');

  const guards: AuthGuard[] = [];
  /**
   * A process's view of the Huawei API: its own rate limiter, signed caller and auth guard (the
   * process-wide one in production; one per simulated process here, on simulated time).
   */
  const huaweiFor = (transport: HttpTransport, logger: Logger, metrics: Metrics, health = true) => {
    const rateLimiter = new RateLimiter({ clock: hookClock });
    const authGuard = new AuthGuard({ now: () => hookClock.now() });
    if (health) guards.push(authGuard);
    const caller = new SignedCaller({
      authGuard,
      transport,
      credentials,
      clock: hookClock,
      rateLimiter,
      random: () => jitter.next(),
      logger,
      metrics,
      signingTime: () => new Date(hookClock.now()),
    });
    return { bms: new BmsClient({ caller, endpoint }), rateLimiter, authGuard };
  };

  const postedOn = scenario.posted.snippetShare > 0;
  const pipelineConfig = parsePipelineConfig({
    ESCROW_SCHEDULER: scenario.scheduler,
    ESCROW_DEADLINE_SECONDS: String(scenario.deadlineSeconds),
    ESCROW_VERIFY_DELAY_SECONDS: String(scenario.verifyDelaySeconds),
    ESCROW_CONCURRENCY: String(scenario.concurrency),
    ESCROW_FIXED_INTERVAL_SECONDS: '15',
    // The worker's side of notifications: a hint consults the ledger before its GET, and the
    // model scheduler may be told what share of guests notify.
    ...(postedOn ? { ESCROW_POSTED_MODE: scenario.posted.mode } : {}),
    ...(postedOn && scenario.posted.hintShareConfigured
      ? { ESCROW_POSTED_HINT_SHARE: String(scenario.posted.snippetShare) }
      : {}),
  });
  const intakeConfig = parseIntakeConfig({});

  // ---- bookkeeping for quiescence ----
  let pendingEnv = 0;
  let busyWorkers = 0;
  let coveredBySweep = false;
  let settledSince: number | undefined;
  const envAt = (delayMs: number, label: string, fn: () => void): void => {
    pendingEnv++;
    loop.after(
      delayMs,
      () => {
        pendingEnv--;
        fn();
      },
      label,
    );
  };

  // ---- the guest ----
  const usedCiphertexts = new Set<number>();
  const freshCiphertext = (): string => {
    let i = env.int(0, POOL.length - 1);
    while (usedCiphertexts.has(i)) i = (i + 1) % POOL.length;
    usedCiphertexts.add(i);
    return POOL[i]!;
  };
  const rangeMs = ([lo, hi]: [number, number]): number => env.int(lo * 1000, hi * 1000);

  // ---- the guest's "posted" notification (posted-guest.ts) ----
  let postedGuests: SimPostedGuests | undefined;
  if (postedOn) {
    const postedRandom = stream('posted');
    const postedKey = POSTED_KEYS[postedRandom.int(0, POSTED_KEYS.length - 1)]!;
    registerSecret(postedKey);
    oracle.addSecret(postedKey);
    const logger = loggerFor('posted');
    const metrics = metricsFor();
    postedGuests = new SimPostedGuests({
      loop,
      random: postedRandom,
      scenario: scenario.posted,
      faults,
      projectId,
      region: REGION,
      key: postedKey,
      queue,
      bms: huaweiFor(cloud.transport('posted'), logger, metrics, false).bms,
      hookClock,
      logger,
      metrics,
      trace: addTrace,
      envAt,
      pending: (delta) => {
        pendingEnv += delta;
      },
      onSigned: (signature) => oracle.addSecret(signature),
    });
  }

  const guestPost = (
    server: SimServer,
    launch: number,
    ciphertext: string | undefined,
    retriesLeft: number,
  ): void => {
    if (server.launch !== launch || server.status !== 'ACTIVE') return;
    const posted = ciphertext ?? freshCiphertext();
    // Cloudbase-Init checks is_password_set first; a set record (or a 409) ends its attempt.
    const kind = ciphertext !== undefined ? 'retry' : retriesLeft < 2 ? 'rerun' : 'first';
    if (!cloud.guestPost(server, posted, kind)) {
      addTrace(`guest ${server.name} finds a record set, does not post (launch ${launch})`);
      // A run that checks first returns (the plugin is done); a retried POST meets a 409 and raises.
      postedGuests?.guestPosted(server, launch, kind === 'retry' ? 'conflict' : 'found-set');
      return;
    }
    if (retriesLeft > 0 && env.next() < scenario.guestRepostRate) {
      // The POST landed but its answer was lost. Cloudbase-Init's _exec_with_retry sends the same
      // ciphertext again (a 409 ends it); a plugin run that failed runs again at the next boot
      // with a new password: a new ciphertext in the same launch (a reboot keeps launched_at).
      const rerun = env.next() < scenario.guestRerunShare;
      faults.add(rerun ? 'guest-rerun-new-ciphertext' : 'guest-retry-same-ciphertext');
      addTrace(
        `guest ${server.name} POST answer lost; ${rerun ? 'reboots and runs again' : 'retries the POST'}`,
      );
      postedGuests?.guestPosted(server, launch, 'answer-lost');
      const delayMs = rangeMs(scenario.guestRepostDelaySeconds);
      if (rerun) postedGuests?.rebooting(server, delayMs);
      envAt(delayMs, 'guest-repost', () =>
        guestPost(server, launch, rerun ? undefined : posted, retriesLeft - 1),
      );
      return;
    }
    postedGuests?.guestPosted(server, launch, 'answered');
  };

  const bootAndPost = (server: SimServer): void => {
    cloud.boot(server);
    if (!server.windows) return;
    if (env.next() < scenario.neverPostRate) {
      addTrace(`guest ${server.name} will never post (launch ${server.launch})`);
      postedGuests?.launched(server, undefined);
      return;
    }
    const launch = server.launch;
    const postInMs = rangeMs(scenario.postDelaySeconds);
    postedGuests?.launched(server, postInMs);
    envAt(postInMs, 'guest-post', () => guestPost(server, launch, undefined, 2));
  };

  // ---- SMN delivery of CTS traces to intake instances ----
  let messageSeq = 0;
  let warmDedupe = new DedupeCache(intakeConfig.dedupeCacheSize);
  const intakeDeps = (dedupe: DedupeCache): IntakeDeps => ({
    config: intakeConfig,
    queue,
    bmsFor: () => {
      throw new Error('sim: traces name their servers; no job lookup expected');
    },
    clock: hookClock,
    logger: loggerFor('intake'),
    metrics: metricsFor(),
    dedupe,
  });

  const deliver = (messageId: string, trace: object, attempt: number, fresh: boolean): void => {
    const dedupe = fresh ? new DedupeCache(intakeConfig.dedupeCacheSize) : warmDedupe;
    if (fresh) warmDedupe = dedupe;
    pendingEnv++;
    addTrace(
      `smn delivers ${messageId}${attempt > 0 ? ` (retry ${attempt})` : ''}${fresh ? ' to a fresh instance' : ''}`,
    );
    intakeTrace(intakeDeps(dedupe), trace, {
      region: REGION,
      projectId,
      source: 'smn',
      origin: `smn:${messageId}`,
    }).then(
      () => {
        pendingEnv--;
      },
      (error: unknown) => {
        pendingEnv--;
        addTrace(`intake refused ${messageId}: ${(error as Error).message}`);
        if (attempt < 3)
          envAt(env.int(10_000, 120_000), 'smn-redelivery', () =>
            deliver(messageId, trace, attempt + 1, false),
          );
      },
    );
  };

  const emitTrace = (server: SimServer, traceName: string): void => {
    const messageId = `msg-${++messageSeq}`;
    const trace = {
      trace_name: traceName,
      service_type: 'BMS',
      resource_type: 'bms',
      resource_id: server.id,
      trace_rating: 'normal',
      project_id: projectId,
      code: 200,
      response: JSON.stringify({ server_id: server.id }),
    };
    if (env.next() < scenario.events.dropRate) {
      faults.add('event-dropped');
      addTrace(`smn drops ${messageId} (${traceName} ${server.name})`);
      return;
    }
    const copies = env.next() < scenario.events.duplicateRate ? 2 : 1;
    if (copies === 2) faults.add('event-duplicated');
    for (let i = 0; i < copies; i++) {
      const fresh = i > 0 && env.next() < 0.5;
      envAt(env.int(1000, 30_000) + rangeMs(scenario.events.delaySeconds), 'smn', () =>
        deliver(messageId, trace, 0, fresh),
      );
    }
  };

  // ---- the fleet and the operator ----
  const servers: SimServer[] = [];
  for (let i = 0; i < scenario.servers + scenario.linux; i++) {
    const windows = i < scenario.servers;
    const createAt = env.int(0, 600_000);
    envAt(createAt, 'create', () => {
      const server = cloud.addServer(ids.uuid(), windows);
      servers.push(server);
      addTrace(`cloud creates ${server.name} (${windows ? 'Windows' : 'Linux'})`);
      emitTrace(server, 'createBareMetalServers');
      envAt(rangeMs(scenario.buildSeconds), 'boot', () => bootAndPost(server));
    });
  }
  for (let i = 0; i < scenario.reinstalls; i++) {
    envAt(env.int(60_000, ENV_HORIZON_MS), 'reinstall', () => {
      const candidates = servers.filter((s) => s.windows && s.status === 'ACTIVE');
      if (candidates.length === 0) return;
      const server = candidates[env.int(0, candidates.length - 1)]!;
      faults.add('reinstall');
      cloud.startRebuild(server);
      postedGuests?.killed(server, 'reinstall');
      if (env.next() < scenario.events.reinstallTraceRate) emitTrace(server, 'reinstallOs');
      envAt(rangeMs(scenario.rebuildSeconds), 'reinstall-boot', () => bootAndPost(server));
    });
  }

  // ---- processes: a crash can happen at any I/O boundary they pass ----
  const crashRandom = stream('crashes');
  let crashes = 0;
  const crashNow = (): boolean =>
    crashes < scenario.maxCrashes && scenario.crashRate > 0 && crashRandom.next() < scenario.crashRate;
  const boundary = async <T>(life: Life, where: string, call: () => Promise<T>): Promise<T> => {
    if (life.dead) return never();
    if (crashNow()) return die(life, `before ${where}`);
    let value: T;
    try {
      value = await call();
    } catch (error) {
      if (life.dead) return never();
      if (crashNow()) return die(life, `after ${where}`);
      throw error;
    }
    if (life.dead) return never();
    if (crashNow()) return die(life, `after ${where}`);
    return value;
  };
  const onDeath = new Map<Life, () => void>();
  const die = <T>(life: Life, where: string): Promise<T> => {
    life.dead = true;
    life.reason = where;
    crashes++;
    faults.add('crash');
    onDeath.get(life)?.();
    onDeath.delete(life);
    return never();
  };

  const guardedTransport = (life: Life, inner: HttpTransport): HttpTransport => ({
    send: (request) => boundary(life, `${request.method} ${request.api}`, () => inner.send(request)),
    close: async () => undefined,
  });
  const guardedStore = (life: Life, inner: EscrowStore): EscrowStore => ({
    kind: inner.kind,
    put: (...args) => boundary(life, 'escrow put', () => inner.put(...args)),
    read: (...args) => boundary(life, 'escrow read', () => inner.read(...args)),
    markCleared: (...args) => boundary(life, 'escrow markCleared', () => inner.markCleared(...args)),
    ledger: (...args) => boundary(life, 'escrow ledger', () => inner.ledger(...args)),
  });
  const guardedQueue = (life: Life, inner: WorkQueue): WorkQueue => ({
    enqueue: (...args) => boundary(life, 'enqueue', () => inner.enqueue(...args)),
  });
  const guardedWatches = (life: Life, inner: WatchStore): WatchStore => ({
    read: (...args) => boundary(life, 'watch read', () => inner.read(...args)),
    write: (...args) => boundary(life, 'watch write', () => inner.write(...args)),
  });
  const guardedDlq = (life: Life, inner: DeadLetterQueue): DeadLetterQueue => ({
    send: (...args) => boundary(life, 'dlq send', () => inner.send(...args)),
  });

  // Idle pollers wait for a send or for the next delayed message, never on a fixed tick.
  let waiters: Array<() => void> = [];
  queue.onSend = () => {
    const ready = waiters;
    waiters = [];
    for (const wake of ready) wake();
  };
  const waitForWork = (): Promise<void> =>
    new Promise((resolve) => {
      let done = false;
      const wake = (): void => {
        if (done) return;
        done = true;
        cancel?.();
        resolve();
      };
      const next = queue.nextVisibleAt();
      const cancel =
        next === undefined ? undefined : loop.at(Math.max(next, loop.now()) + env.int(0, 1000), wake, 'poll');
      waiters.push(wake);
    });

  let incarnations = 0;
  const startWorker = (index: number): void => {
    const life = new Life();
    const name = `w${index}.${++incarnations}`;
    const logger = loggerFor(`worker-${name}`);
    const metrics = metricsFor();
    const { bms, rateLimiter, authGuard } = huaweiFor(
      guardedTransport(life, cloud.transport(name)),
      logger,
      metrics,
    );
    const processDeps = processDepsFrom(pipelineConfig, {
      authGuard,
      bmsFor: () => bms,
      rateBudgetFor: () => rateLimiter,
      store: guardedStore(life, store),
      clock: hookClock,
      logger,
    });
    const deps: BatchWorkerDeps = {
      process: processDeps,
      queue: guardedQueue(life, queue),
      dlq: guardedDlq(life, dlq),
      logger,
      metrics,
      concurrency: pipelineConfig.concurrency,
      watches: store.watches && guardedWatches(life, store.watches),
      onOutcome: (item, outcome, updated) => {
        // Counted, not judged: how often a guest's "settled" ended a chain's watch early.
        if (outcome.kind === 'cleared' && guestSettled(updated)) faults.add('posted-settled-chain-cleared');
        addTrace(
          `${name} ${servers.find((s) => s.id === item.serverId)?.name ?? item.serverId}${item.source === 'posted' ? ' (hint)' : ''} → ${outcome.kind}${'reason' in outcome ? ` (${outcome.reason})` : ''}`,
        );
      },
    };
    let busy = false;
    onDeath.set(life, () => {
      addTrace(`${name} dies ${life.reason}`);
      if (busy) {
        busy = false;
        busyWorkers--;
      }
      envAt(env.int(1000, 30_000), 'cold-start', () => startWorker(index));
    });
    const run = async (): Promise<void> => {
      for (;;) {
        if (life.dead) return;
        const messages = queue.receive(scenario.batchSize);
        if (messages.length === 0) {
          await waitForWork();
          continue;
        }
        busy = true;
        busyWorkers++;
        addTrace(`${name} receives ${messages.length} message(s)`);
        const controller = new AbortController();
        const timeoutMs = scenario.lambdaTimeoutSeconds * 1000;
        // Middy's early timeout aborts the batch a little before the runtime kills it.
        const cancelSoft = loop.after(timeoutMs - 1000, () => controller.abort(new Error('lambda timeout')));
        const cancelHard = loop.after(timeoutMs, () => {
          if (!life.dead) void die(life, 'at the Lambda timeout');
        });
        const result = await runBatch(messages, deps, controller.signal);
        cancelSoft();
        cancelHard();
        for (const m of messages) {
          if (result.dispositions.get(m.messageId) !== 'ack') continue;
          try {
            await boundary(life, 'queue delete', () => queue.delete(m.messageId, m.receipt));
          } catch {
            // Not deleted: SQS redelivers it after the visibility timeout.
          }
        }
        busy = false;
        busyWorkers--;
      }
    };
    void run();
  };
  for (let i = 1; i <= scenario.workers; i++) startWorker(i);

  // ---- the sweep ----
  const sweepLogger = loggerFor('sweep');
  const sweepMetrics = metricsFor();
  const sweepHuawei = huaweiFor(cloud.transport('sweep'), sweepLogger, sweepMetrics);
  const sweepDeps: SweepDeps = {
    ...intakeDeps(new DedupeCache(0)),
    logger: sweepLogger,
    metrics: sweepMetrics,
    bmsFor: () => sweepHuawei.bms,
    escrow: store,
  };
  const sweep = (): void => {
    const coversEverything = pendingEnv === 0;
    addTrace('sweep starts');
    runSweep(sweepDeps, { targets: [{ region: REGION, projectId }] }).then(
      (report) => {
        addTrace(
          `sweep done: listed ${report.totals.listed}, enqueued ${report.totals.enqueued}, already-cleared ${report.totals.skipped['already-cleared']}`,
        );
        if (coversEverything) coveredBySweep = true;
        loop.after(scenario.sweepIntervalSeconds * 1000, sweep, 'sweep');
      },
      (error: unknown) => {
        addTrace(`sweep failed: ${(error as Error).message}`);
        loop.after(scenario.sweepIntervalSeconds * 1000, sweep, 'sweep');
      },
    );
  };
  loop.after(scenario.sweepIntervalSeconds * 1000, sweep, 'sweep');

  // ---- run ----
  let logScanned = 0;
  let queueScanned = 0;
  let end: SimResult['end'] = 'quiescent';
  // Quiescent: the world has stopped changing and either the hook has nothing left to do, or
  // nothing it could still do matters (every post escrowed, no record exposed).
  const quiet = (): boolean =>
    pendingEnv === 0 &&
    servers.every((s) => s.pendingClears === 0) &&
    ((busyWorkers === 0 && queue.size === 0 && coveredBySweep) || oracle.settled(servers));
  const outcome = await loop.run({
    maxSteps: options.maxSteps ?? DEFAULT_MAX_STEPS,
    afterStep: () => {
      oracle.scanLines(logLines, logScanned, 'log/metric');
      logScanned = logLines.length;
      oracle.scanLines(queueLines, queueScanned, 'queue');
      queueScanned = queueLines.length;
    },
    done: () => {
      if (quiet()) return true;
      if (pendingEnv === 0) settledSince ??= loop.now();
      if (settledSince !== undefined && loop.now() - settledSince > SETTLE_CAP_MS) {
        end = 'time-cap';
        return true;
      }
      return false;
    },
  });
  if (outcome === 'idle') end = 'idle';
  if (outcome === 'step-limit') end = 'step-limit';
  const degraded = guards.map((g) => g.health()).find((h) => h.degraded)?.detail;
  if (degraded) addTrace(`hook health: degraded (${degraded})`);
  oracle.atQuiescence(servers, dlq.entries, degraded);
  if (cloud.lockouts > 0) addTrace(`the AK/SK was locked ${cloud.lockouts} time(s)`);
  // Beyond the gateway's 15-minute window every signed call fails: that is failure 3's shape.
  if (Math.abs(scenario.skewMs) > 15 * 60_000)
    for (const v of oracle.violations)
      v.tag = `failure 3 (clock skew beyond the gateway's window): ${v.kind}`;
  for (const v of oracle.violations) addTrace(`VIOLATION ${v.kind}: ${v.detail} [${v.tag}]`);
  return {
    scenario,
    steps: loop.steps,
    simSeconds: (loop.now() - START_MS) / 1000,
    end,
    violations: oracle.violations,
    faults: faults.counts,
    trace,
    servers: servers.length,
    posts: oracle.posts.length,
    lockouts: cloud.lockouts,
    surfacedByHealth: oracle.surfacedByHealth,
  };
}
