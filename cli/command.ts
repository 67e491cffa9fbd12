import { type ParseArgsConfig, parseArgs } from 'node:util';
import { EXIT } from './exit-codes.ts';
import { terminalSafe } from './output.ts';
import { didYouMean } from './suggest.ts';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface CommandIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Readonly<Record<string, string | undefined>>;
  /** Fires on SIGINT/SIGTERM. */
  signal: AbortSignal;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Lines describing each option, printed under --help. */
  help: string;
  options: OptionSpec;
  /** The command parses its own argv (everything after its name arrives as positionals). */
  rawArgs?: boolean;
  run(
    values: Record<string, string | boolean | undefined>,
    io: CommandIo,
    positionals: string[],
  ): Promise<number>;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** parseArgs' errors say how to quote a positional; say instead what the operator meant. */
function usageFromParseError(command: Command, cause: unknown): UsageError {
  const error = cause as Error & { code?: string };
  const more = `Run "bms-password-escrow ${command.name} --help" for usage.`;
  const flag = /'(-{1,2}[^'\s]+)/.exec(error.message)?.[1];
  const names = [...Object.keys(command.options), 'help'];
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag !== undefined) {
    const typed = flag.replace(/^-+/, '').split('=')[0] ?? '';
    return new UsageError(`Unknown option ${flag}.${didYouMean(typed, names, '--')}\n${more}`);
  }
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag !== undefined) {
    const name = flag.replace(/^-+/, '');
    const spec = command.options[name];
    return new UsageError(
      spec?.type === 'boolean' ? `--${name} takes no value\n${more}` : `--${name} needs a value\n${more}`,
    );
  }
  return new UsageError(`${error.message}\n${more}`);
}

export function parseCommandArgs(
  command: Command,
  argv: string[],
): { values: Record<string, string | boolean | undefined>; positionals: string[]; help: boolean } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (cause) {
    throw usageFromParseError(command, cause);
  }
  const { help, ...rest } = parsed.values as Record<string, string | boolean | undefined>;
  // No command takes positional arguments: a stray word is a mistake (a flag without its --, a
  // value with a space in it), never something to ignore.
  const [stray] = parsed.positionals;
  if (stray !== undefined && help !== true)
    throw new UsageError(
      `unexpected argument "${terminalSafe(stray)}": ${command.name} takes no arguments, only --options.\nRun "bms-password-escrow ${command.name} --help" for usage.`,
    );
  return { values: rest, positionals: parsed.positionals, help: help === true };
}

export function requireOption(
  values: Record<string, string | boolean | undefined>,
  name: string,
  hint: string,
): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required: ${hint}`);
  return value;
}

/**
 * A numeric flag: undefined when absent; a usage error when empty, not a number, out of range,
 * or (with `integer`) not a whole number.
 */
export function numberOption(
  values: Record<string, string | boolean | undefined>,
  name: string,
  min: number,
  options: { max?: number; integer?: boolean } = {},
): number | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  const n = Number(value);
  const { max = Number.POSITIVE_INFINITY, integer = false } = options;
  if (
    typeof value !== 'string' ||
    value.trim() === '' ||
    value.trim() !== value ||
    !Number.isFinite(n) ||
    n < min ||
    n > max ||
    (integer && !/^\d+$/.test(value))
  ) {
    const kind = integer ? 'an integer' : 'a number';
    const range = max === Number.POSITIVE_INFINITY ? `of at least ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`--${name} expects ${kind} ${range}, got "${terminalSafe(String(value))}"`);
  }
  return n;
}

export function formatHelp(command: Command): string {
  return `Usage: bms-password-escrow ${command.usage}\n\n${command.summary}\n\nOptions:\n${command.help}\n  -h, --help               show this help\n`;
}

export { EXIT };
