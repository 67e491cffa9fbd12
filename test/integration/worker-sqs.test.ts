/**
 * The Lambda worker end to end: fauxqs (SQS) feeds the Middy handler SQS events as the event
 * source mapping would, the handler runs the batch over the emulator (100x time) and the
 * Secrets Manager fake (decrypt mode on), re-queues not-ready servers as new delayed messages,
 * and dead-letters the deadline and a malformed body. Every log and metric line is captured
 * and checked for secrets.
 */
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPasswordDecryptor, parsePrivateKey, withDecryption } from '../../lib/escrow/decrypt.ts';
import { createMetrics } from '../../lib/observability/metrics.ts';
import { SqsWorkQueue } from '../../lib/queue/sqs-queue.ts';
import type { WorkItem } from '../../lib/queue/work-item.ts';
import { createWorkerRuntime } from '../../lib/worker/worker-runtime.ts';
import { type PipelineStack, startPipelineStack } from '../unit/pipeline/pipeline-test-kit.ts';

type Fauxqs = Awaited<ReturnType<typeof startFauxqs>>;

let stack: PipelineStack;
let fauxqs: Fauxqs;
let sqs: SQSClient;
let queueUrl: string;
let dlqUrl: string;
let worker: typeof import('../../functions/worker.ts');

beforeAll(async () => {
  stack = await startPipelineStack({ timeScale: 100, seed: 11 });
  fauxqs = await startFauxqs({ port: 0, logger: false });
  queueUrl = fauxqs.createQueue('work', { attributes: { VisibilityTimeout: '1' } }).queueUrl;
  dlqUrl = fauxqs.createQueue('work-dlq').queueUrl;
  sqs = new SQSClient({
    endpoint: fauxqs.address,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  // The handler parses its configuration at module load, as on Lambda.
  process.env['WORK_QUEUE_URL'] = queueUrl;
  process.env['WORK_DLQ_URL'] = dlqUrl;
  process.env['HUAWEICLOUD_SDK_REGION'] = stack.emu.region;
  process.env['HUAWEICLOUD_SDK_AK'] = stack.emu.accessKey;
  process.env['HUAWEICLOUD_SDK_SK'] = stack.emu.secretKey;
  // 25 emulated minutes (15 s real); the "never" server starts almost at its deadline instead.
  process.env['ESCROW_DEADLINE_SECONDS'] = '1500';
  worker = await import('../../functions/worker.ts');
  const decryptor = createPasswordDecryptor(parsePrivateKey(stack.emu.admin.decryptKey().privateKeyPem));
  worker.runtime.setFactory((env) =>
    createWorkerRuntime(env, {
      clock: stack.emu.clock,
      logger: stack.logger,
      metrics: createMetrics({ sink: { write: (line: string) => stack.logLines.push(line) } }),
      store: withDecryption(stack.store, decryptor),
      bmsFor: () => stack.huawei.bms,
      rateBudgetFor: () => stack.huawei.rateLimiter,
      sqsClient: sqs,
    }),
  );
  // Build the runtime and open the SQS connection now, so the first real batch is not slowed
  // by one-off start-up work while the emulated clock runs at 100x.
  await worker.handler({ Records: [] } as SQSEvent, context);
  await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0 }));
});

afterAll(async () => {
  worker?.runtime.setFactory(undefined);
  sqs?.destroy();
  await fauxqs?.stop();
  await stack?.close();
});

const context = { getRemainingTimeInMillis: () => 60_000, functionName: 'worker' } as unknown as Context;

/** One event-source-mapping poll: receive, invoke, delete what the handler did not report failed. */
async function pump(source = queueUrl): Promise<number> {
  const received = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: source,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 1,
      MessageSystemAttributeNames: ['ApproximateReceiveCount'],
    }),
  );
  const messages = received.Messages ?? [];
  if (messages.length === 0) return 0;
  const event: SQSEvent = {
    Records: messages.map(
      (m) =>
        ({
          messageId: m.MessageId!,
          receiptHandle: m.ReceiptHandle!,
          body: m.Body!,
          attributes: { ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1' },
          messageAttributes: {},
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:work',
          awsRegion: 'us-east-1',
        }) as unknown as SQSRecord,
    ),
  };
  const response = await worker.handler(event, context);
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  const done = messages.filter((m) => !failed.has(m.MessageId!));
  if (done.length > 0)
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: source,
        Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
  return messages.length;
}

async function drainDlq(): Promise<Array<{ body: string; reason: string | undefined }>> {
  const out: Array<{ body: string; reason: string | undefined }> = [];
  for (;;) {
    const r = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
      }),
    );
    if (!r.Messages?.length) return out;
    for (const m of r.Messages)
      out.push({ body: m.Body!, reason: m.MessageAttributes?.['reason']?.StringValue });
  }
}

describe('SQS worker (Middy handler, fauxqs, emulator, Secrets Manager fake)', () => {
  it('clears Windows servers, skips Linux, re-queues BUILD and not-posted, dead-letters the deadline', async () => {
    const { admin } = stack.emu;
    const fast = admin.createServers({ windows: 1, linux: 1, bootDelaySeconds: 0, postDelaySeconds: 30 });
    // 400 emulated seconds of BUILD (4 s real): the first check sees BUILD even on a loaded machine.
    const building = admin.createServers({
      windows: 1,
      linux: 0,
      bootDelaySeconds: 400,
      postDelaySeconds: 20,
    });
    const never = admin.createServers({
      windows: 1,
      linux: 0,
      bootDelaySeconds: 0,
      postDelaySeconds: 100_000,
    });
    const nowMs = stack.emu.clock.now();
    const neverId = never.windowsIds[0]!;
    const items: WorkItem[] = [...fast.serverIds, ...building.serverIds, ...never.serverIds].map(
      (serverId) => ({
        v: 1,
        projectId: stack.emu.projectId,
        region: stack.emu.region,
        serverId,
        // Seen 1,450 s ago: 50 emulated seconds short of the deadline.
        firstSeenAt: new Date(serverId === neverId ? nowMs - 1_450_000 : nowMs).toISOString(),
        attempt: 0,
        source: 'direct',
      }),
    );
    const intake = new SqsWorkQueue({ client: sqs, queueUrl, clock: stack.emu.clock });
    expect((await intake.enqueue(items)).accepted).toBe(4);
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"v":1,"serverId":"../../etc"}' }),
    );

    const windows = [fast.windowsIds[0]!, building.windowsIds[0]!];
    for (let round = 0; round < 40; round++) {
      await pump();
      // Done when each server's own outcome line says cleared (after the verify, which may
      // run inline or as a re-queued message), not merely when the emulator saw the DELETE.
      const cleared = windows.every((id) =>
        stack.logLines.some((l) => l.includes(id) && l.includes('"outcome":"cleared"')),
      );
      const neverDone = stack.logLines.some(
        (l) => l.includes(never.windowsIds[0]!) && l.includes('deadline-exceeded'),
      );
      if (cleared && neverDone) break;
    }

    for (const id of windows) {
      const truth = admin.server(id)!;
      expect(truth.ciphertext).toBeNull();
      expect(truth.clearedAt).not.toBeNull();
    }
    const passwordEvents = admin.calls().passwordEvents;
    expect(passwordEvents.filter((e) => e.serverId === fast.linuxIds[0])).toHaveLength(0);
    const buildTruth = admin.server(building.windowsIds[0]!)!;
    expect(
      passwordEvents.filter((e) => e.serverId === buildTruth.id).every((e) => e.time >= buildTruth.activeAt),
    ).toBe(true);

    const outcomes = stack.logLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => typeof l['outcome'] === 'string');
    const building1 = outcomes.filter((o) => o['serverId'] === buildTruth.id);
    expect(building1[0]).toMatchObject({ outcome: 'not-ready', reason: 'building' });
    expect(building1.at(-1)).toMatchObject({ outcome: 'cleared' });
    const attempts = building1.map((o) => o['attempt'] as number);
    expect(attempts).toEqual([...attempts].sort((a, b) => a - b));
    expect(attempts.at(-1)!).toBeGreaterThan(0);

    const dlq = await drainDlq();
    expect(dlq.map((d) => d.reason).sort()).toEqual(['deadline-exceeded', 'invalid-item']);
    const deadLettered = dlq.find((d) => d.reason === 'deadline-exceeded')!;
    expect(JSON.parse(deadLettered.body)).toMatchObject({ serverId: never.windowsIds[0] });
    expect(dlq.find((d) => d.reason === 'invalid-item')?.body).toContain('../../etc');

    // Invariant 2: no ciphertext, plaintext or SK in any log or metric line, or DLQ body.
    const secrets: string[] = [stack.emu.secretKey];
    for (const id of windows) {
      const ref = { projectId: stack.emu.projectId, region: stack.emu.region, serverId: id };
      const ledger = await stack.store.ledger(ref);
      const record = await stack.store.read(ref, ledger!.versions[0]!.versionId);
      expect(record?.plaintext).toMatch(/^[\x20-\x7e]{8,}$/);
      secrets.push(record!.ciphertext, record!.plaintext!);
    }
    const everything = [...stack.logLines, ...dlq.map((d) => d.body)].join('\n');
    expect(stack.logLines.length).toBeGreaterThan(10);
    for (const secret of secrets) expect(everything).not.toContain(secret);
  });
});
