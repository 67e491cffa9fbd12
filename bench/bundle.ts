/**
 * Bundles a few lines of entry source the way scripts/build.ts bundles a Lambda handler,
 * into a scratch directory outside the repo: a bundle that still needed node_modules at
 * run time would fail there instead of looking smaller than it is.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { BUNDLE_OPTIONS, banner } from '../scripts/build.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface BundleSize {
  bytes: number;
  gzipBytes: number;
}

export interface BuiltBundle extends BundleSize {
  file: string;
}

export async function sizeOf(file: string): Promise<BundleSize> {
  const content = await readFile(file);
  return { bytes: content.length, gzipBytes: gzipSync(content, { level: 9 }).length };
}

/** A scratch directory for bundles; call the returned cleanup when done. */
export async function scratchDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'bms-bench-'));
  await writeFile(join(dir, 'package.json'), '{"type":"module"}\n');
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * `source` is ESM resolved from the repo root (bare specifiers find node_modules);
 * `alias` maps package names to stand-in files.
 */
export async function bundleSource(
  source: string,
  outfile: string,
  alias: Record<string, string> = {},
): Promise<BuiltBundle> {
  await build({
    ...BUNDLE_OPTIONS,
    stdin: { contents: source, resolveDir: repoRoot, sourcefile: 'bench-entry.ts', loader: 'ts' },
    outfile,
    banner: { js: banner },
    alias,
    logLevel: 'error',
  });
  return { file: outfile, ...(await sizeOf(outfile)) };
}
