/**
 * One signed Huawei API call, as both the BMS and the IAM clients make it: under the shared
 * retry policy, each attempt takes a rate-limit token, fresh credentials and a fresh
 * signature (X-Sdk-Date must be current), goes out through the transport, and a non-2xx
 * answer becomes a HuaweiApiError carrying status, Huawei code and request id.
 */
import type { Clock } from '../clock.ts';
import { type Logger, silentLogger } from '../observability/logger.ts';
import { type Metrics, nullMetrics } from '../observability/metrics.ts';
import type { ApiName } from './api-names.ts';
import { AuthGuard } from './auth-guard.ts';
import { formatQuery, type QueryPairs } from './canonical-request.ts';
import type { CredentialProvider } from './credentials.ts';
import {
  HuaweiApiError,
  type HuaweiErrorKind,
  OutcomeUnknownError,
  outcomeMayHaveApplied,
} from './errors.ts';
import type { HttpResponse, HttpTransport } from './http-transport.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, withRetry } from './retry-policy.ts';
import { signRequest } from './signer.ts';

export interface SignedCall {
  api: ApiName;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  endpoint: URL;
  /** Already validated and escaped; no trailing slash (the canonical form adds one). */
  path: string;
  query?: QueryPairs | undefined;
  /** Serialized as JSON. */
  body?: unknown;
  /** Sent and signed as X-Project-Id, as the official SDK does for project-scoped calls. */
  projectId?: string | undefined;
  signal?: AbortSignal | undefined;
  /** The response may hold a secret (password calls): no part of its body goes into an error. */
  sensitive?: boolean | undefined;
}

export interface SignedCallerOptions {
  transport: HttpTransport;
  credentials: CredentialProvider;
  /** Drives backoff and rate-limit sleeps (may be compressed). */
  clock: Clock;
  rateLimiter?: RateLimiter | undefined;
  retryPolicy?: RetryPolicy | undefined;
  random?: (() => number) | undefined;
  logger?: Logger | undefined;
  /**
   * Counts every attempt as HuaweiApiCall{api, result}: 2xx, 401, 403, 429, 4xx (the rest),
   * 5xx, network, timeout…; also rolled up by result alone, which the stack's alarms watch.
   */
  metrics?: Metrics | undefined;
  /**
   * The time written into X-Sdk-Date. The gateway rejects dates more than 15 minutes off its own
   * clock, so this is wall time by default even when `clock` is compressed.
   */
  signingTime?: (() => Date) | undefined;
  /**
   * Skew correction and the auth circuit breaker. Composition roots pass the process-wide one
   * (processAuthGuard); a caller built without one gets its own.
   */
  authGuard?: AuthGuard | undefined;
}

export class SignedCaller {
  readonly #options: SignedCallerOptions;
  readonly #policy: RetryPolicy;
  readonly #logger: Logger;
  readonly #guard: AuthGuard;

  constructor(options: SignedCallerOptions) {
    this.#options = options;
    // A caller of its own keeps its breaker on its own clock (compressed or simulated time).
    this.#guard = options.authGuard ?? new AuthGuard({ now: () => this.#localNow().getTime() });
    this.#policy = options.retryPolicy ?? DEFAULT_RETRY_POLICY;
    this.#logger = options.logger ?? silentLogger;
  }

  get rateLimiter(): RateLimiter | undefined {
    return this.#options.rateLimiter;
  }

  /** Resolves with a 2xx response; anything else rejects with a HuaweiApiError. */
  call(call: SignedCall): Promise<HttpResponse> {
    return withRetry(() => this.#attempt(call), {
      clock: this.#options.clock,
      policy: this.#policy,
      signal: call.signal,
      random: this.#options.random,
      api: call.api,
      onRetry: ({ attempt, delayMs, error }) =>
        this.#logger.warn('huawei api call failed, retrying', { api: call.api, attempt, delayMs, error }),
    });
  }

  async #attempt(call: SignedCall): Promise<HttpResponse> {
    try {
      const response = await this.#send(call);
      this.#count(call.api, `${Math.floor(response.status / 100)}xx`);
      return response;
    } catch (error) {
      const result =
        error instanceof HuaweiApiError
          ? error.status === 429 || error.status === 401 || error.status === 403
            ? String(error.status)
            : error.status !== undefined
              ? `${Math.floor(error.status / 100)}xx`
              : error.kind
          : 'error';
      this.#count(call.api, result);
      // A DELETE or POST that may have applied is not repeated here: the caller looks first.
      if (call.method !== 'GET' && outcomeMayHaveApplied(error)) throw new OutcomeUnknownError(error);
      throw error;
    }
  }

  #count(api: ApiName, result: string): void {
    (this.#options.metrics ?? nullMetrics).add('HuaweiApiCall', 'Count', 1, { api, result }, ['result']);
  }

  #localNow(): Date {
    return this.#options.signingTime?.() ?? new Date();
  }

  async #send(call: SignedCall, skewRetried = false): Promise<HttpResponse> {
    const { transport, credentials, rateLimiter } = this.#options;
    await rateLimiter?.acquire(call.api, call.signal);
    // After the token wait, so a breaker that opened meanwhile stops this call too.
    this.#guard.check(call.api);
    const creds = await credentials.getCredentials(call.signal);
    const url = new URL(call.path, call.endpoint);
    if (call.query && call.query.length > 0) url.search = formatQuery(call.query);
    const body = call.body === undefined ? undefined : JSON.stringify(call.body);
    const signedWithSkewMs = this.#guard.skewMs;
    const signed = signRequest(
      {
        method: call.method,
        url,
        headers: { 'content-type': 'application/json' },
        body,
        projectId: call.projectId,
        date: this.#guard.signingTime(this.#localNow()),
      },
      creds,
    );
    const sentAt = this.#localNow().getTime();
    let response: HttpResponse;
    try {
      response = await transport.send({
        api: call.api,
        method: call.method,
        url,
        headers: signed.headers,
        body,
        signal: call.signal,
      });
    } catch (error) {
      this.#guard.settle();
      throw error;
    }
    this.#guard.observe(
      { status: response.status, date: response.headers['date'] },
      sentAt,
      this.#localNow().getTime(),
    );
    if (response.status >= 200 && response.status < 300) return response;
    const error = errorFromResponse(call.api, response, call.sensitive ?? false);
    // A rejection the measured skew explains is re-signed on the gateway's time once, at once:
    // the cause is known, and it costs at most this one strike.
    if (error.kind === 'auth' && this.#guard.onAuthFailure(error, signedWithSkewMs) && !skewRetried)
      return this.#send(call, true);
    throw error;
  }
}

interface ErrorBody {
  code?: string;
  message?: string;
  requestId?: string;
}

/** Reads either error shape: BMS `{"error":{"code","message"}}` or gateway `{"error_code","error_msg"}`. */
export function parseErrorBody(text: string): ErrorBody {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return {};
  }
  if (data === null || typeof data !== 'object') return {};
  const record = data as Record<string, unknown>;
  const nested =
    record['error'] !== null && typeof record['error'] === 'object'
      ? (record['error'] as Record<string, unknown>)
      : {};
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    code: str(nested['code']) ?? str(record['error_code']),
    message: str(nested['message']) ?? str(record['error_msg']),
    requestId: str(record['request_id']),
  };
}

export function errorKindFor(status: number, code: string | undefined): HuaweiErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 429 || code === 'APIGW.0308') return 'throttled';
  if (status === 404 || (status === 400 && code === 'BMS.0040')) return 'not-found';
  if (status >= 500) return 'server';
  return 'client';
}

/** Retry-After as delta-seconds or an HTTP date, in milliseconds; undefined when absent or unreadable. */
export function parseRetryAfterMs(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

export function errorFromResponse(api: string, response: HttpResponse, sensitive: boolean): HuaweiApiError {
  const parsed = parseErrorBody(response.body);
  return new HuaweiApiError({
    kind: errorKindFor(response.status, parsed.code),
    api,
    status: response.status,
    code: parsed.code,
    requestId: response.headers['x-request-id'] ?? parsed.requestId,
    // A password call's body is never quoted, not even an error message from the gateway.
    huaweiMessage: sensitive ? undefined : parsed.message,
    retryAfterMs: parseRetryAfterMs(response.headers['retry-after']),
  });
}

/** Parses a 2xx JSON body; a body that is not JSON is a server fault, reported without quoting it. */
export function parseJsonBody(api: string, response: HttpResponse): unknown {
  if (response.body === '') return undefined;
  try {
    return JSON.parse(response.body);
  } catch (cause) {
    throw new HuaweiApiError({
      kind: 'server',
      api,
      status: response.status,
      requestId: response.headers['x-request-id'],
      huaweiMessage: 'response body is not valid JSON',
      cause: cause instanceof Error ? new Error(cause.name) : undefined,
    });
  }
}

/** A 2xx body missing what the API documents: not retryable (the same answer would come back). */
export function unexpectedShape(api: string, response: HttpResponse, what: string): HuaweiApiError {
  return new HuaweiApiError({
    kind: 'client',
    api,
    status: response.status,
    requestId: response.headers['x-request-id'],
    huaweiMessage: `unexpected response: ${what}`,
  });
}
