/**
 * The HTTP admin surface under /__emulator/: JSON, unauthenticated, loopback only.
 * Each route is a thin wrapper over the in-process EmulatorAdmin, plus the SMN
 * confirmation/unsubscribe links and the signing certificate that SMN messages point at.
 */
import { parseQuery, uriUnescape } from '../lib/huawei/canonical-request.ts';
import { EmulatorAdminError } from './admin.ts';
import type { EmulatorCore } from './emulator-core.ts';
import { parseJson, type RouteResponse } from './http-util.ts';
import { SMN_CERT_PATH } from './smn-publisher.ts';
import type { EmulatorAdmin } from './types.ts';

export const ADMIN_PREFIX = '/__emulator';

export interface AdminRequest {
  method: string;
  rawPath: string;
  rawQuery: string;
  body: Buffer;
}

function json(status: number, body: unknown): RouteResponse {
  return { status, body };
}

function bodyObject(body: Buffer): Record<string, unknown> {
  const parsed = parseJson(body) ?? {};
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new EmulatorAdminError(400, 'the request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

export async function handleAdminRequest(
  core: EmulatorCore,
  admin: EmulatorAdmin,
  certPem: string,
  request: AdminRequest,
): Promise<RouteResponse> {
  try {
    return await route(core, admin, certPem, request);
  } catch (error) {
    if (error instanceof EmulatorAdminError) return json(error.status, { error: error.message });
    if (error instanceof SyntaxError) return json(400, { error: 'the request body is not valid JSON' });
    if (error instanceof RangeError || error instanceof TypeError) return json(400, { error: error.message });
    throw error;
  }
}

async function route(
  core: EmulatorCore,
  admin: EmulatorAdmin,
  certPem: string,
  { method, rawPath, rawQuery, body }: AdminRequest,
): Promise<RouteResponse> {
  const path = rawPath.slice(ADMIN_PREFIX.length).replace(/\/+$/, '') || '/';
  const query = new Map(parseQuery(rawQuery));
  const serverMatch = /^\/servers\/([^/]+)(\/guest-post|\/reinstall)?$/.exec(path);

  if (method === 'GET' && path === SMN_CERT_PATH.slice(ADMIN_PREFIX.length)) {
    return { status: 200, raw: { contentType: 'application/x-pem-file', text: certPem } };
  }
  if (method === 'GET' && path === '/smn/confirm') {
    const confirmed = core.smn.confirm(query.get('token') ?? '');
    return confirmed ? json(200, confirmed) : json(404, { error: 'unknown subscription token' });
  }
  if (method === 'GET' && path === '/smn/unsubscribe') {
    const removed = core.smn.unsubscribe(query.get('subscription_urn') ?? '');
    return removed ? json(200, { unsubscribed: true }) : json(404, { error: 'unknown subscription' });
  }
  if (method === 'POST' && path === '/smn/subscriptions') {
    const { endpoint } = bodyObject(body);
    if (typeof endpoint !== 'string') throw new EmulatorAdminError(400, 'endpoint must be a URL string');
    return json(201, await admin.subscribe(endpoint));
  }
  if (method === 'GET' && path === '/smn/subscriptions')
    return json(200, { subscriptions: admin.subscriptions() });
  if (method === 'GET' && path === '/info') {
    return json(200, {
      url: core.baseUrl(),
      region: core.region,
      projectId: core.projectId,
      now: core.clock.now(),
    });
  }
  if (method === 'POST' && path === '/servers') {
    return json(201, admin.createServers(bodyObject(body) as never));
  }
  if (method === 'GET' && path === '/servers') return json(200, { servers: admin.servers() });
  if (serverMatch) {
    const id = uriUnescape(serverMatch[1]!);
    const action = serverMatch[2];
    if (method === 'GET' && !action) {
      const truth = admin.server(id);
      return truth ? json(200, truth) : json(404, { error: 'unknown server' });
    }
    if (method === 'DELETE' && !action) {
      return admin.deleteServer(id) ? json(200, { deleted: true }) : json(404, { error: 'unknown server' });
    }
    if (method === 'POST' && action === '/guest-post') {
      const result = admin.guestPost(id);
      return json(result.status === 201 ? 201 : result.status, result);
    }
    if (method === 'POST' && action === '/reinstall') return json(202, admin.reinstall(id, bodyObject(body)));
  }
  if (method === 'PUT' && path === '/faults') return json(200, admin.setFaults(bodyObject(body)));
  if (method === 'GET' && path === '/switches') return json(200, admin.switches());
  if (method === 'PUT' && path === '/switches') return json(200, admin.setSwitches(bodyObject(body)));
  if (method === 'GET' && path === '/calls') return json(200, admin.calls());
  if (method === 'POST' && path === '/reset') {
    admin.reset();
    return json(200, { reset: true });
  }
  if (method === 'GET' && path === '/key') return json(200, admin.decryptKey());
  if (method === 'POST' && path === '/credentials/temporary') {
    const { durationSeconds } = bodyObject(body);
    return json(
      201,
      admin.issueTemporaryCredentials(typeof durationSeconds === 'number' ? durationSeconds : undefined),
    );
  }
  if (method === 'POST' && path === '/idle') {
    await admin.idle();
    return json(200, { idle: true });
  }
  return json(404, { error: `no admin route ${method} ${ADMIN_PREFIX}${path}` });
}
