/**
 * Bundle size and fresh-process import time of our BMS client against the official
 * Huawei Cloud SDK, each bundled the way a Lambda handler is. The official BMS package is
 * not published on npm; the ECS client (same core, same code generator) stands in for it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { bundleSource, repoRoot, scratchDir } from './bundle.ts';
import { PROBES, pick, runProbeRoundRobin } from './fresh-process.ts';
import { type BenchSection, runStandalone } from './report.ts';
import { formatBytes, formatMs, formatRatio, summarize } from './stats.ts';

const SDK_ENTRY = [
  "export { EcsClient } from '@huaweicloud/huaweicloud-sdk-ecs';",
  "export { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core';",
].join('\n');

const SDK_ALIAS = { uuid: join(repoRoot, 'bench', 'shims', 'uuid.ts') };

/**
 * What a handler pulls in to talk to BMS, most complete first: the composition root
 * (clients + signer + transport) once it exists, else the pieces written so far. The
 * official bundle includes its HTTP stack (axios), so ours must include its transport.
 */
const OUR_ENTRIES: ReadonlyArray<{ files: string[]; note: string }> = [
  {
    files: ['huawei-clients.ts'],
    note: 'ours = lib/huawei/huawei-clients.ts (BmsClient + IamClient + signer + UndiciTransport)',
  },
  {
    files: ['bms-client.ts', 'signed-call.ts', 'http-transport.ts'],
    note: 'huawei-clients.ts not there yet: ours = bms-client.ts + signed-call.ts + http-transport.ts',
  },
  {
    files: ['signer.ts', 'http-transport.ts'],
    note: 'bms-client.ts not there yet: ours = signer.ts + http-transport.ts',
  },
];

function ourEntry(): { source: string; note: string } {
  const lib = (file: string): string => join(repoRoot, 'lib', 'huawei', file);
  const found = OUR_ENTRIES.find((e) => e.files.every((f) => existsSync(lib(f))));
  if (found) {
    return {
      source: found.files.map((f) => `export * from ${JSON.stringify(lib(f))};`).join('\n'),
      note: found.note,
    };
  }
  return {
    // undici is what the transport will send with, so it stands in for it.
    source: `export * from ${JSON.stringify(lib('signer.ts'))};\nexport { request } from 'undici';`,
    note: "no client or transport yet: ours = signer.ts + undici's request",
  };
}

export async function runClientBundleBench(): Promise<BenchSection> {
  const ours = ourEntry();
  const { dir, cleanup } = await scratchDir();
  try {
    const bundles = {
      ours: await bundleSource(ours.source, join(dir, 'ours.js')),
      sdk: await bundleSource(SDK_ENTRY, join(dir, 'sdk.js'), SDK_ALIAS),
    };
    const runs = await runProbeRoundRobin(PROBES.importTime, [
      { name: 'ours', args: [bundles.ours.file] },
      { name: 'sdk', args: [bundles.sdk.file] },
    ]);
    const figuresFor = (name: 'ours' | 'sdk') => {
      const r = runs.get(name)!;
      return {
        bytes: bundles[name].bytes,
        gzipBytes: bundles[name].gzipBytes,
        importMs: summarize(pick(r, 'importMs')),
        processMs: summarize(pick(r, 'processMs')),
        rssMiB: summarize(pick(r, 'rssMiB')),
      };
    };
    const figures = { ours: figuresFor('ours'), sdk: figuresFor('sdk') };
    const row = (label: string, f: (typeof figures)['ours']): string[] => [
      label,
      formatBytes(f.bytes),
      formatBytes(f.gzipBytes),
      formatMs(f.importMs.median),
      formatMs(f.importMs.p95),
      formatMs(f.processMs.median),
      f.rssMiB.median.toFixed(0),
    ];
    const { ours: o, sdk: s } = figures;
    return {
      id: 'client-bundle',
      title: 'Client bundle size and fresh-process import time (ours vs official SDK)',
      status: 'ok',
      notes: [
        ours.note,
        'official = @huaweicloud/huaweicloud-sdk-core + huaweicloud-sdk-ecs EcsClient (the BMS SDK is not on npm; ECS is its nearest equivalent)',
        "the SDK core require()s 'uuid' without declaring it; a node:crypto stand-in (bench/shims/uuid.ts) fills in",
        `median/p95 of ${o.importMs.n} fresh node processes each; import = await import(bundle), node process = spawn to exit`,
      ],
      tables: [
        {
          title: 'esbuild --bundle --platform=node --format=esm --target=node24 --minify',
          columns: ['bundle', 'size', 'gzip', 'import ms', 'p95', 'node process ms', 'RSS MiB'],
          rows: [
            row('ours', o),
            row('official SDK (ECS)', s),
            [
              'SDK/ours',
              formatRatio(s.bytes, o.bytes),
              formatRatio(s.gzipBytes, o.gzipBytes),
              formatRatio(s.importMs.median, o.importMs.median),
              '',
              formatRatio(s.processMs.median, o.processMs.median),
              formatRatio(s.rssMiB.median, o.rssMiB.median),
            ],
          ],
        },
      ],
      data: figures,
    };
  } finally {
    await cleanup();
  }
}

if (import.meta.main) await runStandalone(runClientBundleBench);
