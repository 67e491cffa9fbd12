/**
 * Where work goes: the SQS work queue and its dead-letter queue. The one reader of
 * WORK_QUEUE_URL and WORK_DLQ_URL; each runtime decides which of them it requires.
 */
import { ConfigError, type Env, readUrl } from '../config/env-parsers.ts';

export const ENV_WORK_QUEUE_URL = 'WORK_QUEUE_URL';
export const ENV_WORK_DLQ_URL = 'WORK_DLQ_URL';

export interface QueueConfig {
  workQueueUrl: string | undefined;
  dlqUrl: string | undefined;
}

export function parseQueueConfig(env: Env): QueueConfig {
  return {
    workQueueUrl: readUrl(env, ENV_WORK_QUEUE_URL)?.toString(),
    dlqUrl: readUrl(env, ENV_WORK_DLQ_URL)?.toString(),
  };
}

/** The work queue's URL, or a ConfigError naming the variable. */
export function requireWorkQueueUrl(config: QueueConfig): string {
  if (config.workQueueUrl === undefined)
    throw new ConfigError(ENV_WORK_QUEUE_URL, 'is not set; set it to the URL of the SQS work queue');
  return config.workQueueUrl;
}

/** The dead-letter queue's URL, or a ConfigError naming the variable. */
export function requireDlqUrl(config: QueueConfig): string {
  if (config.dlqUrl === undefined)
    throw new ConfigError(ENV_WORK_DLQ_URL, 'is not set; set it to the URL of the SQS dead-letter queue');
  return config.dlqUrl;
}
