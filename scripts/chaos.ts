/**
 * The fault-injection campaign (`npm run test:chaos`). Draws seeded scenarios from one campaign
 * seed, runs each through the whole local path against the emulator (harness/chaos/), then one
 * scenario that SIGKILLs the real `serve` process, and prints the verdict. Exits 1 if any check
 * failed.
 *
 *   CHAOS_SEED=<n>        campaign seed (printed; default random). Scenario i uses seed n+i.
 *   CHAOS_SCENARIO=<s>    run only the scenario with seed s (reproduce one from a campaign log).
 *   CHAOS_SCENARIOS=<n>   in-process scenarios (default 24)
 *   CHAOS_MAX_WINDOWS=<n> Windows servers per scenario, upper bound (default 24)
 *   CHAOS_SIGKILL=0       skip the child-process scenario
 *   CHAOS_JSON=<file>     also write the results as JSON
 */
import { randomInt } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { failureCount } from '../harness/chaos/invariants.ts';
import { runScenario, type ScenarioResult } from '../harness/chaos/run-scenario.ts';
import { describeScenario, drawScenario } from '../harness/chaos/scenario.ts';
import { runSigkillScenario } from '../harness/chaos/sigkill-scenario.ts';
import { summarizeCampaign } from '../harness/chaos/summary.ts';

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`${name} must be a non-negative integer, got "${raw}"\n`);
    process.exit(2);
  }
  return n;
}

const single = process.env['CHAOS_SCENARIO'];
const campaignSeed = intEnv('CHAOS_SEED', randomInt(1, 2 ** 31 - 1_000));
const scenarios = single !== undefined ? 1 : intEnv('CHAOS_SCENARIOS', 24);
const maxWindows = intEnv('CHAOS_MAX_WINDOWS', 24);
const withSigkill = single === undefined && process.env['CHAOS_SIGKILL'] !== '0';

process.stdout.write(
  single !== undefined
    ? `chaos: reproducing scenario seed ${single}\n`
    : `chaos: campaign seed ${campaignSeed} (reproduce: CHAOS_SEED=${campaignSeed} npm run test:chaos; one scenario: CHAOS_SCENARIO=<seed>)\n`,
);

const results: ScenarioResult[] = [];
const started = Date.now();
for (let i = 0; i < scenarios; i++) {
  const seed = single !== undefined ? intEnv('CHAOS_SCENARIO', 0) : campaignSeed + i;
  const spec = drawScenario(seed, { maxWindows });
  const result = await runScenario(spec);
  results.push(result);
  const bad = failureCount(result.check);
  process.stdout.write(
    `${bad === 0 ? 'ok  ' : 'FAIL'} ${describeScenario(spec)}  (${result.realSeconds.toFixed(1)} s)\n`,
  );
  for (const v of result.check.violations.slice(0, 10)) process.stdout.write(`       ${v}\n`);
}
if (withSigkill) {
  const result = await runSigkillScenario({ seed: campaignSeed });
  results.push(result);
  const bad = failureCount(result.check);
  process.stdout.write(
    `${bad === 0 ? 'ok  ' : 'FAIL'} seed=${campaignSeed} SIGKILL x${result.faults.crashes.sigkill ?? 0} of \`serve\` (child process, file queue + file store, ${result.spec.windows}W+${result.spec.linux}L, DELETE→${result.spec.deletePasswordStatus})  (${result.realSeconds.toFixed(1)} s)\n`,
  );
  for (const v of result.check.violations.slice(0, 10)) process.stdout.write(`       ${v}\n`);
}

const summary = summarizeCampaign(results, (Date.now() - started) / 1000);
process.stdout.write(`\n${summary.text}\n`);
const jsonPath = process.env['CHAOS_JSON'];
if (jsonPath)
  await writeFile(jsonPath, `${JSON.stringify({ campaignSeed, ...summary.json, results }, null, 2)}\n`);
process.exitCode = summary.failed ? 1 : 0;
