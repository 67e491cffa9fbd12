/**
 * The Huawei client's configuration, parsed once from the environment. Credentials are
 * deliberately not part of it (see credentials.ts): this object is safe to print or log.
 */
import {
  ConfigError,
  type Env,
  readInteger,
  readKeyValues,
  readNumber,
  readString,
} from '../config/env-parsers.ts';
import { API_LIMITS_PER_MINUTE, API_NAMES, type ApiName, isApiName } from './api-names.ts';
import { type HuaweiEndpoints, readRegion, resolveEndpoints } from './endpoints.ts';
import { validateProjectId } from './path-params.ts';

export interface HuaweiConfig {
  region: string;
  /** When absent, resolve it with IamClient.resolveProjectId(region). */
  projectId: string | undefined;
  endpoints: HuaweiEndpoints;
  /** Effective per-minute limit for this worker: the override or default, divided by the share. */
  rateLimitsPerMinute: Record<ApiName, number>;
  /** How many concurrent workers share the account's budget. */
  rateLimitShare: number;
  connectTimeoutMs: number;
  /** Headers and body (inactivity) timeout. */
  timeoutMs: number;
  maxAttempts: number;
  /** Real ms of network jitter the rate limiter leaves headroom for (scaled by an accelerated clock). */
  rateJitterMs: number;
}

export const ENV_PROJECT_ID = 'HUAWEICLOUD_SDK_PROJECT_ID';
export const ENV_RATE_LIMITS = 'HUAWEICLOUD_RATE_LIMITS';
export const ENV_RATE_LIMIT_SHARE = 'HUAWEICLOUD_RATE_LIMIT_SHARE';
export const ENV_CONNECT_TIMEOUT = 'HUAWEICLOUD_HTTP_CONNECT_TIMEOUT_MS';
export const ENV_TIMEOUT = 'HUAWEICLOUD_HTTP_TIMEOUT_MS';
export const ENV_MAX_ATTEMPTS = 'HUAWEICLOUD_MAX_ATTEMPTS';
export const ENV_RATE_JITTER = 'HUAWEICLOUD_RATE_JITTER_MS';

/** "password.get=50,password.delete=50" → overrides; unknown names and non-positive numbers are refused. */
export function parseRateLimitOverrides(env: Env): Partial<Record<ApiName, number>> {
  const overrides: Partial<Record<ApiName, number>> = {};
  for (const [name, value] of Object.entries(readKeyValues(env, ENV_RATE_LIMITS))) {
    if (!isApiName(name)) {
      throw new ConfigError(
        ENV_RATE_LIMITS,
        `names an unknown API "${name}"; known: ${API_NAMES.join(', ')}`,
      );
    }
    const limit = Number(value);
    if (!(Number.isFinite(limit) && limit > 0)) {
      throw new ConfigError(
        ENV_RATE_LIMITS,
        `must give each API a positive number of calls per minute, got "${name}=${value}"`,
      );
    }
    overrides[name] = limit;
  }
  return overrides;
}

export function parseHuaweiConfig(env: Env): HuaweiConfig {
  const region = readRegion(env);
  const projectIdRaw = readString(env, ENV_PROJECT_ID);
  let projectId: string | undefined;
  if (projectIdRaw !== undefined) {
    try {
      projectId = validateProjectId(projectIdRaw);
    } catch (cause) {
      throw new ConfigError(
        ENV_PROJECT_ID,
        `must be an IAM project id (letters and digits, e.g. 32 hex characters)`,
        {
          cause,
        },
      );
    }
  }
  const share = readNumber(env, ENV_RATE_LIMIT_SHARE, 1, { min: 1, max: 1000 });
  const overrides = parseRateLimitOverrides(env);
  const rateLimitsPerMinute = Object.fromEntries(
    API_NAMES.map((api) => [api, (overrides[api] ?? API_LIMITS_PER_MINUTE[api]) / share]),
  ) as Record<ApiName, number>;
  return {
    region,
    projectId,
    endpoints: resolveEndpoints(env, region),
    rateLimitsPerMinute,
    rateLimitShare: share,
    connectTimeoutMs: readInteger(env, ENV_CONNECT_TIMEOUT, 5000, { min: 1, max: 120_000 }),
    timeoutMs: readInteger(env, ENV_TIMEOUT, 15_000, { min: 1, max: 600_000 }),
    maxAttempts: readInteger(env, ENV_MAX_ATTEMPTS, 4, { min: 1, max: 20 }),
    rateJitterMs: readNumber(env, ENV_RATE_JITTER, 50, { min: 0, max: 10_000 }),
  };
}
