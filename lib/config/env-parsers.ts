/**
 * Typed readers for environment variables. Each failure names the variable and says
 * what was expected, so a misconfigured deployment fails at start-up with a fix in hand.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly variable: string;
  constructor(variable: string, message: string, options?: ErrorOptions) {
    super(`${variable} ${message}`, options);
    this.variable = variable;
  }
}

function raw(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

export function readString(env: Env, name: string, fallback: string): string;
export function readString(env: Env, name: string): string | undefined;
export function readString(env: Env, name: string, fallback?: string): string | undefined {
  return raw(env, name) ?? fallback;
}

export function requireString(env: Env, name: string, hint: string): string {
  const value = raw(env, name);
  if (value === undefined) throw new ConfigError(name, `is not set; ${hint}`);
  return value;
}

type Range = { min?: number; max?: number };

function inRange(name: string, n: number, range: Range): number {
  if (range.min !== undefined && n < range.min)
    throw new ConfigError(name, `must be at least ${range.min}, got ${n}`);
  if (range.max !== undefined && n > range.max)
    throw new ConfigError(name, `must be at most ${range.max}, got ${n}`);
  return n;
}

export function readInteger(env: Env, name: string, fallback: number, range: Range = {}): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value)) throw new ConfigError(name, `must be a whole number, got "${value}"`);
  return inRange(name, Number(value), range);
}

export function readNumber(env: Env, name: string, fallback: number, range: Range = {}): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new ConfigError(name, `must be a number, got "${value}"`);
  return inRange(name, n, range);
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

export function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name)?.toLowerCase();
  if (value === undefined) return fallback;
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  throw new ConfigError(name, `must be true or false (also 1/0, yes/no, on/off), got "${value}"`);
}

export function readEnum<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${value}"`);
}

/** Comma-separated list; blanks dropped. */
export function readList(env: Env, name: string, fallback: readonly string[] = []): string[] {
  const value = raw(env, name);
  if (value === undefined) return [...fallback];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Comma-separated key=value pairs, e.g. "team=platform,env=prod". */
export function readKeyValues(env: Env, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of readList(env, name)) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ConfigError(name, `must be comma-separated key=value pairs, got "${item}"`);
    out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return out;
}

export function readUrl(env: Env, name: string): URL | undefined {
  const value = raw(env, name);
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    return url;
  } catch (cause) {
    throw new ConfigError(name, `must be an http(s) URL such as https://host:port, got "${value}"`, {
      cause,
    });
  }
}
