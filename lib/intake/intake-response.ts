/**
 * Turns an intake outcome into the HTTP answer: 200 with counts, 4xx with a clear
 * `{error: {code, message}}`, 5xx only when redelivery may help. Messages come from our
 * own error classes, which never carry the body, the signature or a secret.
 */
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { IntakeError } from './intake-errors.ts';

export interface JsonResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

export function jsonResponse(statusCode: number, payload: unknown): JsonResponse {
  return { statusCode, headers: { ...HEADERS }, body: JSON.stringify(payload) };
}

export function errorPayload(error: IntakeError): { error: { code: string; message: string } } {
  return { error: { code: error.code, message: error.message } };
}

/** Logs and counts a refusal and shapes its response; anything unexpected is a retryable 500. */
export function errorResponse(error: unknown, logger: Logger, metrics: Metrics, what: string): JsonResponse {
  if (error instanceof IntakeError) {
    const fields = { code: error.code, status: error.statusCode, error };
    if (error.statusCode >= 500) logger.error(`${what} failed; the sender should retry`, fields);
    else logger.warn(`${what} refused`, fields);
    metrics.add('IntakeRejected', 'Count', 1, { code: error.code });
    return jsonResponse(error.statusCode, errorPayload(error));
  }
  logger.error(`${what} failed unexpectedly`, { error });
  metrics.add('IntakeRejected', 'Count', 1, { code: 'internal_error' });
  return jsonResponse(500, { error: { code: 'internal_error', message: 'internal error; retry later' } });
}
