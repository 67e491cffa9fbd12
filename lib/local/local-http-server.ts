/**
 * The local stack's HTTP front: the SMN webhook (the same intake code the Lambda webhook
 * calls), a health check, the status page and its JSON twin. node:http only; the body limit is
 * enforced while reading so an oversized post never sits in memory whole.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BodyTooLargeError, readBody } from '../http-body.ts';
import type { JsonResponse } from '../intake/intake-response.ts';
import { POSTED_MAX_BODY_BYTES } from '../intake/posted/posted-intake.ts';
import type { Logger } from '../observability/logger.ts';

export interface LocalRoutes {
  /** POST /smn: one SMN delivery, answered exactly as the Lambda webhook would. */
  smn(body: string, headers: Record<string, string | undefined>, signal: AbortSignal): Promise<JsonResponse>;
  /** POST /posted: a guest's "posted" notification, answered as the Lambda would. */
  posted?(
    body: string,
    headers: Record<string, string | undefined>,
    signal: AbortSignal,
  ): Promise<JsonResponse>;
  /** GET /healthz */
  health(): { ok: boolean; [field: string]: unknown };
  /** GET / */
  statusPage(): Promise<string>;
  /** GET /status.json */
  statusJson(): Promise<unknown>;
}

export interface LocalHttpServerOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  routes: LocalRoutes;
  logger: Logger;
}

export interface LocalHttpServer {
  url: string;
  port: number;
  /** Stops accepting, waits for requests in progress (aborting them after `graceMs`). */
  close(graceMs?: number): Promise<void>;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // The page has no script and loads nothing: say so, so nothing injected could run.
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
  });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`);
}

function flatHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(req.headers))
    out[key] = Array.isArray(value) ? value.join(',') : value;
  return out;
}

export async function startLocalHttpServer(options: LocalHttpServerOptions): Promise<LocalHttpServer> {
  const { routes, logger } = options;
  const inFlight = new AbortController();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    const method = req.method ?? 'GET';
    const post =
      path === '/smn'
        ? routes.smn.bind(routes)
        : path === '/posted' && routes.posted
          ? routes.posted.bind(routes)
          : undefined;
    if (post) {
      if (method !== 'POST')
        return sendJson(res, 405, { error: { code: 'method_not_allowed', message: 'use POST' } });
      let body: Buffer;
      try {
        // A notification is tiny: read a little past its limit so the route can say 413 itself.
        body = await readBody(req, path === '/posted' ? POSTED_MAX_BODY_BYTES * 4 : options.maxBodyBytes);
      } catch (error) {
        if (error instanceof BodyTooLargeError)
          return sendJson(res, 413, { error: { code: 'payload_too_large', message: error.message } });
        throw error;
      }
      const response = await post(body.toString('utf8'), flatHeaders(req), inFlight.signal);
      res.writeHead(response.statusCode, response.headers);
      res.end(response.body);
      return;
    }
    if (method !== 'GET' && method !== 'HEAD')
      return sendJson(res, 405, {
        error: { code: 'method_not_allowed', message: 'this route is read-only' },
      });
    if (path === '/healthz') {
      const health = routes.health();
      return sendJson(res, health.ok ? 200 : 503, health);
    }
    if (path === '/') return send(res, 200, 'text/html; charset=utf-8', await routes.statusPage());
    if (path === '/status.json') return sendJson(res, 200, await routes.statusJson());
    return sendJson(res, 404, {
      error: {
        code: 'not_found',
        message: 'routes: GET /, GET /status.json, GET /healthz, POST /smn, POST /posted',
      },
    });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error('local HTTP request failed', { error });
      if (!res.headersSent)
        sendJson(res, 500, { error: { code: 'internal_error', message: 'see the service log' } });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 2000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    close(graceMs = 5000) {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => {
          inFlight.abort(new Error('local stack is shutting down'));
          server.closeAllConnections();
        }, graceMs);
        try {
          await closed;
        } finally {
          clearTimeout(timer);
        }
      })();
      return closing;
    },
  };
}
