/**
 * What every CLI command that talks to Huawei needs, built once per invocation from the
 * environment plus flags: logs go to stderr (stdout is for results), flags override the
 * official HUAWEICLOUD_SDK_* variables, and the same composition root as the Lambda worker.
 */

import { systemClock } from '../lib/clock.ts';
import type { Env } from '../lib/config/env-parsers.ts';
import { ENV_REGION } from '../lib/huawei/endpoints.ts';
import { createHuaweiClients } from '../lib/huawei/huawei-clients.ts';
import { ENV_PROJECT_ID, parseHuaweiConfig } from '../lib/huawei/huawei-config.ts';
import {
  checkCredentialSource,
  credentialProviderFromEnv,
} from '../lib/huawei/secrets-manager-credentials.ts';
import { type IdKind, idProblem } from '../lib/intake/ids.ts';
import { clientClock } from '../lib/local/emulator-env.ts';
import { parseLocalConfig } from '../lib/local/local-config.ts';
import { createLogger, type Logger, readLogLevel } from '../lib/observability/logger.ts';
import { nullMetrics } from '../lib/observability/metrics.ts';
import type { DeadLetterQueue } from '../lib/queue/dead-letter.ts';
import type { WorkQueue } from '../lib/queue/work-item.ts';
import { createWorkerRuntime, type WorkerRuntime } from '../lib/worker/worker-runtime.ts';
import type { CommandIo } from './command.ts';
import { UsageError } from './command.ts';

export type Flags = Record<string, string | boolean | undefined>;

export const TARGET_OPTIONS = {
  'project-id': { type: 'string' },
  region: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const TARGET_HELP = `  --project-id P           Huawei project id (default: HUAWEICLOUD_SDK_PROJECT_ID, else looked up in IAM)
  --region R               Huawei region (default: HUAWEICLOUD_SDK_REGION)
  --json                   print the result as JSON on stdout`;

/** The environment with command-line flags applied on top. */
export function effectiveEnv(io: CommandIo, flags: Flags): Env {
  const env: Record<string, string | undefined> = { ...io.env };
  for (const flag of ['project-id', 'region'] as const)
    if (flags[flag] === '') throw new UsageError(`--${flag} is empty; give a value or leave the flag out`);
  // Checked here, exactly as given (a trailing newline is refused, not trimmed), so the error
  // names the flag rather than the environment variable the flag is copied into.
  if (typeof flags['project-id'] === 'string')
    env[ENV_PROJECT_ID] = checkId('project id', 'project-id', flags['project-id']);
  if (typeof flags['region'] === 'string') env[ENV_REGION] = checkId('region', 'region', flags['region']);
  if (flags['dry-run'] === true) env['DRY_RUN'] = 'true';
  return env;
}

/** Rejects an id before it gets near a URL or a file path; the message says what is expected. */
export function checkId(kind: IdKind, flag: string, value: string): string {
  const problem = idProblem(kind, value);
  if (problem) throw new UsageError(`--${flag}: ${problem}`);
  return value;
}

/**
 * The project and region a command acts on. Without a project id, IAM is asked for the
 * project named after the region (GET /v3/projects?name={region}), as the official SDKs do.
 */
export async function target(env: Env, signal?: AbortSignal): Promise<{ projectId: string; region: string }> {
  const region = env[ENV_REGION];
  if (!region)
    throw new UsageError(
      '--region is required: pass --region or set HUAWEICLOUD_SDK_REGION (e.g. ap-southeast-1)',
    );
  const given = env[ENV_PROJECT_ID];
  if (given) return { projectId: given, region };
  const clients = createHuaweiClients(parseHuaweiConfig(env), {
    credentials: await credentialProviderFromEnv(env, { clock: systemClock }),
    clock: systemClock,
  });
  try {
    return { projectId: await clients.projectId(signal), region };
  } catch (cause) {
    throw new UsageError(
      `--project-id was not given and the IAM lookup of the project for ${region} failed (${(cause as Error).message}); pass --project-id or set HUAWEICLOUD_SDK_PROJECT_ID`,
    );
  } finally {
    await clients.close();
  }
}

export function cliLogger(io: CommandIo, env: Env): Logger {
  // Operators read stderr; structured logs stay available with LOG_LEVEL=info or debug.
  return createLogger({ level: readLogLevel(env, 'warn'), sink: io.stderr, fields: { component: 'cli' } });
}

const noQueue: WorkQueue & DeadLetterQueue = {
  async enqueue() {
    throw new Error('this command does not enqueue');
  },
  async send() {
    throw new Error('this command has no dead-letter queue');
  },
};

/** The worker's composition root without a queue: for commands that act on one server directly. */
export function directRuntime(io: CommandIo, env: Env): Promise<WorkerRuntime> {
  // Fail before any work with the variable's name and the fix, not deep inside a call.
  checkCredentialSource(env);
  return createWorkerRuntime(env, {
    // Against an emulator on a compressed clock, the clock its --env output names.
    clock: clientClock(env, parseLocalConfig(env)),
    logger: cliLogger(io, env),
    metrics: nullMetrics,
    queue: noQueue,
    dlq: noQueue,
  });
}

export function writeJson(io: CommandIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
