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
import type { Env } from '../lib/config/env-parsers.ts';
import { parsePipelineConfig } from '../lib/pipeline/pipeline-config.ts';
import { createPipelineDeps, type PipelineRuntime } from '../lib/worker/worker-runtime.ts';
import { type BatchMessage, runBatch } from '../lib/worker/batch-worker.ts';

export const TIMEOUT_EARLY_MS = 3000;

const config = parsePipelineConfig(process.env);

type RuntimeFactory = (env: Env) => Promise<PipelineRuntime>;
const defaultFactory: RuntimeFactory = (env) => createPipelineDeps(env, { config });
let factory = defaultFactory;
let runtime: Promise<PipelineRuntime> | undefined;

/** Replaces how the runtime is built (tests) and forgets the current one. */
export function setWorkerRuntimeFactory(next: RuntimeFactory | undefined): void {
  factory = next ?? defaultFactory;
  runtime = undefined;
}

function workerRuntime(): Promise<PipelineRuntime> {
  if (!runtime) {
    const pending = factory(process.env);
    runtime = pending;
    pending.catch(() => {
      if (runtime === pending) runtime = undefined;
    });
  }
  return runtime;
}

/** Message ids of the current invocation not yet settled as acked (one invocation at a time per instance). */
let unsettled = new Set<string>();

export const handler = middy<SQSEvent, SQSBatchResponse>({
  timeoutEarlyInMillis: TIMEOUT_EARLY_MS,
  timeoutEarlyResponse: () => ({
    batchItemFailures: [...unsettled].map((itemIdentifier) => ({ itemIdentifier })),
  }),
}).handler(async (event, _context, { signal }) => {
  const records = event.Records ?? [];
  const pending = new Set(records.map((r) => r.messageId));
  unsettled = pending;
  const { batch } = await workerRuntime();
  const messages: BatchMessage[] = records.map((r) => ({
    messageId: r.messageId,
    body: r.body,
    receiveCount: Number(r.attributes?.ApproximateReceiveCount) || undefined,
  }));
  const result = await runBatch(messages, batch, signal, (id, disposition) => {
    if (disposition === 'ack') pending.delete(id);
  });
  return { batchItemFailures: result.failures.map((itemIdentifier) => ({ itemIdentifier })) };
});
