/**
 * The loopback world a function runs against in a child process: the Huawei emulator and
 * fauxqs (SQS) started here, and the environment a deployed function would carry, pointed at
 * them. Also bundles the official-SDK stand-in (bench/probes/sdk-bms-password.ts) the way
 * client-bundle.ts bundles the SDK. Loopback only.
 */
import { join } from 'node:path';
import { startFauxqs } from 'fauxqs';
import { startEmulator } from '../emulator/index.ts';
import type { EmulatorSwitches, RunningEmulator } from '../emulator/types.ts';
import { clientEnv } from '../lib/local/emulator-env.ts';
import { type BuiltBundle, bundleSource, repoRoot } from './bundle.ts';

export interface FunctionWires {
  emulator: RunningEmulator;
  /** Environment of a function using these wires; the escrow file store lives in `escrowDir`. */
  env(escrowDir: string): Record<string, string>;
  close(): Promise<void>;
}

export async function startFunctionWires(
  options: { timeScale?: number; switches?: Partial<EmulatorSwitches> } = {},
): Promise<FunctionWires> {
  const emulator = await startEmulator({ host: '127.0.0.1', port: 0, seed: 1, ...options });
  let fauxqs: Awaited<ReturnType<typeof startFauxqs>>;
  try {
    fauxqs = await startFauxqs({ port: 0, logger: false });
  } catch (error) {
    await emulator.close();
    throw error;
  }
  // Path-style on fauxqs's own address: the SDK sends to a queue URL's host when it differs from
  // AWS_ENDPOINT_URL_SQS, and fauxqs's sqs.<region>.localhost names do not resolve here.
  const queueUrl = (name: string): string =>
    `${fauxqs.address}${new URL(fauxqs.createQueue(name).queueUrl).pathname}`;
  // Throwaway emulator keys and fauxqs's dummy AWS credentials: nothing here is a real secret.
  const base = {
    ...clientEnv(emulator),
    ESCROW_STORE: 'file',
    WORK_QUEUE_URL: queueUrl('bench-work'),
    WORK_DLQ_URL: queueUrl('bench-work-dlq'),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_ENDPOINT_URL_SQS: fauxqs.address,
    SMN_CERT_HOST_ALLOWLIST: emulator.url,
    SMN_SUBSCRIBE_HOST_ALLOWLIST: emulator.url,
    SWEEP_TARGETS: `${emulator.region}:${emulator.projectId}`,
    LOG_LEVEL: 'info',
  };
  return {
    emulator,
    env: (escrowDir) => ({ ...base, ESCROW_FILE_DIR: escrowDir }),
    close: async () => {
      await fauxqs.stop();
      await emulator.close();
    },
  };
}

/** Sum of every API's call count so far: diff two readings to count one run's Huawei calls. */
export function huaweiCalls(emulator: RunningEmulator): number {
  return Object.values(emulator.admin.calls().apis).reduce((sum, c) => sum + c.total, 0);
}

/** The official SDK stand-in as one esbuild bundle (the SDK core needs the uuid shim to bundle). */
export function bundleSdkStandIn(outfile: string): Promise<BuiltBundle> {
  const entry = join(repoRoot, 'bench', 'probes', 'sdk-bms-password.ts');
  return bundleSource(`export * from ${JSON.stringify(entry)};`, outfile, {
    uuid: join(repoRoot, 'bench', 'shims', 'uuid.ts'),
  });
}
