import type { Outcome } from '../../lib/pipeline/outcome.ts';
import { processServer } from '../../lib/pipeline/process-server.ts';
import type { WorkItem } from '../../lib/queue/work-item.ts';
import {
  checkId,
  directRuntime,
  effectiveEnv,
  TARGET_HELP,
  TARGET_OPTIONS,
  target,
  writeJson,
} from '../cli-runtime.ts';
import { type Command, EXIT, requireOption } from '../command.ts';
import { terminalSafe } from '../output.ts';

/** How long `process` keeps confirming a clear that a 202 left pending before handing back 75. */
const VERIFY_PATIENCE_MS = 60_000;

export function exitCodeFor(outcome: Outcome): number {
  switch (outcome.kind) {
    case 'cleared':
      // The record is safe either way; the code says whether the escrow's "cleared" mark is missing.
      return outcome.bookkeeping ? EXIT.clearedBookkeepingFailed : EXIT.ok;
    case 'escrowed':
    case 'skipped':
      return EXIT.ok;
    case 'not-ready':
      // The record found was escrowed and cleared; only a possible repost is still watched for.
      return outcome.reason === 'watching' ? EXIT.ok : EXIT.notReady;
    case 'failed':
      return EXIT.error;
  }
}

/** One line for the terminal; details can carry the cloud's own text, so controls are stripped. */
export function describeOutcome(serverId: string, outcome: Outcome): string {
  return terminalSafe(outcomeLine(serverId, outcome));
}

/** The line while `process` keeps going by itself: "try again" is only for a final answer. */
export function describeWait(serverId: string, outcome: Outcome & { kind: 'not-ready' }): string {
  return terminalSafe(
    `${serverId}: not ready (${outcome.reason}); checking again by itself in about ${outcome.retryAfterSeconds}s`,
  );
}

function outcomeLine(serverId: string, outcome: Outcome): string {
  switch (outcome.kind) {
    case 'cleared': {
      const line = `${serverId}: escrowed and cleared (version ${outcome.versionId.slice(0, 12)}, found ${outcome.exposure.foundAt}, cleared ${outcome.exposure.clearedAt}, ${outcome.exposure.passwordChecks} password checks)`;
      return outcome.bookkeeping
        ? `${line}; but marking the escrow cleared failed (${outcome.bookkeeping.detail}): a rerun or the sweep repeats only that`
        : line;
    }
    case 'escrowed':
      return `${serverId}: escrowed and read back (version ${outcome.versionId.slice(0, 12)}); dry run, record NOT cleared`;
    case 'skipped':
      return `${serverId}: skipped (${outcome.reason}${outcome.detail ? `: ${outcome.detail}` : ''})`;
    case 'not-ready':
      if (outcome.reason === 'watching')
        return `${serverId}: escrowed and cleared; the guest may still post again (a lost answer, or a reinstall's new OS): the service or the sweep looks again, or run process --wait`;
      return `${serverId}: not ready (${outcome.reason}); try again in about ${outcome.retryAfterSeconds}s`;
    case 'failed':
      return `${serverId}: failed (${outcome.reason}${outcome.detail ? `: ${outcome.detail}` : ''})`;
  }
}

export const processCommand: Command = {
  name: 'process',
  summary:
    'Run the escrow-then-clear state machine once for one server: show it, fetch the password record, escrow it, read the escrow back, then clear the record and verify it is gone.',
  usage: 'process --project-id P --server-id S [--region R] [--dry-run] [--wait] [--json]',
  help: `  --server-id S            the bare metal server id (UUID)
${TARGET_HELP}
  --dry-run                everything but the DELETE (also DRY_RUN=true)
  --wait                   keep going until done, skipped or failed (uses the poll schedule and deadline)`,
  options: {
    ...TARGET_OPTIONS,
    'server-id': { type: 'string' },
    'dry-run': { type: 'boolean' },
    wait: { type: 'boolean' },
  },
  async run(flags, io) {
    const env = effectiveEnv(io, flags);
    const serverId = checkId(
      'server id',
      'server-id',
      requireOption(flags, 'server-id', 'the id of the server to escrow'),
    );
    const { projectId, region } = await target(env, io.signal);
    const runtime = await directRuntime(io, env);
    try {
      const clock = runtime.process.clock;
      let item: WorkItem = {
        v: 1,
        projectId,
        region,
        serverId,
        firstSeenAt: new Date(clock.now()).toISOString(),
        attempt: 0,
        source: 'cli',
      };
      const verifyUntil = clock.now() + VERIFY_PATIENCE_MS;
      // Without --wait there is no one to keep watching for a repost after the clear: report the
      // clear. (A reinstalled server's watch for its new OS still shows as "watching".)
      const { scheduler } = runtime.process;
      const deps =
        flags['wait'] === true
          ? runtime.process
          : {
              ...runtime.process,
              scheduler: { ...scheduler, config: { ...scheduler.config, repostWatchSeconds: 0 } },
            };
      let outcome: Outcome;
      for (;;) {
        const result = await processServer(item, deps, io.signal);
        outcome = result.outcome;
        item = { ...result.item, attempt: item.attempt + 1 };
        if (outcome.kind !== 'not-ready' || io.signal.aborted) break;
        // Once the DELETE is done the CLI holds the only memory of it: confirm here rather than
        // leave a rerun to start over. Waiting for a post only happens when asked to.
        const verifying = item.phase === 'verify' && clock.now() < verifyUntil;
        if (!verifying && flags['wait'] !== true) break;
        if (!flags['json']) io.stderr.write(`${describeWait(serverId, outcome)}\n`);
        await clock.sleep(outcome.retryAfterSeconds * 1000, io.signal).catch(() => undefined);
      }
      if (flags['json']) writeJson(io, { serverId, projectId, region, outcome });
      else io.stdout.write(`${describeOutcome(serverId, outcome)}\n`);
      return exitCodeFor(outcome);
    } finally {
      await runtime.close();
    }
  },
};
