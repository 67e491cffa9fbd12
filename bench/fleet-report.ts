/** Figures and the side-by-side table of the fleet benchmark (pure: printed text and JSON agree). */
import { API_LIMITS_PER_MINUTE } from '../lib/huawei/api-names.ts';
import { bucketShapeFor } from '../lib/huawei/rate-limiter.ts';
import type { FleetRunResult } from './fleet-run.ts';
import { formatBytes, formatTable, median, percentile } from './stats.ts';

const MINUTE = 60_000;

export interface LoopbackCost {
  realMs: number;
  emulatedMs: number;
  calls: number;
}

export interface FleetContext {
  servers: number;
  timeScale: number;
  seed: number;
  loopback: LoopbackCost;
  realSeconds: number;
}

const min = (ms: number): string => (ms / MINUTE).toFixed(1);

function quantiles(values: number[]): Record<string, number> {
  return {
    p5: percentile(values, 5),
    p25: percentile(values, 25),
    p50: percentile(values, 50),
    p75: percentile(values, 75),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    max: Math.max(...values),
  };
}

/**
 * The exposure an oracle would get: it knows every post time, spends exactly one finding GET per
 * server in post order at the API limit, then the DELETE at the API limit, and defers every
 * verify until the rush is over. No scheduler under the same limits can beat it.
 */
export function oracleExposures(postMs: readonly number[], perMinute: number): number[] {
  const gap = MINUTE / perMinute;
  let lastGet = Number.NEGATIVE_INFINITY;
  let lastDelete = Number.NEGATIVE_INFINITY;
  return [...postMs]
    .sort((a, b) => a - b)
    .map((post) => {
      const get = Math.max(post, lastGet + gap);
      const del = Math.max(get, lastDelete + gap);
      lastGet = get;
      lastDelete = del;
      return del - post;
    });
}

export function fleetReport(results: FleetRunResult[], ctx: FleetContext): { text: string; json: unknown } {
  const base = results[0]!;
  const posts = base.servers.flatMap((s) => (s.postMs === null ? [] : [s.postMs]));
  const afterActive = base.servers.flatMap((s) => (s.postMs === null ? [] : [s.postMs - s.activeMs]));
  const within5to15 =
    afterActive.filter((ms) => ms >= 5 * MINUTE && ms <= 15 * MINUTE).length / afterActive.length;
  const samePosts = results.every((r) => r.servers.every((s, i) => s.postMs === base.servers[i]!.postMs));

  // The lower bound on the makespan. Every server needs at least two password GETs (the one that
  // finds the record and the verify after the DELETE) and one DELETE, on 50/min budgets each; and
  // no server can be cleared before it posts.
  const n = ctx.servers;
  const getLimit = API_LIMITS_PER_MINUTE['password.get'];
  const deleteLimit = API_LIMITS_PER_MINUTE['password.delete'];
  const lastPostMs = Math.max(...posts);
  const getBoundMs = ((2 * n) / getLimit) * MINUTE;
  const deleteBoundMs = (n / deleteLimit) * MINUTE;
  const boundMs = Math.max(lastPostMs, getBoundMs, deleteBoundMs);
  const bucket = bucketShapeFor(getLimit, 50 * ctx.timeScale);
  const clientGetBoundMs = Math.max(0, ((2 * n - bucket.capacity) / bucket.refillPerMinute) * MINUTE);

  const oracle = oracleExposures(posts, Math.min(getLimit, deleteLimit));
  const oracleSummary = {
    medianMs: median(oracle),
    p95Ms: percentile(oracle, 95),
    maxMs: Math.max(...oracle),
  };

  const rows = results.map((r) => {
    const exposures = r.servers.flatMap((s) => (s.exposureMs === null ? [] : [s.exposureMs]));
    const gets = r.servers.map((s) => s.gets);
    const deletes = r.servers.map((s) => s.deletes);
    const cleared = exposures.length;
    return {
      scheduler: r.scheduler,
      cleared,
      finished: r.finished,
      exposure: exposures.length
        ? { medianMs: median(exposures), p95Ms: percentile(exposures, 95), maxMs: Math.max(...exposures) }
        : undefined,
      makespanMs: r.makespanMs,
      makespanOverBound: r.makespanMs / boundMs,
      getsPerServer: gets.reduce((a, b) => a + b, 0) / n,
      deletesPerServer: deletes.reduce((a, b) => a + b, 0) / n,
      getsMax: Math.max(...gets),
      throttled: r.throttled,
      throttledTotal: Object.values(r.throttled).reduce((a, b) => a + b, 0),
      deadLetters: r.deadLetters,
      deadLettered: Object.values(r.deadLetters).reduce((a, b) => a + b, 0),
      worker: r.worker,
      realSeconds: r.realSeconds,
    };
  });

  const col = (f: (row: (typeof rows)[number]) => string): string[] => rows.map(f);
  const table = formatTable({
    title: `Fleet: ${n} Windows servers created at once, password GET ${getLimit}/min, DELETE ${deleteLimit}/min, show ${API_LIMITS_PER_MINUTE['server.get']}/min`,
    columns: ['', ...rows.map((r) => r.scheduler)],
    rows: [
      ['servers cleared', ...col((r) => `${r.cleared}/${n}`)],
      ['exposure median (min)', ...col((r) => (r.exposure ? min(r.exposure.medianMs) : 'n/a'))],
      ['exposure p95 (min)', ...col((r) => (r.exposure ? min(r.exposure.p95Ms) : 'n/a'))],
      ['exposure max (min)', ...col((r) => (r.exposure ? min(r.exposure.maxMs) : 'n/a'))],
      [
        '  oracle bound median/p95',
        ...col(() => `${min(oracleSummary.medianMs)}/${min(oracleSummary.p95Ms)}`),
      ],
      ['makespan (min)', ...col((r) => min(r.makespanMs))],
      [`  vs bound ${min(boundMs)} min`, ...col((r) => `${((r.makespanOverBound - 1) * 100).toFixed(1)}%`)],
      ['password GETs / server', ...col((r) => r.getsPerServer.toFixed(2))],
      ['password DELETEs / server', ...col((r) => r.deletesPerServer.toFixed(2))],
      ['  total (ideal 3)', ...col((r) => (r.getsPerServer + r.deletesPerServer).toFixed(2))],
      ['429s received', ...col((r) => String(r.throttledTotal))],
      ['dead-lettered', ...col((r) => String(r.deadLettered))],
      ['worker peak RSS', ...col((r) => formatBytes(Math.max(r.worker.peakRssBytes, r.worker.maxRssBytes)))],
      ['worker peak heap', ...col((r) => formatBytes(r.worker.peakHeapBytes))],
      ['real time (s)', ...col((r) => r.realSeconds.toFixed(0))],
    ],
  });

  const pq = quantiles(posts);
  const aq = quantiles(afterActive);
  const text = [
    `time x${ctx.timeScale}: one loopback round trip = ${ctx.loopback.realMs.toFixed(2)} ms real = ${(ctx.loopback.emulatedMs / 1000).toFixed(2)} s emulated (${((ctx.loopback.emulatedMs / boundMs) * 100).toFixed(3)}% of the makespan bound)`,
    `post times ('realistic', seed ${ctx.seed}${samePosts ? ', identical in every run' : ', DIFFER between runs'}):`,
    `  after creation (min): ${Object.entries(pq)
      .map(([k, v]) => `${k} ${min(v)}`)
      .join('  ')}`,
    `  after ACTIVE   (min): ${Object.entries(aq)
      .map(([k, v]) => `${k} ${min(v)}`)
      .join('  ')}  (${(within5to15 * 100).toFixed(0)}% within 5–15 min)`,
    `makespan bound = max(last post ${min(lastPostMs)} min, 2 GETs × ${n} / ${getLimit}/min = ${min(getBoundMs)} min, ${n} DELETEs / ${deleteLimit}/min = ${min(deleteBoundMs)} min) = ${min(boundMs)} min`,
    `exposure bound (oracle: knows every post time, one finding GET then the DELETE per server at ${Math.min(getLimit, deleteLimit)}/min, verifies deferred): median ${min(oracleSummary.medianMs)} min, p95 ${min(oracleSummary.p95Ms)} min, max ${min(oracleSummary.maxMs)} min`,
    `  (our client's token bucket deliberately releases at most ${bucket.capacity} + ${bucket.refillPerMinute}/min GETs, so its own GET floor is ${min(clientGetBoundMs)} min)`,
    '',
    table,
    '',
    ...rows.map(
      (r) =>
        `${r.scheduler}: 429s by API ${JSON.stringify(r.throttled)}; dead letters ${JSON.stringify(r.deadLetters)}${r.finished ? '' : '; NOT FINISHED within the cut-off'}`,
    ),
    `total real time ${ctx.realSeconds.toFixed(0)} s`,
  ].join('\n');

  return {
    text,
    json: {
      generatedAt: new Date().toISOString(),
      servers: n,
      timeScale: ctx.timeScale,
      seed: ctx.seed,
      loopback: ctx.loopback,
      postDistribution: {
        afterCreationMs: pq,
        afterActiveMs: aq,
        shareWithin5to15MinOfActive: within5to15,
        identicalAcrossRuns: samePosts,
      },
      bound: { lastPostMs, getBoundMs, deleteBoundMs, boundMs, clientGetBoundMs, bucket },
      oracleExposure: oracleSummary,
      schedulers: rows,
      realSeconds: ctx.realSeconds,
    },
  };
}
