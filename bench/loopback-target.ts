/**
 * The server first-request probes talk to: the Huawei emulator when it can be started
 * (a signed BMS list call, so the request does real auth work on the far side), else a
 * minimal node:http server answering the same shape. Loopback only.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { signRequest } from '../lib/huawei/signer.ts';
import { repoRoot } from './bundle.ts';

export interface LoopbackTarget {
  /** What answered, for the report. */
  label: string;
  url: string;
  /** Sent as-is by every probe; signed once here, valid well beyond the run. */
  headers: Record<string, string>;
  close(): Promise<void>;
}

interface EmulatorHandle {
  url: string;
  projectId: string;
  accessKey: string;
  secretKey: string;
  close(): Promise<void>;
}

async function startEmulatorTarget(): Promise<LoopbackTarget> {
  const module = pathToFileURL(join(repoRoot, 'emulator', 'index.ts')).href;
  const { startEmulator } = (await import(module)) as {
    startEmulator(options: { host: string; port: number }): Promise<EmulatorHandle>;
  };
  const emulator = await startEmulator({ host: '127.0.0.1', port: 0 });
  const url = new URL(`/v1/${emulator.projectId}/baremetalservers/detail?limit=1`, emulator.url);
  const { headers } = signRequest(
    { method: 'GET', url, projectId: emulator.projectId },
    { accessKey: emulator.accessKey, secretKey: emulator.secretKey },
  );
  return {
    label: 'emulator (signed GET baremetalservers/detail)',
    url: url.href,
    headers,
    close: () => emulator.close(),
  };
}

async function startPlainTarget(why: string): Promise<LoopbackTarget> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"servers":[],"count":0}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    label: `plain node:http server in the parent (${why})`,
    url: `http://127.0.0.1:${port}/v1/bench/baremetalservers/detail?limit=1`,
    headers: {},
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function startLoopbackTarget(): Promise<LoopbackTarget> {
  if (!existsSync(join(repoRoot, 'emulator', 'index.ts')))
    return startPlainTarget('no emulator/index.ts yet');
  try {
    return await startEmulatorTarget();
  } catch (error) {
    // An emulator still being written must not stop the benchmark; the label says which ran.
    return startPlainTarget(`emulator not usable: ${String((error as Error).message).split('\n')[0]}`);
  }
}
