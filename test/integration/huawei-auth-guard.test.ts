/**
 * Clock skew and the auth circuit breaker (issue 9, failure 3) against the emulator's gateway
 * with its clock offset: the hook's machine clock is off by that much.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';
import { systemClock } from '../../lib/clock.ts';
import { AuthGuard, cloudClock } from '../../lib/huawei/auth-guard.ts';
import { staticCredentialProvider } from '../../lib/huawei/credentials.ts';
import { createHuaweiClients, type HuaweiClients } from '../../lib/huawei/huawei-clients.ts';
import { parseHuaweiConfig } from '../../lib/huawei/huawei-config.ts';
import { clientEnv } from '../../lib/local/emulator-env.ts';

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
  it('17 minutes off: one 401, then signed on the gateway time; health names the skew; no lockout', async () => {
    emu.admin.reset();
    emu.admin.setSwitches({ gatewayClockOffsetSeconds: 17 * 60 });
    const guard = new AuthGuard();
    const c = clients(guard);
    const [id] = emu.admin.createServers({ windows: 1, linux: 0 }).serverIds;
    // Ten sweeps' worth of calls: without the correction and the breaker, the fifth locks the AK/SK.
    // The first is rejected once, then re-signed on the gateway's time and goes through.
    for (let i = 0; i < 10; i++) expect((await c.bms.showServer(emu.projectId, id!)).id).toBe(id);
    expect(unauthorized()).toBe(1);
    const health = guard.health();
    expect(health).toMatchObject({ auth: 'ok', degraded: true });
    expect(health.detail).toMatch(/17m \d+s behind the API gateway's \(bound 10m 0s\)/);
    expect(Math.abs(health.skewMs! - 17 * 60_000)).toBeLessThan(3000);
  });

  it('a 401 the clock does not explain stops every call before the wire', async () => {
    emu.admin.reset();
    const guard = new AuthGuard();
    const bad = createHuaweiClients(parseHuaweiConfig({ ...clientEnv(emu) }), {
      credentials: staticCredentialProvider({
        accessKey: emu.accessKey,
        secretKey: 'WrongSecretKeyWrongSecretKey00',
      }),
      clock: emu.clock,
      authGuard: guard,
    });
    opened.push(bad);
    const [id] = emu.admin.createServers({ windows: 1, linux: 0 }).serverIds;
    await expect(bad.bms.showServer(emu.projectId, id!)).rejects.toMatchObject({ status: 401 });
    for (let i = 0; i < 10; i++)
      await expect(bad.bms.showServer(emu.projectId, id!)).rejects.toMatchObject({ code: 'AuthCircuitOpen' });
    expect(unauthorized()).toBe(1);
    expect(guard.health()).toMatchObject({ auth: 'failing', degraded: true });
  });

  it('8 minutes off: signs with the corrected time and reads cloud times on the cloud clock', async () => {
    emu.admin.reset();
    emu.admin.setSwitches({ gatewayClockOffsetSeconds: 8 * 60, clockSkewSeconds: 60 });
    const guard = new AuthGuard();
    const c = clients(guard);
    const [id] = emu.admin.createServers({ windows: 1, linux: 0 }).serverIds;
    // The gateway here accepts only 1 minute of skew: the first attempt measures, its re-sign passes.
    expect((await c.bms.showServer(emu.projectId, id!)).id).toBe(id);
    expect(Math.abs(guard.skewMs - 8 * 60_000)).toBeLessThan(3000);
    expect(Math.abs(cloudClock(systemClock, guard).now() - Date.now() - 8 * 60_000)).toBeLessThan(3000);
    expect(guard.health().degraded).toBe(false);
  });
});

describe('auth circuit breaker', () => {
  it('probes once after the cool-down, waits twice as long after a failed probe, closes on success', async () => {
    emu.admin.reset();
    let now = Date.now();
    const guard = new AuthGuard({ cooldownMs: 60_000, now: () => now });
    const good = staticCredentialProvider({ accessKey: emu.accessKey, secretKey: emu.secretKey });
    const wrong = staticCredentialProvider({
      accessKey: emu.accessKey,
      secretKey: 'WrongSecretKeyWrongSecretKey00',
    });
    let current = wrong;
    const c = createHuaweiClients(parseHuaweiConfig({ ...clientEnv(emu) }), {
      credentials: { getCredentials: (signal) => current.getCredentials(signal) },
      clock: emu.clock,
      authGuard: guard,
    });
    opened.push(c);
    const [id] = emu.admin.createServers({ windows: 1, linux: 0 }).serverIds;
    await expect(c.bms.showServer(emu.projectId, id!)).rejects.toMatchObject({ status: 401 });
    await expect(c.bms.showServer(emu.projectId, id!)).rejects.toMatchObject({ code: 'AuthCircuitOpen' });
    now += 61_000;
    expect(guard.health().auth).toBe('probing');
    await expect(c.bms.showServer(emu.projectId, id!)).rejects.toMatchObject({ status: 401 });
    now += 61_000;
    await expect(c.bms.showServer(emu.projectId, id!)).rejects.toMatchObject({ code: 'AuthCircuitOpen' });
    current = good;
    now += 61_000;
    expect((await c.bms.showServer(emu.projectId, id!)).id).toBe(id);
    expect(guard.health()).toMatchObject({ auth: 'ok', degraded: false });
    expect(unauthorized()).toBe(2);
  });
});
