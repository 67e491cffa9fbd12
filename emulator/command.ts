/**
 * `bms-password-escrow emulator`: runs the emulator in the foreground until SIGINT or
 * SIGTERM. With --json it prints one line with the endpoint and the emulator's own
 * throwaway credential, which is the whole point of that flag.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../lib/observability/logger.ts';
import { startEmulator } from './index.ts';

const USAGE = `Usage: bms-password-escrow emulator [options]

Start the bundled Huawei Cloud emulator on loopback (BMS v1, IAM projects, CTS traces pushed to SMN).

  --port N          port to listen on (default: a free port)
  --host H          address to bind (default 127.0.0.1)
  --region R        region the emulator pretends to be (default cn-north-4)
  --time-scale X    run X times faster than real time (e.g. 60: a minute per second)
  --seed N          seed for ids, boot/post delays and faults
  --demo-fleet      create 8 Windows and 4 Linux servers at start
  --json            print one JSON line: endpoint, projectId, region, accessKey, secretKey
  --help            show this help

Admin surface (JSON, loopback only): <endpoint>/__emulator/...`;

export interface EmulatorCommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** Stops the emulator like a signal would (for tests and embedding). */
  signal?: AbortSignal;
}

class UsageError extends Error {
  override name = 'UsageError';
}

function integer(value: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`${flag} expects an integer from ${min} to ${max}, got "${value}"`);
  }
  return Number(value);
}

function parse(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      region: { type: 'string' },
      'time-scale': { type: 'string' },
      seed: { type: 'string' },
      'demo-fleet': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const timeScaleText = values['time-scale'];
  const timeScale = timeScaleText === undefined ? undefined : Number(timeScaleText);
  if (timeScale !== undefined && !(Number.isFinite(timeScale) && timeScale >= 1)) {
    throw new UsageError(`--time-scale expects a number >= 1, got "${timeScaleText}"`);
  }
  if (values.region !== undefined && !/^[a-z]{2,}(-[a-z0-9]+)+$/.test(values.region)) {
    throw new UsageError(`--region expects a region id such as cn-north-4, got "${values.region}"`);
  }
  return {
    help: values.help ?? false,
    json: values.json ?? false,
    demoFleet: values['demo-fleet'] ?? false,
    port: integer(values.port, '--port', 0, 65535),
    seed: integer(values.seed, '--seed', 0, 2 ** 32 - 1),
    host: values.host,
    region: values.region,
    timeScale,
  };
}

function waitForStop(signal?: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const finish = (reason: string): void => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      signal?.removeEventListener('abort', onAbort);
      resolve(reason);
    };
    const onInt = (): void => finish('SIGINT');
    const onTerm = (): void => finish('SIGTERM');
    const onAbort = (): void => finish('abort');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    if (signal?.aborted) finish('abort');
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function runEmulatorCommand(
  argv: string[],
  io: EmulatorCommandIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  let options: ReturnType<typeof parse>;
  try {
    options = parse(argv);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`emulator: ${message}\n\n${USAGE}\n`);
    return 2;
  }
  if (options.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const logger = createLogger({ level: options.json ? 'warn' : 'info', sink: io.stderr });
  let emulator: Awaited<ReturnType<typeof startEmulator>>;
  try {
    emulator = await startEmulator({
      logger,
      ...(options.port !== undefined && { port: options.port }),
      ...(options.host !== undefined && { host: options.host }),
      ...(options.region !== undefined && { region: options.region }),
      ...(options.timeScale !== undefined && { timeScale: options.timeScale }),
      ...(options.seed !== undefined && { seed: options.seed }),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    io.stderr.write(
      `emulator: could not start: ${code ?? (error instanceof Error ? error.message : error)}\n`,
    );
    return 1;
  }
  const fleet = options.demoFleet
    ? emulator.admin.createServers({ windows: 8, linux: 4, namePrefix: 'demo' })
    : undefined;
  const details = {
    endpoint: emulator.url,
    projectId: emulator.projectId,
    region: emulator.region,
    accessKey: emulator.accessKey,
    secretKey: emulator.secretKey,
  };
  if (options.json) {
    io.stdout.write(`${JSON.stringify(details)}\n`);
  } else {
    io.stdout.write(
      [
        `Huawei Cloud emulator listening on ${details.endpoint} (region ${details.region}, time x${emulator.clock.scale})`,
        `  project id   ${details.projectId}`,
        `  access key   ${details.accessKey}`,
        `  secret key   ${details.secretKey}   (throwaway emulator credential)`,
        ...(fleet
          ? [
              `  demo fleet   ${fleet.windowsIds.length} Windows + ${fleet.linuxIds.length} Linux, job ${fleet.jobId}`,
            ]
          : []),
        `  admin        ${details.endpoint}/__emulator/...`,
        'Press Ctrl+C to stop.',
        '',
      ].join('\n'),
    );
  }
  const reason = await waitForStop(io.signal);
  await emulator.close();
  logger.info('emulator stopped', { reason });
  return 0;
}
