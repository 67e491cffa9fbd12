/**
 * The worker's composition root, shared by the Lambda worker, the CLI and the local stack:
 * the configured escrow store, a signed BMS client and rate limiter per region, the work
 * queue and DLQ, logger and metrics. Callers may pass any part ready-made (tests, the local
 * stack with its file queue and scaled clock); the rest is built from the environment.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { type Clock, systemClock } from '../clock.ts';
import type { Env } from '../config/env-parsers.ts';
import { createEscrowStore, parseEscrowConfig } from '../escrow/escrow-config.ts';
import type { EscrowStore } from '../escrow/escrow-store.ts';
import type { AuthGuard } from '../huawei/auth-guard.ts';
import type { BmsApi } from '../huawei/bms-types.ts';
import { parseHuaweiConfig } from '../huawei/huawei-config.ts';
import { createRegionalClients } from '../huawei/regional-clients.ts';
import { checkCredentialSource, credentialProviderFromEnv } from '../huawei/secrets-manager-credentials.ts';
import { createLogger, type Logger, readLogLevel } from '../observability/logger.ts';
import { createMetrics, type Metrics } from '../observability/metrics.ts';
import { type PipelineConfig, parsePipelineConfig } from '../pipeline/pipeline-config.ts';
import { processDepsFrom } from '../pipeline/process-deps.ts';
import type { ProcessDeps, RateBudget } from '../pipeline/process-server.ts';
import type { DeadLetterQueue } from '../queue/dead-letter.ts';
import {
  parseQueueConfig,
  type QueueConfig,
  requireDlqUrl,
  requireWorkQueueUrl,
} from '../queue/queue-config.ts';
import { SqsDeadLetterQueue, SqsWorkQueue } from '../queue/sqs-queue.ts';
import type { WorkQueue } from '../queue/work-item.ts';
import type { BatchWorkerDeps } from './batch-worker.ts';

export interface WorkerParts {
  config?: PipelineConfig | undefined;
  queueConfig?: QueueConfig | undefined;
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

export interface WorkerRuntime {
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

/** Everything the worker reads from the environment, parsed at once so a bad value fails early. */
export interface WorkerConfig {
  pipeline: PipelineConfig;
  queues: QueueConfig;
}

/** Parses the worker's configuration; the Lambda handler calls this at module load. */
export function parseWorkerConfig(env: Env): WorkerConfig {
  const queues = parseQueueConfig(env);
  requireWorkQueueUrl(queues);
  requireDlqUrl(queues);
  parseEscrowConfig(env);
  checkCredentialSource(env);
  parseHuaweiConfig(env);
  return { pipeline: parsePipelineConfig(env), queues };
}

export async function createWorkerRuntime(env: Env, parts: WorkerParts = {}): Promise<WorkerRuntime> {
  const config = parts.config ?? parsePipelineConfig(env);
  const queueConfig = parts.queueConfig ?? parseQueueConfig(env);
  const clock = parts.clock ?? systemClock;
  const logger =
    parts.logger ?? createLogger({ level: readLogLevel(env, 'info'), fields: { component: 'worker' } });
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
    new SqsWorkQueue({ client: sqsClient(), queueUrl: requireWorkQueueUrl(queueConfig), clock });
  const dlq =
    parts.dlq ?? new SqsDeadLetterQueue({ client: sqsClient(), queueUrl: requireDlqUrl(queueConfig) });

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
    batch: {
      process,
      queue,
      dlq,
      logger,
      metrics,
      concurrency: config.concurrency,
      // SQS cannot merge a server's polling chains; the escrow store's watch leases do.
      watches: queue instanceof SqsWorkQueue ? store.watches : undefined,
    },
    queue,
    dlq,
    logger,
    metrics,
    close: async () => {
      await clients.close();
    },
  };
}
