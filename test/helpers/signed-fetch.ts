/**
 * A signed fetch for tests: signs with the production signer (lib/huawei/signer.ts) and
 * sends over real HTTP, so the emulator's verifier sees exactly what a client would send.
 */
import { type SigningCredentials, signRequest } from '../../lib/huawei/signer.ts';

export interface SignedFetchOptions {
  method?: string;
  /** An object is sent as JSON; a string as-is. */
  body?: unknown;
  headers?: Record<string, string>;
  projectId?: string;
  /** Fixed X-Sdk-Date (for skew tests). */
  date?: Date | string;
  /** Mangles the signature after signing (for 401 tests). */
  tamper?: boolean;
}

export async function signedFetch(
  url: string | URL,
  credentials: SigningCredentials,
  options: SignedFetchOptions = {},
): Promise<Response> {
  const target = new URL(url);
  const method = options.method ?? 'GET';
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  const signed = signRequest(
    {
      method,
      url: target,
      headers: { 'content-type': 'application/json', ...options.headers },
      body,
      projectId: options.projectId,
      date: options.date,
    },
    credentials,
  );
  const headers = { ...signed.headers };
  if (options.tamper) {
    headers['Authorization'] = headers['Authorization']!.replace(
      /Signature=([0-9a-f])/,
      (_m, c: string) => `Signature=${c === '0' ? '1' : '0'}`,
    );
  }
  return fetch(target, { method, headers, body });
}

/** Reads a response as JSON, or undefined for an empty body. */
export async function jsonBody<T = Record<string, unknown>>(response: Response): Promise<T> {
  const text = await response.text();
  return (text === '' ? undefined : JSON.parse(text)) as T;
}
