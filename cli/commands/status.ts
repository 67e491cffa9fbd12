import type { EscrowLedger } from '../../lib/escrow/escrow-store.ts';
import { osType } from '../../lib/huawei/bms-server.ts';
import { launchMovedOn } from '../../lib/intake/sweep.ts';
import type { Command } from '../command.ts';
import { EXIT } from '../command.ts';
import {
  directRuntime,
  effectiveEnv,
  TARGET_HELP,
  TARGET_OPTIONS,
  target,
  writeJson,
} from '../cli-runtime.ts';
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
}

function escrowSummary(ledger: EscrowLedger | undefined): { versions: number; cleared: number } {
  const versions = ledger?.versions ?? [];
  return { versions: versions.length, cleared: versions.filter((v) => v.cleared).length };
}

export const statusCommand: Command = {
  name: 'status',
  summary:
    'List every server in a project: whether its password record is still present or cleared, and its escrow versions. Checking records spends password GETs (50/min); --no-record-check skips them.',
  usage: 'status --project-id P [--region R] [--no-record-check] [--json]',
  help: `${TARGET_HELP}
  --no-record-check        do not GET each Windows server's password record (saves the 50/min budget)`,
  options: { ...TARGET_OPTIONS, 'no-record-check': { type: 'boolean' } },
  async run(flags, io) {
    const env = effectiveEnv(io, flags);
    const { projectId, region } = await target(env, io.signal);
    const runtime = await directRuntime(io, env);
    const progress = createProgress(io.stderr);
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
        rows.push({
          serverId: server.id,
          name: server.name,
          os: osType(server) ?? 'unknown',
          status: String(server.status),
          record,
          escrowVersions: escrow.versions,
          clearedVersions: escrow.cleared,
        });
        progress.update(rows.length, undefined, 'servers');
      }
      progress.done();
      if (flags['json']) {
        writeJson(io, { projectId, region, servers: rows });
      } else {
        io.stdout.write(
          `${formatTable(
            ['SERVER', 'NAME', 'OS', 'STATUS', 'RECORD', 'ESCROW'],
            rows.map((r) => [
              r.serverId,
              r.name,
              r.os,
              r.status,
              r.record,
              r.escrowVersions === 0 ? '-' : `${r.escrowVersions} version(s), ${r.clearedVersions} cleared`,
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
