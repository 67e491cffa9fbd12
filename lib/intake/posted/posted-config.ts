/**
 * Configuration of the guest's "posted" notifications (POST /posted), parsed once.
 *
 * Off unless asked for: a deployment that sets nothing behaves exactly as before. A key
 * (ESCROW_POSTED_HMAC_KEY) turns on signed mode; unsigned mode exists for closed networks and
 * tests and must be named explicitly. Which projects may notify is the intersection of the
 * sweep targets (they also give each project its region) and ESCROW_ALLOWED_PROJECT_IDS;
 * with no project left, the configuration is refused (fail closed).
 */
import { ConfigError, type Env, readInteger, readList, readString } from '../../config/env-parsers.ts';
import {
  ENV_POSTED_HMAC_KEY,
  ENV_POSTED_HMAC_KEY_SECRET_ID,
  ENV_POSTED_MODE,
  type PostedMode,
  readPostedMode,
} from '../../config/posted-mode.ts';
import type { SweepTarget } from '../intake-config.ts';

export { type PostedMode, readPostedMode } from '../../config/posted-mode.ts';

/**
 * Show-server calls per minute that notifications for servers the hook does not know may spend
 * (the API allows 1,000 a minute, shared with the worker). The worker needs about one show per
 * password GET (≤ 50 a minute) plus BUILD polls that its own limiter throttles; 250 leaves it
 * 750. A 1,000-server rush posts about 100 a minute at its peak (the emulator's realistic post
 * times), so 250 covers it two and a half times. Each server id costs at
 * most one show per ESCROW_POSTED_MIN_INTERVAL_SECONDS, whatever the number of notifications,
 * and forged ones (HMAC mode) none. The former 60 refused most of a 1,000-server rush.
 */
export const DEFAULT_POSTED_SHOWS_PER_MINUTE = 250;

/** Shorter keys are refused: the key is all that stands between outsiders and the show-server budget. */
export const MIN_POSTED_KEY_LENGTH = 32;

export interface PostedConfig {
  mode: PostedMode;
  /** The HMAC key (UTF-8 bytes of the configured text); present in hmac mode. */
  key: Buffer | undefined;
  /** Notifications whose timestamp is further than this from our clock are refused. */
  maxSkewSeconds: number;
  /** At most one notification-triggered GET per server in this many seconds. */
  minIntervalSeconds: number;
  /** Show-server calls that notifications for unknown servers may spend per minute, in total. */
  showsPerMinute: number;
  /** Notifications (and refused servers) remembered per warm instance. */
  cacheSize: number;
  /** Project id → region, for the projects that may notify. */
  projects: ReadonlyMap<string, string>;
}

/**
 * `keyFromSecret` is the SecretString of ESCROW_POSTED_HMAC_KEY_SECRET_ID, when the caller read
 * it (the Lambda wiring); it takes the place of ESCROW_POSTED_HMAC_KEY.
 */
export function parsePostedConfig(
  env: Env,
  sweepTargets: readonly SweepTarget[],
  keyFromSecret?: string,
): PostedConfig {
  const mode = readPostedMode(env);
  const keyText = keyFromSecret?.trim() ?? readString(env, ENV_POSTED_HMAC_KEY);
  if (mode === 'hmac' && (keyText === undefined || keyText.length < MIN_POSTED_KEY_LENGTH))
    throw new ConfigError(
      ENV_POSTED_HMAC_KEY,
      `(or the secret ${ENV_POSTED_HMAC_KEY_SECRET_ID} names) must be at least ${MIN_POSTED_KEY_LENGTH} characters in ${ENV_POSTED_MODE}=hmac (generate one with: openssl rand -base64 32)`,
    );
  const allowed = readList(env, 'ESCROW_ALLOWED_PROJECT_IDS');
  const projects = new Map<string, string>();
  for (const target of sweepTargets)
    if (allowed.length === 0 || allowed.includes(target.projectId))
      projects.set(target.projectId, target.region);
  if (mode !== 'off' && projects.size === 0)
    throw new ConfigError(
      ENV_POSTED_MODE,
      'needs at least one project that may notify: set SWEEP_TARGETS (or HUAWEICLOUD_SDK_REGION and HUAWEICLOUD_SDK_PROJECT_ID), within ESCROW_ALLOWED_PROJECT_IDS if that is set',
    );
  return {
    mode,
    key: mode === 'hmac' && keyText !== undefined ? Buffer.from(keyText, 'utf8') : undefined,
    maxSkewSeconds: readInteger(env, 'ESCROW_POSTED_MAX_SKEW_SECONDS', 300, { min: 5, max: 3600 }),
    minIntervalSeconds: readInteger(env, 'ESCROW_POSTED_MIN_INTERVAL_SECONDS', 60, { min: 1, max: 3600 }),
    showsPerMinute: readInteger(env, 'ESCROW_POSTED_SHOWS_PER_MINUTE', DEFAULT_POSTED_SHOWS_PER_MINUTE, {
      min: 1,
      max: 1000,
    }),
    cacheSize: readInteger(env, 'ESCROW_POSTED_CACHE_SIZE', 20_000, { min: 100, max: 1_000_000 }),
    projects,
  };
}
