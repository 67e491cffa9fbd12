/**
 * SMN HTTP(S) subscription endpoint (API Gateway HTTP API, payload v2, POST), plus the
 * entry for platform-invoked events (FunctionGraph SMN/CTS triggers, EventGrid CloudEvents).
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  handlePlatformEvent,
  type PlatformEventResult,
} from '../lib/intake/functiongraph-eventgrid-envelopes.ts';
import { type IntakeRuntime, intakeRuntime } from '../lib/intake/intake-wiring.ts';
import { requireTopicTrust } from '../lib/intake/smn/topic-trust.ts';
import { handleWebhookRequest } from '../lib/intake/webhook-http.ts';

const checked = new WeakSet<IntakeRuntime>();

/**
 * The SMN endpoint does not serve without a topic allow-list: every invocation fails with the
 * ConfigError (and the Lambda errors alarm fires) until SMN_TOPIC_URN_ALLOWLIST is set.
 */
async function smnRuntime(): Promise<IntakeRuntime> {
  const runtime = await intakeRuntime();
  if (!checked.has(runtime)) {
    requireTopicTrust(runtime.config.topicTrust, runtime.logger);
    checked.add(runtime);
  }
  return runtime;
}

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>({
  timeoutEarlyInMillis: 1000,
}).handler(async (event, _context, { signal }) => {
  const runtime = await smnRuntime();
  const response = await handleWebhookRequest(
    runtime,
    {
      method: event.requestContext?.http?.method ?? 'POST',
      headers: event.headers ?? {},
      body: event.body,
      isBase64Encoded: event.isBase64Encoded,
    },
    signal,
  );
  runtime.metrics.flush();
  return response;
});

/**
 * Platform entry: the platform retries a thrown error, so only retryable failures throw;
 * refused records are reported in the result and logged.
 */
export const platformHandler = middy<unknown, PlatformEventResult>({ timeoutEarlyInMillis: 1000 }).handler(
  async (event, _context, { signal }) => {
    const runtime = await intakeRuntime();
    try {
      const result = await handlePlatformEvent(runtime, event, signal);
      if (result.rejected.length > 0)
        runtime.logger.warn('platform event records refused', { rejected: result.rejected });
      return result;
    } finally {
      runtime.metrics.flush();
    }
  },
);
