/**
 * Structured JSON logs, one object per line, every field passed through redaction.
 * Deliberately small instead of Powertools Logger: the redaction must sit in the only
 * path to the output stream, and the CLI needs logs on stderr so stdout stays for results.
 */
import { redactText, redactValue } from './redact.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type LogFields = Record<string, unknown>;

export interface LogSink {
  write(line: string): unknown;
}

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  service?: string;
  level?: LogLevel;
  sink?: LogSink;
  fields?: LogFields;
  now?: () => number;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = ORDER[options.level ?? 'info'];
  const sink = options.sink ?? process.stdout;
  const now = options.now ?? Date.now;
  const base: LogFields = { service: options.service ?? 'bms-password-escrow', ...options.fields };

  const emit = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (ORDER[level] < threshold) return;
    const record = redactValue({
      level: level.toUpperCase(),
      timestamp: new Date(now()).toISOString(),
      message: redactText(message),
      ...base,
      ...fields,
    });
    sink.write(`${JSON.stringify(record)}\n`);
  };

  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...options, fields: { ...options.fields, ...fields } }),
  };
}

/** For tests and library defaults: drops everything. */
export const silentLogger: Logger = createLogger({ level: 'silent' });
