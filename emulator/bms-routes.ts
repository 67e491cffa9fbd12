/**
 * The BMS v1 and IAM handlers behind the emulated gateway: they see only requests that
 * passed authentication, throttling and the project check.
 */
import type { ApiName } from '../lib/huawei/api-names.ts';
import { parseQuery, uriUnescape } from '../lib/huawei/canonical-request.ts';
import type { EmulatorCore } from './emulator-core.ts';
import { FleetError, type ServerSpec } from './fleet.ts';
import { parseJson, type RouteResponse, serviceError } from './http-util.ts';
import { jobView, serverView } from './wire-views.ts';

export interface ApiRoute {
  api: ApiName;
  /** The project id in the URL, checked against the credential's; IAM routes have none. */
  projectId?: string;
  handle(ctx: HandlerContext): RouteResponse;
}

export interface HandlerContext {
  core: EmulatorCore;
  rawQuery: string;
  body: Buffer;
}

const SEGMENT = '([^/]+)';

export interface RouteDefinition {
  method: string;
  pattern: RegExp;
  build(projectId: string, id: string): ApiRoute;
}

export function path(template: string): RegExp {
  return new RegExp(`^${template.replace(/\{[a-z_]+\}/g, SEGMENT)}$`);
}

// Order matters: ".../detail" must win over ".../{server_id}".
const ROUTES: RouteDefinition[] = [
  {
    method: 'GET',
    pattern: /^\/v3\/projects$/,
    build: () => ({ api: 'iam.projects', handle: listProjects }),
  },
  {
    method: 'GET',
    pattern: path('/v1/{project_id}/baremetalservers/detail'),
    build: (projectId) => ({ api: 'server.list', projectId, handle: listServers }),
  },
  {
    method: 'POST',
    pattern: path('/v1/{project_id}/baremetalservers'),
    build: (projectId) => ({ api: 'server.create', projectId, handle: createServers }),
  },
  {
    method: 'GET',
    pattern: path('/v1/{project_id}/baremetalservers/{server_id}/os-server-password'),
    build: (projectId, id) => ({ api: 'password.get', projectId, handle: (c) => getPassword(c, id) }),
  },
  {
    method: 'DELETE',
    pattern: path('/v1/{project_id}/baremetalservers/{server_id}/os-server-password'),
    build: (projectId, id) => ({ api: 'password.delete', projectId, handle: (c) => deletePassword(c, id) }),
  },
  {
    method: 'POST',
    pattern: path('/v1/{project_id}/baremetalservers/{server_id}/reinstallos'),
    build: (projectId, id) => ({ api: 'server.reinstall', projectId, handle: (c) => reinstall(c, id) }),
  },
  {
    method: 'GET',
    pattern: path('/v1/{project_id}/baremetalservers/{server_id}'),
    build: (projectId, id) => ({ api: 'server.get', projectId, handle: (c) => showServer(c, id) }),
  },
  {
    method: 'GET',
    pattern: path('/v1/{project_id}/jobs/{job_id}'),
    build: (projectId, id) => ({ api: 'job.get', projectId, handle: (c) => showJob(c, id) }),
  },
];

/** Maps a request to its API, or undefined for the gateway's "API does not exist". */
export function matchApiRoute(
  method: string,
  rawPath: string,
  routes: readonly RouteDefinition[] = ROUTES,
): ApiRoute | undefined {
  const trimmed = rawPath.length > 1 ? rawPath.replace(/\/+$/, '') : rawPath;
  for (const route of routes) {
    if (route.method !== method) continue;
    const m = route.pattern.exec(trimmed);
    if (m) return route.build(uriUnescape(m[1] ?? ''), uriUnescape(m[2] ?? ''));
  }
  return undefined;
}

export function serverNotFound(core: EmulatorCore): RouteResponse {
  return serviceError(core.switches.notFoundStatus, 'BMS.0040', 'The server does not exist.');
}

function badRequest(reason: string): RouteResponse {
  return serviceError(400, 'BMS.0001', `Fail to parse request, reason: ${reason}.`);
}

function listProjects({ core, rawQuery }: HandlerContext): RouteResponse {
  const name = new Map(parseQuery(rawQuery)).get('name');
  const project = {
    id: core.projectId,
    name: core.region,
    domain_id: core.domainId,
    description: '',
    enabled: true,
    is_domain: false,
    parent_id: core.domainId,
    links: { self: `${core.baseUrl()}/v3/projects/${core.projectId}` },
  };
  const projects = name === undefined || name === core.region ? [project] : [];
  return {
    status: 200,
    body: { projects, links: { self: `${core.baseUrl()}/v3/projects`, previous: null, next: null } },
  };
}

function showServer({ core }: HandlerContext, serverId: string): RouteResponse {
  const record = core.fleet.get(serverId);
  if (!record) return serverNotFound(core);
  return { status: 200, body: { server: serverView(record, viewContext(core)) } };
}

function viewContext(core: EmulatorCore) {
  return { fleet: core.fleet, projectId: core.projectId, region: core.region, now: core.clock.now() };
}

function positiveInt(value: string | undefined, fallback: number): number | undefined {
  if (value === undefined || value === '') return fallback;
  if (!/^\d+$/.test(value)) return undefined;
  return Number(value);
}

function listServers({ core, rawQuery }: HandlerContext): RouteResponse {
  const query = new Map(parseQuery(rawQuery));
  const limit = positiveInt(query.get('limit'), 25);
  const page = positiveInt(query.get('offset'), 1);
  if (limit === undefined || limit < 1 || limit > 1000)
    return badRequest('limit must be an integer from 1 to 1000');
  if (page === undefined || page < 1) return badRequest('offset is a page number starting at 1');
  const name = query.get('name');
  const status = query.get('status');
  const flavor = query.get('flavor');
  const tags = query.get('tags');
  const matching = core.fleet.list().filter((record) => {
    if (name && !record.spec.name.includes(name)) return false;
    if (status && core.fleet.status(record) !== status.toUpperCase()) return false;
    if (flavor && record.spec.flavorRef !== flavor) return false;
    if (tags) {
      for (const wanted of tags.split(',')) {
        const hit = record.spec.tags.some(
          (t) => t === wanted || (!wanted.includes('=') && t.startsWith(`${wanted}=`)),
        );
        if (!hit) return false;
      }
    }
    return true;
  });
  const ctx = viewContext(core);
  const servers = matching.slice((page - 1) * limit, page * limit).map((r) => serverView(r, ctx));
  return { status: 200, body: { count: matching.length, servers } };
}

function getPassword({ core }: HandlerContext, serverId: string): RouteResponse {
  const record = core.fleet.get(serverId);
  if (!record || record.deletedAt !== null) return serverNotFound(core);
  if (record.ciphertext !== null) return { status: 200, body: { password: record.ciphertext } };
  switch (core.switches.emptyPassword) {
    case 'null':
      return { status: 200, body: { password: null } };
    case 'missing':
      return { status: 200, body: {} };
    default:
      return { status: 200, body: { password: '' } };
  }
}

function deletePassword({ core }: HandlerContext, serverId: string): RouteResponse {
  try {
    const delaySeconds = core.switches.deleteApplyDelaySeconds;
    if (delaySeconds > 0) core.fleet.scheduleClear(serverId, core.clock.now() + delaySeconds * 1000);
    else core.fleet.clearPassword(serverId);
  } catch (error) {
    if (error instanceof FleetError && error.reason === 'not-found') return serverNotFound(core);
    throw error;
  }
  return { status: core.switches.deletePasswordStatus };
}

function showJob({ core }: HandlerContext, jobId: string): RouteResponse {
  const job = core.fleet.job(jobId);
  if (!job) return serviceError(404, 'BMS.0101', 'The job does not exist.');
  return { status: 200, body: jobView(job, core.clock.now()) };
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(record(value) ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

/** server_tags as the v1 API takes them ([{key, value}]) turned into the "k=v" strings it returns. */
function tagStrings(value: unknown): string[] {
  const tags = ['__type_baremetal'];
  if (Array.isArray(value)) {
    for (const tag of value) {
      const t = record(tag);
      if (t && typeof t['key'] === 'string')
        tags.push(typeof t['value'] === 'string' ? `${t['key']}=${t['value']}` : t['key']);
    }
  }
  return tags;
}

export function isWindowsImage(imageRef: string, metadata: Record<string, string>): boolean {
  return (
    metadata['os_type']?.toLowerCase() === 'windows' ||
    /win/i.test(imageRef) ||
    /win/i.test(metadata['image_name'] ?? '')
  );
}

function createServers({ core, body }: HandlerContext): RouteResponse {
  let parsed: unknown;
  try {
    parsed = parseJson(body);
  } catch {
    return badRequest('the body is not valid JSON');
  }
  const server = record(record(parsed)?.['server']);
  if (!server) return badRequest('server is required');
  const { name, imageRef, flavorRef } = server;
  const keyName =
    typeof server['key_name'] === 'string' && server['key_name'] !== '' ? server['key_name'] : null;
  if (typeof name !== 'string' || name.length < 1 || name.length > 63)
    return badRequest('name must be 1 to 63 characters');
  if (typeof imageRef !== 'string' || imageRef === '') return badRequest('imageRef is required');
  if (typeof flavorRef !== 'string' || flavorRef === '') return badRequest('flavorRef is required');
  const count = server['count'] === undefined ? 1 : server['count'];
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 100) {
    return badRequest('count must be an integer from 1 to 100');
  }
  const metadata = stringMap(server['metadata']);
  const windows = isWindowsImage(imageRef, metadata);
  if (windows && keyName === null) return badRequest('key_name is required for a Windows image');
  const tags = tagStrings(server['server_tags']);
  let userData: string | null = null;
  if (server['user_data'] !== undefined) {
    const encoded = server['user_data'];
    if (typeof encoded !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length > 43_692)
      return badRequest('user_data must be base64, at most 32 KB decoded');
    userData = Buffer.from(encoded, 'base64').toString('utf8');
  }
  const specs: ServerSpec[] = Array.from({ length: count }, (_, i) => ({
    name: count > 1 ? `${name}-${String(i + 1).padStart(4, '0')}` : name,
    osType: windows ? 'Windows' : 'Linux',
    imageRef,
    flavorRef,
    keyName,
    metadata: { ...metadata, image_name: metadata['image_name'] ?? imageRef },
    tags,
    userData,
  }));
  const result = core.createServers(specs, core.defaultDelays(), parsed);
  return { status: 200, body: { order_id: result.orderId, job_id: result.jobId } };
}

function reinstall({ core, body }: HandlerContext, serverId: string): RouteResponse {
  let parsed: unknown;
  try {
    parsed = parseJson(body);
  } catch {
    return badRequest('the body is not valid JSON');
  }
  if (!record(record(parsed)?.['os-reinstall'])) return badRequest('os-reinstall is required');
  try {
    const result = core.reinstall(serverId, core.defaultDelays(), parsed);
    return { status: 202, body: { job_id: result.jobId } };
  } catch (error) {
    if (error instanceof FleetError && error.reason === 'not-found') return serverNotFound(core);
    if (error instanceof FleetError && error.reason === 'conflict') {
      return serviceError(409, 'BMS.0605', error.message);
    }
    throw error;
  }
}
