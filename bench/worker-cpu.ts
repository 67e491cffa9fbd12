/**
 * Worker CPU time per server, excluding the network wait: user + system CPU of a child
 * process running our SQS batch logic (runBatch over createWorkerRuntime) on batches of ACTIVE
 * Windows servers whose passwords are posted, against the same number of GET→DELETE pairs
 * made through the official SDK. The emulator (high time scale) and fauxqs run in this
 * process, so neither side is charged for the far end's work.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../lib/clock.ts';
import { bundleSource, repoRoot, scratchDir } from './bundle.ts';
import { runProbeOnce } from './fresh-process.ts';
import { bundleSdkStandIn, huaweiCalls, startFunctionWires } from './function-wires.ts';
import type { BatchCase, BatchCpuResult } from './probes/batch-driver.ts';
import { type BenchSection, runStandalone } from './report.ts';
import { formatMs, formatRatio, summarize } from './stats.ts';

const PROBE = join(repoRoot, 'bench', 'probes', 'batch-cpu.ts');
const TIME_SCALE = 1000;
/** Servers per side, measured; split over ROUNDS processes run alternately (ours, SDK, ours, SDK). */
const SERVERS = 200;
const ROUNDS = 2;
/** The SQS event source mapping's default batch size. */
const BATCH_SIZE = 10;
const CONCURRENCY = 4;
/** Past the model scheduler's first check (~145 s after ACTIVE), on the emulated clock. */
const AGE_BEFORE_RUN_MS = 10 * 60_000;

type Side = 'ours' | 'sdk';
const SIDES: readonly Side[] = ['ours', 'sdk'];

/** A scaledClock's epoch (now = epoch + (real − epoch) × scale), so a child can rebuild it. */
function scaledClockEpoch(clock: Clock): number {
  const real = Date.now();
  return Math.round((real * clock.scale - clock.now()) / (clock.scale - 1));
}

function chunk(ids: readonly string[], size: number): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += size) out.push(ids.slice(i, i + size));
  return out;
}

interface SideRuns {
  cpuMs: number[];
  wallMs: number[];
  servers: number;
  /** Huawei calls counted by the emulator over whole processes, and the servers (warm-up too) they were for. */
  calls: number;
  callServers: number;
}

const emptyRuns = (): SideRuns => ({ cpuMs: [], wallMs: [], servers: 0, calls: 0, callServers: 0 });

function summarizeSide(r: SideRuns) {
  const cpuMsPerServer = r.cpuMs.reduce((a, b) => a + b, 0) / r.servers;
  const huaweiCallsPerServer = r.calls / r.callServers;
  return {
    servers: r.servers,
    batches: r.cpuMs.length,
    cpuMsPerBatch: summarize(r.cpuMs),
    wallMsPerBatch: summarize(r.wallMs),
    cpuMsPerServer,
    huaweiCallsPerServer,
    cpuMsPerCall: cpuMsPerServer / huaweiCallsPerServer,
  };
}

export async function runWorkerCpuBench(): Promise<BenchSection> {
  const { dir, cleanup } = await scratchDir();
  // Limits off on both sides: every server finishes in one pass, so the figure is CPU, not budget.
  const wires = await startFunctionWires({ timeScale: TIME_SCALE, switches: { rateLimitsEnabled: false } });
  try {
    const { admin, clock } = wires.emulator;
    const driver = join(repoRoot, 'bench', 'probes', 'pipeline-batch.ts');
    const bundles: Record<Side, string> = {
      ours: (await bundleSource(`export * from ${JSON.stringify(driver)};`, join(dir, 'ours.js'))).file,
      sdk: (await bundleSdkStandIn(join(dir, 'sdk.js'))).file,
    };
    const perRound = SERVERS / ROUNDS;
    const ids = admin.createServers({
      windows: ROUNDS * SIDES.length * (BATCH_SIZE + perRound),
      linux: 0,
      bootDelaySeconds: 0,
      postDelaySeconds: 0,
    }).windowsIds;
    await clock.sleep(AGE_BEFORE_RUN_MS);

    const env = {
      ...wires.env(join(dir, 'escrow')),
      ESCROW_CONCURRENCY: String(CONCURRENCY),
      HUAWEICLOUD_RATE_LIMITS: 'password.get=1000000,password.delete=1000000,server.get=1000000',
      // One escrow-then-clear pass per server: the repost and launch watches after the clear are
      // later passes, priced by the fleet bench.
      ESCROW_REPOST_WATCH_SECONDS: '0',
      ESCROW_POST_CLEAR_WATCH_SECONDS: '0',
    };
    const results: Record<Side, SideRuns> = { ours: emptyRuns(), sdk: emptyRuns() };
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of SIDES) {
        // Each process gets servers no other has touched: a cleared server would be cheaper.
        const warmup = ids.splice(0, BATCH_SIZE);
        const measured = ids.splice(0, perRound);
        const batchCase: BatchCase = {
          env,
          clock: { scale: clock.scale, epochMs: scaledClockEpoch(clock) },
          concurrency: CONCURRENCY,
          warmup,
          batches: chunk(measured, BATCH_SIZE),
        };
        const caseFile = join(dir, `${side}-${round}.json`);
        await writeFile(caseFile, JSON.stringify(batchCase));
        const callsBefore = huaweiCalls(wires.emulator);
        const result = (await runProbeOnce(PROBE, [bundles[side], caseFile]))
          .result as unknown as BatchCpuResult;
        const stillPosted = [...warmup, ...measured].filter((id) => admin.server(id)?.ciphertext !== null);
        if (result.cleared !== result.servers || stillPosted.length > 0)
          throw new Error(
            `${side}: cleared ${result.cleared} of ${result.servers} servers, ${stillPosted.length} still posted`,
          );
        const r = results[side];
        r.cpuMs.push(...result.cpuMs);
        r.wallMs.push(...result.wallMs);
        r.servers += result.servers;
        r.calls += huaweiCalls(wires.emulator) - callsBefore;
        r.callServers += warmup.length + measured.length;
      }
    }

    const ours = summarizeSide(results.ours);
    const sdk = summarizeSide(results.sdk);
    const row = (label: string, f: typeof ours): string[] => [
      label,
      String(f.servers),
      f.huaweiCallsPerServer.toFixed(1),
      formatMs(f.cpuMsPerBatch.median),
      formatMs(f.cpuMsPerBatch.p95),
      formatMs(f.cpuMsPerServer),
      formatMs(f.cpuMsPerCall),
      formatMs(f.wallMsPerBatch.median),
    ];
    return {
      id: 'worker-cpu',
      title: 'Worker CPU time per server, excluding the network wait (ours vs official SDK)',
      status: 'ok',
      notes: [
        `each side: ${SERVERS} ACTIVE Windows servers with posted passwords, in batches of ${BATCH_SIZE} (${CONCURRENCY} at a time), over ${ROUNDS} child processes run alternately; one unmeasured warm-up batch per process`,
        'CPU = process.cpuUsage() user+system of the child around each batch (all its threads); the emulator and fauxqs run in the parent and are not counted; waiting on the network is not CPU',
        'ours includes: SQS body parse, priority ordering, show-server GET, password GET, SDK-HMAC-SHA256 signing, undici transport, rate-limiter bookkeeping, file escrow put + read-back + markCleared + ledger, DELETE, verify GET, JSON log and EMF metric lines to stdout',
        'SDK includes: the official client (ECS stand-in, bench/probes/sdk-bms-password.ts) signing and sending the bare GET → DELETE pair over axios; no escrow, no show/verify calls, no logs',
        `not included on either side: Node start-up and module load, the SQS receive/delete around a batch (Lambda's event source mapping); rate limits are off (emulator switch + HUAWEICLOUD_RATE_LIMITS) so no server is deferred; emulator time ×${TIME_SCALE}`,
      ],
      tables: [
        {
          title: 'CPU milliseconds, user+system (lower is better); ratio = ours / SDK per server',
          columns: [
            'side',
            'servers',
            'Huawei calls/server',
            `CPU ms/batch of ${BATCH_SIZE}`,
            'p95',
            'CPU ms/server',
            'CPU ms/call',
            'wall ms/batch',
          ],
          rows: [
            row('ours: worker runBatch', ours),
            row('official SDK: GET→DELETE', sdk),
            [
              'ours/SDK',
              '',
              formatRatio(ours.huaweiCallsPerServer, sdk.huaweiCallsPerServer),
              formatRatio(ours.cpuMsPerBatch.median, sdk.cpuMsPerBatch.median),
              formatRatio(ours.cpuMsPerBatch.p95, sdk.cpuMsPerBatch.p95),
              formatRatio(ours.cpuMsPerServer, sdk.cpuMsPerServer),
              formatRatio(ours.cpuMsPerCall, sdk.cpuMsPerCall),
              formatRatio(ours.wallMsPerBatch.median, sdk.wallMsPerBatch.median),
            ],
          ],
        },
      ],
      data: { timeScale: TIME_SCALE, batchSize: BATCH_SIZE, concurrency: CONCURRENCY, ours, sdk },
    };
  } finally {
    await wires.close();
    await cleanup();
  }
}

if (import.meta.main) await runStandalone(runWorkerCpuBench);
