/**
 * Structured JSON logs, one object per line, every field passed through redaction.
 * Deliberately small instead of Powertools Logger: the redaction must sit in the only
 * path to the output stream, and the CLI needs logs on stderr so stdout stays for results.
 */
import { type Env, readEnum } from '../config/env-parsers.ts';
import { redactText, redactValue } from './redact.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];
export const ENV_LOG_LEVEL = 'LOG_LEVEL';
/** Set by Lambda's advanced logging controls (TRACE, DEBUG, INFO, WARN, ERROR, FATAL). */
export const ENV_AWS_LAMBDA_LOG_LEVEL = 'AWS_LAMBDA_LOG_LEVEL';
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

/** Fields of the Lambda invocation in progress (request id, cold start); none outside Lambda. */
let invocationFields: LogFields | undefined;

/** Set by the handler middleware when an invocation starts, cleared when it ends. */
export function setInvocationFields(fields: LogFields | undefined): void {
  invocationFields = fields;
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
      ...invocationFields,
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

/**
 * The one reader of the log level: LOG_LEVEL, else the level Lambda's logging controls set
 * (AWS_LAMBDA_LOG_LEVEL; TRACE counts as debug, FATAL as error), else `fallback`.
 */
export function readLogLevel(env: Env, fallback: LogLevel): LogLevel {
  const lambda = env[ENV_AWS_LAMBDA_LOG_LEVEL]?.trim().toLowerCase();
  const lambdaLevel = lambda === 'trace' ? 'debug' : lambda === 'fatal' ? 'error' : lambda;
  const base = LOG_LEVELS.find((l) => l === lambdaLevel) ?? fallback;
  return readEnum<LogLevel>(env, ENV_LOG_LEVEL, LOG_LEVELS, base);
}
