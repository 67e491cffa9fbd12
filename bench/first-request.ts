/**
 * Time to a first completed request in a fresh process, per HTTP client, against a
 * loopback server. Import and request are reported separately: bundled undici pays most
 * of its cost at import, built-in fetch pays it lazily on the first call (Node loads its
 * internal undici then), node:http pays almost nothing. node:http is the baseline.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type BuiltBundle, bundleSource, repoRoot, scratchDir } from './bundle.ts';
import { PROBES, pick, runProbeRoundRobin } from './fresh-process.ts';
import { startLoopbackTarget } from './loopback-target.ts';
import { type BenchSection, runStandalone } from './report.ts';
import { formatBytes, formatMs, formatRatio, summarize } from './stats.ts';

const TRANSPORT = join(repoRoot, 'lib', 'huawei', 'http-transport.ts');

/** Each entry exports send(url, headers) → status and is bundled like a handler. */
function clientEntries(): Array<{ name: string; source: string }> {
  const entries = [
    {
      name: 'undici request (index)',
      source: `import { request } from 'undici';
        export async function send(url, headers) {
          const res = await request(url, { headers });
          await res.body.text();
          return res.statusCode;
        }`,
    },
  ];
  if (existsSync(TRANSPORT)) {
    entries.push({
      name: 'our UndiciTransport',
      source: `import { UndiciTransport } from ${JSON.stringify(TRANSPORT)};
        export async function send(url, headers) {
          const res = await new UndiciTransport().send({ api: 'bench', method: 'GET', url: new URL(url), headers });
          return res.status;
        }`,
    });
  }
  entries.push(
    {
      name: 'built-in fetch',
      source: `export async function send(url, headers) {
          const res = await fetch(url, { headers });
          await res.text();
          return res.status;
        }`,
    },
    {
      name: 'node:http (baseline)',
      source: `import { get } from 'node:http';
        export function send(url, headers) {
          return new Promise((resolve, reject) => {
            get(url, { headers }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode));
            }).on('error', reject);
          });
        }`,
    },
  );
  return entries;
}

export async function runFirstRequestBench(): Promise<BenchSection> {
  const { dir, cleanup } = await scratchDir();
  const target = await startLoopbackTarget();
  try {
    const entries = clientEntries();
    const bundles = new Map<string, BuiltBundle>();
    for (const [i, e] of entries.entries())
      bundles.set(e.name, await bundleSource(e.source, join(dir, `client-${i}.js`)));
    const headersJson = JSON.stringify(target.headers);
    const runs = await runProbeRoundRobin(
      PROBES.firstRequest,
      entries.map((e) => ({ name: e.name, args: [bundles.get(e.name)!.file, target.url, headersJson] })),
    );
    const figures = entries.map((e) => {
      const r = runs.get(e.name)!;
      return {
        client: e.name,
        bytes: bundles.get(e.name)!.bytes,
        importMs: summarize(pick(r, 'importMs')),
        requestMs: summarize(pick(r, 'requestMs')),
        totalMs: summarize(pick(r, 'totalMs')),
        processMs: summarize(pick(r, 'processMs')),
        statuses: [...new Set(pick(r, 'status'))],
      };
    });
    const baseline = figures.at(-1)!;
    return {
      id: 'first-request',
      title: 'Time to a first completed request in a fresh process',
      status: 'ok',
      notes: [
        `server: ${target.label}`,
        `median of ${baseline.totalMs.n} fresh node processes per client; each client is an esbuild bundle (same flags as the Lambda build)`,
        'import = await import(bundle); first request = send() until the body is read; built-in fetch loads its undici on the first call, so its cost shows under "first request"',
      ],
      tables: [
        {
          title: 'milliseconds (lower is better); ratio = total / node:http total',
          columns: [
            'client',
            'bundle',
            'import',
            'first request',
            'total',
            'total p95',
            'node process',
            'vs node:http',
            'status',
          ],
          rows: figures.map((f) => [
            f.client,
            formatBytes(f.bytes),
            formatMs(f.importMs.median),
            formatMs(f.requestMs.median),
            formatMs(f.totalMs.median),
            formatMs(f.totalMs.p95),
            formatMs(f.processMs.median),
            formatRatio(f.totalMs.median, baseline.totalMs.median),
            f.statuses.join(','),
          ]),
        },
      ],
      data: { server: target.label, clients: figures },
    };
  } finally {
    await target.close();
    await cleanup();
  }
}

if (import.meta.main) await runStandalone(runFirstRequestBench);
