/**
 * The Huawei half of `doctor`: credentials, clock skew, project, every `hook` IAM action of
 * lib/huawei/iam-actions.ts (each probed with a harmless call), the SMN topic and its confirmed
 * HTTPS subscription to the webhook, and the CTS key-event notification that routes BMS creation
 * to that topic. With `fix`, the last three are created when missing, idempotently.
 *
 * A 401 ends every further Huawei call at once: five bad signatures lock the AK/SK for five
 * minutes, so a bad SK costs exactly one call. A 403 is a missing permission, reported against
 * the action, and the remaining checks go on.
 */

import { DEFAULT_MAX_SKEW_MS } from '../huawei/auth-guard.ts';
import type { CtsNotification, CtsOperation } from '../huawei/cts-client.ts';
import { type HuaweiApiError, isHuaweiApiError } from '../huawei/errors.ts';
import type { HuaweiClients } from '../huawei/huawei-clients.ts';
import type { HuaweiConfig } from '../huawei/huawei-config.ts';
import { IAM_ACTIONS, type IamActionEntry } from '../huawei/iam-actions.ts';
import { type SmnSubscription, SUBSCRIPTION_STATUS } from '../huawei/smn-client.ts';
import { type CheckResult, fail, pass, skip } from './check-result.ts';

export const DEFAULT_TOPIC_NAME = 'bms-password-escrow';
export const NOTIFICATION_NAME = 'bms_password_escrow';
/** What the notification must cover: BMS creation (huaweiDocs/bms, 支持审计的关键操作列表, bms_01_0083). */
export const BMS_CREATE: CtsOperation = {
  service_type: 'BMS',
  resource_type: 'bms',
  trace_names: ['createBareMetalServers'],
};
/**
 * The gateway refuses signatures 15 minutes off; the hook signs on the corrected time, but
 * refuses to sign at all past DEFAULT_MAX_SKEW_MS (auth-guard.ts). Doctor fails from there.
 */
export const MAX_SKEW_MS = DEFAULT_MAX_SKEW_MS;
const GATEWAY_SKEW_LIMIT_MS = 15 * 60_000;
/** Ids that cannot exist: a probe on them must answer "not found", never 403. */
export const PROBE_SERVER_ID = '00000000-0000-0000-0000-000000000000';
export const PROBE_JOB_ID = '0000000000000000000000000000dead';

export interface HuaweiDoctorInput {
  config: HuaweiConfig;
  /** Undefined when the credentials could not even be read (the reason is in credentialsError). */
  clients: HuaweiClients | undefined;
  credentialsError?: unknown;
  /** Gateway time minus ours, from the `Date` header of the latest response (the auth guard's measure). */
  skewMs: () => number | undefined;
  webhookUrl: URL;
  topicUrn?: string | undefined;
  fix: boolean;
  signal?: AbortSignal | undefined;
  /** `--fix`: how long to wait for the webhook to confirm a new subscription, and how often to look. */
  confirmTimeoutMs: number;
  confirmPollMs: number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const CREDENTIAL_VARS =
  'HUAWEICLOUD_SDK_AK / HUAWEICLOUD_SDK_SK (or the secret named by HUAWEICLOUD_CREDENTIALS_SECRET_ID)';

class AuthStop extends Error {
  override name = 'AuthStop';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isDenied(error: unknown): error is HuaweiApiError {
  return isHuaweiApiError(error, 'auth') && error.status === 403;
}

function skewText(ms: number): string {
  if (Math.abs(ms) < 1000) return 'within a second of the gateway';
  const seconds = Math.round(Math.abs(ms) / 1000);
  return `${seconds} s ${ms > 0 ? 'behind' : 'ahead of'} the gateway`;
}

export async function runHuaweiChecks(input: HuaweiDoctorInput): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const { config, clients } = input;
  const remaining = (reason: string): CheckResult[] => [
    skip('clock', 'clock skew', reason),
    skip('project', 'project', reason),
    ...IAM_ACTIONS.filter((e) => e.purpose === 'hook').map((e) =>
      skip(`permission:${e.api}`, permissionTitle(e), reason),
    ),
    skip('smn-topic', 'SMN topic', reason),
    skip('smn-subscription', 'SMN subscription', reason),
    skip('cts-notification', 'CTS notification', reason),
  ];

  if (!clients) {
    results.push(
      fail(
        'credentials',
        'credentials',
        `cannot read the credentials: ${describe(input.credentialsError)}`,
        `set ${CREDENTIAL_VARS}`,
      ),
    );
    return [...results, ...remaining('not run: no credentials')];
  }

  // 1. One cheap signed call: IAM's project lookup (it also resolves the project and measures skew).
  let iamProjectId: string | undefined;
  let iamError: unknown;
  try {
    iamProjectId = await clients.iam.resolveProjectId(config.region, { signal: input.signal });
  } catch (error) {
    iamError = error;
  }
  const skewMs = input.skewMs();
  if (isHuaweiApiError(iamError, 'auth') && iamError.status === 401) {
    results.push(credentialFailure(iamError, skewMs));
    results.push(clockResult(skewMs));
    return [...results, ...remaining('not run: the credentials were refused (one call, no retry)').slice(1)];
  }
  if (iamError !== undefined && !isHuaweiApiError(iamError)) {
    results.push(
      fail(
        'credentials',
        'credentials',
        `cannot read the credentials: ${describe(iamError)}`,
        `set ${CREDENTIAL_VARS}`,
      ),
    );
    return [...results, ...remaining('not run: no credentials')];
  }
  if (iamError !== undefined && !isDenied(iamError) && !isHuaweiApiError(iamError, 'not-found')) {
    results.push(
      fail(
        'credentials',
        'credentials',
        `the IAM call failed: ${describe(iamError)}`,
        `check that ${config.endpoints.iam.origin} is reachable (HUAWEICLOUD_IAM_ENDPOINT overrides it) and try again`,
      ),
    );
    results.push(clockResult(skewMs));
    return [...results, ...remaining('not run: IAM did not answer').slice(1)];
  }
  results.push(pass('credentials', 'credentials', 'the AK/SK signs correctly (IAM accepted the signature)'));
  results.push(clockResult(skewMs));

  // 2. The project.
  const projectResult = projectCheck(config, iamProjectId, iamError);
  results.push(projectResult.result);
  const projectId = projectResult.projectId;
  if (projectId === undefined) return [...results, ...remaining('not run: no project id').slice(2)];

  const guard = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      if (isHuaweiApiError(error, 'auth') && error.status === 401) throw new AuthStop(describe(error));
      throw error;
    }
  };

  try {
    // 3. Every hook action, probed.
    for (const entry of IAM_ACTIONS.filter((e) => e.purpose === 'hook')) {
      results.push(await probe(entry, clients, projectId, config, iamError, guard, input.signal));
    }
    // 4. SMN topic, subscription, CTS notification.
    results.push(...(await eventChecks(input, clients, projectId, guard)));
  } catch (error) {
    if (!(error instanceof AuthStop)) throw error;
    const done = new Set(results.map((r) => r.id));
    results.push(
      fail(
        'credentials-later',
        'credentials',
        `a later call was refused with 401: ${error.message}`,
        `stopped at once so the AK/SK is not locked; check ${CREDENTIAL_VARS} and the clock`,
      ),
    );
    results.push(...remaining('not run: a call was refused with 401').filter((r) => !done.has(r.id)));
  }
  return results;
}

function credentialFailure(error: HuaweiApiError, skewMs: number | undefined): CheckResult {
  const text = error.message;
  if (skewMs !== undefined && Math.abs(skewMs) > GATEWAY_SKEW_LIMIT_MS) {
    return fail(
      'credentials',
      'credentials',
      `refused (HTTP 401): this host's clock is ${skewText(skewMs)}, past the gateway's 15-minute limit`,
      "synchronise this host's clock (NTP); the AK/SK themselves may be fine",
    );
  }
  if (/ak not exist/i.test(text)) {
    return fail(
      'credentials',
      'credentials',
      'refused (HTTP 401): the access key does not exist',
      'set HUAWEICLOUD_SDK_AK to an existing access key of the IAM user (My Credentials → Access Keys)',
    );
  }
  if (/locked/i.test(text)) {
    return fail(
      'credentials',
      'credentials',
      'refused (HTTP 401): the AK/SK is locked after repeated bad signatures',
      'wait five minutes without calling, fix the secret key, then run doctor again',
    );
  }
  if (/token/i.test(text)) {
    return fail(
      'credentials',
      'credentials',
      `refused (HTTP 401): the security token was rejected (${text})`,
      'refresh the temporary credentials (HUAWEICLOUD_SDK_SECURITY_TOKEN and its AK/SK) or use a permanent AK/SK',
    );
  }
  return fail(
    'credentials',
    'credentials',
    'refused (HTTP 401): the signature does not verify, so the secret key does not belong to the access key',
    `re-copy the secret key into ${CREDENTIAL_VARS}; doctor stopped after this one call so the key is not locked`,
  );
}

function clockResult(skewMs: number | undefined): CheckResult {
  if (skewMs === undefined)
    return skip('clock', 'clock skew', 'not measured: the gateway sent no Date header');
  if (Math.abs(skewMs) <= MAX_SKEW_MS)
    return pass('clock', 'clock skew', `${skewText(skewMs)} (limit 15 min)`);
  return fail(
    'clock',
    'clock skew',
    `this host's clock is ${skewText(skewMs)}; the gateway refuses signatures more than 15 minutes off`,
    "synchronise this host's clock with NTP (e.g. chronyc makestep, or timedatectl set-ntp true)",
  );
}

function projectCheck(
  config: HuaweiConfig,
  iamProjectId: string | undefined,
  iamError: unknown,
): { result: CheckResult; projectId: string | undefined } {
  const title = 'project';
  if (config.projectId !== undefined) {
    if (iamProjectId !== undefined && iamProjectId !== config.projectId) {
      return {
        result: fail(
          'project',
          title,
          `HUAWEICLOUD_SDK_PROJECT_ID is ${config.projectId} but IAM says the project of ${config.region} is ${iamProjectId}`,
          `set HUAWEICLOUD_SDK_PROJECT_ID=${iamProjectId}, or leave it unset to look it up`,
        ),
        projectId: undefined,
      };
    }
    const how =
      iamProjectId !== undefined ? 'matches IAM' : 'IAM lookup not permitted, not needed while it is set';
    return {
      result: pass('project', title, `${config.projectId} (configured; ${how})`),
      projectId: config.projectId,
    };
  }
  if (iamProjectId !== undefined)
    return {
      result: pass('project', title, `${iamProjectId} (looked up in IAM for ${config.region})`),
      projectId: iamProjectId,
    };
  if (isDenied(iamError)) {
    return {
      result: fail(
        'project',
        title,
        'HUAWEICLOUD_SDK_PROJECT_ID is unset and the IAM lookup was refused (HTTP 403)',
        'grant iam:projects:list to the AK/SK, or set HUAWEICLOUD_SDK_PROJECT_ID (and the huaweiProjectId stack parameter)',
      ),
      projectId: undefined,
    };
  }
  return {
    result: fail(
      'project',
      title,
      `IAM knows no project named ${config.region}`,
      'check HUAWEICLOUD_SDK_REGION, or set HUAWEICLOUD_SDK_PROJECT_ID',
    ),
    projectId: undefined,
  };
}

export function permissionTitle(entry: IamActionEntry): string {
  return entry.action ?? `${entry.api} (no action documented)`;
}

async function probe(
  entry: IamActionEntry,
  clients: HuaweiClients,
  projectId: string,
  config: HuaweiConfig,
  iamError: unknown,
  guard: <T>(call: () => Promise<T>) => Promise<T>,
  signal: AbortSignal | undefined,
): Promise<CheckResult> {
  const id = `permission:${entry.api}`;
  const title = permissionTitle(entry);
  const call = `${entry.method} ${entry.path}`;
  const grant = entry.action
    ? `add ${entry.action} to the AK/SK's IAM policy (the README's policy has every hook action)`
    : `the gateway refused ${call}; find the action your account requires for it and grant it`;
  const denied = (): CheckResult => fail(id, title, `refused (HTTP 403) for ${call}`, grant);

  if (entry.api === 'iam.projects') {
    // Probed by the first call already.
    if (isDenied(iamError)) {
      return config.projectId !== undefined
        ? pass(id, title, 'refused, but not needed while HUAWEICLOUD_SDK_PROJECT_ID is set')
        : denied();
    }
    return pass(id, title, `granted (${call} answered)`);
  }
  const attempt = async (): Promise<void> => {
    switch (entry.api) {
      case 'server.get':
        await clients.bms.showServer(projectId, PROBE_SERVER_ID, { signal });
        return;
      case 'password.get':
        await clients.bms.getPassword(projectId, PROBE_SERVER_ID, { signal });
        return;
      case 'password.delete':
        await clients.bms.deletePassword(projectId, PROBE_SERVER_ID, { signal });
        return;
      case 'server.list':
        for await (const _ of clients.bms.listServers(projectId, { limit: 1 }, { signal })) return;
        return;
      case 'job.get':
        await clients.bms.showJob(projectId, PROBE_JOB_ID, { signal });
        return;
      default:
        throw new Error(`no probe for ${entry.api}`);
    }
  };
  try {
    await guard(attempt);
    return pass(id, title, `granted (${call} answered)`);
  } catch (error) {
    if (error instanceof AuthStop) throw error;
    if (isDenied(error)) return denied();
    if (isHuaweiApiError(error, 'not-found'))
      return pass(id, title, `granted (${call} on an id that cannot exist answered "not found")`);
    return fail(
      id,
      title,
      `the probe ${call} failed: ${describe(error)}`,
      'run doctor again; if it persists, check the endpoint',
    );
  }
}

function webhookMatches(sub: SmnSubscription, webhookUrl: URL): boolean {
  try {
    return new URL(sub.endpoint).href === webhookUrl.href;
  } catch {
    return false;
  }
}

function covers(n: CtsNotification, topicUrn: string): boolean {
  if (n.status !== undefined && n.status !== 'enabled') return false;
  if (n.topic_id !== topicUrn) return false;
  if (n.operation_type === 'complete') return true;
  return (n.operations ?? []).some(
    (op) =>
      op.service_type === BMS_CREATE.service_type &&
      op.resource_type === BMS_CREATE.resource_type &&
      BMS_CREATE.trace_names.every((name) => op.trace_names?.includes(name)),
  );
}

async function eventChecks(
  input: HuaweiDoctorInput,
  clients: HuaweiClients,
  projectId: string,
  guard: <T>(call: () => Promise<T>) => Promise<T>,
): Promise<CheckResult[]> {
  const { signal, fix } = input;
  const results: CheckResult[] = [];
  const wanted = input.topicUrn ?? `urn:smn:${input.config.region}:${projectId}:${DEFAULT_TOPIC_NAME}`;
  const topicName = wanted.split(':').at(-1) ?? DEFAULT_TOPIC_NAME;
  const later = (reason: string) => [
    skip('smn-subscription', 'SMN subscription', reason),
    skip('cts-notification', 'CTS notification', reason),
  ];
  const setupGrant = (action: string) =>
    `grant ${action} to whoever runs doctor (the README's IAM policies), or create it in the console`;

  // Topic.
  const urnProject = wanted.split(':')[3];
  if (urnProject !== projectId) {
    results.push(
      fail(
        'smn-topic',
        'SMN topic',
        `--topic-urn names project ${urnProject}, but the hook's project is ${projectId}`,
        "pass a topic of the hook's own project (CTS notifies topics of the same project)",
      ),
    );
    return [...results, ...later('not run: topic of another project')];
  }
  let topicUrn: string | undefined;
  try {
    const topics = await guard(() => clients.smn.listTopics(projectId, signal));
    topicUrn = topics.find((t) => t.topic_urn === wanted)?.topic_urn;
    if (topicUrn) {
      results.push(pass('smn-topic', 'SMN topic', topicUrn));
    } else if (fix) {
      topicUrn = await guard(() => clients.smn.createTopic(projectId, topicName, signal));
      results.push(pass('smn-topic', 'SMN topic', `${topicUrn} created`, true));
    } else {
      results.push(
        fail(
          'smn-topic',
          'SMN topic',
          `no topic ${wanted}`,
          `run doctor --fix to create it (SMN topic "${topicName}")`,
        ),
      );
      return [...results, ...later('not run: no topic')];
    }
  } catch (error) {
    if (error instanceof AuthStop) throw error;
    const action = isDenied(error)
      ? fix
        ? 'smn:topic:list and smn:topic:create'
        : 'smn:topic:list'
      : undefined;
    results.push(
      fail(
        'smn-topic',
        'SMN topic',
        isDenied(error) ? `refused (HTTP 403): ${describe(error)}` : `failed: ${describe(error)}`,
        action
          ? setupGrant(action)
          : `check that ${input.config.endpoints.smn.origin} is reachable (HUAWEICLOUD_SMN_ENDPOINT)`,
      ),
    );
    return [...results, ...later('not run: topic unknown')];
  }

  // Subscription of the webhook, confirmed.
  results.push(await subscriptionCheck(input, clients, projectId, topicUrn, guard, setupGrant));

  // CTS key-event notification routing BMS creation to the topic.
  try {
    const notifications = await guard(() => clients.cts.listNotifications(projectId, signal));
    const covering = notifications.find((n) => covers(n, topicUrn));
    if (covering) {
      results.push(
        pass(
          'cts-notification',
          'CTS notification',
          `"${covering.notification_name}" sends createBareMetalServers to the topic`,
        ),
      );
    } else if (fix) {
      const spec = { name: NOTIFICATION_NAME, topicUrn, operations: [BMS_CREATE] };
      const ours = notifications.find((n) => n.notification_name === NOTIFICATION_NAME);
      if (ours?.notification_id)
        await guard(() =>
          clients.cts.updateNotification(projectId, ours.notification_id as string, spec, signal),
        );
      else await guard(() => clients.cts.createNotification(projectId, spec, signal));
      results.push(
        pass(
          'cts-notification',
          'CTS notification',
          `"${NOTIFICATION_NAME}" ${ours ? 'updated' : 'created'}: BMS createBareMetalServers → topic`,
          true,
        ),
      );
    } else {
      results.push(
        fail(
          'cts-notification',
          'CTS notification',
          `no enabled key-event notification sends BMS createBareMetalServers (resource type bms) to ${topicUrn}`,
          `run doctor --fix to create "${NOTIFICATION_NAME}", or add the operation in CTS → Key Event Notifications`,
        ),
      );
    }
  } catch (error) {
    if (error instanceof AuthStop) throw error;
    results.push(
      fail(
        'cts-notification',
        'CTS notification',
        isDenied(error) ? `refused (HTTP 403): ${describe(error)}` : `failed: ${describe(error)}`,
        isDenied(error)
          ? setupGrant(
              fix
                ? 'cts:notification:list, cts:notification:create and cts:notification:update'
                : 'cts:notification:list',
            )
          : `check that ${input.config.endpoints.cts.origin} is reachable (HUAWEICLOUD_CTS_ENDPOINT)`,
      ),
    );
  }
  return results;
}

async function subscriptionCheck(
  input: HuaweiDoctorInput,
  clients: HuaweiClients,
  projectId: string,
  topicUrn: string,
  guard: <T>(call: () => Promise<T>) => Promise<T>,
  setupGrant: (action: string) => string,
): Promise<CheckResult> {
  const { signal, fix, webhookUrl } = input;
  const id = 'smn-subscription';
  const title = 'SMN subscription';
  const find = async (): Promise<SmnSubscription | undefined> =>
    (await guard(() => clients.smn.listSubscriptions(projectId, topicUrn, signal))).find((s) =>
      webhookMatches(s, webhookUrl),
    );
  const unconfirmedFix =
    'SMN sent a SubscriptionConfirmation to the webhook, which confirms it itself when the topic is on SMN_TOPIC_URN_ALLOWLIST and the subscribe_url host on SMN_SUBSCRIBE_HOST_ALLOWLIST; check the webhook logs, then run doctor --fix to send a fresh confirmation';
  try {
    let sub = await find();
    if (sub?.status === SUBSCRIPTION_STATUS.confirmed) return pass(id, title, `${webhookUrl.href} confirmed`);
    if (!fix) {
      return sub
        ? fail(id, title, `${webhookUrl.href} is subscribed but not confirmed`, unconfirmedFix)
        : fail(
            id,
            title,
            `no subscription of ${webhookUrl.href} to the topic`,
            'run doctor --fix to subscribe the webhook',
          );
    }
    await guard(() => clients.smn.subscribe(projectId, topicUrn, webhookUrl, signal));
    const deadline = Date.now() + input.confirmTimeoutMs;
    for (;;) {
      sub = await find();
      if (sub?.status === SUBSCRIPTION_STATUS.confirmed)
        return pass(id, title, `${webhookUrl.href} subscribed and confirmed by the webhook`, true);
      if (Date.now() >= deadline) break;
      await input.sleep(input.confirmPollMs, signal);
    }
    return fail(
      id,
      title,
      `${webhookUrl.href} subscribed, but the webhook did not confirm within ${Math.round(input.confirmTimeoutMs / 1000)} s`,
      unconfirmedFix,
    );
  } catch (error) {
    if (error instanceof AuthStop) throw error;
    return fail(
      id,
      title,
      isDenied(error) ? `refused (HTTP 403): ${describe(error)}` : `failed: ${describe(error)}`,
      isDenied(error)
        ? setupGrant(
            fix
              ? 'smn:topic:listSubscriptionsByTopic and smn:topic:subscribe'
              : 'smn:topic:listSubscriptionsByTopic',
          )
        : `check that ${input.config.endpoints.smn.origin} is reachable (HUAWEICLOUD_SMN_ENDPOINT)`,
    );
  }
}
