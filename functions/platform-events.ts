/**
 * Entry for platform-invoked events in Huawei's envelopes (FunctionGraph SMN/CTS triggers,
 * EventGrid CloudEvents), for a deployment where such events reach Lambda (a relay, or an
 * EventBridge rule forwarding them). Not in serverless.yml: the AWS deployment receives SMN
 * over HTTPS (webhook.ts). The platform retries a thrown error, so only retryable failures
 * throw; refused records are reported in the result and logged.
 */
import middy from '@middy/core';
import {
  handlePlatformEvent,
  type PlatformEventResult,
} from '../lib/intake/functiongraph-eventgrid-envelopes.ts';
import { runtimeMiddleware, runtimeOf } from '../lib/lambda/handler-middleware.ts';
import { intakeLambdaRuntime } from '../lib/lambda/lambda-runtimes.ts';

export const runtime = intakeLambdaRuntime();

export const handler = middy<unknown, PlatformEventResult>({
  timeoutEarlyInMillis: 1000,
})
  .use(runtimeMiddleware(runtime))
  .handler(async (event, context, { signal }) => {
    const rt = runtimeOf(context, runtime);
    const result = await handlePlatformEvent(rt, event, signal);
    if (result.rejected.length > 0)
      rt.logger.warn('platform event records refused', { rejected: result.rejected });
    return result;
  });
