/**
 * Over real HTTP: the emulator pushes signed SMN deliveries to a loopback server that runs
 * the webhook's HTTP contract; the signing certificate is fetched from the emulator (its
 * host allow-listed in this test's config); job ids are resolved through the real signed
 * BMS client against the emulator's job API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../emulator/index.ts';
import type { RunningEmulator } from '../../emulator/types.ts';
import type { HuaweiClients } from '../../lib/huawei/huawei-clients.ts';
import { parseDirectRequest, runDirectIntake } from '../../lib/intake/direct-intake.ts';
import { isIntakeError } from '../../lib/intake/intake-errors.ts';
import type { IntakeRuntime } from '../../lib/intake/intake-runtime.ts';
import { handleWebhookRequest } from '../../lib/intake/webhook-http.ts';
import {
  bmsForRegion,
  emulatorClients,
  type RecordingQueue,
  startWebhookServer,
  testConfig,
  testRuntime,
} from '../unit/intake/intake-test-kit.ts';

describe('SMN webhook against the emulator', () => {
  let emulator: RunningEmulator;
  let clients: HuaweiClients;
  let webhook: Awaited<ReturnType<typeof startWebhookServer>>;
  let runtime: IntakeRuntime & { queue: RecordingQueue };

  beforeAll(async () => {
    emulator = await startEmulator({ seed: 7 });
    clients = emulatorClients(emulator);
    const config = testConfig({
      SMN_CERT_HOST_ALLOWLIST: emulator.url,
      SMN_SUBSCRIBE_HOST_ALLOWLIST: emulator.url,
      SMN_TOPIC_URN_ALLOWLIST: `urn:smn:${emulator.region}:${emulator.projectId}:bms-password-escrow-events`,
    });
    runtime = testRuntime({
      config,
      clock: emulator.clock,
      bmsFor: bmsForRegion(emulator.region, clients.bms),
    });
    webhook = await startWebhookServer(() => runtime);
  });

  afterAll(async () => {
    await webhook?.close();
    await clients?.close();
    await emulator?.close();
  });

  it('confirms the subscription through the allow-listed subscribe_url', async () => {
    const info = await emulator.admin.subscribe(`${webhook.url}/smn`);
    expect(emulator.admin.subscriptions()).toEqual([{ ...info, confirmed: true }]);
    expect(webhook.received.at(-1)?.status).toBe(200);
  });

  it('enqueues every created server exactly once, and a redelivery adds nothing', async () => {
    const created = emulator.admin.createServers({ windows: 2, linux: 1 });
    await emulator.admin.idle();
    expect(runtime.queue.serverIds().sort()).toEqual([...created.serverIds].sort());
    expect(new Set(runtime.queue.items.map((i) => i.origin)).size).toBe(3);
    for (const item of runtime.queue.items) {
      expect(item).toMatchObject({
        v: 1,
        projectId: emulator.projectId,
        region: emulator.region,
        attempt: 0,
        source: 'smn',
      });
    }

    // SMN redelivers the same signed message: the dedupe cache answers without enqueuing.
    const last = webhook.received.at(-1)!;
    const replay = await handleWebhookRequest(runtime, {
      method: 'POST',
      headers: last.headers,
      body: last.body,
    });
    expect(replay.statusCode).toBe(200);
    expect(JSON.parse(replay.body)).toEqual({ accepted: 0, duplicates: 1 });
    expect(runtime.queue.items).toHaveLength(3);
    runtime.queue.items.length = 0;
  });

  it('resolves a job-id trace through the BMS job API (ctsResourceMode: job)', async () => {
    emulator.admin.setSwitches({ ctsResourceMode: 'job' });
    try {
      const created = emulator.admin.createServers({ windows: 3, linux: 0 });
      await emulator.admin.idle();
      expect(runtime.queue.serverIds().sort()).toEqual([...created.serverIds].sort());
      expect(emulator.admin.calls().apis['job.get']?.['2xx']).toBeGreaterThanOrEqual(1);
      expect(webhook.received.at(-1)?.status).toBe(200);
    } finally {
      emulator.admin.setSwitches({ ctsResourceMode: 'per-server' });
      runtime.queue.items.length = 0;
    }
  });

  it('announces a reinstall (reinstallOs trace) as work for that server', async () => {
    const created = emulator.admin.createServers({ windows: 1, linux: 0, bootDelaySeconds: 0 });
    await emulator.admin.idle();
    runtime.queue.items.length = 0;
    emulator.admin.reinstall(created.serverIds[0]!);
    await emulator.admin.idle();
    expect(runtime.queue.serverIds()).toEqual(created.serverIds);
    runtime.queue.items.length = 0;
  });

  it('direct intake with a job id enqueues the job servers, raw or inside an EventBridge detail', async () => {
    const created = emulator.admin.createServers({ windows: 2, linux: 0 });
    await emulator.admin.idle();
    runtime.queue.items.length = 0;
    const payload = {
      'detail-type': 'BMS servers created',
      source: 'pipeline',
      detail: { project_id: emulator.projectId, region: emulator.region, job_id: created.jobId },
    };
    const result = await runDirectIntake(runtime, parseDirectRequest(payload, 1000));
    expect(result.accepted.sort()).toEqual([...created.serverIds].sort());
    expect(result.rejected).toEqual([]);
    expect(result.job?.jobId).toBe(created.jobId);
    expect(runtime.queue.items.map((i) => i.source)).toEqual(['direct', 'direct']);
  });

  it('direct intake refuses an unknown job clearly and enqueues nothing', async () => {
    runtime.queue.items.length = 0;
    const request = parseDirectRequest(
      { project_id: emulator.projectId, region: emulator.region, job_id: 'ff808081748b760c01748b7f80370003' },
      1000,
    );
    const error = await runDirectIntake(runtime, request).catch((e: unknown) => e);
    expect(isIntakeError(error, 'job_not_found')).toBe(true);
    expect(runtime.queue.items).toEqual([]);
  });
});
