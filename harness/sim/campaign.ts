/**
 * Runs a range of simulated scenarios and sums them up: steps, faults by kind, violations by
 * kind and by failure class (with the scenario number and seed where each class first showed).
 */
import type { ViolationKind } from './oracle.ts';
import { describeScenario } from './scenario.ts';
import { runSimScenario, type SimResult } from './run-scenario.ts';

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
}

export async function runCampaign(
  startSeed: number,
  count: number,
  onProgress?: (done: number, summary: CampaignSummary) => void,
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
  };
  for (let i = 0; i < count; i++) {
    const seed = startSeed + i;
    const result = await runSimScenario(seed);
    summary.scenarios++;
    summary.steps += result.steps;
    summary.ends.set(result.end, (summary.ends.get(result.end) ?? 0) + 1);
    for (const [kind, n] of result.faults) summary.faults.set(kind, (summary.faults.get(kind) ?? 0) + n);
    const seen = new Set<string>();
    for (const v of result.violations) {
      summary.violations[v.kind]++;
      if (seen.has(v.tag)) continue;
      seen.add(v.tag);
      const cls = summary.classes.get(v.tag);
      if (cls) cls.scenarios++;
      else summary.classes.set(v.tag, { first: i + 1, seed, scenarios: 1 });
    }
    if (result.violations.length > 0) {
      summary.failingSeeds.push(seed);
      summary.firstFailure ??= result;
    }
    if (onProgress && (i + 1) % 1000 === 0) onProgress(i + 1, summary);
  }
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
