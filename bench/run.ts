/**
 * `npm run bench`: runs every benchmark in turn, prints its tables, and writes all the
 * figures with the machine they were measured on to bench/results/latest.json.
 *
 *   node bench/run.ts                       all benchmarks
 *   node bench/run.ts signing first-request only those (ids as below)
 *
 * Benchmarks run one after another, never in parallel: on two cores they would measure
 * each other.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from './bundle.ts';
import { runClientBundleBench } from './client-bundle.ts';
import { runColdStartBench } from './cold-start.ts';
import { runFirstRequestBench } from './first-request.ts';
import { runLocalQueueBench } from './local-queue.ts';
import { type BenchSection, failedSection, formatMachine, formatSection, machineInfo } from './report.ts';
import { runSigningBench } from './signing.ts';
import { runWorkerCpuBench } from './worker-cpu.ts';

const BENCHMARKS: ReadonlyArray<{ id: string; title: string; run: () => Promise<BenchSection> }> = [
  { id: 'signing', title: 'Signing throughput', run: runSigningBench },
  { id: 'client-bundle', title: 'Client bundle size and import time', run: runClientBundleBench },
  { id: 'first-request', title: 'Time to a first completed request', run: runFirstRequestBench },
  { id: 'cold-start', title: 'Cold start per Lambda function', run: runColdStartBench },
  { id: 'worker-cpu', title: 'Worker CPU time per server', run: runWorkerCpuBench },
  { id: 'local-queue', title: 'Local durable queue throughput', run: runLocalQueueBench },
];

const RESULTS_FILE = join(repoRoot, 'bench', 'results', 'latest.json');

async function main(argv: readonly string[]): Promise<void> {
  const unknown = argv.filter((id) => !BENCHMARKS.some((b) => b.id === id));
  if (unknown.length > 0) {
    throw new Error(
      `unknown benchmark ${unknown.join(', ')}; expected any of ${BENCHMARKS.map((b) => b.id).join(', ')}`,
    );
  }
  const selected = argv.length === 0 ? BENCHMARKS : BENCHMARKS.filter((b) => argv.includes(b.id));
  const machine = machineInfo();
  const startedAt = new Date();
  process.stdout.write(`${formatMachine(machine)}\n\n`);

  const sections: BenchSection[] = [];
  for (const bench of selected) {
    const started = performance.now();
    let section: BenchSection;
    try {
      section = await bench.run();
    } catch (error) {
      section = failedSection(bench.id, bench.title, error);
    }
    sections.push(section);
    process.stdout.write(
      `${formatSection(section)}(${((performance.now() - started) / 1000).toFixed(1)} s)\n\n`,
    );
  }

  await mkdir(join(repoRoot, 'bench', 'results'), { recursive: true });
  const report = {
    command: `node bench/run.ts${argv.length ? ` ${argv.join(' ')}` : ''}`,
    machine,
    startedAt: startedAt.toISOString(),
    durationSeconds: (Date.now() - startedAt.getTime()) / 1000,
    sections,
  };
  await writeFile(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`Results written to ${RESULTS_FILE.replace(`${repoRoot}/`, '')}\n`);
  if (sections.some((s) => s.status === 'failed')) process.exitCode = 1;
}

await main(process.argv.slice(2));
