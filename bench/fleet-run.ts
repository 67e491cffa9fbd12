/**
 * One fleet run: an emulator with the documented rate limits and the 'realistic' post-delay
 * distribution, N Windows servers created at once and handed to direct intake, and the worker
 * in a child process (bench/fleet-worker.ts) under one scheduler. Every figure comes from the
 * emulator's truth and call log, not from what the hook believes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEmulator } from '../emulator/index.ts';
import { renderPostedSnippet } from '../guest/posted-snippet.ts';
import { clockEpoch } from '../harness/chaos/clock-alignment.ts';
import { API_LIMITS_PER_MINUTE } from '../lib/huawei/api-names.ts';
import { staticCredentialProvider } from '../lib/huawei/credentials.ts';
import { createHuaweiClients } from '../lib/huawei/huawei-clients.ts';
import { parseHuaweiConfig } from '../lib/huawei/huawei-config.ts';
import { runDirectIntake } from '../lib/intake/direct-intake.ts';
import { parseIntakeConfig } from '../lib/intake/intake-config.ts';
import { composeIntakeRuntime } from '../lib/intake/intake-runtime.ts';
import { DEFAULT_POSTED_SHOWS_PER_MINUTE, parsePostedConfig } from '../lib/intake/posted/posted-config.ts';
import { handlePostedRequest } from '../lib/intake/posted/posted-intake.ts';
import { clientEnv } from '../lib/local/emulator-env.ts';
import { silentLogger } from '../lib/observability/logger.ts';
import { nullMetrics } from '../lib/observability/metrics.ts';
import type { SchedulerKind } from '../lib/pipeline/pipeline-config.ts';
import { SqliteQueue } from '../lib/queue/sqlite-queue.ts';

const ROOT = resolve(import.meta.dirname, '..');
const MINUTE = 60_000;
/** A throwaway key for the bench: the snippet signs with it, the endpoint checks it. */
const POSTED_KEY = 'fleet-bench-posted-key-0123456789abcdef';
const POSTED_SHOWS_PER_MINUTE = DEFAULT_POSTED_SHOWS_PER_MINUTE;

export interface FleetRunOptions {
  scheduler: SchedulerKind;
  servers: number;
  timeScale: number;
  seed: number;
  /** Emulated minutes after creation at which the run is cut off. */
  maxMinutes: number;
  /** ESCROW_DEADLINE_SECONDS for the worker. */
  deadlineSeconds: number;
  /** Messages the worker leases per batch, and servers it works on at once. */
  batchSize: number;
  concurrency: number;
  /** Label in the report (defaults to the scheduler). */
  label?: string | undefined;
  /**
   * Share of guests that run the `posted` snippet (0..1): each notifies the hook's POST /posted
   * a seeded 1–5 s after its post. The worker is told to expect that share, less the losses
   * (ESCROW_POSTED_HINT_SHARE).
   */
  notifyFraction: number;
  /** Share of the snippet's notifications the emulated network loses (0..1). */
  notifyLossRate: number;
  /** HUAWEICLOUD_RATE_JITTER_MS for the worker (real ms). */
  rateJitterMs: number;
}

export interface ServerFigures {
  /** Emulated ms from creation to the first Cloudbase-Init post; null if never posted. */
  postMs: number | null;
  /** Emulated ms from creation to ACTIVE. */
  activeMs: number;
  /** Emulated ms from the post to the DELETE that cleared it; null if never cleared. */
  exposureMs: number | null;
  clearedMs: number | null;
  gets: number;
  deletes: number;
  /** Emulated ms from the post to the GET that found it; null if never found. */
  findMs: number | null;
  /** The guest notified the hook after posting. */
  notified: boolean;
}

export interface FleetRunResult {
  scheduler: string;
  notifyFraction: number;
  seed: number;
  /**
   * Minutes (whole, emulated) in which some server had posted and stayed unfound all minute
   * long, and the password GETs left unspent in them (the hook's 48/min minus the GETs made).
   */
  rush: { minutes: number; unspentTokens: number };
  /** Messages still queued when every server was cleared and verified (safety-net checks). */
  leftoverMessages: number;
  servers: ServerFigures[];
  /** Emulated ms from creation to the last DELETE that cleared a record. */
  makespanMs: number;
  finished: boolean;
  passwordGets: number;
  passwordDeletes: number;
  /** 429s received per API. */
  throttled: Record<string, number>;
  deadLetters: Record<string, number>;
  worker: { peakRssBytes: number; peakHeapBytes: number; maxRssBytes: number; batches: number };
  realSeconds: number;
}

function waitForLine(child: ChildProcess, predicate: (line: string) => boolean): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let buffer = '';
    const onData = (d: Buffer): void => {
      buffer += d.toString();
      for (const line of buffer.split('\n')) {
        if (predicate(line)) {
          child.stdout!.off('data', onData);
          resolvePromise(line);
          return;
        }
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`fleet worker exited with ${code}`)));
  });
}

/** See FleetRunResult.rush; `exposed` holds [post, found] per server, ms after creation. */
export function rushFigures(
  getMs: readonly number[],
  exposed: ReadonlyArray<readonly [number, number]>,
  tokensPerMinute = 48,
): { minutes: number; unspentTokens: number } {
  const perMinute = new Map<number, number>();
  for (const t of getMs)
    perMinute.set(Math.floor(t / MINUTE), (perMinute.get(Math.floor(t / MINUTE)) ?? 0) + 1);
  const last = Math.max(
    0,
    ...exposed.map(([post, found]) => Math.floor((Number.isFinite(found) ? found : post) / MINUTE)),
  );
  let minutes = 0;
  let unspentTokens = 0;
  for (let m = 0; m <= last; m++) {
    const start = m * MINUTE;
    if (!exposed.some(([post, found]) => post <= start && found >= start + MINUTE)) continue;
    minutes++;
    unspentTokens += Math.max(0, tokensPerMinute - (perMinute.get(m) ?? 0));
  }
  return { minutes, unspentTokens };
}

/** Every cleared server has had a password GET after its (last) DELETE: the verify ran. */
function allVerified(
  events: ReadonlyArray<{ serverId: string; method: string }>,
  truths: ReadonlyArray<{ id: string }>,
): boolean {
  const last = new Map<string, string>();
  for (const e of events) last.set(e.serverId, e.method);
  return truths.every((t) => last.get(t.id) === 'GET');
}

/**
 * The hook's POST /posted for the bench: the same handler as `serve` and the Lambda, writing
 * hints into the worker's file queue and waking the worker (as an SQS long poll would return).
 * Its show-server calls come out of a budget of their own (the endpoint's default), which the worker's client
 * leaves free, so the two processes together stay under the API's 1000/min.
 */
async function startPostedEndpoint(
  emulator: Awaited<ReturnType<typeof startEmulator>>,
  queue: SqliteQueue,
  wake: () => void,
): Promise<{ url: string; close(): Promise<void> }> {
  const clients = createHuaweiClients(
    parseHuaweiConfig({
      ...clientEnv(emulator),
      HUAWEICLOUD_RATE_LIMITS: `server.get=${POSTED_SHOWS_PER_MINUTE}`,
    }),
    {
      credentials: staticCredentialProvider({ accessKey: emulator.accessKey, secretKey: emulator.secretKey }),
      clock: emulator.clock,
    },
  );
  const intake = composeIntakeRuntime({
    config: parseIntakeConfig({}),
    queue,
    bmsFor: () => clients.bms,
    clock: emulator.clock,
    logger: silentLogger,
    metrics: nullMetrics,
    posted: parsePostedConfig({ ESCROW_POSTED_HMAC_KEY: POSTED_KEY }, [
      { projectId: emulator.projectId, region: emulator.region },
    ]),
  });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handlePostedRequest(intake.posted, {
        method: req.method ?? 'GET',
        headers: req.headers as Record<string, string | undefined>,
        body: Buffer.concat(chunks).toString('utf8'),
      }).then((response) => {
        res.writeHead(response.statusCode, response.headers);
        res.end(response.body);
        if (response.statusCode === 202) wake();
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/posted`,
    close: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await clients.close();
    },
  };
}

export async function runFleet(options: FleetRunOptions): Promise<FleetRunResult> {
  const started = Date.now();
  const emulator = await startEmulator({
    seed: options.seed,
    timeScale: options.timeScale,
    switches: { distribution: 'realistic', postedNotifyLossRate: options.notifyLossRate },
  });
  let closeEndpoint = async (): Promise<void> => {};
  const dir = await mkdtemp(
    join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), `fleet-${options.scheduler}-`),
  );
  let child: ChildProcess | undefined;
  try {
    const queue = new SqliteQueue({ database: join(dir, 'queue.db'), clock: emulator.clock });
    // The guests that run the snippet: a share h of the fleet, whose user data carries it (the
    // emulated guest then notifies 1–5 s after posting, and loses FLEET_NOTIFY_LOSS of them).
    let wakeWorker = (): void => {};
    const endpoint = await startPostedEndpoint(emulator, queue, () => wakeWorker());
    closeEndpoint = endpoint.close;
    const userData = renderPostedSnippet({ hookUrl: endpoint.url, hmacKey: POSTED_KEY });
    const notifying = Math.round(options.servers * options.notifyFraction);
    const created = { serverIds: [] as string[] };
    const snippetIds = new Set<string>();
    for (const [count, withSnippet] of [
      [notifying, true],
      [options.servers - notifying, false],
    ] as const) {
      if (count === 0) continue;
      const ids = emulator.admin.createServers({
        windows: count,
        linux: 0,
        distribution: 'realistic',
        ...(withSnippet ? { userData } : {}),
      }).serverIds;
      created.serverIds.push(...ids);
      if (withSnippet) for (const id of ids) snippetIds.add(id);
    }
    const t0 = emulator.admin.server(created.serverIds[0]!)!.createdAt;
    // Direct intake: the provisioning pipeline names the servers it just created.
    const intake = composeIntakeRuntime({
      config: parseIntakeConfig({}),
      queue,
      bmsFor: () => {
        throw new Error('not used by a server-id request');
      },
      clock: emulator.clock,
      logger: silentLogger,
      metrics: nullMetrics,
    });
    await runDirectIntake(intake, {
      projectId: emulator.projectId,
      region: emulator.region,
      serverIds: created.serverIds,
      jobId: undefined,
    });

    child = spawn(process.execPath, [join(ROOT, 'bench/fleet-worker.ts')], {
      env: {
        // Scheduler knobs (ESCROW_*) pass through, so variants can be compared with one command.
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('ESCROW_'))),
        PATH: process.env['PATH'],
        ...clientEnv(emulator),
        ESCROW_SCHEDULER: options.scheduler,
        ESCROW_DEADLINE_SECONDS: String(options.deadlineSeconds),
        FLEET_QUEUE_FILE: join(dir, 'queue.db'),
        FLEET_ESCROW_DIR: join(dir, 'escrow'),
        FLEET_CLOCK_SCALE: String(emulator.clock.scale),
        FLEET_CLOCK_EPOCH: String(clockEpoch(emulator.clock)),
        FLEET_BATCH_SIZE: String(options.batchSize),
        ESCROW_CONCURRENCY: String(options.concurrency),
        // A fleet where some guests notify runs the hook with notifications on (which also
        // lets a chain consult the ledger before its GET), expecting that share to notify.
        ...(options.notifyFraction > 0
          ? {
              ESCROW_POSTED_HMAC_KEY: POSTED_KEY,
              ESCROW_POSTED_HINT_SHARE: String(options.notifyFraction * (1 - options.notifyLossRate)),
            }
          : {}),
        // The endpoint's show-server calls have their own budget; the worker keeps off it.
        HUAWEICLOUD_RATE_LIMITS: `server.get=${API_LIMITS_PER_MINUTE['server.get'] - POSTED_SHOWS_PER_MINUTE}`,
        HUAWEICLOUD_RATE_JITTER_MS: String(options.rateJitterMs),
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    await waitForLine(child, (l) => l === 'ready');
    const workerProcess = child;
    wakeWorker = () => void workerProcess.stdin?.write('\n');

    // Done when every server is cleared and its verify GET has run; what is still queued then
    // (a stale chain beside a hinted one, a far safety-net check) is counted, not waited for.
    let finished = false;
    let leftoverMessages = 0;
    let polls = 0;
    while (emulator.clock.now() - t0 < options.maxMinutes * MINUTE) {
      await new Promise((r) => setTimeout(r, 100));
      // The emulator shares this event loop: look at the cheap truth first, the queue files only
      // when it says the fleet may be done (or once every few seconds, for dead letters).
      const truths = emulator.admin.servers();
      const allCleared = truths.every((t) => t.nextPostAt === null && t.clearedAt !== null);
      if (!allCleared && ++polls % 50 !== 0) continue;
      const depth = await queue.depth();
      const dead = (await queue.deadLetters()).length;
      if (allCleared && depth.visible === 0 && allVerified(emulator.admin.calls().passwordEvents, truths)) {
        finished = true;
        leftoverMessages = depth.invisible;
        break;
      }
      if (dead > 0 && depth.visible + depth.invisible === 0) break;
    }
    const report = waitForLine(child, (l) => l.startsWith('{'));
    child.kill('SIGTERM');
    const worker = JSON.parse(await report) as FleetRunResult['worker'];

    const calls = emulator.admin.calls();
    const counts = new Map<string, { gets: number; deletes: number; foundAt?: number }>();
    for (const e of calls.passwordEvents) {
      const c = counts.get(e.serverId) ?? { gets: 0, deletes: 0 };
      if (e.returnedPassword && c.foundAt === undefined) c.foundAt = e.time;
      if (e.method === 'GET') c.gets++;
      else c.deletes++;
      counts.set(e.serverId, c);
    }
    const delivered = new Set(
      emulator.admin
        .postedNotifications()
        .filter((n) => n.outcome === 'delivered')
        .map((n) => n.serverId),
    );
    let makespanMs = 0;
    const servers = emulator.admin.servers().map((t): ServerFigures => {
      const posted = t.postHistory.find((h) => h.event === 'posted');
      const cleared = t.postHistory.find((h) => h.event === 'cleared');
      if (cleared) makespanMs = Math.max(makespanMs, cleared.at - t0);
      const c = counts.get(t.id) ?? { gets: 0, deletes: 0 };
      return {
        postMs: posted ? posted.at - t0 : null,
        activeMs: t.activeAt - t0,
        exposureMs: posted && cleared ? cleared.at - posted.at : null,
        clearedMs: cleared ? cleared.at - t0 : null,
        gets: c.gets,
        deletes: c.deletes,
        findMs: posted && c.foundAt !== undefined ? c.foundAt - posted.at : null,
        notified: snippetIds.has(t.id) && delivered.has(t.id),
      };
    });
    const rush = rushFigures(
      calls.passwordEvents.filter((e) => e.method === 'GET').map((e) => e.time - t0),
      servers.flatMap((f) =>
        f.postMs === null ? [] : [[f.postMs, f.findMs === null ? Infinity : f.postMs + f.findMs] as const],
      ),
    );
    const throttled: Record<string, number> = {};
    for (const [api, c] of Object.entries(calls.apis)) if (c['429'] > 0) throttled[api] = c['429'];
    const deadLetters: Record<string, number> = {};
    for (const letter of await queue.deadLetters())
      deadLetters[letter.reason] = (deadLetters[letter.reason] ?? 0) + 1;
    return {
      scheduler: options.label ?? options.scheduler,
      notifyFraction: options.notifyFraction,
      seed: options.seed,
      leftoverMessages,
      rush,
      servers,
      makespanMs,
      finished,
      passwordGets: calls.passwordEvents.filter((e) => e.method === 'GET').length,
      passwordDeletes: calls.passwordEvents.filter((e) => e.method === 'DELETE').length,
      throttled,
      deadLetters,
      worker,
      realSeconds: (Date.now() - started) / 1000,
    };
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await closeEndpoint();
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  }
}
