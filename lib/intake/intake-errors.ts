/**
 * The one error family of the intake path. Every refusal carries a stable `code`, the
 * HTTP status the webhook answers with and whether the sender should retry. Messages name
 * the field and the problem but never echo a signature, a body or a secret.
 */
export type IntakeErrorCode =
  | 'payload_too_large'
  | 'invalid_json'
  | 'invalid_message'
  | 'unknown_message_type'
  | 'invalid_id'
  | 'untrusted_url'
  | 'topic_not_allowed'
  | 'message_expired'
  | 'signature_invalid'
  | 'certificate_invalid'
  | 'unsupported_event'
  | 'no_targets'
  | 'job_not_found'
  | 'upstream_auth_failed'
  | 'job_pending'
  | 'certificate_unavailable'
  | 'subscription_confirm_failed'
  | 'upstream_unavailable'
  | 'enqueue_failed'
  | 'unsupported_media_type'
  | 'posted_disabled'
  | 'project_not_allowed'
  | 'server_not_eligible'
  | 'rate_limited';

export interface IntakeErrorOptions {
  /** Whether redelivering the same input later may succeed (answered with a 5xx). */
  retryable?: boolean;
  cause?: unknown;
}

const STATUS: Record<IntakeErrorCode, number> = {
  payload_too_large: 413,
  invalid_json: 400,
  invalid_message: 400,
  unknown_message_type: 400,
  invalid_id: 400,
  untrusted_url: 403,
  topic_not_allowed: 403,
  message_expired: 403,
  signature_invalid: 403,
  certificate_invalid: 403,
  unsupported_event: 400,
  no_targets: 422,
  job_not_found: 422,
  // Not redelivered on purpose: repeating a call that failed authentication risks the AK/SK lockout.
  upstream_auth_failed: 424,
  job_pending: 503,
  certificate_unavailable: 503,
  subscription_confirm_failed: 502,
  upstream_unavailable: 503,
  enqueue_failed: 503,
  unsupported_media_type: 415,
  posted_disabled: 404,
  project_not_allowed: 403,
  server_not_eligible: 422,
  rate_limited: 429,
};

export class IntakeError extends Error {
  override name = 'IntakeError';
  readonly code: IntakeErrorCode;
  readonly statusCode: number;
  readonly retryable: boolean;
  constructor(code: IntakeErrorCode, message: string, options: IntakeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.statusCode = STATUS[code];
    this.retryable = options.retryable ?? this.statusCode >= 500;
  }
}

export function isIntakeError(error: unknown, code?: IntakeErrorCode): error is IntakeError {
  return error instanceof IntakeError && (code === undefined || error.code === code);
}

/** Describes what is wrong with an unknown value without echoing it. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
