/**
 * SQS worker (ReportBatchItemFailures): runs the escrow-then-clear pipeline for each message
 * of the batch through the shared batch logic. Configuration is parsed at module load so a
 * misconfigured deployment fails at init; the clients are built once per warm instance.
 *
 * Middy aborts `signal` `timeoutEarlyInMillis` before Lambda's hard stop. The signal reaches
 * every Huawei and AWS call, no DELETE starts after it fired, and the early response reports
 * every message not yet settled as a failure so SQS redelivers it (all steps are idempotent).
 */
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { runtimeMiddleware, runtimeOf } from '../lib/lambda/handler-middleware.ts';
import { workerLambdaRuntime } from '../lib/lambda/lambda-runtimes.ts';
import { type BatchMessage, runBatch } from '../lib/worker/batch-worker.ts';

export const TIMEOUT_EARLY_MS = 3000;

export const runtime = workerLambdaRuntime();

/** Message ids of the current invocation not yet settled as acked (one invocation at a time per instance). */
let unsettled = new Set<string>();

export const handler = middy<SQSEvent, SQSBatchResponse>({
  timeoutEarlyInMillis: TIMEOUT_EARLY_MS,
  timeoutEarlyResponse: () => ({
    batchItemFailures: [...unsettled].map((itemIdentifier) => ({ itemIdentifier })),
  }),
})
  .use({
    // Before the runtime is built: a timeout during the build reports the whole batch.
    before: (request: { event: SQSEvent }) => {
      unsettled = new Set((request.event.Records ?? []).map((r) => r.messageId));
    },
  })
  .use(runtimeMiddleware(runtime))
  .handler(async (event, context, { signal }) => {
    const pending = unsettled;
    const messages: BatchMessage[] = (event.Records ?? []).map((r) => ({
      messageId: r.messageId,
      body: r.body,
      receiveCount: Number(r.attributes?.ApproximateReceiveCount) || undefined,
    }));
    const result = await runBatch(messages, runtimeOf(context, runtime).batch, signal, (id, disposition) => {
      if (disposition === 'ack') pending.delete(id);
    });
    return { batchItemFailures: result.failures.map((itemIdentifier) => ({ itemIdentifier })) };
  });
