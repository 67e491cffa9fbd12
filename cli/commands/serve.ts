import { parseLocalConfig } from '../../lib/local/local-config.ts';
import { startLocalStack } from '../../lib/local/local-stack.ts';
import { createLogger } from '../../lib/observability/logger.ts';
import { type Command, EXIT, numberOption, UsageError } from '../command.ts';

export const serveCommand: Command = {
  name: 'serve',
  summary:
    'Run the hook as one local service: the SMN webhook (POST /smn), guests\' "posted" notifications (POST /posted, when enabled), a durable queue and worker under the state dir, ' +
    'the periodic sweep, file escrow and a read-only status page (GET /). With HUAWEICLOUD_SDK_AK/SK set it works on the ' +
    'real cloud; without, it starts the bundled emulator and subscribes to it.',
  usage: 'serve [--port N] [--state-dir D] [--sweep-interval S] [--time-scale X] [--dry-run]',
  help: `  --port N                 port to listen on (default 8787, LOCAL_PORT; 0 = any free port)
  --state-dir D            queue, escrow files and status live here (default ./.local, LOCAL_STATE_DIR)
  --sweep-interval S       seconds between sweeps, 0 = only at start (default 600, LOCAL_SWEEP_INTERVAL_SECONDS)
  --time-scale X           emulator mode only: run X times faster than real time (LOCAL_TIME_SCALE)
  --dry-run                escrow and verify, never clear a password record (DRY_RUN)`,
  options: {
    port: { type: 'string' },
    'state-dir': { type: 'string' },
    'sweep-interval': { type: 'string' },
    'time-scale': { type: 'string' },
    'dry-run': { type: 'boolean' },
  },
  async run(values, io) {
    const config = parseLocalConfig(io.env);
    const port = numberOption(values, 'port', 0);
    if (port !== undefined) {
      if (!Number.isInteger(port) || port > 65_535)
        throw new UsageError('--port expects a port number from 0 to 65535');
      config.port = port;
    }
    if (typeof values['state-dir'] === 'string') {
      // An empty value would silently mean the current directory.
      if (values['state-dir'].trim() === '') throw new UsageError('--state-dir expects a directory, got ""');
      config.stateDir = values['state-dir'];
    }
    config.sweepIntervalSeconds = numberOption(values, 'sweep-interval', 0) ?? config.sweepIntervalSeconds;
    const timeScale = numberOption(values, 'time-scale', 1);
    if (timeScale !== undefined) config.timeScale = timeScale;

    const logger = createLogger({ sink: io.stderr, fields: { component: 'serve' } });
    const { startEmulator } = await import('../../emulator/index.ts');
    const stack = await startLocalStack({
      config,
      env: io.env,
      startEmulator,
      dryRun: values['dry-run'] === true ? true : undefined,
      logger,
      signal: io.signal,
    });
    if (timeScale !== undefined && stack.mode === 'real cloud')
      io.stderr.write('note: --time-scale applies to the bundled emulator only; ignored on the real cloud\n');
    io.stdout.write(
      [
        `Listening on ${stack.url}  (mode: ${stack.mode}${stack.mode === 'emulator' ? `, time x${stack.clock.scale}` : ''}${stack.dryRun ? ', DRY RUN: records are never cleared' : ''})`,
        `  SMN webhook   POST ${stack.webhookUrl}`,
        `  Status page   ${stack.url}/   (JSON: ${stack.url}/status.json, health: ${stack.url}/healthz)`,
        `  Huawei BMS    ${stack.endpoint}  region ${stack.region}  project ${stack.projectId}`,
        `  State dir     ${stack.stateDir}  (escrow files: ${stack.escrowDir})`,
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
    await new Promise<void>((resolve) => {
      if (io.signal.aborted) resolve();
      else io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    io.stdout.write('Stopping: finishing in-flight work…\n');
    await stack.close();
    io.stdout.write('Stopped.\n');
    return EXIT.ok;
  },
};
