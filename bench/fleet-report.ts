/** Figures and the side-by-side table of the fleet benchmark (pure: printed text and JSON agree). */
import { createRandom } from '../emulator/seeded-random.ts';
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
  seeds: number[];
  loopback: LoopbackCost;
  /** os.loadavg() at the start and at the end. */
  loadAverage: [number[], number[]];
  realSeconds: number;
}

/** One entry of fleet.json's `runs`: the names are the interface the checks read. */
export interface FleetRunEntry {
  scheduler: string;
  notifyFraction: number;
  servers: number;
  seed: number;
  exposureMedianSeconds: number | null;
  exposureP95Seconds: number | null;
  exposureMaxSeconds: number | null;
  /** FCFS oracle at the hook's rate (it knows every post time). */
  oracleP95Seconds: number;
  oracleMedianSeconds: number;
  /** Knows who has posted but not when: each token to a random posted, unfound server. */
  whoOracleP95Seconds: number;
  /** Median time from the post to the GET that found it (the rest of the exposure is escrow + DELETE). */
  findMedianSeconds: number | null;
  /** GET tokens left unspent per minute while a posted server waited to be found (of 48). */
  unspentTokensPerRushMinute: number | null;
  rushMinutes: number;
  passwordGetsPerServer: number;
  passwordDeletesPerServer: number;
  deadLettered: number;
  rateLimited: number;
  cleared: number;
  finished: boolean;
  notifiedServers: number;
  /** p95 over the servers that did / did not notify (null when there are none). */
  notifiedP95Seconds: number | null;
  silentP95Seconds: number | null;
  makespanSeconds: number;
  leftoverMessages: number;
  workerPeakRssBytes: number;
  realSeconds: number;
}

/** The password GET rate the hook's client really allows itself: 48/min of the 50. */
export function hookGetRatePerMinute(): number {
  return bucketShapeFor(API_LIMITS_PER_MINUTE['password.get'], 50).refillPerMinute;
}

/**
 * The exposure an oracle would get: it knows every post time, spends exactly one finding GET per
 * server in post order at the given rate, then the DELETE at that rate, and defers every verify
 * until the rush is over. No scheduler under the same limits can beat it.
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

/**
 * An oracle that knows who has posted but not when: at each token it finds one of the posted,
 * unfound servers, chosen at random (it cannot serve the oldest first), then DELETEs in find
 * order. The gap between it and the FCFS oracle is what knowing *when* is worth; the gap between
 * it and a polling scheduler is what knowing *who* is worth.
 */
export function whoOracleExposures(postMs: readonly number[], perMinute: number, seed: number): number[] {
  const gap = MINUTE / perMinute;
  const random = createRandom(seed);
  const posts = [...postMs].sort((a, b) => a - b);
  const backlog: number[] = [];
  const out: number[] = [];
  let next = 0;
  let token = Number.NEGATIVE_INFINITY;
  let lastDelete = Number.NEGATIVE_INFINITY;
  while (out.length < posts.length) {
    if (backlog.length === 0) token = Math.max(token, posts[next]!);
    while (next < posts.length && posts[next]! <= token) backlog.push(posts[next++]!);
    const pick = Math.floor(random.next() * backlog.length);
    const post = backlog[pick]!;
    backlog[pick] = backlog[backlog.length - 1]!;
    backlog.pop();
    const del = Math.max(token, lastDelete + gap);
    lastDelete = del;
    out.push(del - post);
    token += gap;
  }
  return out;
}

const sec = (ms: number): number => Math.round(ms / 100) / 10;

export function runEntry(r: FleetRunResult, servers: number, ratePerMinute: number): FleetRunEntry {
  const exposures = r.servers.flatMap((s) => (s.exposureMs === null ? [] : [s.exposureMs]));
  const posts = r.servers.flatMap((s) => (s.postMs === null ? [] : [s.postMs]));
  const oracle = oracleExposures(posts, ratePerMinute);
  const who = whoOracleExposures(posts, ratePerMinute, r.seed);
  const p95Of = (pick: (notified: boolean) => boolean): number | null => {
    const values = r.servers.flatMap((s) =>
      pick(s.notified) && s.exposureMs !== null ? [s.exposureMs] : [],
    );
    return values.length ? sec(percentile(values, 95)) : null;
  };
  const gets = r.servers.reduce((a, s) => a + s.gets, 0);
  const deletes = r.servers.reduce((a, s) => a + s.deletes, 0);
  return {
    scheduler: r.scheduler,
    notifyFraction: r.notifyFraction,
    servers,
    seed: r.seed,
    exposureMedianSeconds: exposures.length ? sec(median(exposures)) : null,
    exposureP95Seconds: exposures.length ? sec(percentile(exposures, 95)) : null,
    exposureMaxSeconds: exposures.length ? sec(Math.max(...exposures)) : null,
    oracleP95Seconds: sec(percentile(oracle, 95)),
    oracleMedianSeconds: sec(median(oracle)),
    whoOracleP95Seconds: sec(percentile(who, 95)),
    findMedianSeconds: (() => {
      const finds = r.servers.flatMap((s) => (s.findMs === null ? [] : [s.findMs]));
      return finds.length ? sec(median(finds)) : null;
    })(),
    unspentTokensPerRushMinute: r.rush.minutes
      ? Math.round((r.rush.unspentTokens / r.rush.minutes) * 10) / 10
      : null,
    rushMinutes: r.rush.minutes,
    passwordGetsPerServer: Math.round((gets / servers) * 100) / 100,
    passwordDeletesPerServer: Math.round((deletes / servers) * 100) / 100,
    deadLettered: Object.values(r.deadLetters).reduce((a, b) => a + b, 0),
    rateLimited: Object.values(r.throttled).reduce((a, b) => a + b, 0),
    cleared: exposures.length,
    finished: r.finished,
    notifiedServers: r.servers.filter((s) => s.notified).length,
    notifiedP95Seconds: p95Of((n) => n),
    silentP95Seconds: p95Of((n) => !n),
    makespanSeconds: sec(r.makespanMs),
    leftoverMessages: r.leftoverMessages,
    workerPeakRssBytes: Math.max(r.worker.peakRssBytes, r.worker.maxRssBytes),
    realSeconds: Math.round(r.realSeconds),
  };
}

type SecondsField = {
  [K in keyof FleetRunEntry]: FleetRunEntry[K] extends number | null ? K : never;
}[keyof FleetRunEntry];

/** "12.3 [11.0–14.1]": the median over seeds and the spread (min–max). */
function spread(values: ReadonlyArray<number | null>, format: (v: number) => string): string {
  const v = values.filter((x): x is number => x !== null);
  if (v.length === 0) return 'n/a';
  if (v.length === 1) return format(v[0]!);
  return `${format(median(v))} [${format(Math.min(...v))}–${format(Math.max(...v))}]`;
}

/** Seconds under two minutes print as seconds, longer as minutes. */
function duration(seconds: number): string {
  return seconds < 120 ? `${seconds.toFixed(1)} s` : `${(seconds / 60).toFixed(1)} min`;
}

export function fleetReport(results: FleetRunResult[], ctx: FleetContext): { text: string; json: unknown } {
  const rate = hookGetRatePerMinute();
  const runs = results.map((r) => runEntry(r, ctx.servers, rate));
  const groups = new Map<string, FleetRunEntry[]>();
  for (const run of runs) {
    const key = `${run.scheduler} h=${run.notifyFraction}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  const cols = [...groups.entries()];
  const row = (label: string, f: (g: FleetRunEntry[]) => string): string[] => [
    label,
    ...cols.map(([, g]) => f(g)),
  ];
  const seconds = (label: string, field: SecondsField): string[] =>
    row(label, (g) =>
      spread(
        g.map((r) => r[field]),
        duration,
      ),
    );
  const n = ctx.servers;
  const table = formatTable({
    title: `Fleet: ${n} Windows servers created at once, password GET ${API_LIMITS_PER_MINUTE['password.get']}/min (the hook uses ${rate}), DELETE ${API_LIMITS_PER_MINUTE['password.delete']}/min; median [min–max] over seeds ${ctx.seeds.join(', ')}`,
    columns: ['', ...cols.map(([k]) => k)],
    rows: [
      seconds('exposure p95', 'exposureP95Seconds'),
      seconds('exposure median', 'exposureMedianSeconds'),
      seconds('exposure max', 'exposureMaxSeconds'),
      seconds('  post → found, median', 'findMedianSeconds'),
      seconds('  p95 of notifying servers', 'notifiedP95Seconds'),
      seconds('  p95 of silent servers', 'silentP95Seconds'),
      seconds(`oracle p95 (FCFS, ${rate}/min)`, 'oracleP95Seconds'),
      seconds('  knows who, not when', 'whoOracleP95Seconds'),
      row('password GETs / server', (g) =>
        spread(
          g.map((r) => r.passwordGetsPerServer),
          (v) => v.toFixed(2),
        ),
      ),
      row('unspent GET tokens / rush min', (g) =>
        spread(
          g.map((r) => r.unspentTokensPerRushMinute),
          (v) => v.toFixed(1),
        ),
      ),
      row('DELETEs / server', (g) =>
        spread(
          g.map((r) => r.passwordDeletesPerServer),
          (v) => v.toFixed(2),
        ),
      ),
      row('cleared', (g) => g.map((r) => `${r.cleared}/${n}`).join(' ')),
      row('429s (all runs)', (g) => String(g.reduce((a, r) => a + r.rateLimited, 0))),
      row('dead-lettered (all runs)', (g) => String(g.reduce((a, r) => a + r.deadLettered, 0))),
      seconds('makespan', 'makespanSeconds'),
      row('worker peak RSS', (g) => formatBytes(Math.max(...g.map((r) => r.workerPeakRssBytes)))),
      row('real time per run (s)', (g) =>
        spread(
          g.map((r) => r.realSeconds),
          (v) => v.toFixed(0),
        ),
      ),
    ],
  });

  const [start, end] = ctx.loadAverage;
  const text = [
    `time x${ctx.timeScale}: one loopback round trip = ${ctx.loopback.realMs.toFixed(2)} ms real = ${(ctx.loopback.emulatedMs / 1000).toFixed(2)} s emulated`,
    "oracle: knows every post time, one finding GET then the DELETE per server, first come first served, at the hook's rate; verifies deferred",
    'knows who, not when: told the moment a server posts, but serves the backlog in random order',
    '',
    table,
    '',
    ...runs
      .filter((r) => !r.finished)
      .map((r) => `${r.scheduler} h=${r.notifyFraction} seed ${r.seed}: NOT FINISHED within the cut-off`),
    `load average ${start!.map((l) => l.toFixed(1)).join(' ')} at the start, ${end!.map((l) => l.toFixed(1)).join(' ')} at the end; total real time ${ctx.realSeconds.toFixed(0)} s`,
  ].join('\n');

  return {
    text,
    json: {
      generatedAt: new Date().toISOString(),
      servers: n,
      timeScale: ctx.timeScale,
      seeds: ctx.seeds,
      hookGetRatePerMinute: rate,
      loopback: ctx.loopback,
      loadAverage: { start, end },
      runs,
      realSeconds: Math.round(ctx.realSeconds),
    },
  };
}
