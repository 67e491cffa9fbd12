/** What the intake needs from the outside world; handlers get it from intake-runtime.ts, tests build it. */
import type { Clock } from '../clock.ts';
import type { EscrowStore } from '../escrow/escrow-store.ts';
import type { BmsApi } from '../huawei/bms-types.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { WorkQueue } from '../queue/work-item.ts';
import type { DedupeCache } from './dedupe-cache.ts';
import type { IntakeConfig } from './intake-config.ts';

export interface IntakeDeps {
  config: IntakeConfig;
  queue: WorkQueue;
  /** The BMS client for one region (endpoints are regional). */
  bmsFor(region: string): BmsApi;
  clock: Pick<Clock, 'now'>;
  logger: Logger;
  metrics: Metrics;
  dedupe: DedupeCache;
}

export interface SweepDeps extends IntakeDeps {
  escrow: EscrowStore;
}
