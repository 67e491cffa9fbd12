import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';
import { staticCredentialProvider } from '../../lib/huawei/credentials.ts';
import { createHuaweiClients, type HuaweiClients } from '../../lib/huawei/huawei-clients.ts';
import { parseHuaweiConfig } from '../../lib/huawei/huawei-config.ts';
import { createMetrics } from '../../lib/observability/metrics.ts';

let emu: RunningEmulator;
let clients: HuaweiClients;
const lines: string[] = [];
const metrics = createMetrics({ sink: { write: (l: string) => lines.push(l) } });

beforeAll(async () => {
  emu = await startEmulator({ timeScale: 600, seed: 11 });
  clients = createHuaweiClients(
    parseHuaweiConfig({
      HUAWEICLOUD_SDK_REGION: emu.region,
      HUAWEICLOUD_BMS_ENDPOINT: emu.url,
      HUAWEICLOUD_IAM_ENDPOINT: emu.url,
    }),
    {
      credentials: staticCredentialProvider({ accessKey: emu.accessKey, secretKey: emu.secretKey }),
      clock: emu.clock,
      metrics,
      random: () => 0,
    },
  );
});
afterAll(async () => {
  await clients.close();
  await emu.close();
});

function counts(): Record<string, number> {
  metrics.flush();
  const out: Record<string, number> = {};
  for (const line of lines.splice(0)) {
    const blob = JSON.parse(line) as { api: string; result: string; HuaweiApiCall: number | number[] };
    const n = Array.isArray(blob.HuaweiApiCall) ? blob.HuaweiApiCall.length : 1;
    out[`${blob.api}:${blob.result}`] = (out[`${blob.api}:${blob.result}`] ?? 0) + n;
  }
  return out;
}

describe('Huawei API call metrics', () => {
  it('counts every attempt by API and result, retries and 429s included', async () => {
    const { windowsIds } = emu.admin.createServers({
      windows: 1,
      linux: 0,
      bootDelaySeconds: 0,
      postDelaySeconds: 3600,
    });
    const serverId = windowsIds[0]!;
    await clients.bms.getPassword(emu.projectId, serverId);
    expect(counts()).toEqual({ 'password.get:2xx': 1 });

    emu.admin.setFaults({ throttleRate: 1, apis: ['server.get'] });
    await expect(clients.bms.showServer(emu.projectId, serverId)).rejects.toMatchObject({
      kind: 'throttled',
    });
    emu.admin.setFaults({ throttleRate: 0 });
    const throttled = counts();
    expect(throttled['server.get:429']).toBeGreaterThanOrEqual(2);

    await expect(
      clients.bms.showServer(emu.projectId, '5f8c6d3a-1b2c-4d5e-8f90-a1b2c3d4e5f6'),
    ).rejects.toMatchObject({
      kind: 'not-found',
    });
    expect(counts()).toEqual({ 'server.get:4xx': 1 });
  });

  it('counts a 401 as such, once (never retried), and rolls results up for the alarms', async () => {
    const bad = createHuaweiClients(
      parseHuaweiConfig({
        HUAWEICLOUD_SDK_REGION: emu.region,
        HUAWEICLOUD_BMS_ENDPOINT: emu.url,
        HUAWEICLOUD_IAM_ENDPOINT: emu.url,
      }),
      {
        credentials: staticCredentialProvider({ accessKey: emu.accessKey, secretKey: `${emu.secretKey}x` }),
        clock: emu.clock,
        metrics,
        random: () => 0,
      },
    );
    try {
      await expect(
        bad.bms.getPassword(emu.projectId, '5f8c6d3a-1b2c-4d5e-8f90-a1b2c3d4e5f6'),
      ).rejects.toMatchObject({ kind: 'auth' });
    } finally {
      await bad.close();
    }
    metrics.flush();
    const emf = lines.map((l) => JSON.parse(l)).find((b) => b.result === '401');
    lines.length = 0;
    expect(emf).toMatchObject({ api: 'password.get', result: '401', HuaweiApiCall: 1 });
    expect(emf._aws.CloudWatchMetrics[0].Dimensions).toEqual([
      ['service', 'api', 'result'],
      ['service', 'result'],
    ]);
  });
});
