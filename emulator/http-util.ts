/** Small HTTP helpers shared by the API and admin routes. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLargeError, readBody } from '../lib/http-body.ts';

export interface RouteResponse {
  status: number;
  /** JSON-serialized unless undefined (no body). */
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent as-is with this content type instead of JSON. */
  raw?: { contentType: string; text: string };
}

const MAX_BODY_BYTES = 1024 * 1024;

/** The emulator's cap on a request body. */
export function readRequestBody(req: IncomingMessage): Promise<Buffer> {
  return readBody(req, MAX_BODY_BYTES);
}

export { BodyTooLargeError };

export function send(res: ServerResponse, response: RouteResponse): void {
  for (const [name, value] of Object.entries(response.headers ?? {})) res.setHeader(name, value);
  if (response.raw) {
    res.writeHead(response.status, { 'content-type': response.raw.contentType });
    res.end(response.raw.text);
    return;
  }
  if (response.body === undefined) {
    res.writeHead(response.status);
    res.end();
    return;
  }
  const text = JSON.stringify(response.body);
  res.writeHead(response.status, {
    'content-type': 'application/json;charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Node lower-cases header names; repeated headers are joined the way fetch would. */
export function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export function splitUrl(rawUrl: string): { rawPath: string; rawQuery: string } {
  const q = rawUrl.indexOf('?');
  return q === -1
    ? { rawPath: rawUrl, rawQuery: '' }
    : { rawPath: rawUrl.slice(0, q), rawQuery: rawUrl.slice(q + 1) };
}

export function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  return JSON.parse(body.toString('utf8'));
}

export function gatewayError(
  status: number,
  code: string,
  message: string,
  requestId: string,
): RouteResponse {
  return { status, body: { error_msg: message, error_code: code, request_id: requestId } };
}

export function serviceError(status: number, code: string, message: string): RouteResponse {
  return { status, body: { error: { code, message } } };
}

export function isLoopback(address: string | undefined): boolean {
  return (
    address === '127.0.0.1' ||
    address === '::1' ||
    address === '::ffff:127.0.0.1' ||
    !!address?.startsWith('127.')
  );
}
