/**
 * Clock skew and the auth circuit breaker (issue 9, failure 3) against the emulator's gateway
 * with its clock offset: the hook's machine clock is off by that much.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientEnv, type RunningEmulator, startEmulator } from '../../emulator/index.ts';
import { AuthGuard, cloudClock } from '../../lib/huawei/auth-guard.ts';
import { staticCredentialProvider } from '../../lib/huawei/credentials.ts';
import { createHuaweiClients, type HuaweiClients } from '../../lib/huawei/huawei-clients.ts';
import { parseHuaweiConfig } from '../../lib/huawei/huawei-config.ts';
import { systemClock } from '../../lib/clock.ts';

let emu: RunningEmulator;
const opened: HuaweiClients[] = [];

beforeAll(async () => {
  emu = await startEmulator({ timeScale: 1 });
});
afterAll(async () => {
  await Promise.all(opened.map((c) => c.close()));
  await emu?.close();
});

function clients(guard: AuthGuard): HuaweiClients {
  const c = createHuaweiClients(parseHuaweiConfig({ ...clientEnv(emu) }), {
    credentials: staticCredentialProvider({ accessKey: emu.accessKey, secretKey: emu.secretKey }),
    clock: emu.clock,
    authGuard: guard,
  });
  opened.push(c);
  return c;
}

const unauthorized = () => emu.admin.calls().apis['server.get']?.['401'] ?? 0;

describe('clock skew', () => {
  it('17 minutes off: one 401, then every call stops before the wire, with the skew named; no lockout', async () => {
    emu.admin.reset();
    emu.admin.setSwitches({ gatewayClockOffsetSeconds: 17 * 60 });
    const guard = new AuthGuard();
    const c = clients(guard);
    const [id] = emu.admin.createServers({ windows: 1, linux: 0 }).serverIds;
    // Ten sweeps' worth of calls: without the breaker, the fifth locks the AK/SK.
    for (let i = 0; i < 10; i++)
      await expect(c.bms.showServer(emu.projectId, id!)).rejects.toMatchObject({ kind: 'auth' });
    expect(unauthorized()).toBe(1);
    const health = guard.health();
    expect(health).toMatchObject({ auth: 'failing', degraded: true });
    expect(health.detail).toMatch(/17m \ds behind/);
    expect(Math.abs(health.skewMs! - 17 * 60_000)).toBeLessThan(3000);
  });

  it('8 minutes off: signs with the corrected time and reads cloud times on the cloud clock', async () => {
    emu.admin.reset();
    emu.admin.setSwitches({ gatewayClockOffsetSeconds: 8 * 60, clockSkewSeconds: 60 });
    const guard = new AuthGuard();
    const c = clients(guard);
    const [id] = emu.admin.createServers({ windows: 1, linux: 0 }).serverIds;
    // The gateway here accepts only 1 minute of skew: the first call measures, the rest pass.
    await c.bms.showServer(emu.projectId, id!).catch(() => undefined);
    expect((await c.bms.showServer(emu.projectId, id!)).id).toBe(id);
    expect(Math.abs(guard.skewMs - 8 * 60_000)).toBeLessThan(3000);
    expect(Math.abs(cloudClock(systemClock, guard).now() - Date.now() - 8 * 60_000)).toBeLessThan(3000);
    expect(guard.health().degraded).toBe(false);
  });

  it('12 minutes off (the gateway still accepts): refuses past the 10-minute bound and says so', async () => {
    emu.admin.reset();
    emu.admin.setSwitches({ gatewayClockOffsetSeconds: 12 * 60 });
    const guard = new AuthGuard();
    const c = clients(guard);
    const [id] = emu.admin.createServers({ windows: 1, linux: 0 }).serverIds;
    expect((await c.bms.showServer(emu.projectId, id!)).id).toBe(id);
    const refused = await c.bms.showServer(emu.projectId, id!).catch((e: unknown) => e as Error);
    expect(refused).toMatchObject({ kind: 'auth', code: 'AuthCircuitOpen' });
    expect((refused as Error).message).toMatch(/12m \ds behind the API gateway's \(limit 10m 0s\)/);
    expect(guard.health()).toMatchObject({ degraded: true });
  });
});

describe('auth circuit breaker', () => {
  it('probes once after the cool-down and closes on success', async () => {
    emu.admin.reset();
    let now = Date.now();
    const guard = new AuthGuard({ cooldownMs: 60_000, now: () => now });
    const c = clients(guard);
    const [id] = emu.admin.createServers({ windows: 1, linux: 0 }).serverIds;
    emu.admin.setSwitches({ gatewayClockOffsetSeconds: 20 * 60 });
    await expect(c.bms.showServer(emu.projectId, id!)).rejects.toMatchObject({ status: 401 });
    await expect(c.bms.showServer(emu.projectId, id!)).rejects.toMatchObject({ code: 'AuthCircuitOpen' });
    emu.admin.setSwitches({ gatewayClockOffsetSeconds: 0 });
    now += 61_000;
    expect(guard.health().auth).toBe('probing');
    // The probe is signed with the skew measured from the 401 (20 min): that is now wrong, and
    // the gateway says so once more; the breaker waits twice as long before the next probe.
    await expect(c.bms.showServer(emu.projectId, id!)).rejects.toMatchObject({ status: 401 });
    now += 121_000;
    expect((await c.bms.showServer(emu.projectId, id!)).id).toBe(id);
    expect(guard.health()).toMatchObject({ auth: 'ok', degraded: false });
  });
});
