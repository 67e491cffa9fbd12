/**
 * The intake's composition root (webhook, direct intake, sweep): the SQS work queue, a BMS
 * client per region, the SMN verifier and confirmer, and (for the sweep) the escrow store.
 * The Lambda handlers parse the configuration at module load and build the runtime once per
 * warm instance (lib/lambda/lambda-runtimes.ts); the local stack and tests compose their own
 * parts with `composeIntakeRuntime`.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { type Clock, systemClock } from '../clock.ts';
import { type Env, readString } from '../config/env-parsers.ts';
import { ENV_POSTED_HMAC_KEY_SECRET_ID } from '../config/posted-mode.ts';
import { createEscrowStore, parseEscrowConfig } from '../escrow/escrow-config.ts';
import type { EscrowStore } from '../escrow/escrow-store.ts';
import type { BmsApi } from '../huawei/bms-types.ts';
import { parseHuaweiConfig } from '../huawei/huawei-config.ts';
import { createRegionalClients } from '../huawei/regional-clients.ts';
import { checkCredentialSource, credentialProviderFromEnv } from '../huawei/secrets-manager-credentials.ts';
import { createLogger, type Logger, readLogLevel } from '../observability/logger.ts';
import { createMetrics, type Metrics } from '../observability/metrics.ts';
import { registerSecret } from '../observability/redact.ts';
import { parseQueueConfig, requireWorkQueueUrl } from '../queue/queue-config.ts';
import { SqsWorkQueue } from '../queue/sqs-queue.ts';
import type { WorkQueue } from '../queue/work-item.ts';
import { DedupeCache } from './dedupe-cache.ts';
import { type IntakeConfig, parseIntakeConfig } from './intake-config.ts';
import {
  DEFAULT_POSTED_SHOWS_PER_MINUTE,
  MIN_POSTED_KEY_LENGTH,
  type PostedConfig,
  parsePostedConfig,
} from './posted/posted-config.ts';
import { type PostedDeps, PostedGate, type PostedServerDirectory } from './posted/posted-intake.ts';
import { readPostedKeySecret } from './posted/posted-key-secret.ts';
import { createCertFetcher } from './smn/smn-cert-fetcher.ts';
import type { SmnIntakeDeps } from './smn/smn-intake.ts';
import { createSmnVerifier } from './smn/smn-verifier.ts';
import { createSubscriptionConfirmer } from './smn/subscription-confirmer.ts';

export interface IntakeRuntime extends SmnIntakeDeps {
  /** The escrow store (the sweep's ledger), built on first use. */
  escrowStore(): Promise<EscrowStore>;
  /** POST /posted; its config says whether notifications are enabled. */
  posted: PostedDeps;
}

export interface IntakeParts {
  config: IntakeConfig;
  queue: WorkQueue;
  bmsFor(region: string): BmsApi;
  escrowStore?: () => Promise<EscrowStore>;
  clock?: Clock;
  logger?: Logger;
  metrics?: Metrics;
  /** Used for certificate fetches and subscription confirmations; tests pass a counting wrapper. */
  fetch?: typeof fetch;
  /** "Posted" notifications; absent = disabled. */
  posted?: PostedConfig | undefined;
  /** What the hook already knows of servers (the local status board), saving show-server calls. */
  postedDirectory?: PostedServerDirectory | undefined;
}

const POSTED_OFF: PostedConfig = {
  mode: 'off',
  key: undefined,
  maxSkewSeconds: 300,
  minIntervalSeconds: 60,
  showsPerMinute: DEFAULT_POSTED_SHOWS_PER_MINUTE,
  cacheSize: 100,
  projects: new Map(),
};

/** Builds the verifier, confirmer and dedupe cache around the given effects. */
export function composeIntakeRuntime(parts: IntakeParts): IntakeRuntime {
  const clock = parts.clock ?? systemClock;
  const { config } = parts;
  const fetchCertificate = createCertFetcher({
    allowlist: config.certHostAllowlist,
    timeoutMs: config.certFetchTimeoutMs,
    maxBytes: config.certMaxBytes,
    fetch: parts.fetch,
  });
  let escrow: Promise<EscrowStore> | undefined;
  const logger = parts.logger ?? createLogger({ fields: { component: 'intake' } });
  const metrics = parts.metrics ?? createMetrics();
  const postedConfig = parts.posted ?? POSTED_OFF;
  if (postedConfig.key) registerSecret(postedConfig.key.toString('utf8'));
  return {
    config,
    queue: parts.queue,
    bmsFor: parts.bmsFor,
    clock,
    logger,
    metrics,
    posted: {
      config: postedConfig,
      queue: parts.queue,
      bmsFor: parts.bmsFor,
      clock,
      logger,
      metrics,
      gate: new PostedGate(postedConfig),
      directory: parts.postedDirectory,
    },
    dedupe: new DedupeCache(config.dedupeCacheSize),
    verifySmn: createSmnVerifier({
      fetchCertificate,
      clock,
      maxMessageAgeSeconds: config.maxMessageAgeSeconds,
      topicTrust: config.topicTrust,
    }),
    confirmSubscription: createSubscriptionConfirmer({
      allowlist: config.subscribeHostAllowlist,
      timeoutMs: config.certFetchTimeoutMs,
      fetch: parts.fetch,
    }),
    escrowStore: () => {
      if (!parts.escrowStore)
        return Promise.reject(new Error('no escrow store is wired into this intake runtime'));
      escrow ??= parts.escrowStore();
      escrow.catch(() => {
        escrow = undefined;
      });
      return escrow;
    },
  };
}

/** Everything the intake reads from the environment, parsed at once so a bad value fails at init. */
export interface IntakeEnvConfig {
  intake: IntakeConfig;
  workQueueUrl: string;
  /** Without its key when the key lives in a secret (read when the runtime is built). */
  posted: PostedConfig;
}

export function parseIntakeEnvConfig(env: Env): IntakeEnvConfig {
  const workQueueUrl = requireWorkQueueUrl(parseQueueConfig(env));
  // The sweep's escrow store is built on first use; its settings are checked now.
  parseEscrowConfig(env);
  checkCredentialSource(env);
  parseHuaweiConfig(env);
  const intake = parseIntakeConfig(env);
  // A key kept in a secret is read with the runtime; everything else about it is checked now.
  const keyInSecret = readString(env, ENV_POSTED_HMAC_KEY_SECRET_ID) !== undefined;
  const posted = parsePostedConfig(env, intake.sweepTargets, keyInSecret ? KEY_PLACEHOLDER : undefined);
  return { intake, workQueueUrl, posted };
}

/** Production wiring: SQS (WORK_QUEUE_URL), the signed BMS client per region, the configured escrow store. */
export async function createIntakeRuntime(
  env: Env,
  parsed = parseIntakeEnvConfig(env),
): Promise<IntakeRuntime> {
  const logger = createLogger({ level: readLogLevel(env, 'info'), fields: { component: 'intake' } });
  const queue = new SqsWorkQueue({ client: new SQSClient({}), queueUrl: parsed.workQueueUrl });
  const metrics = createMetrics();
  const clients = createRegionalClients(env, {
    credentials: await credentialProviderFromEnv(env, { clock: systemClock }),
    clock: systemClock,
    logger,
    metrics,
  });
  const bmsFor = (region: string): BmsApi => clients.for(region).bms;
  return composeIntakeRuntime({
    config: parsed.intake,
    queue,
    bmsFor,
    logger,
    metrics,
    escrowStore: () => createEscrowStore(parseEscrowConfig(env)),
    posted: parsed.posted.key?.equals(KEY_PLACEHOLDER_BYTES)
      ? parsePostedConfig(env, parsed.intake.sweepTargets, await readPostedKeySecret(env))
      : parsed.posted,
  });
}

/** Stands in for a key kept in a secret while the rest of the configuration is checked at init. */
const KEY_PLACEHOLDER = '\u0000'.repeat(MIN_POSTED_KEY_LENGTH);
const KEY_PLACEHOLDER_BYTES = Buffer.from(KEY_PLACEHOLDER, 'utf8');
