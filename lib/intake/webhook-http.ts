/**
 * The webhook's HTTP contract, independent of API Gateway: method and size checks, then
 * the SMN delivery, then the JSON answer. functions/webhook.ts adapts API Gateway events to it.
 */
import { IntakeError } from './intake-errors.ts';
import { errorResponse, type JsonResponse, jsonResponse } from './intake-response.ts';
import { handleSmnDelivery, type SmnIntakeDeps } from './smn/smn-intake.ts';

export interface WebhookRequest {
  method: string;
  headers: Readonly<Record<string, string | undefined>>;
  body: string | undefined;
  isBase64Encoded?: boolean | undefined;
}

function decodeBody(request: WebhookRequest, maxBytes: number): string {
  const raw = request.body ?? '';
  if (!request.isBase64Encoded) return raw;
  // Checked before decoding so an oversized body is never materialised twice.
  if (Math.floor((raw.length * 3) / 4) > maxBytes + 2)
    throw new IntakeError('payload_too_large', `SMN message body is larger than ${maxBytes} bytes`);
  return Buffer.from(raw, 'base64').toString('utf8');
}

export async function handleWebhookRequest(
  deps: SmnIntakeDeps,
  request: WebhookRequest,
  signal?: AbortSignal,
): Promise<JsonResponse> {
  if (request.method.toUpperCase() !== 'POST')
    return jsonResponse(405, { error: { code: 'method_not_allowed', message: 'use POST' } });
  try {
    const body = decodeBody(request, deps.config.maxBodyBytes);
    const result = await handleSmnDelivery(deps, { body, headers: request.headers }, signal);
    switch (result.type) {
      case 'SubscriptionConfirmation':
        return jsonResponse(200, { accepted: 0, confirmed: true });
      case 'UnsubscribeConfirmation':
        return jsonResponse(200, { accepted: 0 });
      case 'Notification':
        return jsonResponse(200, {
          accepted: result.accepted,
          ...(result.duplicates > 0 ? { duplicates: result.duplicates } : {}),
          ...(result.ignored ? { ignored: result.ignored } : {}),
        });
    }
  } catch (error) {
    return errorResponse(error, deps.logger, deps.metrics, 'SMN delivery');
  }
}
