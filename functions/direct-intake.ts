/**
 * Direct intake: invoked by a provisioning pipeline or an EventBridge rule with
 * `{project_id, region, server_ids[]}` or `{project_id, region, job_id}` (raw or as `detail`).
 * A request that cannot succeed is answered with its error; only retryable failures throw,
 * so an asynchronous invocation is retried by Lambda exactly when that can help.
 */
import middy from '@middy/core';
import { type DirectIntakeResult, parseDirectRequest, runDirectIntake } from '../lib/intake/direct-intake.ts';
import { IntakeError } from '../lib/intake/intake-errors.ts';
import { errorPayload } from '../lib/intake/intake-response.ts';
import { runtimeMiddleware, runtimeOf } from '../lib/lambda/handler-middleware.ts';
import { intakeLambdaRuntime } from '../lib/lambda/lambda-runtimes.ts';

export type DirectIntakeResponse =
  | DirectIntakeResult
  | { accepted: []; rejected: []; error: { code: string; message: string } };

export const runtime = intakeLambdaRuntime();

export const handler = middy<unknown, DirectIntakeResponse>({
  timeoutEarlyInMillis: 1000,
})
  .use(runtimeMiddleware(runtime))
  .handler(async (event, context, { signal }) => {
    const rt = runtimeOf(context, runtime);
    try {
      const request = parseDirectRequest(event, rt.config.directMaxServerIds);
      return await runDirectIntake(rt, request, signal);
    } catch (error) {
      if (error instanceof IntakeError && !error.retryable) {
        rt.logger.warn('direct intake refused', { code: error.code, error });
        return { accepted: [], rejected: [], ...errorPayload(error) };
      }
      rt.logger.error('direct intake failed; retry', { error });
      throw error;
    }
  });
