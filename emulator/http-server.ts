/** The node:http server: request ids, body reading and the split between admin and API routes. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ADMIN_PREFIX, handleAdminRequest } from './admin-routes.ts';
import { handleApiRequest } from './api-gateway.ts';
import type { EmulatorCore } from './emulator-core.ts';
import {
  BodyTooLargeError,
  flatHeaders,
  isLoopback,
  readRequestBody,
  send,
  serviceError,
  splitUrl,
} from './http-util.ts';
import type { EmulatorAdmin } from './types.ts';

export function createEmulatorServer(core: EmulatorCore, admin: EmulatorAdmin, certPem: string): Server {
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = core.random.requests.hex(32);
    res.setHeader('X-Request-Id', requestId);
    const method = (req.method ?? 'GET').toUpperCase();
    const { rawPath, rawQuery } = splitUrl(req.url ?? '/');
    let body: Buffer;
    try {
      body = await readRequestBody(req);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        send(res, serviceError(413, 'APIGW.0201', 'Request entity too large'));
        return;
      }
      throw error;
    }
    if (rawPath === ADMIN_PREFIX || rawPath.startsWith(`${ADMIN_PREFIX}/`)) {
      if (!isLoopback(req.socket.remoteAddress)) {
        send(res, { status: 403, body: { error: 'the admin surface answers loopback clients only' } });
        return;
      }
      send(res, await handleAdminRequest(core, admin, certPem, { method, rawPath, rawQuery, body }));
      return;
    }
    await handleApiRequest(core, {
      req,
      res,
      method,
      rawPath,
      rawQuery,
      headers: flatHeaders(req),
      body,
      requestId,
    });
  };

  return createServer((req, res) => {
    handler(req, res).catch((error: unknown) => {
      core.logger.error('emulator request failed', { error, path: splitUrl(req.url ?? '/').rawPath });
      if (!res.headersSent) send(res, serviceError(500, 'BMS.9999', 'Internal server error.'));
      else res.destroy();
    });
  });
}
