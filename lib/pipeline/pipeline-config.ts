/**
 * Configuration of the escrow-then-clear pipeline, parsed once at start-up. Every failure
 * names the variable and what was expected (see lib/config/env-parsers.ts).
 */
import {
  ConfigError,
  type Env,
  readBoolean,
  readEnum,
  readInteger,
  readList,
  readNumber,
  readString,
} from '../config/env-parsers.ts';
import { readPostedMode } from '../config/posted-mode.ts';

export type SchedulerKind = 'model' | 'fixed' | 'exponential';
export type OptMode = 'opt-out' | 'opt-in';

/**
 * When Cloudbase-Init posts, measured from the moment the server reached ACTIVE: a
 * log-normal. ECS documents "5–10 minutes after boot"; bare metal adds firmware and driver
 * installation, so the default median is 9 min with sigma 0.8, which puts the 99th
 * percentile near 60 min (9 min × e^(2.33 × 0.8) ≈ 58 min): the long tail the field reports.
 */
export interface PostDelayModel {
  medianSeconds: number;
  sigma: number;
}

export interface SchedulerConfig {
  kind: SchedulerKind;
  model: PostDelayModel;
  /** Probability mass of the post-delay distribution each model check covers. */
  sliceProbability: number;
  /** Bounds on the gap between two finding GETs (model scheduler). */
  minGapSeconds: number;
  maxGapSeconds: number;
  /** Show-server polling interval while the server is BUILD (1000/min budget, not the password one). */
  buildPollSeconds: number;
  /** Wait before re-checking that a DELETE took effect (202 = processed later). */
  verifyDelaySeconds: number;
  /**
   * After a DELETE that was accepted (or whose answer was lost), how long it may still apply
   * late. No second DELETE is sent for that server before a GET shows the record empty, or,
   * for the same ciphertext, before this much time has passed.
   */
  deleteGraceSeconds: number;
  /**
   * How long after a launch (launched_at) a post from that launch may still come. A record we
   * cleared without knowing that this launch posted it (the first look already found it, on a
   * server that may have been reinstalled) is followed by a watch until then.
   */
  postClearWatchSeconds: number;
  /**
   * How long after every clear the record is watched for a repost in the same launch: a guest
   * whose POST answer was lost checks, finds the record empty (we cleared it) and posts again.
   */
  repostWatchSeconds: number;
  /** Baseline: fixed interval. */
  fixedIntervalSeconds: number;
  /** Baseline: exponential backoff from `initial`, times `factor`, capped at `max`. */
  exponentialInitialSeconds: number;
  exponentialFactor: number;
  exponentialMaxSeconds: number;
  /** A finding GET that would wait longer than this for a rate-limit token is deferred instead. */
  maxRateWaitMs: number;
  /**
   * Share of the password GET budget the model scheduler aims to use (0..1]. Below it, gaps
   * shrink toward minGapSeconds; at it, they are the model's. The rest is left to other users.
   * (A default of 1, spending every token, measured worse at 1,000 servers: see the README.)
   */
  budgetTargetShare: number;
  /**
   * Share of guests expected to run the `posted` snippet (0..1). Servers that have not
   * notified are polled for the remaining share only; 0 (the default) polls as if none did.
   */
  postedHintShare: number;
}

export interface PipelineConfig {
  /** Seconds from a WorkItem's firstSeenAt after which it goes to the DLQ. */
  deadlineSeconds: number;
  dryRun: boolean;
  optMode: OptMode;
  /** Tag key: `<key>=skip` opts out; in opt-in mode `<key>=enabled` is required. */
  optTagKey: string;
  /** Empty = every project. */
  allowedProjectIds: string[];
  scheduler: SchedulerConfig;
  /** Servers processed in parallel within one batch. */
  concurrency: number;
  /**
   * A "posted" hint consults the escrow ledger before its finding GET, as the sweep does: on when
   * guests may send notifications, so a hint for a server its chain already cleared costs no call.
   */
  ledgerBeforeFind: boolean;
}

/**
 * How long a 202 may take to apply is not documented ([U]): it is a queued metadata write that
 * should apply in seconds. Two minutes is far above that, and is what a DELETE lost without
 * applying (rare) adds to one server's exposure; a shorter grace risks a second DELETE that
 * lets a late first one wipe a repost before it is escrowed.
 */
export const DEFAULT_DELETE_GRACE_SECONDS = 120;

/**
 * Cloudbase-Init retries a metadata POST whose answer it lost (it checks first, and posts
 * again if the record is empty), and reruns a failed plugin when its service restarts: both
 * within minutes. Ten minutes covers them with margin for two or three extra GETs per server.
 */
export const DEFAULT_REPOST_WATCH_SECONDS = 600;

export const DEFAULT_POST_DELAY_MODEL: PostDelayModel = { medianSeconds: 540, sigma: 0.8 };

export function parseSchedulerConfig(env: Env): SchedulerConfig {
  const minGapSeconds = readInteger(env, 'ESCROW_MIN_GAP_SECONDS', 15, { min: 1, max: 900 });
  const maxGapSeconds = readInteger(env, 'ESCROW_MAX_GAP_SECONDS', 300, { min: 1, max: 3600 });
  if (maxGapSeconds < minGapSeconds)
    throw new ConfigError(
      'ESCROW_MAX_GAP_SECONDS',
      `must be at least ESCROW_MIN_GAP_SECONDS (${minGapSeconds}), got ${maxGapSeconds}`,
    );
  return {
    kind: readEnum<SchedulerKind>(env, 'ESCROW_SCHEDULER', ['model', 'fixed', 'exponential'], 'model'),
    model: {
      medianSeconds: readNumber(env, 'ESCROW_POST_MEDIAN_SECONDS', DEFAULT_POST_DELAY_MODEL.medianSeconds, {
        min: 1,
      }),
      sigma: readNumber(env, 'ESCROW_POST_SIGMA', DEFAULT_POST_DELAY_MODEL.sigma, { min: 0.05, max: 5 }),
    },
    sliceProbability: readNumber(env, 'ESCROW_SLICE_PROBABILITY', 0.05, { min: 0.001, max: 0.5 }),
    minGapSeconds,
    maxGapSeconds,
    buildPollSeconds: readInteger(env, 'ESCROW_BUILD_POLL_SECONDS', 30, { min: 1, max: 900 }),
    verifyDelaySeconds: readInteger(env, 'ESCROW_VERIFY_DELAY_SECONDS', 5, { min: 0, max: 900 }),
    deleteGraceSeconds: readInteger(env, 'ESCROW_DELETE_GRACE_SECONDS', DEFAULT_DELETE_GRACE_SECONDS, {
      min: 1,
      max: 3600,
    }),
    postClearWatchSeconds: readInteger(env, 'ESCROW_POST_CLEAR_WATCH_SECONDS', 3600, { min: 0, max: 86_400 }),
    repostWatchSeconds: readInteger(env, 'ESCROW_REPOST_WATCH_SECONDS', DEFAULT_REPOST_WATCH_SECONDS, {
      min: 0,
      max: 86_400,
    }),
    fixedIntervalSeconds: readInteger(env, 'ESCROW_FIXED_INTERVAL_SECONDS', 5, { min: 1, max: 900 }),
    exponentialInitialSeconds: readInteger(env, 'ESCROW_EXP_INITIAL_SECONDS', 5, { min: 1, max: 900 }),
    exponentialFactor: readNumber(env, 'ESCROW_EXP_FACTOR', 2, { min: 1, max: 10 }),
    exponentialMaxSeconds: readInteger(env, 'ESCROW_EXP_MAX_SECONDS', 300, { min: 1, max: 3600 }),
    maxRateWaitMs: readInteger(env, 'ESCROW_MAX_RATE_WAIT_MS', 60_000, { min: 0 }),
    budgetTargetShare: readNumber(env, 'ESCROW_BUDGET_TARGET_SHARE', 0.8, { min: 0.05, max: 1 }),
    postedHintShare: readNumber(env, 'ESCROW_POSTED_HINT_SHARE', 0, { min: 0, max: 1 }),
  };
}

export function parsePipelineConfig(env: Env): PipelineConfig {
  const optTagKey = readString(env, 'ESCROW_OPT_TAG', 'password-escrow');
  if (/[=,]/.test(optTagKey))
    throw new ConfigError('ESCROW_OPT_TAG', `must be a bare tag key without "=" or ",", got "${optTagKey}"`);
  return {
    deadlineSeconds: readInteger(env, 'ESCROW_DEADLINE_SECONDS', 7200, { min: 60 }),
    dryRun: readBoolean(env, 'DRY_RUN', false),
    optMode: readEnum<OptMode>(env, 'ESCROW_OPT_MODE', ['opt-out', 'opt-in'], 'opt-out'),
    optTagKey,
    allowedProjectIds: readList(env, 'ESCROW_ALLOWED_PROJECT_IDS'),
    scheduler: parseSchedulerConfig(env),
    concurrency: readInteger(env, 'ESCROW_CONCURRENCY', 4, { min: 1, max: 64 }),
    ledgerBeforeFind: readPostedMode(env) !== 'off',
  };
}
