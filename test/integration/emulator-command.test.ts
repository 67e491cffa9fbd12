import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { systemClock } from '../../lib/clock.ts';
import { checkEmulatorClock, clientClock } from '../../lib/local/emulator-env.ts';
import { parseLocalConfig } from '../../lib/local/local-config.ts';
import { jsonBody, signedFetch } from '../helpers/signed-fetch.ts';

function capture() {
  let text = '';
  return {
    stream: { write: (chunk: string) => (text += chunk) } as unknown as NodeJS.WritableStream,
    get text() {
      return text;
    },
  };
}

/** Runs `emulator …` through the CLI until it has printed its first stdout line. */
async function startCommand(args: string[]) {
  const stdout = capture();
  const stderr = capture();
  const stop = new AbortController();
  const exit = main(['emulator', ...args], {
    stdout: stdout.stream,
    stderr: stderr.stream,
    env: {},
    signal: stop.signal,
  });
  // No cap of its own: start-up generates an RSA key, whose time varies; the test timeout rules.
  let exited = false;
  void exit.finally(() => {
    exited = true;
  });
  while (!exited && !stdout.text.includes('\n')) await new Promise((r) => setTimeout(r, 10));
  return { stdout, stderr, stop, exit };
}

async function runToEnd(args: string[]) {
  const out = capture();
  const code = await main(['emulator', ...args], {
    stdout: out.stream,
    stderr: out.stream,
    env: {},
    signal: new AbortController().signal,
  });
  return { code, text: out.text };
}

describe('emulator command', () => {
  it('prints one JSON line that a signed client can use, and stops cleanly on request', async () => {
    const { stdout, stderr, stop, exit } = await startCommand([
      '--json',
      '--seed',
      '5',
      '--demo-fleet',
      '--time-scale',
      '60',
    ]);
    const lines = stdout.text.trim().split('\n');
    expect(lines).toHaveLength(1);
    const info = JSON.parse(lines[0]!) as Record<string, string>;
    expect(Object.keys(info).sort()).toEqual(['accessKey', 'endpoint', 'projectId', 'region', 'secretKey']);
    expect(info['region']).toBe('cn-north-4');

    const res = await signedFetch(
      `${info['endpoint']}/v1/${info['projectId']}/baremetalservers/detail?limit=100`,
      {
        accessKey: info['accessKey']!,
        secretKey: info['secretKey']!,
      },
    );
    const body = await jsonBody<{ count: number; servers: Array<{ metadata: { os_type: string } }> }>(res);
    expect(body.count).toBe(12);
    expect(body.servers.filter((s) => s.metadata.os_type === 'Windows')).toHaveLength(8);

    stop.abort();
    expect(await exit).toBe(0);
    await expect(fetch(info['endpoint']!)).rejects.toThrow();
    expect(stderr.text).not.toContain(info['secretKey']);
  });

  it('--env prints the export lines a client needs, and a client built from them runs on the emulator clock', async () => {
    const { stdout, stop, exit } = await startCommand(['--env', '--time-scale', '60']);
    // Wait for the whole block, not only its first line.
    while (!stdout.text.includes('LOCAL_TIME_EPOCH_MS')) await new Promise((r) => setTimeout(r, 10));
    const env: Record<string, string> = {};
    for (const line of stdout.text.trim().split('\n')) {
      const m = /^export ([A-Z_]+)='([^']*)'$/.exec(line);
      expect(m, line).not.toBeNull();
      env[m![1]!] = m![2]!;
    }
    expect(Object.keys(env).sort()).toEqual([
      'HUAWEICLOUD_BMS_ENDPOINT',
      'HUAWEICLOUD_CTS_ENDPOINT',
      'HUAWEICLOUD_IAM_ENDPOINT',
      'HUAWEICLOUD_SDK_AK',
      'HUAWEICLOUD_SDK_PROJECT_ID',
      'HUAWEICLOUD_SDK_REGION',
      'HUAWEICLOUD_SDK_SK',
      'HUAWEICLOUD_SMN_ENDPOINT',
      'LOCAL_TIME_EPOCH_MS',
      'LOCAL_TIME_SCALE',
      'SMN_TOPIC_URN_ALLOWLIST',
    ]);
    expect(env['LOCAL_TIME_SCALE']).toBe('60');
    // A webhook pointed at the emulator trusts exactly its topic (fail closed otherwise).
    expect(env['SMN_TOPIC_URN_ALLOWLIST']).toBe(
      `urn:smn:${env['HUAWEICLOUD_SDK_REGION']}:${env['HUAWEICLOUD_SDK_PROJECT_ID']}:bms-password-escrow-events`,
    );

    const endpoint = env['HUAWEICLOUD_BMS_ENDPOINT']!;
    const clock = clientClock(env, parseLocalConfig(env));
    expect(clock.scale).toBe(60);
    await expect(checkEmulatorClock(endpoint, clock)).resolves.toBeUndefined();
    // The wall clock is minutes behind a 60x emulator: a client on it is refused, by name.
    await new Promise((r) => setTimeout(r, 1500));
    await expect(checkEmulatorClock(endpoint, systemClock)).rejects.toThrow(
      /LOCAL_TIME_SCALE.*emulator --env/,
    );
    // A scale without its epoch is refused before any call.
    expect(() =>
      clientClock({ ...env, LOCAL_TIME_EPOCH_MS: '' }, parseLocalConfig({ ...env, LOCAL_TIME_EPOCH_MS: '' })),
    ).toThrow(/LOCAL_TIME_EPOCH_MS is not set/);

    stop.abort();
    expect(await exit).toBe(0);
  });

  it('shows help and rejects bad flags with a usage error', async () => {
    const help = await runToEnd(['--help']);
    expect(help.code).toBe(0);
    expect(help.text).toContain('--demo-fleet');
    expect(help.text).toContain('--env');
    const port = await runToEnd(['--port', 'abc']);
    expect(port.code).toBe(2);
    expect(port.text).toContain('--port expects an integer');
    expect((await runToEnd(['--time-scale', '0.5'])).code).toBe(2);
    expect((await runToEnd(['--bogus'])).code).toBe(2);
    expect((await runToEnd(['--json', '--env'])).code).toBe(2);
  });
});
