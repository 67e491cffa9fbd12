/**
 * Fleet-scale benchmark (`npm run bench:fleet`): 1,000 Windows servers created at once against
 * the emulator's documented limits (password GET 50/min, DELETE 50/min, show server 1000/min),
 * under compressed time, worked off by our model scheduler and two baselines under the same
 * limits: fixed 5-second polling (Huawei's Packer plugin) and plain exponential backoff.
 * Prints a side-by-side table and writes bench/results/fleet.json.
 *
 *   FLEET_SERVERS (1000)  FLEET_TIME_SCALE (24)  FLEET_SEED (20251128)
 *   FLEET_SCHEDULERS (model,fixed,exponential)  FLEET_MAX_MINUTES (180)  FLEET_SEQUENTIAL=1
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { startEmulator } from '../emulator/index.ts';
import { clientEnv } from '../lib/local/emulator-env.ts';
import { staticCredentialProvider } from '../lib/huawei/credentials.ts';
import { createHuaweiClients } from '../lib/huawei/huawei-clients.ts';
import { parseHuaweiConfig } from '../lib/huawei/huawei-config.ts';
import type { SchedulerKind } from '../lib/pipeline/pipeline-config.ts';
import { type FleetRunResult, runFleet } from './fleet-run.ts';
import { fleetReport, type LoopbackCost } from './fleet-report.ts';
import { median } from './stats.ts';

const env = process.env;
const servers = Number(env['FLEET_SERVERS'] ?? 1000);
const timeScale = Number(env['FLEET_TIME_SCALE'] ?? 24);
const seed = Number(env['FLEET_SEED'] ?? 20_251_128);
const maxMinutes = Number(env['FLEET_MAX_MINUTES'] ?? 180);
// "model+priority": the model scheduler with the queue handing out due messages in its priority order.
const schedulers = (env['FLEET_SCHEDULERS'] ?? 'model,fixed,exponential').split(',');
const DEADLINE_SECONDS = 7200;
// The local service's LOCAL_BATCH_SIZE / ESCROW_CONCURRENCY, set for a fleet (their maxima are 100 / 64).
const batchSize = Number(env['FLEET_BATCH_SIZE'] ?? 100);
const concurrency = Number(env['FLEET_CONCURRENCY'] ?? 32);

/** What one loopback round trip costs in emulated time at this scale. */
async function measureLoopback(): Promise<LoopbackCost> {
  const emulator = await startEmulator({ seed, timeScale, switches: { rateLimitsEnabled: false } });
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

const started = Date.now();
process.stdout.write(
  `fleet: ${servers} Windows servers, time x${timeScale}, seed ${seed}, schedulers ${schedulers.join(', ')}, worker batch ${batchSize} x concurrency ${concurrency}\n`,
);
const loopback = await measureLoopback();
process.stdout.write(
  `loopback: one signed password GET round trip = ${loopback.realMs.toFixed(2)} ms real = ${(loopback.emulatedMs / 1000).toFixed(2)} s emulated (median of ${loopback.calls})\n`,
);

const run = (label: string) =>
  runFleet({
    scheduler: label.split('+')[0] as SchedulerKind,
    queuePriority: label.endsWith('+priority'),
    label,
    servers,
    timeScale,
    seed,
    maxMinutes,
    deadlineSeconds: DEADLINE_SECONDS,
    batchSize,
    concurrency,
  }).then((r) => {
    process.stdout.write(`  ${label} done in ${r.realSeconds.toFixed(0)} s real\n`);
    return r;
  });
let results: FleetRunResult[];
if (env['FLEET_SEQUENTIAL'] === '1') {
  results = [];
  for (const s of schedulers) results.push(await run(s));
} else {
  results = await Promise.all(schedulers.map(run));
}

const report = fleetReport(results, {
  servers,
  timeScale,
  seed,
  loopback,
  realSeconds: (Date.now() - started) / 1000,
});
process.stdout.write(`\n${report.text}\n`);
const out = resolve(import.meta.dirname, 'results');
await mkdir(out, { recursive: true });
await writeFile(join(out, 'fleet.json'), `${JSON.stringify(report.json, null, 2)}\n`);
process.stdout.write(`\nwrote ${join(out, 'fleet.json')}\n`);
