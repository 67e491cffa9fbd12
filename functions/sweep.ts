/**
 * Scheduled sweep (EventBridge): lists every server of the configured targets and enqueues
 * the Windows servers the escrow ledger does not prove cleared. `{"dryRun": true}` in the
 * event (or its `detail`) only counts.
 */
import middy from '@middy/core';
import { ConfigError } from '../lib/config/env-parsers.ts';
import { runSweep, type SweepReport } from '../lib/intake/sweep.ts';
import { runtimeMiddleware, runtimeOf } from '../lib/lambda/handler-middleware.ts';
import { intakeLambdaRuntime } from '../lib/lambda/lambda-runtimes.ts';

export const runtime = intakeLambdaRuntime();

function wantsDryRun(event: unknown): boolean {
  const e = event as { dryRun?: unknown; detail?: { dryRun?: unknown } } | null;
  return e?.dryRun === true || e?.detail?.dryRun === true;
}

export const handler = middy<unknown, Omit<SweepReport, 'targets'> & { targets: unknown[] }>({
  timeoutEarlyInMillis: 2000,
})
  .use(runtimeMiddleware(runtime))
  .handler(async (event, context, { signal }) => {
    const rt = runtimeOf(context, runtime);
    const targets = rt.config.sweepTargets;
    if (targets.length === 0)
      throw new ConfigError(
        'SWEEP_TARGETS',
        'is not set and no default region/project is configured; nothing to sweep',
      );
    const report = await runSweep(
      { ...rt, escrow: await rt.escrowStore() },
      { targets, dryRun: wantsDryRun(event), signal },
    );
    // Server ids stay in the logs of a dry run only; the schedule needs the counts.
    return { ...report, targets: report.targets.map(({ serverIds: _ids, ...counts }) => counts) };
  });
