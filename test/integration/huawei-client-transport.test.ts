/**
 * The undici transport against small node:http servers on loopback that misbehave on
 * purpose: stalls before headers and mid-body, resets, refused connections.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HuaweiApiError } from '../../lib/huawei/errors.ts';
import { UndiciTransport } from '../../lib/huawei/http-transport.ts';

const servers: Server[] = [];
const transports: UndiciTransport[] = [];

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: URL; server: Server }> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/x`), server };
}

function transport(options: ConstructorParameters<typeof UndiciTransport>[0] = {}): UndiciTransport {
  const t = new UndiciTransport(options);
  transports.push(t);
  return t;
}

const get = (url: URL, signal?: AbortSignal) => ({
  api: 'server.get',
  method: 'GET',
  url,
  headers: {},
  signal,
});

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('UndiciTransport', () => {
  it('returns status, lower-cased headers and the body, reusing keep-alive connections', async () => {
    let connections = 0;
    const { url, server } = await serve((req, res) => {
      res.setHeader('X-Request-Id', 'abc123');
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.end(JSON.stringify({ method: req.method, path: req.url, body: req.headers['content-length'] }));
    });
    server.on('connection', () => connections++);
    const t = transport();
    const first = await t.send({ ...get(url), method: 'POST', body: '{"k":1}' });
    expect(first.status).toBe(200);
    expect(first.headers['x-request-id']).toBe('abc123');
    expect(first.headers['set-cookie']).toBe('a=1, b=2');
    expect(JSON.parse(first.body)).toEqual({ method: 'POST', path: '/v1/x', body: '7' });
    const url2 = new URL(url);
    url2.search = 'limit=1&offset=2';
    expect(JSON.parse((await t.send(get(url2))).body).path).toBe('/v1/x?limit=1&offset=2');
    for (let i = 0; i < 6; i++) await t.send(get(url));
    // Eight sequential requests; the pool may open a second socket while the first is released.
    expect(connections).toBeLessThanOrEqual(2);
  });

  it('maps a response that stalls before its headers to timeout', async () => {
    const { url } = await serve(() => {});
    const error = await transport({ timeoutMs: 100 })
      .send(get(url))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HuaweiApiError);
    expect(error).toMatchObject({ kind: 'timeout', api: 'server.get' });
  });

  it('maps a body that stalls halfway to timeout', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"server":');
    });
    await expect(transport({ timeoutMs: 100 }).send(get(url))).rejects.toMatchObject({ kind: 'timeout' });
  });

  it('aborts while the body is still arriving', async () => {
    let headersSent!: () => void;
    const midBody = new Promise<void>((resolve) => {
      headersSent = resolve;
    });
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"password":"', () => headersSent());
    });
    const controller = new AbortController();
    const pending = transport().send(get(url, controller.signal));
    await midBody;
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ kind: 'aborted' });
  });

  it('maps a reset connection and a refused connection to network', async () => {
    const { url } = await serve((req) => req.socket.destroy());
    await expect(transport().send(get(url))).rejects.toMatchObject({ kind: 'network' });

    const closed = await serve(() => {});
    const refusedUrl = new URL(closed.url);
    await new Promise((resolve) => closed.server.close(resolve));
    await expect(transport().send(get(refusedUrl))).rejects.toMatchObject({ kind: 'network' });
  });

  it('refuses to send once the signal has fired', async () => {
    let requests = 0;
    const { url } = await serve((_req, res) => {
      requests++;
      res.end('{}');
    });
    await expect(transport().send(get(url, AbortSignal.abort()))).rejects.toMatchObject({ kind: 'aborted' });
    expect(requests).toBe(0);
  });
});
