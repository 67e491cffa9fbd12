/**
 * The sweep over the real signed BMS client and the emulator, with the file escrow store as
 * the ledger. SMN deliveries are all dropped (smnDropRate 1), so only the sweep can find the
 * servers: it must enqueue exactly the Windows servers the ledger does not prove cleared.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../emulator/index.ts';
import type { RunningEmulator } from '../../emulator/types.ts';
import { buildEscrowRecord } from '../../lib/escrow/escrow-record.ts';
import type { EscrowStore } from '../../lib/escrow/escrow-store.ts';
import { createFileEscrowStore } from '../../lib/escrow/file-store.ts';
import type { HuaweiClients } from '../../lib/huawei/huawei-clients.ts';
import type { IntakeRuntime } from '../../lib/intake/intake-runtime.ts';
import { runSweep, type SweepProgress } from '../../lib/intake/sweep.ts';
import {
  bmsForRegion,
  emulatorClients,
  type RecordingQueue,
  startWebhookServer,
  testConfig,
  testRuntime,
} from '../unit/intake/intake-test-kit.ts';

describe('sweep against the emulator', () => {
  let emulator: RunningEmulator;
  let clients: HuaweiClients;
  let runtime: IntakeRuntime & { queue: RecordingQueue };
  let escrow: EscrowStore;
  let dir: string;
  let webhook: Awaited<ReturnType<typeof startWebhookServer>>;
  let windows: string[];
  let linux: string[];

  beforeAll(async () => {
    emulator = await startEmulator({ seed: 11, switches: { smnDropRate: 1 } });
    clients = emulatorClients(emulator);
    dir = await mkdtemp(join(tmpdir(), 'sweep-ledger-'));
    escrow = createFileEscrowStore({ root: dir });
    const config = testConfig({
      SMN_CERT_HOST_ALLOWLIST: emulator.url,
      SMN_SUBSCRIBE_HOST_ALLOWLIST: emulator.url,
      SMN_TOPIC_URN_ALLOWLIST: emulator.smnTopicUrn,
    });
    runtime = testRuntime({
      config,
      clock: emulator.clock,
      bmsFor: bmsForRegion(emulator.region, clients.bms),
    });
    webhook = await startWebhookServer(() => runtime);
    await emulator.admin.subscribe(`${webhook.url}/smn`);

    const created = emulator.admin.createServers({ windows: 4, linux: 2, bootDelaySeconds: 0 });
    await emulator.admin.idle();
    windows = created.windowsIds;
    linux = created.linuxIds;
    const ref = (serverId: string) => ({ projectId: emulator.projectId, region: emulator.region, serverId });
    const record = (serverId: string, ciphertext: string) =>
      buildEscrowRecord({ ref: ref(serverId), ciphertext, retrievedAt: new Date(emulator.clock.now()) });
    // windows[0]: escrowed and cleared after its launch → the ledger proves it done.
    const v0 = await escrow.put(record(windows[0]!, 'QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB'));
    await escrow.markCleared(ref(windows[0]!), v0.versionId);
    // windows[1]: escrowed but never cleared → still holds a record.
    await escrow.put(record(windows[1]!, 'QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJC'));
    // windows[3]: deleted.
    emulator.admin.deleteServer(windows[3]!);
  });

  afterAll(async () => {
    await webhook?.close();
    await clients?.close();
    await emulator?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const target = () => ({ region: emulator.region, projectId: emulator.projectId });

  it('the dropped notifications reached nobody', () => {
    expect(runtime.queue.items).toEqual([]);
    const deliveries = emulator.admin.calls().smnDeliveries.filter((d) => d.type === 'Notification');
    expect(deliveries.length).toBeGreaterThan(0);
    expect(deliveries.every((d) => d.outcome === 'dropped')).toBe(true);
  });

  it('a dry run lists the candidates without enqueuing', async () => {
    const report = await runSweep({ ...runtime, escrow }, { targets: [target()], dryRun: true });
    expect(report.dryRun).toBe(true);
    expect(report.targets[0]!.serverIds.sort()).toEqual([windows[1]!, windows[2]!].sort());
    expect(runtime.queue.items).toEqual([]);
  });

  it('enqueues exactly the Windows servers not yet cleared, and reports counts and progress', async () => {
    const progress: SweepProgress[] = [];
    const report = await runSweep(
      { ...runtime, escrow },
      { targets: [target()], onProgress: (p) => progress.push(p), batchSize: 1 },
    );
    expect(runtime.queue.serverIds().sort()).toEqual([windows[1]!, windows[2]!].sort());
    expect(runtime.queue.items.every((i) => i.source === 'sweep' && i.attempt === 0)).toBe(true);
    const listedDeleted = report.totals.skipped.deleted;
    expect(report.totals).toMatchObject({
      listed: 5 + listedDeleted,
      windows: 3,
      enqueued: 2,
      skipped: { 'not-windows': linux.length, 'already-cleared': 1, deleted: listedDeleted, 'invalid-id': 0 },
    });
    expect(progress.at(-1)).toMatchObject({ done: true, enqueued: 2, windows: 3 });
    expect(progress.length).toBeGreaterThanOrEqual(3);
    // Listing and the ledger cost no password call.
    const passwordCalls = emulator.admin.calls().passwordEvents;
    expect(passwordCalls).toEqual([]);
  });
});
