/**
 * The HTTP seam under the Huawei clients: one request in, status/headers/body out, every
 * failure mapped to a HuaweiApiError of kind 'network', 'timeout' or 'aborted'. The
 * implementation is undici (a keep-alive pool per origin, separate connect / headers / body
 * timeouts, AbortSignal honoured until the last body byte); anything else satisfying
 * HttpTransport (a node:http one, a recording one) can replace it.
 */

import undiciRequest from 'undici/lib/api/api-request.js';
import Agent from 'undici/lib/dispatcher/agent.js';
import { HuaweiApiError } from './errors.ts';

export interface HttpRequest {
  /** API name for errors and metrics, e.g. "password.get". */
  api: string;
  method: string;
  url: URL;
  headers: Readonly<Record<string, string>>;
  body?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface HttpResponse {
  status: number;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
}

export interface HttpTransport {
  send(request: HttpRequest): Promise<HttpResponse>;
  /** Closes pooled connections; in-flight requests finish first. */
  close(): Promise<void>;
}

export interface UndiciTransportOptions {
  connectTimeoutMs?: number | undefined;
  /** Time allowed for the response headers, and between body chunks. */
  timeoutMs?: number | undefined;
  /** Keep-alive connections per origin. */
  connectionsPerOrigin?: number | undefined;
  /** Responses larger than this fail as 'network' rather than exhausting memory. */
  maxResponseBytes?: number | undefined;
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export class UndiciTransport implements HttpTransport {
  readonly #agent: InstanceType<typeof Agent>;

  constructor(options: UndiciTransportOptions = {}) {
    const timeoutMs = options.timeoutMs ?? 15_000;
    this.#agent = new Agent({
      connections: options.connectionsPerOrigin ?? 8,
      connect: { timeout: options.connectTimeoutMs ?? 5000 },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      maxResponseSize: options.maxResponseBytes ?? 16 * 1024 * 1024,
    });
  }

  async send(request: HttpRequest): Promise<HttpResponse> {
    const { api, signal } = request;
    if (signal?.aborted) throw new HuaweiApiError({ kind: 'aborted', api, cause: signal.reason });
    try {
      const response = await undiciRequest.call(this.#agent, {
        origin: request.url.origin,
        path: `${request.url.pathname}${request.url.search}`,
        method: request.method as 'GET',
        headers: request.headers,
        body: request.body,
        signal,
      });
      // Reading the body is still under the signal and the body timeout.
      const body = await response.body.text();
      return { status: response.statusCode, headers: flattenHeaders(response.headers), body };
    } catch (cause) {
      throw transportError(api, cause, signal);
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

export function transportError(api: string, cause: unknown, signal?: AbortSignal): HuaweiApiError {
  if (signal?.aborted) return new HuaweiApiError({ kind: 'aborted', api, cause });
  const code = (cause as { code?: unknown } | null)?.code;
  const kind = typeof code === 'string' && TIMEOUT_CODES.has(code) ? 'timeout' : 'network';
  return new HuaweiApiError({ kind, api, cause });
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
