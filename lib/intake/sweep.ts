/**
 * The sweep: the backstop for dropped or never-sent events. For each target (region,
 * project) it lists every server and enqueues each Windows server that may still hold a
 * password record. The escrow store is the ledger: a server whose latest escrowed version
 * is marked cleared, and that has not been (re)launched since that version was written,
 * costs no password call and is not enqueued.
 */
import { randomUUID } from 'node:crypto';
import type { EscrowLedger } from '../escrow/escrow-store.ts';
import { leaseIsLive } from '../escrow/watch-lease.ts';
import { launchOf, osType } from '../huawei/bms-server.ts';
import type { BmsServer } from '../huawei/bms-types.ts';
import { enqueueServers } from './enqueue-servers.ts';
import { isValidId } from './ids.ts';
import type { SweepTarget } from './intake-config.ts';
import type { SweepDeps } from './intake-deps.ts';

export type SweepSkipReason = 'not-windows' | 'deleted' | 'already-cleared' | 'invalid-id' | 'watched';

export interface SweepTargetReport extends SweepTarget {
  listed: number;
  windows: number;
  /** Servers enqueued (or, on a dry run, that would have been). */
  enqueued: number;
  skipped: Record<SweepSkipReason, number>;
  /** Ids of the servers enqueued or, on a dry run, that would have been. */
  serverIds: string[];
}

export interface SweepReport {
  runId: string;
  dryRun: boolean;
  targets: SweepTargetReport[];
  totals: Omit<SweepTargetReport, 'region' | 'projectId' | 'serverIds'>;
}

export interface SweepProgress {
  target: SweepTarget;
  listed: number;
  windows: number;
  enqueued: number;
  skipped: number;
  /** True on the last callback for a target. */
  done: boolean;
}

export interface SweepOptions {
  targets: readonly SweepTarget[];
  dryRun?: boolean;
  onProgress?: (progress: SweepProgress) => void;
  signal?: AbortSignal;
  /** How many servers go to the queue per enqueue call. */
  batchSize?: number;
}

/** launched_at has no zone ("2019-05-22T03:23:59.000000"); Huawei times are UTC. */
function parseUtc(value: unknown): number {
  if (typeof value !== 'string' || value === '') return Number.NaN;
  return Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(value) ? value : `${value}Z`);
}

/**
 * Whether the ledger proves there is nothing to fetch: its latest version was cleared and
 * the server has not been (re)launched since. launched_at moves on a rebuild (the pipeline
 * reads it the same way); `updated` is only the fallback because clearing the record may
 * bump it, which would make every cleared server look reinstalled.
 */
export function clearedSinceLastLaunch(server: BmsServer, ledger: EscrowLedger | undefined): boolean {
  if (!ledger || ledger.versions.length === 0) return false;
  const latest = ledger.versions.reduce((a, b) =>
    (parseUtc(b.createdAt) || 0) >= (parseUtc(a.createdAt) || 0) ? b : a,
  );
  if (!latest.cleared) return false;
  // A version that names its launch is done for that launch only, and only once that launch
  // is known to have posted it (otherwise the worker watches for the launch's own post). No
  // clock is compared, so a skewed local clock cannot make a reinstalled server look done.
  if (latest.launchedAt !== undefined) {
    const launch = launchOf(server);
    return launch !== undefined && latest.launchedAt === launch && latest.postedInLaunch === true;
  }
  const escrowedAt = parseUtc(latest.createdAt);
  if (!Number.isFinite(escrowedAt)) return false;
  const launched = parseUtc(server['OS-SRV-USG:launched_at']);
  const changed = Number.isFinite(launched) ? launched : parseUtc(server.updated);
  return Number.isFinite(changed) && changed <= escrowedAt;
}

/** The newest escrowed version names a launch the server has since moved on from (a reinstall). */
export function launchMovedOn(server: BmsServer, ledger: EscrowLedger | undefined): boolean {
  const named = (ledger?.versions ?? []).filter((v) => v.launchedAt !== undefined);
  if (named.length === 0) return false;
  const latest = named.reduce((a, b) => ((b.launchedAt ?? '') >= (a.launchedAt ?? '') ? b : a));
  return latest.launchedAt !== launchOf(server);
}

function emptyReport(target: SweepTarget): SweepTargetReport {
  return {
    ...target,
    listed: 0,
    windows: 0,
    enqueued: 0,
    skipped: { 'not-windows': 0, deleted: 0, 'already-cleared': 0, 'invalid-id': 0, watched: 0 },
    serverIds: [],
  };
}

async function sweepTarget(
  deps: SweepDeps,
  target: SweepTarget,
  options: SweepOptions,
  runId: string,
): Promise<SweepTargetReport> {
  const report = emptyReport(target);
  const batchSize = options.batchSize ?? 50;
  const skippedCount = (): number => Object.values(report.skipped).reduce((a, b) => a + b, 0);
  const progress = (done: boolean): void =>
    options.onProgress?.({
      target,
      listed: report.listed,
      windows: report.windows,
      enqueued: report.enqueued,
      skipped: skippedCount(),
      done,
    });
  let batch: string[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    if (!options.dryRun) {
      await enqueueServers(
        deps,
        { ...target, serverIds: batch, source: 'sweep', origin: `sweep:${runId}` },
        options.signal,
      );
    }
    report.enqueued += batch.length;
    report.serverIds.push(...batch);
    batch = [];
    progress(false);
  };

  const bms = deps.bmsFor(target.region);
  for await (const server of bms.listServers(target.projectId, {}, { signal: options.signal })) {
    report.listed++;
    if (!isValidId('server id', server.id)) {
      report.skipped['invalid-id']++;
      continue;
    }
    if (String(server.status).toUpperCase() === 'DELETED') {
      report.skipped.deleted++;
      continue;
    }
    if (osType(server) !== 'windows') {
      report.skipped['not-windows']++;
      continue;
    }
    report.windows++;
    const ledger = await deps.escrow.ledger({ ...target, serverId: server.id }, { signal: options.signal });
    if (clearedSinceLastLaunch(server, ledger)) {
      report.skipped['already-cleared']++;
      continue;
    }
    // A live polling chain watches it already (SQS, where the queue cannot merge chains).
    if (deps.escrow.watches) {
      const lease = await deps.escrow.watches
        .read({ ...target, serverId: server.id }, { signal: options.signal })
        .catch(() => undefined);
      if (leaseIsLive(lease, deps.clock.now())) {
        report.skipped.watched++;
        continue;
      }
    }
    batch.push(server.id);
    if (batch.length >= batchSize) await flush();
    else if (report.listed % 100 === 0) progress(false);
  }
  await flush();
  progress(true);
  return report;
}

export async function runSweep(deps: SweepDeps, options: SweepOptions): Promise<SweepReport> {
  const runId = randomUUID();
  const reports: SweepTargetReport[] = [];
  for (const target of options.targets) {
    const report = await sweepTarget(deps, target, options, runId);
    reports.push(report);
    deps.logger.info('sweep target done', {
      runId,
      dryRun: options.dryRun ?? false,
      region: report.region,
      projectId: report.projectId,
      listed: report.listed,
      windows: report.windows,
      enqueued: report.enqueued,
      skipped: report.skipped,
    });
    deps.metrics.add('SweepEnqueued', 'Count', report.enqueued);
  }
  const totals = emptyReport({ region: '', projectId: '' });
  for (const r of reports) {
    totals.listed += r.listed;
    totals.windows += r.windows;
    totals.enqueued += r.enqueued;
    for (const key of Object.keys(r.skipped) as SweepSkipReason[]) totals.skipped[key] += r.skipped[key];
  }
  const { region: _r, projectId: _p, serverIds: _s, ...rest } = totals;
  return { runId, dryRun: options.dryRun ?? false, targets: reports, totals: rest };
}
