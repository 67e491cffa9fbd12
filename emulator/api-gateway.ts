/**
 * The emulated API gateway in front of the BMS, IAM, SMN and CTS handlers, in the order the
 * real one applies things: route lookup, (injected latency), AK/SK authentication, the IAM
 * policy (the `deniedActions` switch), (injected faults), per-API throttling, then the
 * backend's own project check and handler.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { API_LIMITS_PER_MINUTE, type ApiName } from '../lib/huawei/api-names.ts';
import { uriUnescape } from '../lib/huawei/canonical-request.ts';
import { iamActionFor } from '../lib/huawei/iam-actions.ts';
import { type ApiRoute, matchApiRoute } from './bms-routes.ts';
import type { EmulatorCore } from './emulator-core.ts';
import { faultApplies, rollFault } from './faults.ts';
import { gatewayError, type RouteResponse, send, serviceError } from './http-util.ts';
import { MANAGEMENT_ROUTES } from './management-routes.ts';

export interface GatewayRequest {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  rawPath: string;
  rawQuery: string;
  headers: Record<string, string>;
  body: Buffer;
  requestId: string;
}

export function throttled(
  core: EmulatorCore,
  api: ApiName,
  requestId: string,
  retryAfterMs: number,
): RouteResponse {
  const limit = limitFor(core, api);
  const response = gatewayError(
    429,
    'APIGW.0308',
    `The throttling threshold has been reached: policy user over ratelimit,limit:${limit},time:1 minute`,
    requestId,
  );
  if (core.switches.retryAfterHeader) {
    response.headers = { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) };
  }
  return response;
}

function limitFor(core: EmulatorCore, api: ApiName): number {
  return core.switches.rateLimits[api] ?? API_LIMITS_PER_MINUTE[api];
}

function injectedServerError(core: EmulatorCore, requestId: string): RouteResponse {
  const roll = core.random.faults.int(0, 2);
  if (roll === 0) return serviceError(500, 'BMS.9999', 'Internal server error.');
  if (roll === 1) return gatewayError(502, 'APIGW.0201', 'Backend unavailable', requestId);
  return gatewayError(503, 'APIGW.0613', 'IAM unavailable', requestId);
}

/** Handles one API request end to end; the caller has already set X-Request-Id. */
export async function handleApiRequest(core: EmulatorCore, request: GatewayRequest): Promise<void> {
  const route =
    matchApiRoute(request.method, request.rawPath) ??
    matchApiRoute(request.method, request.rawPath, MANAGEMENT_ROUTES);
  if (!route) {
    send(
      request.res,
      gatewayError(
        404,
        'APIGW.0101',
        'The API does not exist or has not been published in the environment',
        request.requestId,
      ),
    );
    return;
  }
  let outcome = await runPipeline(core, route, request);
  const serverId = passwordServerId(request.rawPath);
  // An ambiguous DELETE: the record is already cleared, and then the answer is lost.
  if (
    route.api === 'password.delete' &&
    outcome !== 'reset' &&
    outcome.status < 300 &&
    core.switches.lostDeleteResponses > 0
  ) {
    core.switches = { ...core.switches, lostDeleteResponses: core.switches.lostDeleteResponses - 1 };
    outcome =
      core.switches.lostDeleteResponseKind === 'reset'
        ? 'reset'
        : serviceError(500, 'BMS.9999', 'Internal server error.');
  }
  if (outcome === 'reset') {
    core.callLog.recordApi(route.api, undefined);
    if (serverId) recordPasswordCall(core, route.api, serverId, 0);
    request.req.socket.destroy();
    return;
  }
  core.callLog.recordApi(route.api, outcome.status);
  if (serverId) {
    const body = outcome.body as { password?: unknown } | undefined;
    recordPasswordCall(
      core,
      route.api,
      serverId,
      outcome.status,
      typeof body?.password === 'string' && body.password !== '',
    );
  }
  core.logger.debug('emulator api call', {
    api: route.api,
    status: outcome.status,
    requestId: request.requestId,
  });
  const offsetMs = core.switches.gatewayClockOffsetSeconds * 1000;
  if (offsetMs !== 0)
    outcome.headers = { ...outcome.headers, Date: new Date(Date.now() + offsetMs).toUTCString() };
  send(request.res, outcome);
}

async function runPipeline(
  core: EmulatorCore,
  route: ApiRoute,
  request: GatewayRequest,
): Promise<RouteResponse | 'reset'> {
  const faults = core.switches.faults;
  if (faults.latencyMs > 0 && faultApplies(faults, route.api)) await core.clock.sleep(faults.latencyMs);

  const auth = core.verifier.verify(request);
  if (!auth.ok) return gatewayError(401, 'APIGW.0301', auth.message, request.requestId);

  const action = iamActionFor(route.api);
  if (action !== undefined && core.switches.deniedActions.includes(action)) {
    // The wording is Huawei's usual policy-deny text; the code is [U].
    return gatewayError(
      403,
      'APIGW.0302',
      `Policy doesn't allow ${action} to be performed.`,
      request.requestId,
    );
  }

  const fault = rollFault(core.switches.faults, route.api, core.random.faults);
  if (fault === 'reset') return 'reset';
  if (fault === 'server-error') return injectedServerError(core, request.requestId);
  if (fault === 'throttle') return throttled(core, route.api, request.requestId, 1000);

  if (core.switches.rateLimitsEnabled) {
    const decision = core.limiter.tryAcquire(route.api, limitFor(core, route.api), core.clock.now());
    if (!decision.allowed) return throttled(core, route.api, request.requestId, decision.retryAfterMs);
  }

  if (route.projectId !== undefined && route.projectId !== auth.credential.projectId) {
    return serviceError(400, 'Common.0018', 'tenantId in token is not the same with in URL.');
  }
  return route.handle({ core, rawQuery: request.rawQuery, body: request.body });
}

const PASSWORD_PATH = /^\/v1\/[^/]+\/baremetalservers\/([^/]+)\/os-server-password\/?$/;

function passwordServerId(rawPath: string): string | undefined {
  const m = PASSWORD_PATH.exec(rawPath);
  return m ? uriUnescape(m[1]!) : undefined;
}

function recordPasswordCall(
  core: EmulatorCore,
  api: ApiName,
  serverId: string,
  status: number,
  returnedPassword?: boolean,
): void {
  core.callLog.recordPassword({
    time: core.clock.now(),
    serverId,
    method: api === 'password.get' ? 'GET' : 'DELETE',
    status,
    ...(api === 'password.get' ? { returnedPassword: returnedPassword ?? false } : {}),
  });
}
