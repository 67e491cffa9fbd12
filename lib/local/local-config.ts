/**
 * Configuration of the local stack (`bms-password-escrow serve`), parsed once. Command-line
 * flags override these variables; the pipeline, intake and Huawei settings are read by their
 * own parsers from the same environment.
 */
import { ConfigError, type Env, readInteger, readNumber, readString } from '../config/env-parsers.ts';
import { ENV_ACCESS_KEY, ENV_SECRET_KEY } from '../huawei/credentials.ts';
import { ENV_BMS_ENDPOINT } from '../huawei/endpoints.ts';

export interface LocalConfig {
  host: string;
  /** 0 = any free port. */
  port: number;
  /** Queue, escrow files and the status board live under here. */
  stateDir: string;
  /** Seconds of clock time between two sweeps; 0 disables the sweep. */
  sweepIntervalSeconds: number;
  /** Emulator mode only: how many clock seconds pass per real second. */
  timeScale: number;
  /**
   * An external emulator's clock epoch (wall ms), with `timeScale` > 1: the stack then runs on
   * the same compressed clock. `bms-password-escrow emulator --env` prints both.
   */
  timeEpochMs: number | undefined;
  /** Real milliseconds the worker sleeps when the queue has nothing due. */
  idlePollMs: number;
  /** Messages the worker takes per batch (the shared batch logic runs them concurrently). */
  batchSize: number;
  /**
   * Clock seconds a leased message stays invisible. The worker runs one batch at a time, so a
   * short lease cannot double-process; it bounds how late a crashed run's messages come back.
   */
  visibilityTimeoutSeconds: number;
  /** Status page auto-refresh, seconds. */
  refreshSeconds: number;
}

export const ENV_LOCAL_HOST = 'LOCAL_HOST';
export const ENV_LOCAL_PORT = 'LOCAL_PORT';
export const ENV_LOCAL_STATE_DIR = 'LOCAL_STATE_DIR';
export const ENV_LOCAL_SWEEP_INTERVAL = 'LOCAL_SWEEP_INTERVAL_SECONDS';
export const ENV_LOCAL_TIME_SCALE = 'LOCAL_TIME_SCALE';
export const ENV_LOCAL_TIME_EPOCH_MS = 'LOCAL_TIME_EPOCH_MS';
export const ENV_LOCAL_IDLE_POLL_MS = 'LOCAL_IDLE_POLL_MS';
export const ENV_LOCAL_BATCH_SIZE = 'LOCAL_BATCH_SIZE';
export const ENV_LOCAL_VISIBILITY_TIMEOUT = 'LOCAL_VISIBILITY_TIMEOUT_SECONDS';

export const DEFAULT_LOCAL_PORT = 8787;
export const DEFAULT_STATE_DIR = './.local';
/** The SQLite database under the state dir: queue, dead letters, the serve lock, the status board. */
export const STATE_DB_FILE = 'state.db';

export function parseLocalConfig(env: Env): LocalConfig {
  const host = readString(env, ENV_LOCAL_HOST, '127.0.0.1');
  if (!/^[A-Za-z0-9.:-]+$/.test(host))
    throw new ConfigError(ENV_LOCAL_HOST, `must be an address to bind such as 127.0.0.1, got "${host}"`);
  return {
    host,
    port: readInteger(env, ENV_LOCAL_PORT, DEFAULT_LOCAL_PORT, { min: 0, max: 65_535 }),
    stateDir: readString(env, ENV_LOCAL_STATE_DIR, DEFAULT_STATE_DIR),
    sweepIntervalSeconds: readInteger(env, ENV_LOCAL_SWEEP_INTERVAL, 600, { min: 0, max: 7 * 86_400 }),
    timeScale: readNumber(env, ENV_LOCAL_TIME_SCALE, 1, { min: 1, max: 100_000 }),
    timeEpochMs: readOptionalEpoch(env),
    idlePollMs: readInteger(env, ENV_LOCAL_IDLE_POLL_MS, 200, { min: 10, max: 60_000 }),
    batchSize: readInteger(env, ENV_LOCAL_BATCH_SIZE, 10, { min: 1, max: 100 }),
    visibilityTimeoutSeconds: readInteger(env, ENV_LOCAL_VISIBILITY_TIMEOUT, 30, { min: 1, max: 43_200 }),
    refreshSeconds: 2,
  };
}

function readOptionalEpoch(env: Env): number | undefined {
  if ((env[ENV_LOCAL_TIME_EPOCH_MS]?.trim() ?? '') === '') return undefined;
  return readInteger(env, ENV_LOCAL_TIME_EPOCH_MS, 0, { min: 0 });
}

/**
 * Where the stack's Huawei calls go:
 *  - `cloud`: AK/SK are set; the endpoints come from the Huawei config (real cloud, or an
 *    external emulator named by HUAWEICLOUD_BMS_ENDPOINT together with its AK/SK);
 *  - `embedded-emulator`: no AK/SK: an emulator starts in this process.
 */
export type LocalMode = 'cloud' | 'embedded-emulator';

export function resolveLocalMode(env: Env): LocalMode {
  const hasAk = (env[ENV_ACCESS_KEY]?.trim() ?? '') !== '';
  const hasSk = (env[ENV_SECRET_KEY]?.trim() ?? '') !== '';
  if (hasAk && hasSk) return 'cloud';
  if (hasAk !== hasSk)
    throw new ConfigError(
      hasAk ? ENV_SECRET_KEY : ENV_ACCESS_KEY,
      `is not set while ${hasAk ? ENV_ACCESS_KEY : ENV_SECRET_KEY} is; set both for the real cloud, or neither to run against the bundled emulator`,
    );
  if ((env[ENV_BMS_ENDPOINT]?.trim() ?? '') !== '')
    throw new ConfigError(
      ENV_ACCESS_KEY,
      `is not set but ${ENV_BMS_ENDPOINT} is; an external emulator needs its AK/SK too (bms-password-escrow emulator --json prints them), or unset ${ENV_BMS_ENDPOINT} to start one in this process`,
    );
  return 'embedded-emulator';
}

/** True when an endpoint points at this machine (an external emulator, not the real cloud). */
export function isLoopbackEndpoint(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
