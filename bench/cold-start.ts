/**
 * Cold start per Lambda function: builds with scripts/build.ts, then reports each
 * dist/functions/<name>/index.js's size and fresh-process import time. Each bundle is
 * copied alone into a scratch directory first, as Lambda would see it: no node_modules.
 *
 * First invocation against the emulator is left for later (see `firstInvocation` below).
 */
import { copyFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { buildAll } from '../scripts/build.ts';
import { repoRoot, scratchDir, sizeOf } from './bundle.ts';
import { PROBES, pick, runProbeRoundRobin } from './fresh-process.ts';
import { type BenchSection, runStandalone } from './report.ts';
import { formatBytes, formatMs, summarize } from './stats.ts';

const ID = 'cold-start';
const TITLE = 'Cold start per Lambda function (dist/functions/*/index.js)';

function pending(reason: string): BenchSection {
  return { id: ID, title: TITLE, status: 'pending', notes: [reason], tables: [], data: {} };
}

export async function runColdStartBench(): Promise<BenchSection> {
  const sources = (await readdir(join(repoRoot, 'functions'))).filter((f) => f.endsWith('.ts'));
  if (sources.length === 0) return pending('no functions/*.ts yet: nothing to build');
  try {
    await buildAll();
  } catch (error) {
    // esbuild's own message is only "Build failed with N errors"; the first error says why.
    const first = (error as { errors?: Array<{ text: string }> }).errors?.[0]?.text;
    return pending(`node scripts/build.ts failed: ${first ?? (error as Error).message.split('\n')[0]}`);
  }
  return measureFunctionBundles(join(repoRoot, 'dist', 'functions'));
}

/** Size and import time of every <functionsDir>/<name>/index.js. */
export async function measureFunctionBundles(functionsDir: string, runs?: number): Promise<BenchSection> {
  const names = (await readdir(functionsDir, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
  if (names.length === 0) return pending(`nothing in ${functionsDir}`);
  const { dir, cleanup } = await scratchDir();
  try {
    const files = new Map<string, string>();
    for (const name of names) {
      const file = join(dir, `${name}.js`);
      await copyFile(join(functionsDir, name, 'index.js'), file);
      files.set(name, file);
    }
    const results = await runProbeRoundRobin(
      PROBES.importTime,
      names.map((name) => ({ name, args: [files.get(name)!] })),
      runs,
    );
    const figures = await Promise.all(
      names.map(async (name) => {
        const r = results.get(name)!;
        return {
          name,
          ...(await sizeOf(files.get(name)!)),
          importMs: summarize(pick(r, 'importMs')),
          processMs: summarize(pick(r, 'processMs')),
          rssMiB: summarize(pick(r, 'rssMiB')),
          // To be filled in by the lead: first handler invocation against the emulator.
          firstInvocation: 'pending',
        };
      }),
    );
    return {
      id: ID,
      title: TITLE,
      status: 'ok',
      notes: [
        `median/p95 of ${figures[0]!.importMs.n} fresh node processes per function, each bundle alone in a scratch dir`,
        'first invocation against the emulator: pending',
      ],
      tables: [
        {
          title: 'bundle size and import time (lower is better)',
          columns: ['function', 'size', 'gzip', 'import ms', 'p95', 'node process ms', 'RSS MiB'],
          rows: figures.map((f) => [
            f.name,
            formatBytes(f.bytes),
            formatBytes(f.gzipBytes),
            formatMs(f.importMs.median),
            formatMs(f.importMs.p95),
            formatMs(f.processMs.median),
            f.rssMiB.median.toFixed(0),
          ]),
        },
      ],
      data: { functions: figures },
    };
  } finally {
    await cleanup();
  }
}

if (import.meta.main) await runStandalone(runColdStartBench);
