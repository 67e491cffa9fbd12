/**
 * Runs a probe script in fresh `node` processes and collects the JSON line it prints.
 * Variants are run round-robin (A B C A B C …) so that load from other work on this
 * shared machine lands on all of them alike; one discarded run per variant warms the
 * file-system cache first.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './bundle.ts';

const execFileAsync = promisify(execFile);

export const PROBES = {
  importTime: join(repoRoot, 'bench', 'probes', 'import-time.ts'),
  firstRequest: join(repoRoot, 'bench', 'probes', 'first-request.ts'),
};

/** Fresh processes per variant; the brief asks for at least 7. */
export const DEFAULT_RUNS = 9;
const PROCESS_TIMEOUT_MS = 30_000;

export interface ProbeRun {
  /** The probe's own figures (measured inside the child with performance.now()). */
  result: Record<string, number>;
  /** Spawn to exit, as seen by the parent: includes Node's own start-up. */
  processMs: number;
}

export class ProbeFailedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProbeFailedError';
  }
}

/**
 * `nodeArgs` go before the probe, e.g. ['--enable-source-maps'] as NODE_OPTIONS would set it;
 * `env` replaces the child's environment (e.g. with serverless.yml's NODE_OPTIONS).
 */
export async function runProbeOnce(
  probe: string,
  args: readonly string[],
  nodeArgs: readonly string[] = [],
  env?: NodeJS.ProcessEnv,
): Promise<ProbeRun> {
  const start = performance.now();
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(process.execPath, [...nodeArgs, probe, ...args], {
      timeout: PROCESS_TIMEOUT_MS,
      cwd: repoRoot,
      env,
    }));
  } catch (error) {
    const out = (error as { stdout?: string }).stdout ?? '';
    const reported = /"error":"([^"]*)"/.exec(out)?.[1];
    throw new ProbeFailedError(`probe failed: ${reported ?? (error as Error).message.split('\n')[0]}`, {
      cause: error,
    });
  }
  const processMs = performance.now() - start;
  const last = stdout.trim().split('\n').at(-1) ?? '';
  return { result: JSON.parse(last) as Record<string, number>, processMs };
}

export interface Variant {
  name: string;
  args: readonly string[];
}

export async function runProbeRoundRobin(
  probe: string,
  variants: readonly Variant[],
  runs: number = DEFAULT_RUNS,
): Promise<Map<string, ProbeRun[]>> {
  const out = new Map<string, ProbeRun[]>(variants.map((v) => [v.name, []]));
  for (const v of variants) await runProbeOnce(probe, v.args);
  for (let i = 0; i < runs; i++) {
    for (const v of variants) out.get(v.name)!.push(await runProbeOnce(probe, v.args));
  }
  return out;
}

/** One field of every run, e.g. pick(runs, 'importMs'). */
export function pick(runs: readonly ProbeRun[], field: string): number[] {
  return runs.map((r) => (field === 'processMs' ? r.processMs : r.result[field]!));
}
