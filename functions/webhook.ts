/**
 * SMN HTTP(S) subscription endpoint (API Gateway HTTP API, payload v2, POST).
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { parseTopicTrust, requireTopicTrust } from '../lib/intake/smn/topic-trust.ts';
import { handleWebhookRequest } from '../lib/intake/webhook-http.ts';
import { runtimeMiddleware, runtimeOf } from '../lib/lambda/handler-middleware.ts';
import { intakeLambdaRuntime } from '../lib/lambda/lambda-runtimes.ts';
import { createLogger } from '../lib/observability/logger.ts';

export const runtime = intakeLambdaRuntime();

// Fail closed at init: without SMN_TOPIC_URN_ALLOWLIST the endpoint does not start (any
// tenant's correctly signed message would otherwise be trusted); `*` starts with a warning.
requireTopicTrust(parseTopicTrust(process.env), createLogger({ fields: { component: 'webhook' } }));

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>({
  timeoutEarlyInMillis: 1000,
})
  .use(runtimeMiddleware(runtime))
  .handler((event, context, { signal }) =>
    handleWebhookRequest(
      runtimeOf(context, runtime),
      {
        method: event.requestContext?.http?.method ?? 'POST',
        headers: event.headers ?? {},
        body: event.body,
        isBase64Encoded: event.isBase64Encoded,
      },
      signal,
    ),
  );
