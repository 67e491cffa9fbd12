/**
 * Bundles each Lambda handler in functions/ and the CLI into one minified ESM file each:
 *   dist/functions/<name>/index.js (+ package.json {"type":"module"} so osls invoke local loads it)
 *   dist/cli/index.js
 * Usage: node scripts/build.ts [--metafile]
 */
import { cp, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

// Some AWS SDK dependencies still call require(); this banner gives ESM bundles one.
export const banner =
  "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);";

/** How every shipped bundle is built; the bundle benchmarks use the same options so they measure what ships. */
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  minify: true,
  keepNames: true,
  mainFields: ['module', 'main'],
} satisfies BuildOptions;

export interface BuiltEntry {
  name: string;
  outfile: string;
  bytes: number;
}

export async function buildAll(options: { metafile?: boolean } = {}): Promise<BuiltEntry[]> {
  await rm(dist, { recursive: true, force: true });
  const functionFiles = (await readdir(join(root, 'functions'))).filter((f) => f.endsWith('.ts'));
  const entries = [
    ...functionFiles.map((f) => ({
      name: f.replace(/\.ts$/, ''),
      entry: join(root, 'functions', f),
      outdir: join(dist, 'functions', f.replace(/\.ts$/, '')),
    })),
    { name: 'cli', entry: join(root, 'cli', 'bin.ts'), outdir: join(dist, 'cli') },
  ];
  const built: BuiltEntry[] = [];
  for (const { name, entry, outdir } of entries) {
    const outfile = join(outdir, 'index.js');
    const result = await build({
      ...BUNDLE_OPTIONS,
      entryPoints: [entry],
      outfile,
      sourcemap: 'linked',
      legalComments: 'external',
      banner: { js: name === 'cli' ? `#!/usr/bin/env node\n${banner}` : banner },
      metafile: options.metafile ?? false,
      logLevel: 'warning',
    });
    await mkdir(outdir, { recursive: true });
    await writeFile(join(outdir, 'package.json'), '{"type":"module"}\n');
    // The bundled emulator reads its throwaway SMN signing identity from ./fixtures beside the bundle.
    if (name === 'cli')
      await cp(join(root, 'emulator', 'fixtures'), join(outdir, 'fixtures'), { recursive: true });
    if (result.metafile) await writeFile(join(outdir, 'meta.json'), JSON.stringify(result.metafile));
    built.push({ name, outfile, bytes: (await stat(outfile)).size });
  }
  return built;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const built = await buildAll({ metafile: process.argv.includes('--metafile') });
  for (const b of built) {
    process.stdout.write(
      `${b.name.padEnd(16)} ${(b.bytes / 1024).toFixed(1).padStart(8)} KiB  ${b.outfile.replace(`${root}/`, '')}\n`,
    );
  }
}
