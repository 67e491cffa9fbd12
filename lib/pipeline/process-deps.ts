/** The state machine's dependencies: the effects a runtime provides plus policy and schedule from config. */
import { type AuthGuard, cloudClock } from '../huawei/auth-guard.ts';
import type { PipelineConfig } from './pipeline-config.ts';
import { createPollScheduler } from './poll-schedule.ts';
import type { ProcessDeps } from './process-server.ts';

export function processDepsFrom(
  config: PipelineConfig,
  effects: Pick<ProcessDeps, 'bmsFor' | 'rateBudgetFor' | 'store' | 'clock' | 'logger'> & {
    /** The guard whose skew corrects the clock; the process-wide one unless given (simulator, chaos). */
    authGuard?: AuthGuard | undefined;
  },
): ProcessDeps {
  const { authGuard, ...rest } = effects;
  return {
    ...rest,
    // Every comparison with cloud times (launched_at) and every escrow time is on cloud time.
    clock: cloudClock(effects.clock, authGuard),
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
