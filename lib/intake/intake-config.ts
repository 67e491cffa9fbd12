/**
 * Intake configuration, parsed once at load. Allow-lists default to Huawei's own hosts;
 * plain http and loopback hosts are accepted only when listed explicitly (the emulator).
 */
import { ConfigError, type Env, readInteger, readList, readString } from '../config/env-parsers.ts';
import { ENV_REGION } from '../huawei/endpoints.ts';
import { ENV_PROJECT_ID } from '../huawei/huawei-config.ts';
import { isValidId } from './ids.ts';
import { ENV_ALLOWED_PROJECTS, parseTopicTrust, type TopicTrust } from './smn/topic-trust.ts';
import { type HostPattern, parseHostPattern } from './smn/url-allowlist.ts';

export interface SweepTarget {
  region: string;
  projectId: string;
}

export interface IntakeConfig {
  /** Bodies larger than this are refused before parsing. */
  maxBodyBytes: number;
  certHostAllowlist: HostPattern[];
  subscribeHostAllowlist: HostPattern[];
  /** Messages older (or further in the future) than this are refused. */
  maxMessageAgeSeconds: number;
  /** SMN topics trusted by the webhook; unset trusts none (fail closed), `*` any. */
  topicTrust: TopicTrust;
  /** Projects a trace may name besides its topic's own (ESCROW_ALLOWED_PROJECT_IDS). */
  allowedProjectIds: string[];
  /** CTS trace names that announce a new (or newly installed) server. */
  traceNames: string[];
  serviceTypes: string[];
  certFetchTimeoutMs: number;
  certMaxBytes: number;
  /** Largest server_ids array a direct-intake request may carry. */
  directMaxServerIds: number;
  /** Notification id + server id pairs remembered per warm instance. */
  dedupeCacheSize: number;
  sweepTargets: SweepTarget[];
  /** Region and project used when an event does not name them (FunctionGraph CTS trigger). */
  defaultRegion: string | undefined;
  defaultProjectId: string | undefined;
}

/**
 * Where SMN's signing certificates live. Each entry, with the source that shows it:
 *  - smn.{region}.myhuaweicloud.com: a live sa-brazil-1 message
 *    (huaweicloud-latam.github.io/knowledge-base, cloudeye-dataminer-alarm-integration:
 *    https://smn.sa-brazil-1.myhuaweicloud.com/smn/SMN_sa-brazil-1_{32 hex}.pem) and the
 *    RGC API reference's SMN example (support.huaweicloud.com/intl/en-us/api-rgc/AcceptSmnMessage.html:
 *    https://smn.cn-north-9.myhuaweicloud.com/smn/SMN_cn-north-9_{32 hex}.pem);
 *  - smn.{region}.myhuaweicloud.eu: inferred [I] for the EU sovereign region, whose endpoints
 *    are *.eu-west-101.myhuaweicloud.eu (SDK IamRegion.ts); no message seen yet.
 */
export const DEFAULT_CERT_HOSTS = ['smn.*.myhuaweicloud.com', 'smn.*.myhuaweicloud.eu'];
/**
 * Where subscribe_url / unsubscribe_url may point:
 *  - {region}-console.huaweicloud.com: the live sa-brazil-1 message above
 *    (https://sa-brazil-1-console.huaweicloud.com/smn/subscription/confirm?…&region=…&region_id=…);
 *  - console.huaweicloud.com: the RGC API reference's example above
 *    (https://console.huaweicloud.com/smn/subscription/unsubscribe?region=cn-north-9&region_id=cn-north-9&…);
 *  - console.{x}.huaweicloud.com: the SMN user guide's samples (usermanual-smn smn_ug_a9002,
 *    "HTTP(S)消息格式") mask the host as console.******.com; this is the shape kept from the
 *    first edition [I], as are console-intl.huaweicloud.com (the international console) and
 *    the console.*.myhuaweicloud.com / .eu forms;
 *  - smn.{region}.myhuaweicloud.com / .eu: the SMN API's own confirm endpoint
 *    (api-smn ConfirmSubscription.html: GET {SMN endpoint}/rest/v2/notifications/subscription/confirm).
 */
export const DEFAULT_SUBSCRIBE_HOSTS = [
  '*-console.huaweicloud.com',
  'console.huaweicloud.com',
  'console-intl.huaweicloud.com',
  'console.*.huaweicloud.com',
  'console.*.myhuaweicloud.com',
  'console.*.myhuaweicloud.eu',
  'smn.*.myhuaweicloud.com',
  'smn.*.myhuaweicloud.eu',
];
/**
 * BMS trace names are not documented (CTS trace structure:
 * https://support.huaweicloud.com/intl/en-us/usermanual-cts/cts_03_0010.html): these are the likely
 * creation, reinstall and change-OS names. Override with CTS_TRACE_NAMES once confirmed.
 */
export const DEFAULT_TRACE_NAMES = [
  'createBareMetalServers',
  'createBareMetalServer',
  'createServer',
  'createServers',
  'batchCreateBareMetalServers',
  'reinstallOs',
  'reinstallOS',
  'reinstallServerOs',
  'changeOs',
  'changeOS',
  'changeServerOs',
  'rebuildServer',
];

function readHostPatterns(env: Env, name: string, fallback: readonly string[]): HostPattern[] {
  return readList(env, name, fallback).map((entry) => {
    try {
      return parseHostPattern(entry);
    } catch (cause) {
      throw new ConfigError(
        name,
        `must be comma-separated host patterns such as smn.*.myhuaweicloud.com or http://127.0.0.1:8080; ${(cause as Error).message}`,
        { cause },
      );
    }
  });
}

function readSweepTargets(env: Env, region?: string, projectId?: string): SweepTarget[] {
  const entries = readList(env, 'SWEEP_TARGETS');
  const targets = entries.map((entry) => {
    const [r, p, extra] = entry.split(':');
    if (extra !== undefined || !isValidId('region', r) || !isValidId('project id', p))
      throw new ConfigError(
        'SWEEP_TARGETS',
        `must be comma-separated region:projectId pairs (e.g. cn-north-4:0123456789abcdef0123456789abcdef), got an entry that is not`,
      );
    return { region: r, projectId: p };
  });
  if (targets.length === 0 && region !== undefined && projectId !== undefined)
    targets.push({ region, projectId });
  return targets;
}

export function parseIntakeConfig(env: Env): IntakeConfig {
  // The same variables the Huawei client reads; optional here because SMN events name their own.
  const defaultRegion = readString(env, ENV_REGION);
  const defaultProjectId = readString(env, ENV_PROJECT_ID);
  if (defaultRegion !== undefined && !isValidId('region', defaultRegion))
    throw new ConfigError(ENV_REGION, 'must be a region id such as cn-north-4');
  if (defaultProjectId !== undefined && !isValidId('project id', defaultProjectId))
    throw new ConfigError(ENV_PROJECT_ID, 'must be an IAM project id (letters and digits, e.g. 32 hex)');
  return {
    maxBodyBytes: readInteger(env, 'SMN_MAX_BODY_BYTES', 256 * 1024, { min: 1024, max: 6 * 1024 * 1024 }),
    certHostAllowlist: readHostPatterns(env, 'SMN_CERT_HOST_ALLOWLIST', DEFAULT_CERT_HOSTS),
    subscribeHostAllowlist: readHostPatterns(env, 'SMN_SUBSCRIBE_HOST_ALLOWLIST', DEFAULT_SUBSCRIBE_HOSTS),
    maxMessageAgeSeconds: readInteger(env, 'SMN_MAX_MESSAGE_AGE_SECONDS', 900, { min: 1, max: 7 * 86400 }),
    topicTrust: parseTopicTrust(env),
    allowedProjectIds: readList(env, ENV_ALLOWED_PROJECTS),
    traceNames: readList(env, 'CTS_TRACE_NAMES', DEFAULT_TRACE_NAMES),
    serviceTypes: readList(env, 'CTS_SERVICE_TYPES', ['BMS']),
    certFetchTimeoutMs: readInteger(env, 'SMN_CERT_FETCH_TIMEOUT_MS', 3000, { min: 100, max: 30_000 }),
    certMaxBytes: readInteger(env, 'SMN_CERT_MAX_BYTES', 64 * 1024, { min: 1024, max: 1024 * 1024 }),
    directMaxServerIds: readInteger(env, 'DIRECT_INTAKE_MAX_SERVER_IDS', 1000, { min: 1, max: 10_000 }),
    dedupeCacheSize: readInteger(env, 'INTAKE_DEDUPE_CACHE_SIZE', 10_000, { min: 0, max: 1_000_000 }),
    sweepTargets: readSweepTargets(env, defaultRegion, defaultProjectId),
    defaultRegion,
    defaultProjectId,
  };
}
