/**
 * `/healthz` as a list of named checks: the stack is ok only when every check is. Each check
 * answers "can the hook make progress?" for one dependency (the state database, the escrow
 * store, the lock; others, such as Huawei auth and clock skew, plug in as more sources).
 * Details carry error codes and counts only, never a secret.
 */
export interface HealthCheck {
  name: string;
  ok: boolean;
  /** Why not ok (an error code such as ENOSPC, a count); absent when ok. */
  detail?: string | undefined;
}

/** Read on every /healthz request: cheap, synchronous, never throws. */
export type HealthSource = () => HealthCheck | readonly HealthCheck[];

export interface HealthReport {
  ok: boolean;
  status: 'ok' | 'degraded';
  checks: HealthCheck[];
}

export function healthReport(sources: readonly HealthSource[]): HealthReport {
  const checks: HealthCheck[] = [];
  for (const source of sources) {
    try {
      const out = source();
      checks.push(...(Array.isArray(out) ? out : [out as HealthCheck]));
    } catch (error) {
      checks.push({ name: source.name || 'check', ok: false, detail: errorCode(error) });
    }
  }
  const ok = checks.every((c) => c.ok);
  return { ok, status: ok ? 'ok' : 'degraded', checks };
}

/** A short, secret-free reason: the errno or SQLite code, else the error's name. */
export function errorCode(error: unknown): string {
  const e = error as { code?: unknown; errcode?: unknown; errstr?: unknown; name?: unknown; cause?: unknown };
  if (typeof e?.errstr === 'string') return e.errstr;
  if (typeof e?.code === 'string' && e.code !== 'ERR_SQLITE_ERROR') return e.code;
  if (e?.cause !== undefined) return errorCode(e.cause);
  return typeof e?.name === 'string' ? e.name : 'error';
}

/** The last outcome of a repeated operation, as a check. */
export class HealthProbe {
  readonly name: string;
  #failure: string | undefined;

  constructor(name: string) {
    this.name = name;
  }

  ok(): void {
    this.#failure = undefined;
  }

  fail(reason: string): void {
    this.#failure = reason;
  }

  check(): HealthCheck {
    return this.#failure === undefined
      ? { name: this.name, ok: true }
      : { name: this.name, ok: false, detail: this.#failure };
  }
}
