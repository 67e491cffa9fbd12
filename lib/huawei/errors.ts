/**
 * One error family for every Huawei API failure. Messages carry the HTTP status, the
 * Huawei error code and the request id, never a request or response body beyond the
 * gateway's own error message, so they are safe to log.
 */

export type HuaweiErrorKind =
  | 'auth' // 401/403: never retried (five bad signatures lock the AK for five minutes)
  | 'not-found' // 404, or 400 BMS.0040
  | 'throttled' // 429 / APIGW.0308
  | 'server' // 5xx
  | 'client' // other 4xx
  | 'network' // connection reset, refused, DNS
  | 'timeout' // connect, header or body timeout
  | 'aborted'; // the caller's AbortSignal fired

export interface HuaweiApiErrorDetails {
  kind: HuaweiErrorKind;
  /** The API name used for rate limiting and metrics, e.g. "password.get". */
  api: string;
  status?: number | undefined;
  code?: string | undefined;
  requestId?: string | undefined;
  /** The gateway's or service's own error message (never echoes request data). */
  huaweiMessage?: string | undefined;
  /** From a Retry-After header on 429/503, in milliseconds; the retry policy waits at least this long. */
  retryAfterMs?: number | undefined;
  cause?: unknown;
}

export class HuaweiApiError extends Error {
  override name = 'HuaweiApiError';
  readonly kind: HuaweiErrorKind;
  readonly api: string;
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly requestId: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(details: HuaweiApiErrorDetails) {
    const parts = [
      `${details.api} failed`,
      details.status !== undefined ? `HTTP ${details.status}` : details.kind,
      details.code,
      details.huaweiMessage ? `"${truncate(details.huaweiMessage, 200)}"` : undefined,
      details.requestId ? `request id ${details.requestId}` : undefined,
    ].filter(Boolean);
    super(parts.join(', '), details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = details.kind;
    this.api = details.api;
    this.status = details.status;
    this.code = details.code;
    this.requestId = details.requestId;
    this.retryAfterMs = details.retryAfterMs;
  }

  /** Whether the shared retry policy may try again. Auth failures never are. */
  get retryable(): boolean {
    return (
      this.kind === 'server' ||
      this.kind === 'throttled' ||
      this.kind === 'network' ||
      this.kind === 'timeout'
    );
  }
}

/** Failures that prove the request never reached a backend, so repeating it cannot apply twice. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * A call that changes something (DELETE, POST) failed in a way that may have applied it: a
 * reset or timeout after the request went out, or a 5xx. It is never retried blindly; the
 * caller looks first (e.g. GETs the record again) and decides.
 */
export class OutcomeUnknownError extends HuaweiApiError {
  override name = 'OutcomeUnknownError';
  constructor(error: HuaweiApiError) {
    super({
      kind: error.kind,
      api: error.api,
      status: error.status,
      code: error.code,
      requestId: error.requestId,
      huaweiMessage: 'outcome unknown: the call may have applied',
      cause: error,
    });
  }

  override get retryable(): boolean {
    return false;
  }
}

/** Whether a failed call that changes something may nevertheless have applied. */
export function outcomeMayHaveApplied(error: unknown): error is HuaweiApiError {
  if (!isHuaweiApiError(error)) return false;
  if (error instanceof OutcomeUnknownError) return true;
  if (error.kind === 'server' || error.kind === 'timeout') return !notSent(error);
  if (error.kind === 'network') return !notSent(error);
  return false;
}

function notSent(error: HuaweiApiError): boolean {
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && NOT_SENT_CODES.has(code);
}

export function isOutcomeUnknown(error: unknown): error is OutcomeUnknownError {
  return error instanceof OutcomeUnknownError;
}

export function isHuaweiApiError(error: unknown, kind?: HuaweiErrorKind): error is HuaweiApiError {
  return error instanceof HuaweiApiError && (kind === undefined || error.kind === kind);
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
