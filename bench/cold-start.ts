/**
 * Cold start per Lambda function: builds with scripts/build.ts, then for each
 * dist/functions/<name>/index.js (copied alone into a scratch directory, as Lambda sees it:
 * no node_modules) reports its size and, in fresh processes, the import and the first
 * invocation against the emulator and fauxqs started here. The baseline is the official SDK
 * (bench/probes/sdk-bms-password.ts, bundled the same way) making its first call, a signed
 * GET of the BMS password path, against the same emulator.
 *
 * A first invocation changes state (the worker clears the password it escrows), so the worker
 * and the SDK get a fresh posted server on every run; the other functions repeat one event.
 */
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { RunningEmulator } from '../emulator/types.ts';
import { encodeWorkItem } from '../lib/queue/work-item-codec.ts';
import { buildAll } from '../scripts/build.ts';
import { type BundleSize, repoRoot, scratchDir, sizeOf } from './bundle.ts';
import { DEFAULT_RUNS, type ProbeRun, pick, runProbeOnce } from './fresh-process.ts';
import { bundleSdkStandIn, type FunctionWires, huaweiCalls, startFunctionWires } from './function-wires.ts';
import type { InvocationCase } from './probes/first-invocation.ts';
import { type BenchSection, runStandalone } from './report.ts';
import { formatBytes, formatMs, formatRatio, summarize } from './stats.ts';

const ID = 'cold-start';
const TITLE = 'Cold start per Lambda function (dist/functions/*/index.js) vs the official SDK';

/**
 * The NODE_OPTIONS serverless.yml gives every function (e.g. --enable-source-maps, which costs
 * import time): every cold start here runs under it, the SDK stand-in too.
 */
export function shippedNodeOptions(serverlessYml: string): string | undefined {
  let value = /^\s+NODE_OPTIONS:\s*(.+?)\s*$/m.exec(serverlessYml)?.[1];
  // `${param:nodeOptions}`: the value is that parameter's default.
  const param = value === undefined ? undefined : /^\$\{param:(\w+)\}$/.exec(value)?.[1];
  if (param !== undefined) value = new RegExp(`^\\s+${param}:\\s*(.*?)\\s*$`, 'm').exec(serverlessYml)?.[1];
  const unquoted = value?.replace(/^(['"])(.*)\1$/, '$2');
  return unquoted === '' ? undefined : unquoted;
}
const NODE_OPTIONS = shippedNodeOptions(readFileSync(join(repoRoot, 'serverless.yml'), 'utf8'));
const LAMBDA_ENV = NODE_OPTIONS === undefined ? undefined : { ...process.env, NODE_OPTIONS };
const PROBE = join(repoRoot, 'bench', 'probes', 'first-invocation.ts');
const SDK = 'official SDK (ECS): GET password';
/** serverless.yml sets NODE_OPTIONS=--enable-source-maps; these variants price it. */
const SOURCE_MAPS = '--enable-source-maps';

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
  return measureColdStart(join(repoRoot, 'dist', 'functions'));
}

/** One fresh-process variant (bundle named `name`) and the invocation case of each run (0 is the warm-up). */
interface Variant {
  name: string;
  /** The bundle it runs (default: the one named like the variant). */
  bundle?: string;
  /** Node flags, e.g. --enable-source-maps (what serverless.yml's NODE_OPTIONS would add). */
  nodeArgs?: readonly string[];
  /** What the first invocation does, for the notes. */
  work: string;
  caseFor(run: number): InvocationCase;
  /** Why a response does not show the intended work, or undefined when it does. */
  problem(response: unknown): string | undefined;
}

/** Captures one signed SMN Notification the emulator pushes for a newly created server. */
async function captureSmnNotification(
  emulator: RunningEmulator,
): Promise<{ headers: Record<string, string>; body: string; jobId: string }> {
  const deliveries: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    await emulator.admin.subscribe(`http://127.0.0.1:${port}/smn`);
    const confirmation = JSON.parse(deliveries[0]?.body ?? '{}') as { subscribe_url?: string };
    if (!confirmation.subscribe_url) throw new Error('the emulator sent no SMN SubscriptionConfirmation');
    (await fetch(confirmation.subscribe_url)).body?.cancel();
    const { jobId } = emulator.admin.createServers({ windows: 1, linux: 0, bootDelaySeconds: 0 });
    await emulator.admin.idle();
    const notification = deliveries.find((d) => d.headers['x-smn-message-type'] === 'Notification');
    if (!notification) throw new Error('the emulator pushed no SMN Notification');
    const headers = Object.fromEntries(
      Object.entries(notification.headers).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
    return { headers, body: notification.body, jobId };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const fieldsOf = (response: unknown): Record<string, unknown> => (response ?? {}) as Record<string, unknown>;

async function variants(wires: FunctionWires, dir: string, runs: number): Promise<Variant[]> {
  const { emulator } = wires;
  // All servers exist before any run, so the sweep lists the same fleet every time.
  const posted = emulator.admin.createServers({
    windows: 3 * (runs + 1),
    linux: 0,
    bootDelaySeconds: 0,
    postDelaySeconds: 0,
  }).windowsIds;
  const smn = await captureSmnNotification(emulator);
  const fleet = emulator.admin.servers().length;
  const env = async (name: string, extra: Record<string, string> = {}) => {
    const escrowDir = join(dir, `escrow-${name}`);
    await mkdir(escrowDir, { recursive: true });
    return { ...wires.env(escrowDir), ...extra };
  };
  const workerEnv = await env('worker', { ESCROW_SCHEDULER: 'fixed' });
  const workerMapsEnv = await env('worker-maps', { ESCROW_SCHEDULER: 'fixed' });
  const webhookEnv = await env('webhook');
  const directEnv = await env('direct-intake');
  const sweepEnv = await env('sweep');
  const sdkEnv = await env('sdk');
  const sqsRecord = (serverId: string) => ({
    messageId: `bench-${serverId}`,
    receiptHandle: 'bench',
    body: encodeWorkItem({
      v: 1,
      projectId: emulator.projectId,
      region: emulator.region,
      serverId,
      firstSeenAt: new Date(emulator.clock.now()).toISOString(),
      attempt: 0,
      source: 'direct',
    }),
    attributes: { ApproximateReceiveCount: '1' },
    messageAttributes: {},
    eventSource: 'aws:sqs',
    awsRegion: 'us-east-1',
  });

  const webhook: Variant = {
    name: 'webhook',
    work: 'webhook: API Gateway event carrying a signed SMN Notification (the CTS server-creation trace) → certificate fetched from the emulator, signature verified, 1 server enqueued to SQS',
    caseFor: () => ({
      env: webhookEnv,
      event: {
        version: '2.0',
        requestContext: { http: { method: 'POST', path: '/smn' } },
        headers: smn.headers,
        body: smn.body,
        isBase64Encoded: false,
      },
    }),
    problem: (r) => {
      const body = String(fieldsOf(r)['body'] ?? '');
      return fieldsOf(r)['statusCode'] === 200 && body.includes('"accepted":1') ? undefined : body;
    },
  };
  const workerProblem = (r: unknown): string | undefined => {
    const failures = fieldsOf(r)['batchItemFailures'] as unknown[] | undefined;
    return failures?.length === 0 ? undefined : `batchItemFailures ${JSON.stringify(failures)}`;
  };
  return [
    {
      name: 'worker',
      work: 'worker: SQS event of 1 ACTIVE Windows server with its password posted → show, GET, file escrow + read-back, DELETE; the verify GET is re-queued when the burst-of-one bucket has no free token (ESCROW_SCHEDULER=fixed so the first check is due at once)',
      caseFor: (run) => ({ env: workerEnv, event: { Records: [sqsRecord(posted[run]!)] } }),
      problem: workerProblem,
    },
    {
      name: `worker ${SOURCE_MAPS}`,
      bundle: 'worker',
      nodeArgs: [SOURCE_MAPS],
      work: `worker ${SOURCE_MAPS}: the same work on its own servers, with the bundle's linked .map beside it as in the Lambda zip`,
      caseFor: (run) => ({
        env: workerMapsEnv,
        event: { Records: [sqsRecord(posted[2 * (runs + 1) + run]!)] },
      }),
      problem: workerProblem,
    },
    webhook,
    {
      ...webhook,
      name: `webhook ${SOURCE_MAPS}`,
      bundle: 'webhook',
      nodeArgs: [SOURCE_MAPS],
      work: `webhook ${SOURCE_MAPS}: the same event`,
    },
    {
      name: 'direct-intake',
      work: 'direct-intake: {project_id, region, job_id} → BMS job resolved through the signed client, 1 server enqueued to SQS',
      caseFor: () => ({
        env: directEnv,
        event: { project_id: emulator.projectId, region: emulator.region, job_id: smn.jobId },
      }),
      problem: (r) =>
        (fieldsOf(r)['accepted'] as unknown[] | undefined)?.length === 1 ? undefined : JSON.stringify(r),
    },
    {
      name: 'sweep',
      work: `sweep: lists the project's ${fleet} servers, reads each one's escrow ledger (empty file store), enqueues all ${fleet} to SQS`,
      caseFor: () => ({ env: sweepEnv, event: {} }),
      problem: (r) => {
        const targets = (fieldsOf(r)['targets'] ?? []) as Array<{ enqueued?: number }>;
        return targets[0]?.enqueued === fleet ? undefined : JSON.stringify(r);
      },
    },
    {
      name: SDK,
      work: 'official SDK: builds EcsClient from the same variables, one signed GET of /v1/{project}/baremetalservers/{id}/os-server-password (a posted server) through its HcClient',
      caseFor: (run) => ({ env: sdkEnv, event: { serverId: posted[runs + 1 + run]! } }),
      problem: (r) => (fieldsOf(r)['passwordReturned'] === true ? undefined : JSON.stringify(r)),
    },
  ];
}

/**
 * Round-robin over the variants (A B C … A B C …) like runProbeRoundRobin, but with each run's
 * own case file, and counting the Huawei calls the emulator saw during each run.
 */
async function runVariants(
  wires: FunctionWires,
  list: readonly Variant[],
  bundles: ReadonlyMap<string, string>,
  dir: string,
  runs: number,
): Promise<Map<string, Array<ProbeRun & { calls: number }>>> {
  const out = new Map(list.map((v) => [v.name, [] as Array<ProbeRun & { calls: number }>]));
  for (let run = 0; run <= runs; run++) {
    for (const [index, v] of list.entries()) {
      const caseFile = join(dir, `case-${index}-${run}.json`);
      await writeFile(caseFile, JSON.stringify(v.caseFor(run)));
      const before = huaweiCalls(wires.emulator);
      const probe = await runProbeOnce(
        PROBE,
        [bundles.get(v.bundle ?? v.name)!, caseFile],
        v.nodeArgs,
        LAMBDA_ENV,
      );
      const calls = huaweiCalls(wires.emulator) - before;
      const problem = v.problem((probe.result as Record<string, unknown>)['response']);
      if (problem)
        throw new Error(`${v.name}: first invocation did not do its work: ${problem.slice(0, 200)}`);
      if (run > 0) out.get(v.name)!.push({ ...probe, calls });
    }
  }
  return out;
}

export async function measureColdStart(functionsDir: string, runs = DEFAULT_RUNS): Promise<BenchSection> {
  const names = (await readdir(functionsDir, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  if (names.length === 0) return pending(`nothing in ${functionsDir}`);
  const { dir, cleanup } = await scratchDir();
  const wires = await startFunctionWires();
  try {
    const bundles = new Map<string, string>();
    const sizes = new Map<string, BundleSize>();
    for (const name of names) {
      // With its source map beside it, as in the deployed zip (NODE_OPTIONS may load it).
      await mkdir(join(dir, name), { recursive: true });
      const file = join(dir, name, 'index.js');
      await copyFile(join(functionsDir, name, 'index.js'), file);
      await copyFile(join(functionsDir, name, 'index.js.map'), `${file}.map`).catch(() => {});
      bundles.set(name, file);
      sizes.set(name, await sizeOf(file));
    }
    const sdk = await bundleSdkStandIn(join(dir, 'sdk.js'));
    bundles.set(SDK, sdk.file);
    sizes.set(SDK, sdk);

    const list = (await variants(wires, dir, runs)).filter((v) => bundles.has(v.bundle ?? v.name));
    const results = await runVariants(wires, list, bundles, dir, runs);
    const figures = list.map((v) => {
      const r = results.get(v.name)!;
      return {
        name: v.name,
        ...sizes.get(v.bundle ?? v.name)!,
        importMs: summarize(pick(r, 'importMs')),
        invokeMs: summarize(pick(r, 'invokeMs')),
        totalMs: summarize(pick(r, 'totalMs')),
        processMs: summarize(pick(r, 'processMs')),
        rssMiB: summarize(pick(r, 'rssMiB')),
        huaweiCalls: summarize(r.map((x) => x.calls)).median,
      };
    });
    const base = figures.find((f) => f.name === SDK)!;
    return {
      id: ID,
      title: TITLE,
      status: 'ok',
      notes: [
        `median (p95) of ${base.totalMs.n} fresh node processes per variant, run round-robin after one discarded run each; each bundle alone in a scratch dir`,
        'import = await import(bundle); first invocation = handler(event, context) until it resolves; total = both; node process = spawn to exit, as seen by the parent',
        `every process runs with serverless.yml's NODE_OPTIONS (${NODE_OPTIONS ?? 'none'}), each bundle with its source map beside it as in the deployed zip`,
        `emulator (time ×1) and fauxqs run in the parent on loopback; the function environment points HUAWEICLOUD_*, ESCROW_STORE=file, WORK_QUEUE_URL/WORK_DLQ_URL and AWS_ENDPOINT_URL_SQS at them`,
        ...list.map((v) => v.work),
        'the official BMS SDK is not on npm: ECS stands in, its generated password request options sent to the BMS path (bench/probes/sdk-bms-password.ts)',
        'ratio = ours / SDK (below 1.00× = less time than the SDK); "Huawei calls" = API calls the emulator counted per run',
      ],
      tables: [
        {
          title: 'milliseconds (lower is better)',
          columns: [
            'function',
            'size',
            'gzip',
            'import',
            'first invocation',
            'total',
            'total p95',
            'node process',
            'RSS MiB',
            'Huawei calls',
            'import vs SDK',
            'invocation vs SDK',
            'total vs SDK',
          ],
          rows: figures.map((f) => [
            f.name,
            formatBytes(f.bytes),
            formatBytes(f.gzipBytes),
            formatMs(f.importMs.median),
            formatMs(f.invokeMs.median),
            formatMs(f.totalMs.median),
            formatMs(f.totalMs.p95),
            formatMs(f.processMs.median),
            f.rssMiB.median.toFixed(0),
            String(f.huaweiCalls),
            formatRatio(f.importMs.median, base.importMs.median),
            formatRatio(f.invokeMs.median, base.invokeMs.median),
            formatRatio(f.totalMs.median, base.totalMs.median),
          ]),
        },
      ],
      data: { functions: figures },
    };
  } finally {
    await wires.close();
    await cleanup();
  }
}

if (import.meta.main) await runStandalone(runColdStartBench);
