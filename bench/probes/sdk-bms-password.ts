/**
 * The official Huawei SDK making our password calls: what a handler built on the SDK would
 * run. The BMS SDK is not on npm, so the ECS client (same core, same code generator) sends
 * them: its generated ShowServerPassword / DeleteServerPassword request options with the URL
 * template switched from /cloudservers/ to /baremetalservers/ (the only difference between
 * the two APIs), through the EcsClient's own HcClient: the SDK's AK/SK signing, axios
 * transport and response handling, unchanged. Credentials, project and endpoint come from
 * the same variables our functions read. Bundled with the uuid shim (bench/shims/uuid.ts).
 */
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core';
import {
  DeleteServerPasswordRequest,
  EcsClient,
  ParamCreater,
  ShowServerPasswordRequest,
} from '@huaweicloud/huaweicloud-sdk-ecs';
import type { BatchCase, BatchDriver } from './batch-driver.ts';

const BMS_PASSWORD_PATH = '/v1/{project_id}/baremetalservers/{server_id}/os-server-password';

interface SdkHttp {
  sendRequest(options: object): Promise<{ password?: unknown; httpStatusCode?: number }>;
}

export interface SdkPasswordApi {
  /** True when a non-empty ciphertext came back. */
  get(serverId: string): Promise<boolean>;
  /** The HTTP status of the DELETE. */
  clear(serverId: string): Promise<number | undefined>;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

export function createSdkPasswordApi(env: NodeJS.ProcessEnv = process.env): SdkPasswordApi {
  const credentials = new BasicCredentials()
    .withAk(required(env, 'HUAWEICLOUD_SDK_AK'))
    .withSk(required(env, 'HUAWEICLOUD_SDK_SK'))
    .withProjectId(required(env, 'HUAWEICLOUD_SDK_PROJECT_ID'));
  const client = EcsClient.newBuilder()
    .withCredential(credentials)
    .withEndpoint(required(env, 'HUAWEICLOUD_BMS_ENDPOINT'))
    .build();
  // EcsClient has no BMS methods; its HcClient (private in the typings) sends any request options.
  const http = (client as unknown as { hcClient: SdkHttp }).hcClient;
  const send = (options: object) =>
    http.sendRequest({ ...options, url: BMS_PASSWORD_PATH, responseHeaders: [''] });
  const params = ParamCreater();
  return {
    async get(serverId) {
      const response = await send(
        params.showServerPassword(new ShowServerPasswordRequest().withServerId(serverId)),
      );
      return typeof response.password === 'string' && response.password.length > 0;
    },
    async clear(serverId) {
      const response = await send(
        params.deleteServerPassword(new DeleteServerPasswordRequest().withServerId(serverId)),
      );
      return response.httpStatusCode;
    },
  };
}

/** Cold-start stand-in: a handler's first call through the SDK, a signed GET of the password. */
export async function handler(event: { serverId: string }): Promise<{ passwordReturned: boolean }> {
  return { passwordReturned: await createSdkPasswordApi().get(event.serverId) };
}

/** batch-cpu driver: GET then DELETE per server, `concurrency` servers at a time. */
export async function createDriver(batchCase: BatchCase): Promise<BatchDriver> {
  const api = createSdkPasswordApi();
  const pair = async (serverId: string): Promise<number> => {
    const found = await api.get(serverId);
    const status = await api.clear(serverId);
    return found && status !== undefined && status < 300 ? 1 : 0;
  };
  return {
    prepare: (serverIds) => async () => {
      let next = 0;
      let cleared = 0;
      const lane = async (): Promise<void> => {
        while (next < serverIds.length) {
          const done = await pair(serverIds[next++]!);
          cleared += done;
        }
      };
      await Promise.all(Array.from({ length: Math.min(batchCase.concurrency, serverIds.length) }, lane));
      return cleared;
    },
    close: async () => {},
  };
}
