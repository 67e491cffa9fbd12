/**
 * The one table mapping every Huawei API this project calls to the IAM action that grants it.
 * The README's IAM policies are tested against it (test/unit/huawei/iam-actions.test.ts), the
 * emulator denies by it, and `doctor` probes every `hook` action with a harmless call.
 *
 * `purpose`: `hook` actions are what the deployed hook's AK/SK needs; `check` actions are the
 * read-only SMN and CTS calls `doctor` makes to see the topic, the subscription and the CTS
 * notification (grant them to the hook's user too, so doctor can run with its credentials);
 * `fix` actions are the writes of `doctor --fix`, for whoever sets the account up.
 *
 * `source` cites where the action name comes from; `confidence` is [C] confirmed in Huawei's
 * API reference, [I] inferred (the name Huawei's identity-policy reference or Huawei-targeted
 * policies use, not the role/policy table). `action: undefined` means Huawei documents none:
 * such an API is left out of the policy, and `doctor`'s probe is what tells whether it is gated.
 */
import type { ApiName } from './api-names.ts';

export type IamPurpose = 'hook' | 'check' | 'fix';

export interface IamActionEntry {
  api: ApiName;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The documented URI template. */
  path: string;
  action: string | undefined;
  purpose: IamPurpose;
  /** When the hook makes this call at all. */
  when: string;
  confidence: 'C' | 'I' | 'U';
  source: string;
}

export const IAM_ACTIONS: readonly IamActionEntry[] = [
  {
    api: 'server.get',
    method: 'GET',
    path: '/v1/{project_id}/baremetalservers/{server_id}',
    action: 'bms:servers:get',
    purpose: 'hook',
    when: 'always (the state machine reads the server before its password)',
    confidence: 'C',
    source: 'https://support.huaweicloud.com/intl/en-us/api-bms/bms_api_0903.html',
  },
  {
    api: 'server.list',
    method: 'GET',
    path: '/v1/{project_id}/baremetalservers/detail',
    action: 'bms:servers:list',
    purpose: 'hook',
    when: 'the sweep',
    confidence: 'C',
    source: 'https://support.huaweicloud.com/intl/en-us/api-bms/bms_api_0903.html',
  },
  {
    api: 'password.get',
    method: 'GET',
    path: '/v1/{project_id}/baremetalservers/{server_id}/os-server-password',
    action: 'bms:servers:get',
    purpose: 'hook',
    when: 'always',
    confidence: 'C',
    source: 'https://support.huaweicloud.com/intl/en-us/api-bms/bms_api_0910.html',
  },
  {
    api: 'password.delete',
    method: 'DELETE',
    path: '/v1/{project_id}/baremetalservers/{server_id}/os-server-password',
    action: 'bms:servers:deletePassword',
    purpose: 'hook',
    when: 'always (the clear)',
    confidence: 'C',
    source: 'https://support.huaweicloud.com/intl/en-us/api-bms/bms_api_0910.html',
  },
  {
    api: 'job.get',
    method: 'GET',
    path: '/v1/{project_id}/jobs/{job_id}',
    // The BMS permission tables (bms_api_0900: lifecycle, status, …, password management) list
    // no action for the jobs API; doctor's probe tells whether a deployment gates it.
    action: undefined,
    purpose: 'hook',
    when: 'direct intake with job_id',
    confidence: 'U',
    source: 'https://support.huaweicloud.com/intl/en-us/api-bms/bms_api_0640.html (no action listed)',
  },
  {
    api: 'iam.projects',
    method: 'GET',
    path: '/v3/projects',
    action: 'iam:projects:list',
    purpose: 'hook',
    when: 'HUAWEICLOUD_SDK_PROJECT_ID unset (the default deployment: empty huaweiProjectId)',
    confidence: 'I',
    source:
      'https://support.huaweicloud.com/intl/en-us/api-iam/iam_06_0001.html ("IAM users must obtain the required permissions"); action name as used in Huawei-targeted custom policies',
  },
  {
    api: 'smn.topics.list',
    method: 'GET',
    path: '/v2/{project_id}/notifications/topics',
    action: 'smn:topic:list',
    purpose: 'check',
    when: 'doctor',
    confidence: 'C',
    source: 'https://support.huaweicloud.com/intl/en-us/api-smn/smn_api_80002.html',
  },
  {
    api: 'smn.topics.create',
    method: 'POST',
    path: '/v2/{project_id}/notifications/topics',
    action: 'smn:topic:create',
    purpose: 'fix',
    when: 'doctor --fix',
    confidence: 'C',
    source: 'https://support.huaweicloud.com/intl/en-us/api-smn/smn_api_80002.html',
  },
  {
    api: 'smn.subscriptions.list',
    method: 'GET',
    path: '/v2/{project_id}/notifications/topics/{topic_urn}/subscriptions',
    action: 'smn:topic:listSubscriptionsByTopic',
    purpose: 'check',
    when: 'doctor',
    confidence: 'C',
    source: 'https://support.huaweicloud.com/intl/en-us/api-smn/ListSubscriptionsByTopic.html',
  },
  {
    api: 'smn.subscriptions.create',
    method: 'POST',
    path: '/v2/{project_id}/notifications/topics/{topic_urn}/subscriptions',
    action: 'smn:topic:subscribe',
    purpose: 'fix',
    when: 'doctor --fix',
    confidence: 'I',
    source:
      'https://support.huaweicloud.com/intl/en-us/api-smn/AddSubscription.html (identity-policy naming)',
  },
  {
    api: 'cts.notifications.list',
    method: 'GET',
    path: '/v3/{project_id}/notifications/{notification_type}',
    action: 'cts:notification:list',
    purpose: 'check',
    when: 'doctor',
    confidence: 'I',
    source:
      'https://support.huaweicloud.com/intl/en-us/api-cts/cts_api_0312.html (cts:notification:* family)',
  },
  {
    api: 'cts.notifications.create',
    method: 'POST',
    path: '/v3/{project_id}/notifications',
    action: 'cts:notification:create',
    purpose: 'fix',
    when: 'doctor --fix',
    confidence: 'C',
    source: 'https://support.huaweicloud.com/intl/en-us/api-cts/cts_api_0312.html',
  },
  {
    api: 'cts.notifications.update',
    method: 'PUT',
    path: '/v3/{project_id}/notifications',
    action: 'cts:notification:update',
    purpose: 'fix',
    when: 'doctor --fix (an existing notification of ours that misses BMS creation)',
    confidence: 'I',
    source:
      'https://support.huaweicloud.com/intl/en-us/api-cts/cts_api_0312.html (cts:notification:* family)',
  },
];

/** The IAM action guarding `api`, if Huawei documents one. */
export function iamActionFor(api: ApiName): string | undefined {
  return IAM_ACTIONS.find((entry) => entry.api === api)?.action;
}

/** The distinct actions of these purposes, sorted: what a custom policy statement must allow. */
export function actionsFor(purposes: readonly IamPurpose[]): string[] {
  const actions = IAM_ACTIONS.filter((e) => purposes.includes(e.purpose) && e.action !== undefined).map(
    (e) => e.action as string,
  );
  return [...new Set(actions)].sort();
}

/** A Huawei IAM custom policy (version 1.1) allowing exactly the actions of `purposes`. */
export function iamPolicyFor(purposes: readonly IamPurpose[]): {
  Version: '1.1';
  Statement: Array<{ Effect: 'Allow'; Action: string[] }>;
} {
  return { Version: '1.1', Statement: [{ Effect: 'Allow', Action: actionsFor(purposes) }] };
}
