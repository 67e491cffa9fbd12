/**
 * What every signed call in the process shares about authentication (issue 9, failure 3):
 *
 * - The clock skew, measured from the gateway's `Date` header on every response. Requests are
 *   signed with the corrected time, and times compared with the cloud's (launched_at) are read
 *   on the corrected clock, so a wrong local clock costs at most the first signature. Past
 *   `maxSkewMs` health says so, naming the skew: the machine's clock needs fixing. (Refusing
 *   instead would leave every password exposed for a clock the hook can correct; the gateway's
 *   Date arrives over TLS from the party that judges the signature.)
 * - A circuit breaker. One auth failure (401/403: signature expired, bad key, lockout) stops
 *   every signed call in the process, since five failed signatures lock the AK/SK for five
 *   minutes for every user of the key. After a cool-down one probe may go out; a success closes
 *   the breaker. After `maxProbes` failed probes it stays open until the process restarts.
 *
 * Both are readable as health (`huaweiHealth()`), which `serve`'s /healthz reports.
 */
import type { Clock } from '../clock.ts';
import { HuaweiApiError } from './errors.ts';

export interface AuthGuardOptions {
  /** Health is degraded when |gateway time - local time| exceeds this (the gateway rejects 15 min). */
  maxSkewMs?: number | undefined;
  /** Wait after an auth failure before one probe; doubles per failed probe. */
  cooldownMs?: number | undefined;
  /** Failed probes after which the breaker stays open. */
  maxProbes?: number | undefined;
  /** Local wall time (ms); tests inject one. */
  now?: (() => number) | undefined;
}

export interface HuaweiHealth {
  /** 'ok' until an auth failure; 'failing' while the breaker is open; 'probing' when one call may test it. */
  auth: 'ok' | 'failing' | 'probing';
  /** Gateway time minus local time, from the latest `Date` header (ms); undefined before any response. */
  skewMs: number | undefined;
  /** True whenever signed calls cannot make progress. */
  degraded: boolean;
  /** Why, in words safe to show (no secret). */
  detail?: string | undefined;
}

/** The code of the error a call held back by the guard fails with. */
export const AUTH_CIRCUIT_OPEN = 'AuthCircuitOpen';

export const DEFAULT_MAX_SKEW_MS = 10 * 60_000;
const DEFAULT_COOLDOWN_MS = 5 * 60_000;
const DEFAULT_MAX_PROBES = 3;
/** `Date` has a resolution of one second; the true time is on average half a second later. */
const DATE_RESOLUTION_MS = 1000;
/** A signature this far off the gateway's clock explains a rejection by itself. */
const SKEW_EXPLAINS_MS = 60_000;

export class AuthGuard {
  readonly #maxSkewMs: number;
  readonly #cooldownMs: number;
  readonly #maxProbes: number;
  readonly #now: () => number;
  #skewMs: number | undefined;
  /** Consecutive auth failures (the first one opens the breaker). */
  #failures = 0;
  #reopenAt = 0;
  #reason: string | undefined;
  #probing = false;

  constructor(options: AuthGuardOptions = {}) {
    this.#maxSkewMs = options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
    this.#cooldownMs = options.cooldownMs ?? DEFAULT_COOLDOWN_MS;
    this.#maxProbes = options.maxProbes ?? DEFAULT_MAX_PROBES;
    this.#now = options.now ?? Date.now;
  }

  /** Gateway time minus local time in ms (0 until measured). */
  get skewMs(): number {
    return this.#skewMs ?? 0;
  }

  /** Local wall time corrected to the gateway's clock. */
  cloudNow(localMs: number = this.#now()): number {
    return localMs + this.skewMs;
  }

  /** The X-Sdk-Date for a request signed now, given the local time. */
  signingTime(local: Date): Date {
    return new Date(local.getTime() + this.skewMs);
  }

  /** Throws (never retried) while the breaker is open. */
  check(api: string): void {
    if (this.#failures === 0) return;
    if (this.#failures > this.#maxProbes || this.#probing || this.#now() < this.#reopenAt)
      throw this.#blocked(api);
    // Half-open: this one call is the probe (signed with the corrected time, so a skew alone
    // cannot make it fail); the others are held back until it has an answer.
    this.#probing = true;
  }

  /** A call ended without an answer (network, timeout): a probe proved nothing either way. */
  settle(): void {
    this.#probing = false;
  }

  /** Every response: measure the skew from `Date`, then close or open the breaker. */
  observe(
    response: { status: number; date: string | undefined },
    sentAtMs: number,
    receivedAtMs: number,
  ): void {
    this.#probing = false;
    const date = response.date === undefined ? Number.NaN : Date.parse(response.date);
    if (Number.isFinite(date)) {
      const midpoint = (sentAtMs + receivedAtMs) / 2;
      this.#skewMs = Math.round(date + DATE_RESOLUTION_MS / 2 - midpoint);
    }
    if (response.status === 401 || response.status === 403) return;
    // Anything below 500 got past the gateway's signature check (it checks before throttling).
    if (response.status < 500 && this.#failures > 0) {
      this.#failures = 0;
      this.#reason = undefined;
      this.#reopenAt = 0;
    }
  }

  /**
   * An auth failure: stop every signed call in the process. `signedWithSkewMs` is the correction
   * the failed request was signed with: when the gateway's Date shows that correction was more
   * than a minute wrong, the failure is understood (a clock off) and one probe with the new
   * correction may go at once (returns true).
   */
  onAuthFailure(error: HuaweiApiError, signedWithSkewMs: number): boolean {
    this.#failures++;
    this.#reason = error.message;
    const explained =
      this.#skewMs !== undefined && Math.abs(this.#skewMs - signedWithSkewMs) > SKEW_EXPLAINS_MS;
    this.#reopenAt = explained ? this.#now() : this.#now() + this.#cooldownMs * 2 ** (this.#failures - 1);
    return explained;
  }

  health(): HuaweiHealth {
    const skewMs = this.#skewMs;
    if (this.#failures > 0) {
      const stuck = this.#failures > this.#maxProbes;
      return {
        auth: !stuck && this.#now() >= this.#reopenAt ? 'probing' : 'failing',
        skewMs,
        degraded: true,
        detail: `${this.#reason ?? 'auth failure'}${this.#skewNote()}${stuck ? '; no more probes until restart' : ''}`,
      };
    }
    if (this.#skewTooLarge()) return { auth: 'ok', skewMs, degraded: true, detail: this.#skewMessage() };
    return { auth: 'ok', skewMs, degraded: false };
  }

  #skewTooLarge(): boolean {
    return this.#skewMs !== undefined && Math.abs(this.#skewMs) > this.#maxSkewMs;
  }

  #skewNote(): string {
    return this.#skewMs !== undefined && Math.abs(this.#skewMs) >= 60_000 ? `; ${this.#skewMessage()}` : '';
  }

  #skewMessage(): string {
    const skew = this.#skewMs ?? 0;
    return `the local clock is ${formatDuration(Math.abs(skew))} ${skew > 0 ? 'behind' : 'ahead of'} the API gateway's (bound ${formatDuration(this.#maxSkewMs)}); fix the clock (NTP)`;
  }

  #blocked(api: string): HuaweiApiError {
    const why = `signed calls stopped after an auth failure (${this.#reason ?? 'unknown'})${this.#skewNote()}`;
    return new HuaweiApiError({ kind: 'auth', api, code: AUTH_CIRCUIT_OPEN, huaweiMessage: why });
  }
}

function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return m > 0 ? `${m}m ${s}s` : `${s}s`;
}

/** The one guard every signed call in this process shares (the lockout is per AK, not per client). */
export const processAuthGuard = new AuthGuard();

/** The Huawei side's health for /healthz: auth ok or failing, and the measured skew. */
export function huaweiHealth(): HuaweiHealth {
  return processAuthGuard.health();
}

/** `clock` read on the cloud's time: every comparison with launched_at and friends uses this. */
export function cloudClock(clock: Clock, guard: AuthGuard = processAuthGuard): Clock {
  return {
    now: () => clock.now() + guard.skewMs,
    sleep: (ms, signal) => clock.sleep(ms, signal),
    scale: clock.scale,
  };
}
