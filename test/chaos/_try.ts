import { drawScenario, describeScenario } from './scenario.ts';
import { runScenario } from './run-scenario.ts';
const seed = Number(process.argv[2] ?? 1);
const spec = drawScenario(seed, { maxWindows: Number(process.argv[3] ?? 12) });
console.log(describeScenario(spec));
const r = await runScenario(spec, { timeoutSeconds: 60 });
console.log(JSON.stringify({ real: r.realSeconds, q: r.quiescent, check: r.check, faults: r.faults, outcomes: r.outcomes }, null, 1));
