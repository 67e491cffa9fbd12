/**
 * Runs a range of simulated scenarios and sums them up: steps, faults by kind, violations by
 * kind and by failure class (with the scenario number and seed where each class first showed).
 * With `jobs` > 1 the seeds are shared out to worker threads; every scenario is independent and
 * the results are merged in seed order, so the summary does not depend on the number of jobs.
 */
import { Worker } from 'node:worker_threads';
import type { Violation, ViolationKind } from './oracle.ts';
import { runSimScenario, type SimResult } from './run-scenario.ts';
import { describeScenario } from './scenario.ts';

/** What a worker thread sends back per scenario (the trace stays behind: a replay recreates it). */
export interface ScenarioDigest {
  seed: number;
  steps: number;
  end: string;
  faults: Array<[string, number]>;
  violations: Violation[];
  lockouts: number;
  surfacedByHealth: number;
}

export function digest(result: SimResult): ScenarioDigest {
  return {
    seed: result.scenario.seed,
    steps: result.steps,
    end: result.end,
    faults: [...result.faults],
    violations: result.violations,
    lockouts: result.lockouts,
    surfacedByHealth: result.surfacedByHealth,
  };
}

export interface CampaignSummary {
  scenarios: number;
  steps: number;
  faults: Map<string, number>;
  violations: Record<ViolationKind, number>;
  /** Failure class → first scenario (1-based position in the run) and seed that showed it, and how many did. */
  classes: Map<string, { first: number; seed: number; scenarios: number }>;
  failingSeeds: number[];
  /** The first failing scenario, for its trace. */
  firstFailure: SimResult | undefined;
  ends: Map<string, number>;
  /** AK/SK lockouts the hook walked into (invariant 5), and the scenarios where it happened. */
  lockouts: number;
  lockoutSeeds: number[];
  surfacedByHealth: number;
}

export interface CampaignOptions {
  /** Worker threads (1: run in this thread). */
  jobs?: number | undefined;
  onProgress?: ((done: number, summary: CampaignSummary) => void) | undefined;
}

export async function runCampaign(
  startSeed: number,
  count: number,
  options: CampaignOptions = {},
): Promise<CampaignSummary> {
  const summary: CampaignSummary = {
    scenarios: 0,
    steps: 0,
    faults: new Map(),
    violations: { lost: 0, premature: 0, leaked: 0, unfinished: 0 },
    classes: new Map(),
    failingSeeds: [],
    firstFailure: undefined,
    ends: new Map(),
    lockouts: 0,
    lockoutSeeds: [],
    surfacedByHealth: 0,
  };
  const add = (d: ScenarioDigest): void => {
    const position = d.seed - startSeed + 1;
    summary.scenarios++;
    summary.steps += d.steps;
    summary.ends.set(d.end, (summary.ends.get(d.end) ?? 0) + 1);
    summary.lockouts += d.lockouts;
    if (d.lockouts > 0) summary.lockoutSeeds.push(d.seed);
    summary.surfacedByHealth += d.surfacedByHealth;
    for (const [kind, n] of d.faults) summary.faults.set(kind, (summary.faults.get(kind) ?? 0) + n);
    const seen = new Set<string>();
    for (const v of d.violations) {
      summary.violations[v.kind]++;
      if (seen.has(v.tag)) continue;
      seen.add(v.tag);
      const cls = summary.classes.get(v.tag);
      if (cls) cls.scenarios++;
      else summary.classes.set(v.tag, { first: position, seed: d.seed, scenarios: 1 });
    }
    if (d.violations.length > 0) summary.failingSeeds.push(d.seed);
    if (options.onProgress && summary.scenarios % 1000 === 0) options.onProgress(summary.scenarios, summary);
  };

  const jobs = Math.max(1, Math.min(options.jobs ?? 1, count));
  if (jobs === 1) {
    for (let i = 0; i < count; i++) {
      const result = await runSimScenario(startSeed + i);
      add(digest(result));
      if (result.violations.length > 0) summary.firstFailure ??= result;
    }
    return summary;
  }

  // Threads finish out of order; merge strictly by seed so the summary is the same for any `jobs`.
  const pending = new Map<number, ScenarioDigest>();
  let nextSeed = startSeed;
  const flush = (): void => {
    for (let d = pending.get(nextSeed); d !== undefined; d = pending.get(nextSeed)) {
      pending.delete(nextSeed);
      add(d);
      nextSeed++;
    }
  };
  await Promise.all(
    Array.from(
      { length: jobs },
      (_, job) =>
        new Promise<void>((resolve, reject) => {
          const worker = new Worker(new URL('./campaign-worker.ts', import.meta.url), {
            workerData: { startSeed: startSeed + job, count, stride: jobs, lastSeed: startSeed + count - 1 },
          });
          worker.on('message', (batch: ScenarioDigest[]) => {
            for (const d of batch) pending.set(d.seed, d);
            flush();
          });
          worker.on('error', reject);
          worker.on('exit', (code) =>
            code === 0 ? resolve() : reject(new Error(`sim worker ${job} exited with ${code}`)),
          );
        }),
    ),
  );
  flush();
  const first = summary.failingSeeds[0];
  if (first !== undefined) summary.firstFailure = await runSimScenario(first);
  return summary;
}

export function finalLine(s: CampaignSummary): string {
  const v = s.violations;
  return `sim: ${s.scenarios} scenarios, ${s.steps} steps, lost ${v.lost}, premature ${v.premature}, leaked ${v.leaked}, unfinished ${v.unfinished}`;
}

export function formatFaults(faults: Map<string, number>): string {
  return [...faults.entries()]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

export function formatFailure(result: SimResult, traceLines = 40): string {
  const lines = [
    `FAIL ${describeScenario(result.scenario)}`,
    ...result.violations.slice(0, 8).map((v) => `  ${v.kind}: ${v.detail} [${v.tag}]`),
    `  last ${Math.min(traceLines, result.trace.length)} trace lines:`,
    ...result.trace.slice(-traceLines).map((l) => `  | ${l}`),
    `  replay: npm run test:sim -- --seed ${result.scenario.seed}`,
  ];
  return lines.join('\n');
}
