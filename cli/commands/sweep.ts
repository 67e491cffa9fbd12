import { join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { readString } from '../../lib/config/env-parsers.ts';
import { DedupeCache } from '../../lib/intake/dedupe-cache.ts';
import { parseIntakeConfig } from '../../lib/intake/intake-config.ts';
import { runSweep, type SweepReport } from '../../lib/intake/sweep.ts';
import { DEFAULT_STATE_DIR, ENV_LOCAL_STATE_DIR, STATE_DB_FILE } from '../../lib/local/local-config.ts';
import { makeDirs } from '../../lib/make-dirs.ts';
import { parseQueueConfig } from '../../lib/queue/queue-config.ts';
import { SqliteQueue } from '../../lib/queue/sqlite-queue.ts';
import { SqsWorkQueue } from '../../lib/queue/sqs-queue.ts';
import type { WorkQueue } from '../../lib/queue/work-item.ts';
import {
  cliLogger,
  directRuntime,
  effectiveEnv,
  TARGET_HELP,
  TARGET_OPTIONS,
  target,
  writeJson,
} from '../cli-runtime.ts';
import { type Command, EXIT } from '../command.ts';
import { createProgress, formatTable } from '../output.ts';

export const sweepCommand: Command = {
  name: 'sweep',
  summary:
    "List every server in a project and queue each Windows server that may still hold a password record. The escrow store is the ledger: servers already escrowed and cleared (and not reinstalled since) cost no password call. Work goes to the SQS queue when WORK_QUEUE_URL is set, otherwise to the local stack's durable queue, which 'bms-password-escrow serve' processes.",
  usage: 'sweep --project-id P [--region R] [--dry-run] [--state-dir D] [--json]',
  help: `${TARGET_HELP}
  --dry-run                list what would be queued; queue nothing
  --state-dir D            the local stack's state directory (default LOCAL_STATE_DIR or ${DEFAULT_STATE_DIR})`,
  options: { ...TARGET_OPTIONS, 'dry-run': { type: 'boolean' }, 'state-dir': { type: 'string' } },
  async run(flags, io) {
    const env = effectiveEnv(io, flags);
    const { projectId, region } = await target(env, io.signal);
    const runtime = await directRuntime(io, env);
    const logger = cliLogger(io, env);
    const queueUrl = parseQueueConfig(env).workQueueUrl;
    const stateDir =
      (flags['state-dir'] as string | undefined) ?? readString(env, ENV_LOCAL_STATE_DIR, DEFAULT_STATE_DIR);
    if (!queueUrl) await makeDirs(stateDir);
    const queue: WorkQueue = queueUrl
      ? new SqsWorkQueue({ client: new SQSClient({}), queueUrl })
      : new SqliteQueue({ database: join(stateDir, STATE_DB_FILE) });
    const config = parseIntakeConfig(env);
    const progress = createProgress(io.stderr);
    try {
      const report: SweepReport = await runSweep(
        {
          config,
          queue,
          bmsFor: runtime.process.bmsFor,
          clock: runtime.process.clock,
          logger,
          metrics: runtime.metrics,
          dedupe: new DedupeCache(config.dedupeCacheSize),
          escrow: runtime.process.store,
        },
        {
          targets: [{ region, projectId }],
          dryRun: flags['dry-run'] === true,
          signal: io.signal,
          onProgress: (p) =>
            progress.update(p.listed, undefined, `listed, ${p.windows} Windows, ${p.enqueued} queued`),
        },
      );
      progress.done();
      if (flags['json']) {
        writeJson(io, { ...report, queue: queueUrl ?? join(stateDir, STATE_DB_FILE) });
      } else {
        const t = report.totals;
        io.stdout.write(
          `${formatTable(
            [
              'LISTED',
              'WINDOWS',
              report.dryRun ? 'WOULD QUEUE' : 'QUEUED',
              'ALREADY CLEARED',
              'NOT WINDOWS',
              'DELETED',
              'INVALID ID',
              'WATCHED',
            ],
            [
              [
                t.listed,
                t.windows,
                t.enqueued,
                t.skipped['already-cleared'],
                t.skipped['not-windows'],
                t.skipped.deleted,
                t.skipped['invalid-id'],
                t.skipped.watched,
              ],
            ],
          )}\n`,
        );
        const where = queueUrl
          ? `SQS ${queueUrl}`
          : `${join(stateDir, STATE_DB_FILE)} (run "bms-password-escrow serve" to process it)`;
        io.stdout.write(report.dryRun ? '\nDry run: nothing was queued.\n' : `\nQueued to ${where}.\n`);
      }
      return EXIT.ok;
    } finally {
      progress.done();
      await runtime.close();
      if (queue instanceof SqliteQueue) queue.close();
    }
  },
};
