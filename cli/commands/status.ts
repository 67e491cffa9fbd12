import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { EscrowLedger } from '../../lib/escrow/escrow-store.ts';
import { osType } from '../../lib/huawei/bms-server.ts';
import { launchMovedOn } from '../../lib/intake/sweep.ts';
import { DEFAULT_STATE_DIR, ENV_LOCAL_STATE_DIR, STATE_DB_FILE } from '../../lib/local/local-config.ts';
import { StatusBoard, sqliteBoardStore } from '../../lib/local/status-board.ts';
import { exposureBounds, formatExposure } from '../../lib/pipeline/exposure-bounds.ts';
import { SqliteDatabase } from '../../lib/queue/sqlite-database.ts';
import {
  directRuntime,
  effectiveEnv,
  TARGET_HELP,
  TARGET_OPTIONS,
  target,
  writeJson,
} from '../cli-runtime.ts';
import type { Command } from '../command.ts';
import { EXIT } from '../command.ts';
import { createProgress, formatTable } from '../output.ts';

export interface ServerStatusRow {
  serverId: string;
  name: string;
  os: string;
  status: string;
  /** present | cleared | pending (reinstalled since the last clear) | unchecked | n/a (not Windows) | error */
  record: string;
  escrowVersions: number;
  clearedVersions: number;
  /**
   * The exposure window as the hook knows it (from its finding GET, at most from its last
   * empty GET, to its DELETE), from the local stack's status board; null where it has none.
   */
  exposure: { minSeconds: number; maxSeconds: number | null; open: boolean } | null;
  /** The guest sent a `posted` notification (per the status board). */
  notified: boolean;
}

function escrowSummary(ledger: EscrowLedger | undefined): { versions: number; cleared: number } {
  const versions = ledger?.versions ?? [];
  return { versions: versions.length, cleared: versions.filter((v) => v.cleared).length };
}

export const statusCommand: Command = {
  name: 'status',
  summary:
    'List every server in a project: whether its password record is still present or cleared, and its escrow versions. Checking records spends password GETs (50/min); --no-record-check skips them.',
  usage: 'status --project-id P [--region R] [--no-record-check] [--state-dir D] [--json]',
  help: `${TARGET_HELP}
  --no-record-check        do not GET each Windows server's password record (saves the 50/min budget)
  --state-dir D            the local stack's state dir, whose status board gives each server's
                           exposure window (default ${DEFAULT_STATE_DIR}, ${ENV_LOCAL_STATE_DIR})`,
  options: { ...TARGET_OPTIONS, 'no-record-check': { type: 'boolean' }, 'state-dir': { type: 'string' } },
  async run(flags, io) {
    const env = effectiveEnv(io, flags);
    const { projectId, region } = await target(env, io.signal);
    const runtime = await directRuntime(io, env);
    const progress = createProgress(io.stderr);
    const stateDir =
      typeof flags['state-dir'] === 'string'
        ? flags['state-dir']
        : (env[ENV_LOCAL_STATE_DIR] ?? DEFAULT_STATE_DIR);
    const board = await readStatusBoard(join(stateDir, STATE_DB_FILE));
    const nowMs = runtime.process.clock.now();
    try {
      const bms = runtime.process.bmsFor(region);
      const store = runtime.process.store;
      const rows: ServerStatusRow[] = [];
      for await (const server of bms.listServers(projectId, {}, { signal: io.signal })) {
        const windows = osType(server) === 'windows';
        const ledger = windows
          ? await store.ledger({ projectId, region, serverId: server.id }, { signal: io.signal })
          : undefined;
        let record = windows ? 'unchecked' : 'n/a';
        if (windows && flags['no-record-check'] !== true) {
          try {
            const found = await bms.getPassword(projectId, server.id, { signal: io.signal });
            record = found
              ? 'present'
              : launchMovedOn(server, ledger)
                ? 'pending (reinstalled since the last clear)'
                : 'cleared';
          } catch (error) {
            record = `error (${(error as { code?: string }).code ?? (error as Error).name})`;
          }
        }
        const escrow = escrowSummary(ledger);
        const seen = board.get(server.id);
        const bounds = seen ? exposureBounds(seen, nowMs) : undefined;
        rows.push({
          serverId: server.id,
          name: server.name,
          os: osType(server) ?? 'unknown',
          status: String(server.status),
          record,
          escrowVersions: escrow.versions,
          clearedVersions: escrow.cleared,
          exposure: bounds ? { ...bounds, maxSeconds: bounds.maxSeconds ?? null } : null,
          notified: seen?.postedHintAt !== undefined,
        });
        progress.update(rows.length, undefined, 'servers');
      }
      progress.done();
      if (flags['json']) {
        writeJson(io, { projectId, region, servers: rows });
      } else {
        io.stdout.write(
          `${formatTable(
            ['SERVER', 'NAME', 'OS', 'STATUS', 'RECORD', 'ESCROW', 'EXPOSURE', 'NOTIFIED'],
            rows.map((r) => [
              r.serverId,
              r.name,
              r.os,
              r.status,
              r.record,
              r.escrowVersions === 0 ? '-' : `${r.escrowVersions} version(s), ${r.clearedVersions} cleared`,
              r.exposure
                ? formatExposure({ ...r.exposure, maxSeconds: r.exposure.maxSeconds ?? undefined })
                : '-',
              r.notified ? 'yes' : '',
            ]),
          )}\n`,
        );
        const exposed = rows.filter((r) => r.record === 'present').length;
        io.stdout.write(`\n${rows.length} servers; ${exposed} Windows password record(s) still present.\n`);
      }
      return EXIT.ok;
    } finally {
      progress.done();
      await runtime.close();
    }
  },
};

/**
 * The local stack's status board, read once. A view, not the truth: a state database that is
 * missing or unreadable just leaves the exposure column empty (and is never created here).
 */
async function readStatusBoard(file: string): Promise<StatusBoard> {
  if (!existsSync(file)) return new StatusBoard();
  let db: SqliteDatabase | undefined;
  try {
    db = new SqliteDatabase(file);
    const board = new StatusBoard({ store: sqliteBoardStore(db) });
    await board.load();
    return board;
  } catch {
    return new StatusBoard();
  } finally {
    db?.close();
  }
}
