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

export function isHuaweiApiError(error: unknown, kind?: HuaweiErrorKind): error is HuaweiApiError {
  return error instanceof HuaweiApiError && (kind === undefined || error.kind === kind);
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
