/**
 * Where the AK/SK (and, for temporary credentials, the security token) come from. Callers
 * only see CredentialProvider, so a Secrets Manager secret or an IAM agency can be plugged in
 * later as another source behind CachingCredentialProvider without touching the clients.
 *
 * Every secret handed out is registered with the redactor, so it cannot reach a log line even
 * by accident.
 */
import type { Clock } from '../clock.ts';
import { ConfigError, type Env } from '../config/env-parsers.ts';
import { registerSecret } from '../observability/redact.ts';
import type { SigningCredentials } from './signer.ts';

export type ResolvedCredentials = SigningCredentials & {
  /** When temporary credentials stop working; absent for long-lived AK/SK. */
  expiresAt?: Date | undefined;
};

export interface CredentialProvider {
  getCredentials(signal?: AbortSignal): Promise<ResolvedCredentials>;
}

export const ENV_ACCESS_KEY = 'HUAWEICLOUD_SDK_AK';
export const ENV_SECRET_KEY = 'HUAWEICLOUD_SDK_SK';
export const ENV_SECURITY_TOKEN = 'HUAWEICLOUD_SDK_SECURITY_TOKEN';

const EMULATOR_HINT = 'export it, or run against the emulator: bms-password-escrow emulator --json';

function protect(credentials: ResolvedCredentials): ResolvedCredentials {
  registerSecret(credentials.accessKey);
  registerSecret(credentials.secretKey);
  registerSecret(credentials.securityToken);
  return credentials;
}

/** Fixed credentials, e.g. the emulator's, or ones a test made. */
export function staticCredentialProvider(credentials: ResolvedCredentials): CredentialProvider {
  const frozen = Object.freeze(protect({ ...credentials }));
  return { getCredentials: async () => frozen };
}

/** Reads AK/SK (and an optional security token) from the environment; a missing one names the variable. */
export function readEnvCredentials(env: Env): ResolvedCredentials {
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const accessKey = read(ENV_ACCESS_KEY);
  if (accessKey === undefined) throw new ConfigError(ENV_ACCESS_KEY, `is not set; ${EMULATOR_HINT}`);
  const secretKey = read(ENV_SECRET_KEY);
  if (secretKey === undefined) throw new ConfigError(ENV_SECRET_KEY, `is not set; ${EMULATOR_HINT}`);
  return protect({ accessKey, secretKey, securityToken: read(ENV_SECURITY_TOKEN) });
}

/** Environment credentials, read on each call so a missing variable fails the call with a clear ConfigError. */
export function envCredentialProvider(env: Env = process.env): CredentialProvider {
  return { getCredentials: async () => readEnvCredentials(env) };
}

export interface CachingCredentialProviderOptions {
  clock: Clock;
  /** Refresh this long before expiresAt, so no request is signed with credentials about to lapse. */
  refreshAheadMs?: number | undefined;
}

/**
 * Caches another provider's credentials until shortly before they expire. Concurrent callers
 * share one in-flight fetch (single flight). If a refresh fails while the cached credentials
 * are still valid, those are used and the next call tries again.
 */
export class CachingCredentialProvider implements CredentialProvider {
  readonly #source: CredentialProvider;
  readonly #clock: Clock;
  readonly #refreshAheadMs: number;
  #cached: ResolvedCredentials | undefined;
  #inFlight: Promise<ResolvedCredentials> | undefined;

  constructor(source: CredentialProvider, options: CachingCredentialProviderOptions) {
    this.#source = source;
    this.#clock = options.clock;
    this.#refreshAheadMs = options.refreshAheadMs ?? 5 * 60_000;
  }

  async getCredentials(signal?: AbortSignal): Promise<ResolvedCredentials> {
    signal?.throwIfAborted();
    const cached = this.#cached;
    if (cached && !this.#dueForRefresh(cached)) return cached;
    const refresh = this.#refresh();
    const fallback = cached && !this.#expired(cached) ? cached : undefined;
    const result = fallback ? refresh.catch(() => fallback) : refresh;
    return signal ? raceAbort(result, signal) : result;
  }

  #dueForRefresh(credentials: ResolvedCredentials): boolean {
    if (!credentials.expiresAt) return false;
    return this.#clock.now() >= credentials.expiresAt.getTime() - this.#refreshAheadMs;
  }

  #expired(credentials: ResolvedCredentials): boolean {
    return credentials.expiresAt !== undefined && this.#clock.now() >= credentials.expiresAt.getTime();
  }

  /** One fetch at a time, not tied to any caller's signal: one caller giving up must not fail the others. */
  #refresh(): Promise<ResolvedCredentials> {
    this.#inFlight ??= this.#source
      .getCredentials()
      .then((fresh) => {
        this.#cached = protect(fresh);
        return fresh;
      })
      .finally(() => {
        this.#inFlight = undefined;
      });
    return this.#inFlight;
  }
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
