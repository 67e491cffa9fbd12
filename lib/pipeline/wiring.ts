/**
 * The pipeline's composition root, shared by the Lambda worker, the CLI and the local stack:
 * the configured escrow store, a signed BMS client and rate limiter per region, the work
 * queue and DLQ, logger and metrics. Callers may pass any part ready-made (tests, the local
 * stack with its file queue and scaled clock); the rest is built from the environment.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { type Clock, systemClock } from '../clock.ts';
import { ConfigError, type Env, readEnum } from '../config/env-parsers.ts';
import { createEscrowStore, parseEscrowConfig } from '../escrow/escrow-config.ts';
import type { EscrowStore } from '../escrow/escrow-store.ts';
import type { BmsApi } from '../huawei/bms-types.ts';
import { type AuthGuard, cloudClock } from '../huawei/auth-guard.ts';
import { createRegionalClients } from '../huawei/regional-clients.ts';
import { credentialProviderFromEnv } from '../huawei/secrets-manager-credentials.ts';
import { createLogger, type Logger, type LogLevel } from '../observability/logger.ts';
import { createMetrics, type Metrics } from '../observability/metrics.ts';
import type { BatchWorkerDeps } from '../worker/batch-worker.ts';
import type { DeadLetterQueue } from '../queue/dead-letter.ts';
import { SqsDeadLetterQueue, SqsWorkQueue } from '../queue/sqs-queue.ts';
import type { WorkQueue } from '../queue/work-item.ts';
import { type PipelineConfig, parsePipelineConfig } from './pipeline-config.ts';
import { createPollScheduler } from './poll-schedule.ts';
import type { ProcessDeps, RateBudget } from './process-server.ts';

export interface PipelineParts {
  config?: PipelineConfig | undefined;
  clock?: Clock | undefined;
  logger?: Logger | undefined;
  metrics?: Metrics | undefined;
  store?: EscrowStore | undefined;
  /** Replaces the per-region signed clients (and with them the rate budget). */
  bmsFor?: ((region: string) => BmsApi) | undefined;
  rateBudgetFor?: ((region: string) => RateBudget | undefined) | undefined;
  queue?: WorkQueue | undefined;
  dlq?: DeadLetterQueue | undefined;
  sqsClient?: SQSClient | undefined;
  /** The auth guard (skew, breaker) the clock is corrected by; the process-wide one by default. */
  authGuard?: AuthGuard | undefined;
}

export interface PipelineRuntime {
  config: PipelineConfig;
  process: ProcessDeps;
  batch: BatchWorkerDeps;
  queue: WorkQueue;
  dlq: DeadLetterQueue;
  logger: Logger;
  metrics: Metrics;
  /** Closes the HTTP transports of the clients it built. */
  close(): Promise<void>;
}

/** The state machine's dependencies: the given effects plus policy and schedule from `config`. */
export function processDepsFrom(
  config: PipelineConfig,
  effects: Pick<ProcessDeps, 'bmsFor' | 'rateBudgetFor' | 'store' | 'clock' | 'logger'> & {
    /** The guard whose skew corrects the clock; the process-wide one unless given (the simulator). */
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
  };
}

export async function createPipelineDeps(env: Env, parts: PipelineParts = {}): Promise<PipelineRuntime> {
  const config = parts.config ?? parsePipelineConfig(env);
  const clock = parts.clock ?? systemClock;
  const level = readEnum<LogLevel>(env, 'LOG_LEVEL', ['debug', 'info', 'warn', 'error', 'silent'], 'info');
  const logger = parts.logger ?? createLogger({ level, fields: { component: 'worker' } });
  const metrics = parts.metrics ?? createMetrics();

  const clients = createRegionalClients(env, {
    credentials: await credentialProviderFromEnv(env, { clock }),
    clock,
    logger,
    metrics,
  });
  const clientsFor = (region: string) => clients.for(region);
  const bmsFor = parts.bmsFor ?? ((region: string) => clientsFor(region).bms);
  const rateBudgetFor =
    parts.rateBudgetFor ?? (parts.bmsFor ? undefined : (region: string) => clientsFor(region).rateLimiter);

  const store = parts.store ?? (await createEscrowStore(parseEscrowConfig(env)));

  let sqs = parts.sqsClient;
  const sqsClient = (): SQSClient => {
    sqs ??= new SQSClient({});
    return sqs;
  };
  const queue =
    parts.queue ??
    (config.workQueueUrl
      ? new SqsWorkQueue({ client: sqsClient(), queueUrl: config.workQueueUrl, clock })
      : undefined);
  if (!queue) throw new ConfigError('WORK_QUEUE_URL', 'is not set; set it to the URL of the SQS work queue');
  const dlq =
    parts.dlq ??
    (config.dlqUrl ? new SqsDeadLetterQueue({ client: sqsClient(), queueUrl: config.dlqUrl }) : undefined);
  if (!dlq)
    throw new ConfigError('WORK_DLQ_URL', 'is not set; set it to the URL of the SQS dead-letter queue');

  const process = processDepsFrom(config, {
    bmsFor,
    rateBudgetFor,
    store,
    clock,
    logger,
    authGuard: parts.authGuard,
  });
  return {
    config,
    process,
    batch: { process, queue, dlq, logger, metrics, concurrency: config.concurrency },
    queue,
    dlq,
    logger,
    metrics,
    close: async () => {
      await clients.close();
    },
  };
}
