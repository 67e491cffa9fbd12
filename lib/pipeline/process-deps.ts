/** The state machine's dependencies: the effects a runtime provides plus policy and schedule from config. */
import { cloudClock } from '../huawei/auth-guard.ts';
import type { PipelineConfig } from './pipeline-config.ts';
import { createPollScheduler } from './poll-schedule.ts';
import type { ProcessDeps } from './process-server.ts';

export function processDepsFrom(
  config: PipelineConfig,
  effects: Pick<ProcessDeps, 'bmsFor' | 'rateBudgetFor' | 'store' | 'clock' | 'logger'>,
): ProcessDeps {
  return {
    ...effects,
    // Every comparison with cloud times (launched_at) and every escrow time is on cloud time.
    clock: cloudClock(effects.clock),
    policy: {
      optMode: config.optMode,
      optTagKey: config.optTagKey,
      allowedProjectIds: config.allowedProjectIds,
    },
    scheduler: createPollScheduler(config.scheduler),
    deadlineSeconds: config.deadlineSeconds,
    dryRun: config.dryRun,
    ledgerBeforeFind: config.ledgerBeforeFind,
  };
}
