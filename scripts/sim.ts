/**
 * The deterministic simulator (`npm run test:sim`), see harness/sim/.
 *
 *   npm run test:sim                                  10,000 scenarios from seed 1
 *   npm run test:sim -- --scenarios N [--seed S]      N scenarios, seeds S..S+N-1
 *   npm run test:sim -- --seed S                      replay seed S step by step (full trace)
 *   --jobs J                                          worker threads (default: 2, or 1 on one core)
 *
 * The last line is `sim: N scenarios, M steps, lost L, premature P, leaked K, unfinished U`.
 * Exits 1 on any violation, after printing the first failing seed and its trace.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { finalLine, formatFailure, formatFaults, runCampaign } from '../harness/sim/campaign.ts';
import { runSimScenario } from '../harness/sim/run-scenario.ts';
import { describeScenario } from '../harness/sim/scenario.ts';

const { values } = parseArgs({
  options: {
    scenarios: { type: 'string' },
    seed: { type: 'string' },
    jobs: { type: 'string' },
  },
});

function integer(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) {
    process.stderr.write(`--${name} must be a whole number >= 0, got "${raw}"\n`);
    process.exit(2);
  }
  return n;
}

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

if (values.seed !== undefined && values.scenarios === undefined) {
  const seed = integer('seed', values.seed, 1);
  const result = await runSimScenario(seed, { fullTrace: true, onTrace: out });
  out(describeScenario(result.scenario));
  out(`end: ${result.end} after ${result.steps} steps, ${result.simSeconds.toFixed(0)} simulated seconds`);
  out(`faults: ${formatFaults(result.faults)}`);
  out(`lockouts: ${result.lockouts}; exposures surfaced by degraded health: ${result.surfacedByHealth}`);
  for (const v of result.violations) out(`${v.kind}: ${v.detail} [${v.tag}]`);
  const count = (k: string): number => result.violations.filter((v) => v.kind === k).length;
  out(
    `sim: 1 scenarios, ${result.steps} steps, lost ${count('lost')}, premature ${count('premature')}, leaked ${count('leaked')}, unfinished ${count('unfinished')}`,
  );
  process.exitCode = result.violations.length > 0 ? 1 : 0;
} else {
  const count = integer('scenarios', values.scenarios, 10_000);
  const start = integer('seed', values.seed, 1);
  out(`sim: seeds ${start}..${start + count - 1}`);
  const started = performance.now();
  const jobs = integer('jobs', values.jobs, Math.min(2, availableParallelism()));
  const summary = await runCampaign(start, count, {
    jobs,
    onProgress: (done, s) =>
      out(
        `  ${done} scenarios, ${s.steps} steps, ${((performance.now() - started) / 1000).toFixed(1)} s, ${s.failingSeeds.length} failing`,
      ),
  });
  const seconds = (performance.now() - started) / 1000;
  out(
    `time: ${seconds.toFixed(1)} s on ${jobs} thread(s) (${(summary.scenarios / seconds).toFixed(0)} scenarios/s)`,
  );
  out(`ends: ${formatFaults(summary.ends)}`);
  out(`faults: ${formatFaults(summary.faults)}`);
  out(
    `lockouts: ${summary.lockouts}${summary.lockoutSeeds.length > 0 ? ` (seeds ${summary.lockoutSeeds.slice(0, 10).join(' ')})` : ''}; exposures surfaced by degraded health: ${summary.surfacedByHealth}`,
  );
  for (const [tag, c] of summary.classes)
    out(`class: ${tag}: first at scenario ${c.first} (seed ${c.seed}), in ${c.scenarios} scenarios`);
  if (summary.firstFailure) {
    out(formatFailure(summary.firstFailure));
    out(`failing seeds (first 20): ${summary.failingSeeds.slice(0, 20).join(' ')}`);
  }
  out(finalLine(summary));
  process.exitCode = summary.failingSeeds.length > 0 || summary.lockouts > 0 ? 1 : 0;
}
