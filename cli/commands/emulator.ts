/**
 * `bms-password-escrow emulator`: runs the bundled emulator in the foreground until SIGINT or
 * SIGTERM. --json prints one line with the endpoint and the emulator's own throwaway
 * credential; --env prints the export lines a client needs (including the compressed clock's
 * scale and epoch, so a client started from them runs on the emulator's time).
 */
import { clientEnv } from '../../lib/local/emulator-env.ts';
import { createLogger } from '../../lib/observability/logger.ts';
import { type Command, EXIT, numberOption, UsageError } from '../command.ts';

function waitForStop(signal: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve('abort');
    else signal.addEventListener('abort', () => resolve('signal'), { once: true });
  });
}

/** POSIX-shell quoting, so the printed lines can be eval'd as they are. */
const shellQuote = (value: string): string => `'${value.replaceAll("'", "'\\''")}'`;

export const emulatorCommand: Command = {
  name: 'emulator',
  summary:
    'Start the bundled Huawei Cloud emulator on loopback (BMS v1, IAM projects, CTS traces pushed to SMN subscribers).',
  usage:
    'emulator [--port N] [--host H] [--region R] [--time-scale X] [--seed N] [--demo-fleet] [--json | --env]',
  help: `  --port N                 port to listen on (default: a free port)
  --host H                 address to bind (default 127.0.0.1)
  --region R               region the emulator pretends to be (default cn-north-4)
  --time-scale X           run X times faster than real time (e.g. 60: a minute per second)
  --seed N                 seed for ids, boot/post delays and faults
  --demo-fleet             create 8 Windows and 4 Linux servers at start
  --json                   print one JSON line: endpoint, projectId, region, accessKey, secretKey
  --env                    print "export NAME=value" lines for a client (with --time-scale also
                           LOCAL_TIME_SCALE and LOCAL_TIME_EPOCH_MS): emulator --env > emulator.env,
                           then ". ./emulator.env" in the client's shell
Admin surface (JSON, loopback only): <endpoint>/__emulator/...`,
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    region: { type: 'string' },
    'time-scale': { type: 'string' },
    seed: { type: 'string' },
    'demo-fleet': { type: 'boolean' },
    json: { type: 'boolean' },
    env: { type: 'boolean' },
  },
  async run(values, io) {
    const port = numberOption(values, 'port', 0, { max: 65_535, integer: true });
    const seed = numberOption(values, 'seed', 0, { max: 2 ** 32 - 1, integer: true });
    const timeScale = numberOption(values, 'time-scale', 1);
    const region = values['region'];
    if (typeof region === 'string' && !/^[a-z]{2,}(-[a-z0-9]+)+$/.test(region))
      throw new UsageError(`--region expects a region id such as cn-north-4, got "${region}"`);
    if (values['json'] === true && values['env'] === true)
      throw new UsageError('--json and --env both choose what is printed; pick one');
    const quiet = values['json'] === true || values['env'] === true;

    // Loaded here: the other commands never pay for the emulator.
    const { startEmulator } = await import('../../emulator/index.ts');
    const logger = createLogger({ level: quiet ? 'warn' : 'info', sink: io.stderr });
    let emulator: Awaited<ReturnType<typeof startEmulator>>;
    try {
      emulator = await startEmulator({
        logger,
        ...(port !== undefined && { port }),
        ...(typeof values['host'] === 'string' && { host: values['host'] }),
        ...(typeof region === 'string' && { region }),
        ...(timeScale !== undefined && { timeScale }),
        ...(seed !== undefined && { seed }),
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      io.stderr.write(
        `emulator: could not start: ${code ?? (error instanceof Error ? error.message : error)}\n`,
      );
      return EXIT.error;
    }
    const fleet =
      values['demo-fleet'] === true
        ? emulator.admin.createServers({ windows: 8, linux: 4, namePrefix: 'demo' })
        : undefined;
    const details = {
      endpoint: emulator.url,
      projectId: emulator.projectId,
      region: emulator.region,
      accessKey: emulator.accessKey,
      secretKey: emulator.secretKey,
    };
    if (values['json'] === true) {
      io.stdout.write(`${JSON.stringify(details)}\n`);
    } else if (values['env'] === true) {
      const lines = Object.entries(clientEnv(emulator)).map(([k, v]) => `export ${k}=${shellQuote(v)}`);
      io.stdout.write(`${lines.join('\n')}\n`);
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
          `  client env   bms-password-escrow emulator --env prints the export lines a client needs`,
          'Press Ctrl+C to stop.',
          '',
        ].join('\n'),
      );
    }
    const reason = await waitForStop(io.signal);
    await emulator.close();
    logger.info('emulator stopped', { reason });
    return EXIT.ok;
  },
};
