import { describe, expect, it } from 'vitest';
import { runEmulatorCommand } from '../../emulator/command.ts';
import { jsonBody, signedFetch } from '../helpers/signed-fetch.ts';

function capture() {
  let text = '';
  return {
    stream: { write: (chunk: string) => (text += chunk) },
    get text() {
      return text;
    },
  };
}

describe('emulator command', () => {
  it('prints one JSON line that a signed client can use, and stops cleanly on request', async () => {
    const stdout = capture();
    const stderr = capture();
    const stop = new AbortController();
    const exit = runEmulatorCommand(['--json', '--seed', '5', '--demo-fleet', '--time-scale', '60'], {
      stdout: stdout.stream,
      stderr: stderr.stream,
      signal: stop.signal,
    });
    // No cap of its own: start-up generates an RSA key, whose time varies; the test timeout rules.
    let exited = false;
    void exit.finally(() => {
      exited = true;
    });
    while (!exited && !stdout.text.includes('\n')) await new Promise((r) => setTimeout(r, 10));
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

  it('shows help and rejects bad flags with a usage error', async () => {
    const out = capture();
    expect(await runEmulatorCommand(['--help'], { stdout: out.stream, stderr: out.stream })).toBe(0);
    expect(out.text).toContain('--demo-fleet');
    const err = capture();
    expect(await runEmulatorCommand(['--port', 'abc'], { stdout: err.stream, stderr: err.stream })).toBe(2);
    expect(err.text).toContain('--port expects an integer');
    expect(
      await runEmulatorCommand(['--time-scale', '0.5'], { stdout: err.stream, stderr: err.stream }),
    ).toBe(2);
    expect(await runEmulatorCommand(['--bogus'], { stdout: err.stream, stderr: err.stream })).toBe(2);
  });
});
