import { type Command, EXIT, numberOption } from '../command.ts';
import { DEMO_DEFAULTS, formatDemoSummary, runDemo } from '../demo-runner.ts';

/** Whole servers, and no more than one emulated fleet sensibly holds. */
const SERVER_COUNT = { max: 1000, integer: true };

export const demoCommand: Command = {
  name: 'demo',
  summary:
    'Run the whole hook against the bundled emulator under compressed time: servers are created through the signed BMS API, ' +
    'CTS traces reach the local webhook over SMN, and every Windows password is escrowed, read back and cleared. No credentials, no network.',
  usage: 'demo [--windows N] [--linux N] [--time-scale X] [--seed N] [--state-dir D] [--timeout S] [--json]',
  help: `  --windows N              Windows servers to create (default ${DEMO_DEFAULTS.windows})
  --linux N                Linux servers to create (default ${DEMO_DEFAULTS.linux}); they must be skipped
  --time-scale X           emulated seconds per real second (default ${DEMO_DEFAULTS.timeScale})
  --seed N                 seed for ids and boot/post delays (default ${DEMO_DEFAULTS.seed})
  --state-dir D            where the queue and escrow files go (default: a new directory under the OS temp dir)
  --timeout S              real seconds before giving up (default ${DEMO_DEFAULTS.timeoutSeconds})
  --json                   print a machine-readable summary on stdout (progress goes to stderr)`,
  options: {
    windows: { type: 'string' },
    linux: { type: 'string' },
    'time-scale': { type: 'string' },
    seed: { type: 'string' },
    'state-dir': { type: 'string' },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values, io) {
    const json = values['json'] === true;
    const summary = await runDemo({
      windows: numberOption(values, 'windows', 0, SERVER_COUNT) ?? DEMO_DEFAULTS.windows,
      linux: numberOption(values, 'linux', 0, SERVER_COUNT) ?? DEMO_DEFAULTS.linux,
      timeScale: numberOption(values, 'time-scale', 1, { max: 10_000 }) ?? DEMO_DEFAULTS.timeScale,
      seed: numberOption(values, 'seed', 0, { max: 2 ** 31 - 1, integer: true }) ?? DEMO_DEFAULTS.seed,
      timeoutSeconds: numberOption(values, 'timeout', 1, { max: 86_400 }) ?? DEMO_DEFAULTS.timeoutSeconds,
      stateDir: typeof values['state-dir'] === 'string' ? values['state-dir'] : undefined,
      json,
      stdout: io.stdout,
      stderr: io.stderr,
      signal: io.signal,
    });
    if (json) io.stdout.write(`${JSON.stringify(summary)}\n`);
    else io.stdout.write(formatDemoSummary(summary));
    return summary.ok ? EXIT.ok : EXIT.error;
  },
};
