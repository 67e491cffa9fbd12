/**
 * bms-password-escrow: the operator's command line. Each subcommand lives in
 * cli/commands/<name>.ts and is loaded only when used, so `emulator` never pays for the
 * AWS SDK and `process` never pays for the emulator.
 */
import { ConfigError } from '../lib/config/env-parsers.ts';
import { redactText } from '../lib/observability/redact.ts';
import { type Command, type CommandIo, formatHelp, parseCommandArgs, UsageError } from './command.ts';
import { EXIT, EXIT_CODES_HELP } from './exit-codes.ts';
import { terminalSafe } from './output.ts';
import { didYouMean } from './suggest.ts';

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  process: {
    summary: 'escrow and clear one server now (the same state machine as the worker)',
    load: async () => (await import('./commands/process.ts')).processCommand,
  },
  sweep: {
    summary: 'find every Windows server that may still hold a password record and queue or process it',
    load: async () => (await import('./commands/sweep.ts')).sweepCommand,
  },
  status: {
    summary: 'show each server: password record present or cleared, escrow state and version',
    load: async () => (await import('./commands/status.ts')).statusCommand,
  },
  decrypt: {
    summary: 'decrypt an escrowed ciphertext with the key pair private key (needs --reveal)',
    load: async () => (await import('./commands/decrypt.ts')).decryptCommand,
  },
  serve: {
    summary: 'run the local stack: webhook, durable queue, worker and sweep',
    load: async () => (await import('./commands/serve.ts')).serveCommand,
  },
  demo: {
    summary: 'run the whole flow against the bundled emulator (what npm start does)',
    load: async () => (await import('./commands/demo.ts')).demoCommand,
  },
  doctor: {
    summary:
      'check the Huawei and AWS setup (credentials, clock, IAM actions, SMN, CTS, queues); --fix creates what is missing',
    load: async () => (await import('./commands/doctor.ts')).doctorCommand,
  },
  emulator: {
    summary: 'start the bundled Huawei Cloud emulator (BMS, IAM, CTS to SMN push)',
    load: async () => (await import('./commands/emulator.ts')).emulatorCommand,
  },
};

function topLevelHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: bms-password-escrow <command> [options]

Escrow the initial Windows password of Huawei Cloud bare metal servers, then clear it.

Commands:
${lines.join('\n')}

Run "bms-password-escrow <command> --help" for a command's options.
Credentials come from HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK and optionally
HUAWEICLOUD_SDK_SECURITY_TOKEN; see the README's configuration table.

${EXIT_CODES_HELP}
`;
}

export async function main(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(topLevelHelp());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    const shown = terminalSafe(name);
    io.stderr.write(
      `Unknown command "${shown}".${didYouMean(name, Object.keys(COMMANDS))} Run "bms-password-escrow --help" for the list.\n`,
    );
    return EXIT.usage;
  }
  const command = await entry.load();
  try {
    if (command.rawArgs) return await command.run({}, io, rest);
    const { values, positionals, help } = parseCommandArgs(command, rest);
    if (help) {
      io.stdout.write(formatHelp(command));
      io.stdout.write(`\n${EXIT_CODES_HELP}\n`);
      return EXIT.ok;
    }
    return await command.run(values, io, positionals);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      io.stderr.write(`error: ${terminalSafe(redactText(error.message))}\n`);
      return EXIT.usage;
    }
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    io.stderr.write(`error: ${terminalSafe(redactText(message))}\n`);
    return EXIT.error;
  }
}

function processSignal(): AbortSignal {
  const controller = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => controller.abort(new Error(`received ${sig}`)));
  }
  return controller.signal;
}

/**
 * node:sqlite (the local stack's state) announces itself as experimental on stderr on some
 * Node 24 releases; the CLI's output is its own, so that one warning is dropped, no other.
 */
function dropSqliteExperimentalWarning(): void {
  const printers = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name === 'ExperimentalWarning' && /SQLite/i.test(warning.message)) return;
    for (const print of printers) print(warning);
  });
}

/** Runs the CLI in this process with its real streams, environment and signals. */
export async function runCli(argv: string[] = process.argv.slice(2)): Promise<void> {
  dropSqliteExperimentalWarning();
  // `bms-password-escrow status | head` closes the pipe early; that is not an error.
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  process.exitCode = await main(argv, {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: processSignal(),
  });
}
