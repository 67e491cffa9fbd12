/**
 * The BMS v1 client: the BmsApi the pipeline uses, plus create/reinstall for demos and tests.
 * Every id is validated before a request exists, every attempt is rate-limited and signed
 * afresh (see signed-call.ts), and password responses never leak into errors or logs.
 */

import { isObject } from '../is-object.ts';
import type { ApiName } from './api-names.ts';
import type {
  BmsApi,
  BmsJob,
  BmsServer,
  CallOptions,
  ListServersQuery,
  PasswordRecord,
} from './bms-types.ts';
import type { HttpResponse } from './http-transport.ts';
import { validateJobId, validateProjectId, validateServerId } from './path-params.ts';
import { parseJsonBody, type SignedCall, type SignedCaller, unexpectedShape } from './signed-call.ts';

export const MAX_PAGE_SIZE = 1000;
/** A server that ignores `offset` and never sends a short page must not keep us looping. */
const MAX_PAGES = 10_000;

export interface BmsClientOptions {
  caller: SignedCaller;
  /** BMS origin, e.g. https://bms.cn-north-4.myhuaweicloud.com or the emulator's URL. */
  endpoint: URL;
}

export interface CreateServersResult {
  job_id: string;
  order_id?: string;
  [field: string]: unknown;
}

export interface ReinstallServerResult {
  job_id: string;
  [field: string]: unknown;
}

export class InvalidListQueryError extends Error {
  override name = 'InvalidListQueryError';
}

export class BmsClient implements BmsApi {
  readonly #caller: SignedCaller;
  readonly #endpoint: URL;

  constructor(options: BmsClientOptions) {
    this.#caller = options.caller;
    this.#endpoint = options.endpoint;
  }

  #call(
    api: ApiName,
    method: SignedCall['method'],
    projectId: string,
    path: string,
    options: CallOptions | undefined,
    extra: Partial<SignedCall> = {},
  ): Promise<HttpResponse> {
    return this.#caller.call({
      api,
      method,
      endpoint: this.#endpoint,
      path: `/v1/${projectId}${path}`,
      projectId,
      signal: options?.signal,
      ...extra,
    });
  }

  async showServer(projectId: string, serverId: string, options?: CallOptions): Promise<BmsServer> {
    const pid = validateProjectId(projectId);
    const sid = validateServerId(serverId);
    const response = await this.#call('server.get', 'GET', pid, `/baremetalservers/${sid}`, options);
    const data = parseJsonBody('server.get', response);
    if (!isObject(data) || !isObject(data['server']))
      throw unexpectedShape('server.get', response, 'no "server"');
    return data['server'] as BmsServer;
  }

  async *listServers(
    projectId: string,
    query: ListServersQuery = {},
    options?: CallOptions,
  ): AsyncIterable<BmsServer> {
    const pid = validateProjectId(projectId);
    const limit = query.limit ?? MAX_PAGE_SIZE;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
      throw new InvalidListQueryError(
        `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}, got ${limit}`,
      );
    }
    const filters: Array<[string, string]> = [];
    for (const key of ['name', 'status', 'flavor', 'tags'] as const) {
      const value = query[key];
      if (value !== undefined && value !== '') filters.push([key, value]);
    }
    let seen = 0;
    for (let page = 1; page <= MAX_PAGES; page++) {
      const response = await this.#call('server.list', 'GET', pid, '/baremetalservers/detail', options, {
        query: [...filters, ['limit', String(limit)], ['offset', String(page)]],
      });
      const data = parseJsonBody('server.list', response);
      if (!isObject(data) || !Array.isArray(data['servers'])) {
        throw unexpectedShape('server.list', response, 'no "servers" array');
      }
      const servers = data['servers'] as BmsServer[];
      for (const server of servers) yield server;
      seen += servers.length;
      const count = typeof data['count'] === 'number' ? data['count'] : undefined;
      if (servers.length < limit || (count !== undefined && seen >= count)) return;
    }
  }

  /** `""`, null or a missing field mean "not posted yet" (or already cleared). */
  async getPassword(projectId: string, serverId: string, options?: CallOptions): Promise<PasswordRecord> {
    const pid = validateProjectId(projectId);
    const sid = validateServerId(serverId);
    const response = await this.#call(
      'password.get',
      'GET',
      pid,
      `/baremetalservers/${sid}/os-server-password`,
      options,
      { sensitive: true },
    );
    const data = parseJsonBody('password.get', response);
    if (!isObject(data)) throw unexpectedShape('password.get', response, 'not a JSON object');
    const password = data['password'];
    if (password === undefined || password === null || password === '') return undefined;
    if (typeof password !== 'string')
      throw unexpectedShape('password.get', response, '"password" is not a string');
    return { ciphertext: password };
  }

  /** 200, 202 and 204 are all success (docs say 202, Terraform and Nova 204). */
  async deletePassword(projectId: string, serverId: string, options?: CallOptions): Promise<void> {
    const pid = validateProjectId(projectId);
    const sid = validateServerId(serverId);
    await this.#call(
      'password.delete',
      'DELETE',
      pid,
      `/baremetalservers/${sid}/os-server-password`,
      options,
      {
        sensitive: true,
      },
    );
  }

  async showJob(projectId: string, jobId: string, options?: CallOptions): Promise<BmsJob> {
    const pid = validateProjectId(projectId);
    const jid = validateJobId(jobId);
    const response = await this.#call('job.get', 'GET', pid, `/jobs/${jid}`, options);
    const data = parseJsonBody('job.get', response);
    if (!isObject(data) || typeof data['status'] !== 'string') {
      throw unexpectedShape('job.get', response, 'no job "status"');
    }
    return data as unknown as BmsJob;
  }

  /** POST /v1/{project_id}/baremetalservers (for demos and tests; production servers are created elsewhere). */
  async createServers(projectId: string, body: unknown, options?: CallOptions): Promise<CreateServersResult> {
    const pid = validateProjectId(projectId);
    const response = await this.#call('server.create', 'POST', pid, '/baremetalservers', options, { body });
    const data = parseJsonBody('server.create', response);
    if (!isObject(data) || typeof data['job_id'] !== 'string') {
      throw unexpectedShape('server.create', response, 'no "job_id"');
    }
    return data as CreateServersResult;
  }

  /** POST /v1/{project_id}/baremetalservers/{server_id}/reinstallos (for demos and tests). */
  async reinstallServer(
    projectId: string,
    serverId: string,
    body: unknown,
    options?: CallOptions,
  ): Promise<ReinstallServerResult> {
    const pid = validateProjectId(projectId);
    const sid = validateServerId(serverId);
    const response = await this.#call(
      'server.reinstall',
      'POST',
      pid,
      `/baremetalservers/${sid}/reinstallos`,
      options,
      {
        body,
      },
    );
    const data = parseJsonBody('server.reinstall', response);
    if (!isObject(data) || typeof data['job_id'] !== 'string') {
      throw unexpectedShape('server.reinstall', response, 'no "job_id"');
    }
    return data as ReinstallServerResult;
  }
}
