/**
 * Service endpoints: the public ones derived from the region, or explicit overrides (the
 * emulator, a VPC endpoint, a sovereign cloud). Resolved once at start-up.
 */
import { ConfigError, type Env, readUrl, requireString } from '../config/env-parsers.ts';

export type HuaweiService = 'bms' | 'iam' | 'smn' | 'cts';

export interface HuaweiEndpoints {
  readonly bms: URL;
  readonly iam: URL;
  /** SMN and CTS: only `doctor` calls them (topic, subscription, key-event notification). */
  readonly smn: URL;
  readonly cts: URL;
}

export const ENV_REGION = 'HUAWEICLOUD_SDK_REGION';
export const ENV_BMS_ENDPOINT = 'HUAWEICLOUD_BMS_ENDPOINT';
export const ENV_IAM_ENDPOINT = 'HUAWEICLOUD_IAM_ENDPOINT';
export const ENV_SMN_ENDPOINT = 'HUAWEICLOUD_SMN_ENDPOINT';
export const ENV_CTS_ENDPOINT = 'HUAWEICLOUD_CTS_ENDPOINT';

/** Region ids look like cn-north-4, ap-southeast-1, my-kualalumpur-1, eu-west-101. */
const REGION_PATTERN = /^[a-z]{2}(?:-[a-z0-9]+)+-\d+$/;

export function isValidRegion(region: string): boolean {
  return REGION_PATTERN.test(region);
}

export function readRegion(env: Env): string {
  const region = requireString(
    env,
    ENV_REGION,
    'set it to your region id, e.g. cn-north-4, or run against the emulator: bms-password-escrow emulator --json',
  );
  if (!isValidRegion(region)) {
    throw new ConfigError(
      ENV_REGION,
      `must be a region id such as cn-north-4 or ap-southeast-1, got "${region}"`,
    );
  }
  return region;
}

export function defaultEndpoint(service: HuaweiService, region: string): URL {
  if (!isValidRegion(region)) throw new RangeError(`not a region id: "${region}"`);
  return new URL(`https://${service}.${region}.myhuaweicloud.com`);
}

/** Overrides must be a bare origin: the clients build the paths, and a path prefix would be signed wrongly. */
function readOrigin(env: Env, name: string): URL | undefined {
  const url = readUrl(env, name);
  if (url === undefined) return undefined;
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw new ConfigError(
      name,
      `must be an origin without a path, such as http://127.0.0.1:8080, got "${url.href}"`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(name, 'must not carry credentials in the URL');
  }
  return new URL(url.origin);
}

export function resolveEndpoints(env: Env, region: string): HuaweiEndpoints {
  return {
    bms: readOrigin(env, ENV_BMS_ENDPOINT) ?? defaultEndpoint('bms', region),
    iam: readOrigin(env, ENV_IAM_ENDPOINT) ?? defaultEndpoint('iam', region),
    smn: readOrigin(env, ENV_SMN_ENDPOINT) ?? defaultEndpoint('smn', region),
    cts: readOrigin(env, ENV_CTS_ENDPOINT) ?? defaultEndpoint('cts', region),
  };
}
