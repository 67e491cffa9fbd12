/**
 * Fleet-scale benchmark (`npm run bench:fleet`): N Windows servers created at once against the
 * emulator's documented limits (password GET 50/min, DELETE 50/min, show server 1000/min),
 * under compressed time, worked off by our model scheduler and two baselines under the same
 * limits: fixed 5-second polling (Huawei's Packer plugin) and plain exponential backoff. A
 * share h of the guests runs the `posted` snippet (guest/posted-notify.ps1, emulated) and
 * notifies the hook's POST /posted 1–5 s after posting.
 * Every configuration runs over several seeds, one run after another (never in parallel, so
 * one run's load does not slow another's worker), and the table gives the median and the
 * spread (min–max over seeds) of each figure. Writes bench/results/fleet.json.
 *
 *   FLEET_SERVERS (1000)  FLEET_NOTIFY (0,0.5,1)  FLEET_NOTIFY_LOSS (0)
 *   FLEET_SEEDS (3: 20251128, +1, +2; or a list)
 *   FLEET_SCHEDULERS (model,fixed,exponential)  FLEET_BASELINE_NOTIFY (the lowest h)
 *   FLEET_TIME_SCALE (24)  FLEET_MAX_MINUTES (180)  FLEET_PARALLEL=1
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { startEmulator } from '../emulator/index.ts';
import { staticCredentialProvider } from '../lib/huawei/credentials.ts';
import { createHuaweiClients } from '../lib/huawei/huawei-clients.ts';
import { parseHuaweiConfig } from '../lib/huawei/huawei-config.ts';
import { clientEnv } from '../lib/local/emulator-env.ts';
import type { SchedulerKind } from '../lib/pipeline/pipeline-config.ts';
import { fleetReport, type LoopbackCost } from './fleet-report.ts';
import { type FleetRunOptions, type FleetRunResult, runFleet } from './fleet-run.ts';
import { median } from './stats.ts';

const env = process.env;
const numbers = (name: string, fallback: string): number[] => {
  const values = (env[name] ?? fallback).split(',').map((v) => Number(v.trim()));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v)))
    throw new Error(`${name} must be a comma-separated list of numbers, got "${env[name]}"`);
  return values;
};
const servers = numbers('FLEET_SERVERS', '1000')[0]!;
const notify = numbers('FLEET_NOTIFY', '0,0.5,1');
if (notify.some((h) => h < 0 || h > 1)) throw new Error('FLEET_NOTIFY values must be between 0 and 1');
const notifyLossRate = numbers('FLEET_NOTIFY_LOSS', '0')[0]!;
const baseSeed = 20_251_128;
// One number below 100 is a count of seeds from the base; anything else is the list itself.
const seedsEnv = numbers('FLEET_SEEDS', env['FLEET_SEED'] ?? '3');
const seeds =
  seedsEnv.length === 1 && seedsEnv[0]! < 100
    ? Array.from({ length: seedsEnv[0]! }, (_, i) => baseSeed + i)
    : seedsEnv;
// Every real millisecond the worker, the endpoint or the emulated guest takes becomes
// `timeScale` emulated ms. At x24 a loaded machine adds a few seconds to an exposure; at x240
// the h > 0 figures (seconds) are inflated tenfold and the emulated guest misses notifications.
const timeScale = numbers('FLEET_TIME_SCALE', '24')[0]!;
const maxMinutes = numbers('FLEET_MAX_MINUTES', '180')[0]!;
const schedulers = (env['FLEET_SCHEDULERS'] ?? 'model,fixed,exponential').split(',');
// The baselines are today's hook without the snippet; they run at the lowest h unless told.
const baselineNotify = numbers('FLEET_BASELINE_NOTIFY', String(Math.min(...notify)));
const DEADLINE_SECONDS = 7200;
// The local service's LOCAL_BATCH_SIZE / ESCROW_CONCURRENCY, set for a fleet (their maxima are 100 / 64).
const batchSize = Number(env['FLEET_BATCH_SIZE'] ?? 100);
const concurrency = Number(env['FLEET_CONCURRENCY'] ?? 32);
// The client's headroom for arrival jitter is given in real ms and scaled by the clock; at the
// default 50 ms a compressed clock would cost the hook tokens it has in production. One token
// gap (1.2 s of clock time) keeps the hook's real 48/min at any scale; 429s would show it.
const rateJitterMs = Math.min(50, 1200 / timeScale);

/** What one loopback round trip costs in emulated time at this scale. */
async function measureLoopback(): Promise<LoopbackCost> {
  const emulator = await startEmulator({ seed: baseSeed, timeScale, switches: { rateLimitsEnabled: false } });
  const clients = createHuaweiClients(
    parseHuaweiConfig({
      ...clientEnv(emulator),
      HUAWEICLOUD_RATE_LIMITS: 'server.get=1000000,password.get=1000000',
    }),
    {
      credentials: staticCredentialProvider({ accessKey: emulator.accessKey, secretKey: emulator.secretKey }),
      clock: emulator.clock,
    },
  );
  try {
    const id = emulator.admin.createServers({
      windows: 1,
      linux: 0,
      bootDelaySeconds: 0,
      postDelaySeconds: 0,
    }).windowsIds[0]!;
    const times: number[] = [];
    for (let i = 0; i < 220; i++) {
      const start = performance.now();
      await clients.bms.getPassword(emulator.projectId, id);
      if (i >= 20) times.push(performance.now() - start);
    }
    const realMs = median(times);
    return { realMs, emulatedMs: realMs * timeScale, calls: times.length };
  } finally {
    await clients.close();
    await emulator.close();
  }
}

const configs: Array<{ scheduler: string; notifyFraction: number }> = [];
for (const scheduler of schedulers)
  for (const h of scheduler.startsWith('model') ? notify : baselineNotify)
    configs.push({ scheduler, notifyFraction: h });

const started = Date.now();
const load = loadavg();
process.stdout.write(
  `fleet: ${servers} Windows servers, time x${timeScale}, seeds ${seeds.join(', ')}, ${configs.length} configurations × ${seeds.length} seeds, worker batch ${batchSize} x concurrency ${concurrency}\n` +
    `machine: ${cpus().length} cores, load average ${load.map((l) => l.toFixed(1)).join(' ')} at the start\n`,
);
const loopback = await measureLoopback();
process.stdout.write(
  `loopback: one signed password GET round trip = ${loopback.realMs.toFixed(2)} ms real = ${(loopback.emulatedMs / 1000).toFixed(2)} s emulated (median of ${loopback.calls})\n`,
);

const run = (config: (typeof configs)[number], seed: number): Promise<FleetRunResult> => {
  const options: FleetRunOptions = {
    scheduler: config.scheduler as SchedulerKind,
    label: config.scheduler,
    notifyFraction: config.notifyFraction,
    servers,
    timeScale,
    seed,
    maxMinutes,
    deadlineSeconds: DEADLINE_SECONDS,
    batchSize,
    concurrency,
    rateJitterMs,
    notifyLossRate,
  };
  return runFleet(options).then((r) => {
    process.stdout.write(
      `  ${config.scheduler} h=${config.notifyFraction} seed ${seed} done in ${r.realSeconds.toFixed(0)} s real\n`,
    );
    return r;
  });
};
const jobs = configs.flatMap((c) => seeds.map((seed) => () => run(c, seed)));
let results: FleetRunResult[];
if (env['FLEET_PARALLEL'] === '1') {
  results = await Promise.all(jobs.map((job) => job()));
} else {
  results = [];
  for (const job of jobs) results.push(await job());
}

const report = fleetReport(results, {
  servers,
  timeScale,
  seeds,
  loopback,
  loadAverage: [load, loadavg()],
  realSeconds: (Date.now() - started) / 1000,
});
process.stdout.write(`\n${report.text}\n`);
const out = resolve(import.meta.dirname, 'results');
await mkdir(out, { recursive: true });
await writeFile(join(out, 'fleet.json'), `${JSON.stringify(report.json, null, 2)}\n`);
process.stdout.write(`\nwrote ${join(out, 'fleet.json')}\n`);
