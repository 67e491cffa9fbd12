/**
 * Scheduled sweep (EventBridge): lists every server of the configured targets and enqueues
 * the Windows servers the escrow ledger does not prove cleared. `{"dryRun": true}` in the
 * event (or its `detail`) only counts.
 */
import middy from '@middy/core';
import { ConfigError } from '../lib/config/env-parsers.ts';
import { intakeRuntime } from '../lib/intake/intake-runtime.ts';
import { runSweep, type SweepReport } from '../lib/intake/sweep.ts';

function wantsDryRun(event: unknown): boolean {
  const e = event as { dryRun?: unknown; detail?: { dryRun?: unknown } } | null;
  return e?.dryRun === true || e?.detail?.dryRun === true;
}

export const handler = middy<unknown, Omit<SweepReport, 'targets'> & { targets: unknown[] }>({
  timeoutEarlyInMillis: 2000,
}).handler(async (event, _context, { signal }) => {
  const runtime = await intakeRuntime();
  const targets = runtime.config.sweepTargets;
  if (targets.length === 0)
    throw new ConfigError(
      'SWEEP_TARGETS',
      'is not set and no default region/project is configured; nothing to sweep',
    );
  try {
    const report = await runSweep(
      { ...runtime, escrow: await runtime.escrowStore() },
      { targets, dryRun: wantsDryRun(event), signal },
    );
    // Server ids stay in the logs of a dry run only; the schedule needs the counts.
    return { ...report, targets: report.targets.map(({ serverIds: _ids, ...counts }) => counts) };
  } finally {
    runtime.metrics.flush();
  }
});
