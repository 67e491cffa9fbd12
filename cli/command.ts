import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EXIT } from './exit-codes.ts';

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

export function parseCommandArgs(
  command: Command,
  argv: string[],
): { values: Record<string, string | boolean | undefined>; positionals: string[]; help: boolean } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    const { help, ...rest } = values as Record<string, string | boolean | undefined>;
    return { values: rest, positionals, help: help === true };
  } catch (cause) {
    throw new UsageError(
      `${(cause as Error).message}\nRun "bms-password-escrow ${command.name} --help" for usage.`,
    );
  }
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
    !Number.isFinite(n) ||
    n < min ||
    n > max ||
    (integer && !/^\d+$/.test(value))
  ) {
    const kind = integer ? 'an integer' : 'a number';
    const range = max === Number.POSITIVE_INFINITY ? `of at least ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`--${name} expects ${kind} ${range}, got "${String(value)}"`);
  }
  return n;
}

export function formatHelp(command: Command): string {
  return `Usage: bms-password-escrow ${command.usage}\n\n${command.summary}\n\nOptions:\n${command.help}\n  -h, --help               show this help\n`;
}

export { EXIT };
