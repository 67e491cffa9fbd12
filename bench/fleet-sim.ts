/**
 * The fleet benchmark's scheduling question on simulated time (`npm run bench:fleet-sim`): N
 * Windows servers created at once, booting and posting as the emulator's 'realistic' guests do,
 * worked off by the real code (the SQLite queue `serve` uses, the batch worker, the per-server
 * state machine, the signed BMS client with its token buckets) on the simulator's clock
 * (harness/sim), against a quiet cloud that enforces the documented limits.
 *
 * Nothing here waits for a core, so a run takes seconds, is the same on a loaded machine, and
 * the same seed gives the same figures: a place to compare scheduling ideas before spending
 * `npm run bench:fleet`'s real minutes on them. What it leaves out is what the real bench adds:
 * the worker's CPU time, stretched 24× by the compressed clock.
 *
 *   FLEET_SERVERS (1000)  FLEET_SEEDS (3 from 20251128, or a list)  FLEET_SCHEDULERS (model,fixed)
 *   FLEET_BATCH_SIZE (100)  FLEET_CONCURRENCY (32)  FLEET_SIM_TRACE=1 (a line per minute)
 *   FLEET_PULL_FORWARD=0 (no look ahead of its time on a spare token; serve does look)
 *   ESCROW_* as for the worker.
 */
import { planDelays } from '../emulator/post-delays.ts';
import { createRandom, deriveSeed } from '../emulator/seeded-random.ts';
import { FaultCounts, SimCloud, type SimServer } from '../harness/sim/fake-cloud.ts';
import { SimEscrowStore } from '../harness/sim/fake-escrow-store.ts';
import { drawScenario, quietScenario, type SimScenario } from '../harness/sim/scenario.ts';
import { SimLoop } from '../harness/sim/sim-loop.ts';
import { AuthGuard } from '../lib/huawei/auth-guard.ts';
import { BmsClient } from '../lib/huawei/bms-client.ts';
import { staticCredentialProvider } from '../lib/huawei/credentials.ts';
import { RateLimiter } from '../lib/huawei/rate-limiter.ts';
import { SignedCaller } from '../lib/huawei/signed-call.ts';
import { silentLogger } from '../lib/observability/logger.ts';
import { nullMetrics } from '../lib/observability/metrics.ts';
import { parsePipelineConfig } from '../lib/pipeline/pipeline-config.ts';
import { processDepsFrom } from '../lib/pipeline/process-deps.ts';
import { SqliteQueue } from '../lib/queue/sqlite-queue.ts';
import { spareTokenLook, workPriority } from '../lib/worker/batch-worker.ts';
import { QueueWorker } from '../lib/worker/local-queue-worker.ts';
import { hookGetRatePerMinute, oracleExposures } from './fleet-report.ts';
import { rushFigures } from './fleet-run.ts';
import { formatTable, median, percentile } from './stats.ts';

const START_MS = Date.UTC(2026, 11, 1, 0, 0, 0);
const MINUTE = 60_000;
const REGION = 'cn-north-4';
const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const CREDENTIALS = {
  accessKey: 'SIMAK6Q2W9E4R7T1Y3U8',
  secretKey: 'simsk0f3e8d2c7b1a6958473625140fedcba9876',
};
/** A fixed pool of ciphertexts (the redactor's registry is process-wide and bounded). */
const POOL = (() => {
  const r = createRandom(0x5eed);
  return Array.from({ length: 256 }, () => `${r.chars(342, BASE64)}==`);
})();

export interface FleetSimOptions {
  servers: number;
  seed: number;
  /** ESCROW_* variables for the worker (ESCROW_SCHEDULER picks the scheduler). */
  env: Record<string, string | undefined>;
  batchSize: number;
  concurrency: number;
  /** Spend tokens nothing due wants on the likeliest waiting server, as `serve` does (default true). */
  pullForward?: boolean | undefined;
  /** Called once per simulated minute with what the worker and the queue looked like. */
  onMinute?: ((line: string) => void) | undefined;
}

export interface FleetSimResult {
  exposureP95Seconds: number;
  exposureMedianSeconds: number;
  oracleP95Seconds: number;
  passwordGetsPerServer: number;
  unspentTokensPerRushMinute: number;
  rushMinutes: number;
  rateLimited: number;
  deadLettered: number;
  cleared: number;
  makespanMinutes: number;
  /** Password GETs per server by what they found: the record, nothing yet, or nothing after our clear. */
  getsPerServer: { found: number; empty: number; afterClear: number };
}

/** A cloud with no faults: the documented limits, a round trip of 40–200 ms, 204 on DELETE. */
function fleetScenario(seed: number, servers: number): SimScenario {
  const s = drawScenario(seed);
  quietScenario(s);
  return {
    ...s,
    servers,
    linux: 0,
    huawei: { ...s.huawei, deleteStatus: 204, latencyMs: [20, 100] },
    store: { ...s.store, latencyMs: [2, 10] },
  };
}

export async function runFleetSim(options: FleetSimOptions): Promise<FleetSimResult> {
  const { seed } = options;
  const scenario = fleetScenario(seed, options.servers);
  const stream = (name: string) => createRandom(deriveSeed(seed, name));
  const loop = new SimLoop(START_MS, stream('schedule'));
  const clock = loop.clock();
  const posts = new Map<string, number>();
  const clears = new Map<string, number>();
  const gets: number[] = [];
  let throttled = 0;
  /** GETs that found a record, found nothing before it, or came after its clear (verify, repost watch). */
  const getKinds = { found: 0, empty: 0, afterClear: 0 };
  let lastKinds = { ...getKinds };
  const cloud = new SimCloud({
    loop,
    observer: {
      onPost: (server) => posts.set(server.id, loop.now()),
      onClear: (server, ciphertext) => {
        if (ciphertext !== undefined && !clears.has(server.id)) clears.set(server.id, loop.now());
      },
      onRebuildWipe: () => undefined,
    },
    scenario,
    random: stream('cloud'),
    faults: new FaultCounts(),
    projectId: stream('ids').hex(32),
    trace: () => undefined,
  });
  const inner = cloud.transport('worker');
  const transport = {
    send: async (request: Parameters<typeof inner.send>[0]) => {
      const response = await inner.send(request);
      if (response.status === 429) throttled++;
      else if (request.api === 'password.get') {
        gets.push(loop.now() - START_MS);
        const id = request.url.pathname.split('/')[4] ?? '';
        const kind = clears.has(id) ? 'afterClear' : cloud.servers.get(id)?.record ? 'found' : 'empty';
        getKinds[kind]++;
      }
      return response;
    },
    close: async () => undefined,
  };
  const store = new SimEscrowStore({
    loop,
    random: stream('store'),
    scenario,
    faults: new FaultCounts(),
    observer: { onDurable: () => undefined, onReadBack: () => undefined },
  });
  // The fleet bench's client: 48 of the 50 GETs a minute, 750 of the 1000 shows (the rest are
  // the POST /posted endpoint's).
  const rateLimiter = new RateLimiter({
    clock,
    limitsPerMinute: { 'server.get': 750 },
    jitterAllowanceMs: 1200,
  });
  const authGuard = new AuthGuard({ now: () => clock.now() });
  const caller = new SignedCaller({
    authGuard,
    transport,
    credentials: staticCredentialProvider(CREDENTIALS),
    clock,
    rateLimiter,
    random: () => 0.5,
    logger: silentLogger,
    metrics: nullMetrics,
    signingTime: () => new Date(clock.now()),
  });
  const bms = new BmsClient({ caller, endpoint: new URL('https://bms.cn-north-4.myhuaweicloud.com') });
  const config = parsePipelineConfig({ ESCROW_DEADLINE_SECONDS: '7200', ...options.env });
  config.concurrency = options.concurrency;
  const process = processDepsFrom(config, {
    authGuard,
    bmsFor: () => bms,
    rateBudgetFor: () => rateLimiter,
    store,
    clock,
    logger: silentLogger,
  });
  const queue = new SqliteQueue({
    database: ':memory:',
    clock,
    priority: workPriority(process.scheduler, process.deadlineSeconds),
  });

  // The fleet: created at once, each booting and posting on the emulator's 'realistic' draws.
  const delays = stream('delays');
  const servers: SimServer[] = [];
  for (let i = 0; i < options.servers; i++) {
    const server = cloud.addServer(stream(`id-${i}`).uuid(), true);
    servers.push(server);
    const plan = planDelays({ distribution: 'realistic', bootDelaySeconds: 0, postDelaySeconds: 0 }, delays);
    loop.after(plan.bootMs, () => {
      cloud.boot(server);
      loop.after(plan.postMs, () => cloud.guestPost(server, POOL[i % POOL.length]!, 'first'));
    });
  }
  const firstSeenAt = new Date(START_MS).toISOString();
  await queue.enqueue(
    servers.map((s) => ({
      v: 1 as const,
      projectId: cloud.projectId,
      region: REGION,
      serverId: s.id,
      firstSeenAt,
      attempt: 0,
      source: 'direct' as const,
    })),
  );

  // The local worker's loop (local-queue-worker.ts), its idle wait of 20 ms real (× 24) on the
  // simulated clock.
  const worker = new QueueWorker({
    queue,
    batch: {
      process,
      queue,
      dlq: queue,
      logger: silentLogger,
      metrics: nullMetrics,
      concurrency: options.concurrency,
    },
    logger: silentLogger,
    batchSize: options.batchSize,
    idlePollMs: 20,
    retryDelaySeconds: 30,
    pullForward: options.pullForward === false ? undefined : spareTokenLook(process),
  });
  let stop = false;
  const working = (async () => {
    while (!stop) if ((await worker.runOnce()) === 0) await loop.sleep(480);
  })();

  let lastMinuteGets = 0;
  const minuteTick = (): void => {
    if (stop) return;
    const now = loop.now();
    const posted = [...posts.entries()].filter(([id]) => !clears.has(id)).length;
    void queue.depth().then((d) => {
      const k = (name: keyof typeof getKinds): string => String(getKinds[name] - lastKinds[name]).padStart(2);
      options.onMinute?.(
        `${String(Math.round((now - START_MS) / MINUTE)).padStart(3)} min: GETs ${String(gets.length - lastMinuteGets).padStart(2)} (found ${k('found')}, empty ${k('empty')}, after the clear ${k('afterClear')}), posted and not cleared ${String(posted).padStart(4)}, queue due ${String(d.visible).padStart(4)} / later ${String(d.invisible).padStart(4)}`,
      );
      lastMinuteGets = gets.length;
      lastKinds = { ...getKinds };
    });
    loop.after(MINUTE, minuteTick);
  };
  loop.after(MINUTE, minuteTick);

  await loop.run({
    maxSteps: Number.POSITIVE_INFINITY,
    afterStep: () => undefined,
    done: () =>
      (clears.size === servers.length && posts.size === servers.length) ||
      loop.now() - START_MS > 180 * MINUTE,
  });
  stop = true;
  const deadLettered = (await queue.deadLetters()).length;
  queue.close();
  void working;

  const exposures = servers.flatMap((s) => {
    const post = posts.get(s.id);
    const clear = clears.get(s.id);
    return post !== undefined && clear !== undefined ? [clear - post] : [];
  });
  // The GET that found a record is not observed directly: the clear follows it within seconds,
  // which is all the rush figure needs (a minute's resolution).
  const rush = rushFigures(
    gets,
    servers.flatMap((s) => {
      const post = posts.get(s.id);
      const clear = clears.get(s.id);
      return post === undefined
        ? []
        : [[post - START_MS, clear === undefined ? Infinity : clear - START_MS] as const];
    }),
    hookGetRatePerMinute(),
  );
  const oracle = oracleExposures(
    [...posts.values()].map((p) => p - START_MS),
    hookGetRatePerMinute(),
  );
  return {
    exposureP95Seconds: percentile(exposures, 95) / 1000,
    exposureMedianSeconds: median(exposures) / 1000,
    oracleP95Seconds: percentile(oracle, 95) / 1000,
    passwordGetsPerServer: gets.length / servers.length,
    unspentTokensPerRushMinute: rush.minutes > 0 ? rush.unspentTokens / rush.minutes : 0,
    rushMinutes: rush.minutes,
    rateLimited: throttled,
    deadLettered,
    cleared: clears.size,
    makespanMinutes: (Math.max(...clears.values()) - START_MS) / MINUTE,
    getsPerServer: {
      found: getKinds.found / servers.length,
      empty: getKinds.empty / servers.length,
      afterClear: getKinds.afterClear / servers.length,
    },
  };
}

if (import.meta.main) {
  const env = process.env;
  const servers = Number(env['FLEET_SERVERS'] ?? 1000);
  const seedsEnv = (env['FLEET_SEEDS'] ?? '3').split(',').map(Number);
  const seeds =
    seedsEnv.length === 1 && seedsEnv[0]! < 100
      ? Array.from({ length: seedsEnv[0]! }, (_, i) => 20_251_128 + i)
      : seedsEnv;
  const schedulers = (env['FLEET_SCHEDULERS'] ?? 'model,fixed').split(',');
  const escrowEnv = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('ESCROW_')));
  const rows: string[][] = [];
  const min = (s: number): string => `${(s / 60).toFixed(1)}`;
  for (const scheduler of schedulers) {
    const results: FleetSimResult[] = [];
    for (const seed of seeds) {
      const started = Date.now();
      const r = await runFleetSim({
        servers,
        seed,
        env: { ...escrowEnv, ESCROW_SCHEDULER: scheduler },
        batchSize: Number(env['FLEET_BATCH_SIZE'] ?? 100),
        concurrency: Number(env['FLEET_CONCURRENCY'] ?? 32),
        pullForward: env['FLEET_PULL_FORWARD'] !== '0',
        onMinute:
          env['FLEET_SIM_TRACE'] === '1' ? (line) => console.log(`  ${scheduler} ${line}`) : undefined,
      });
      console.log(
        `${scheduler} seed ${seed}: p95 ${min(r.exposureP95Seconds)} min, median ${min(r.exposureMedianSeconds)} min, oracle p95 ${min(r.oracleP95Seconds)} min, GETs/server ${r.passwordGetsPerServer.toFixed(2)} (found ${r.getsPerServer.found.toFixed(2)}, empty ${r.getsPerServer.empty.toFixed(2)}, after the clear ${r.getsPerServer.afterClear.toFixed(2)}), unspent/rush min ${r.unspentTokensPerRushMinute.toFixed(1)} (${r.rushMinutes} min), 429s ${r.rateLimited}, dead ${r.deadLettered}, cleared ${r.cleared}, makespan ${r.makespanMinutes.toFixed(0)} min (${((Date.now() - started) / 1000).toFixed(0)} s real)`,
      );
      results.push(r);
    }
    const spread = (f: (r: FleetSimResult) => number, fmt: (v: number) => string): string => {
      const v = results.map(f);
      return `${fmt(median(v))} [${fmt(Math.min(...v))}–${fmt(Math.max(...v))}]`;
    };
    rows.push([
      scheduler,
      spread((r) => r.exposureP95Seconds, min),
      spread((r) => r.exposureMedianSeconds, min),
      spread(
        (r) => r.passwordGetsPerServer,
        (v) => v.toFixed(2),
      ),
      spread(
        (r) => r.unspentTokensPerRushMinute,
        (v) => v.toFixed(1),
      ),
    ]);
  }
  console.log(
    `\n${formatTable({ title: `fleet-sim: ${servers} servers, seeds ${seeds.join(', ')} (median [min–max])`, columns: ['scheduler', 'p95 (min)', 'median (min)', 'GETs/server', 'unspent/rush min'], rows })}`,
  );
}
