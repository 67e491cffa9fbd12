/**
 * Guests' "posted" notifications (API Gateway HTTP API, payload v2, POST /posted, the same API
 * as the webhook): a signed hint that moves the server's next password GET to the front of
 * the line. Answers 404 unless notifications are enabled.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { handlePostedRequest } from '../lib/intake/posted/posted-intake.ts';
import { runtimeMiddleware, runtimeOf } from '../lib/lambda/handler-middleware.ts';
import { intakeLambdaRuntime } from '../lib/lambda/lambda-runtimes.ts';

export const runtime = intakeLambdaRuntime();

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>({
  timeoutEarlyInMillis: 1000,
})
  .use(runtimeMiddleware(runtime))
  .handler((event, context, { signal }) =>
    handlePostedRequest(
      runtimeOf(context, runtime).posted,
      {
        method: event.requestContext?.http?.method ?? 'POST',
        headers: event.headers ?? {},
        body: event.body,
        isBase64Encoded: event.isBase64Encoded,
      },
      signal,
    ),
  );
