/**
 * SMN HTTP(S) subscription endpoint (API Gateway HTTP API, payload v2, POST).
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { handleWebhookRequest } from '../lib/intake/webhook-http.ts';
import { runtimeMiddleware, runtimeOf } from '../lib/lambda/handler-middleware.ts';
import { intakeLambdaRuntime } from '../lib/lambda/lambda-runtimes.ts';

export const runtime = intakeLambdaRuntime();

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
