/**
 * Redaction for everything that leaves the process as text: log lines, error
 * messages, metrics. Two nets: field names that can only hold secrets, and a registry
 * of secret values (ciphertexts, plaintexts, SKs, tokens) scrubbed wherever they appear.
 */
export const REDACTED = '[REDACTED]';

const SECRET_KEY_PATTERN =
  /pass(word)?|ciphertext|plaintext|secret|^sk$|secretkey|secret_key|security_?token|token$|authorization|private_?key|signature$|adminpass|x-auth-token/i;

/**
 * Bounded so a long-running service does not grow without limit: ciphertexts, the bulk of
 * what is registered, are also caught by the base64-shape rule in redactText, so forgetting
 * the oldest costs nothing there.
 */
const MAX_REGISTERED = 4096;
const registered = new Set<string>();
let registeredPattern: RegExp | undefined;

/** Remembers a secret value so any later text containing it is scrubbed. Short values are ignored. */
export function registerSecret(value: string | undefined): void {
  if (!value || value.length < 8 || registered.has(value)) return;
  registered.add(value);
  if (registered.size > MAX_REGISTERED) registered.delete(registered.values().next().value!);
  registeredPattern = undefined;
}

function secretPattern(): RegExp | undefined {
  if (registered.size === 0) return undefined;
  registeredPattern ??= new RegExp(
    [...registered]
      .sort((a, b) => b.length - a.length)
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('|'),
    'g',
  );
  return registeredPattern;
}

export function isSecretKey(key: string): boolean {
  return SECRET_KEY_PATTERN.test(key);
}

/** Scrubs registered secret values, and anything shaped like a long base64 blob (an RSA ciphertext). */
export function redactText(text: string): string {
  const pattern = secretPattern();
  const scrubbed = pattern ? text.replace(pattern, REDACTED) : text;
  // A 2048-bit RSA ciphertext is 344 base64 characters; nothing legitimate we log is that shape.
  return scrubbed.replace(/[A-Za-z0-9+/]{120,}={0,2}/g, REDACTED);
}

/** Deep copy with secret-named fields replaced and strings scrubbed; errors become plain objects. */
export function redactValue(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[…]';
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return serializeError(value, depth);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  if (value instanceof Date) return value.toISOString();
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] =
      isSecretKey(key) && v !== undefined && v !== null && typeof v !== 'boolean'
        ? REDACTED
        : redactValue(v, depth + 1);
  }
  return out;
}

const ERROR_FIELDS = ['kind', 'api', 'status', 'code', 'requestId', 'variable', 'reason'] as const;

export function serializeError(error: Error, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = { name: error.name, message: redactText(error.message) };
  for (const field of ERROR_FIELDS) {
    const v = (error as unknown as Record<string, unknown>)[field];
    if (v !== undefined && (typeof v === 'string' || typeof v === 'number'))
      out[field] = typeof v === 'string' ? redactText(v) : v;
  }
  if (error.cause !== undefined && depth < 4) {
    out['cause'] =
      error.cause instanceof Error
        ? serializeError(error.cause, depth + 1)
        : redactValue(error.cause, depth + 1);
  }
  return out;
}
