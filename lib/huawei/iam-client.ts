/**
 * The one IAM call the hook needs: the project id of a region, found as the Node SDK does
 * (`GET /v3/projects?name={region}`, signed, not project-scoped) and cached per region.
 */

import { isValidRegion } from './endpoints.ts';
import { HuaweiApiError } from './errors.ts';
import { validateProjectId } from './path-params.ts';
import { parseJsonBody, type SignedCaller, unexpectedShape } from './signed-call.ts';

export interface IamClientOptions {
  caller: SignedCaller;
  /** IAM origin, e.g. https://iam.cn-north-4.myhuaweicloud.com or the emulator's URL. */
  endpoint: URL;
}

export class IamClient {
  readonly #caller: SignedCaller;
  readonly #endpoint: URL;
  readonly #projectIds = new Map<string, Promise<string>>();

  constructor(options: IamClientOptions) {
    this.#caller = options.caller;
    this.#endpoint = options.endpoint;
  }

  /** The id of the IAM project named after `region`. Concurrent callers share one lookup; failures are not cached. */
  resolveProjectId(region: string, options?: { signal?: AbortSignal | undefined }): Promise<string> {
    if (!isValidRegion(region)) {
      return Promise.reject(new RangeError(`not a region id: ${JSON.stringify(region.slice(0, 64))}`));
    }
    let lookup = this.#projectIds.get(region);
    if (!lookup) {
      lookup = this.#lookup(region, options?.signal);
      this.#projectIds.set(region, lookup);
      lookup.catch(() => this.#projectIds.delete(region));
    }
    return lookup;
  }

  async #lookup(region: string, signal: AbortSignal | undefined): Promise<string> {
    const response = await this.#caller.call({
      api: 'iam.projects',
      method: 'GET',
      endpoint: this.#endpoint,
      path: '/v3/projects',
      query: [['name', region]],
      signal,
    });
    const data = parseJsonBody('iam.projects', response);
    const projects = (data as { projects?: unknown } | undefined)?.projects;
    if (!Array.isArray(projects)) throw unexpectedShape('iam.projects', response, 'no "projects" array');
    const match = projects.find(
      (p): p is { id: string; name: string } =>
        p !== null && typeof p === 'object' && p.name === region && typeof p.id === 'string',
    );
    if (!match) {
      throw new HuaweiApiError({
        kind: 'not-found',
        api: 'iam.projects',
        status: response.status,
        requestId: response.headers['x-request-id'],
        huaweiMessage: `no IAM project named ${region}; set HUAWEICLOUD_SDK_PROJECT_ID or check HUAWEICLOUD_SDK_REGION`,
      });
    }
    return validateProjectId(match.id);
  }
}
