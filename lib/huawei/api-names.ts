/**
 * The Huawei API names used for rate limiting, metrics and error messages, with the
 * documented per-minute limits (BMS API overview; IAM, SMN and CTS publish no BMS-style limit).
 * The emulator enforces exactly these limits and the client's token buckets use them too.
 */
export const API_LIMITS_PER_MINUTE = {
  'password.get': 50,
  'password.delete': 50,
  'server.get': 1000,
  'server.list': 500,
  'server.create': 50,
  'server.reinstall': 50,
  'job.get': 2000,
  'iam.projects': 1000,
  // SMN and CTS management calls are made only by `doctor` (a handful per run); their limits
  // are not published, so these are deliberately modest.
  'smn.topics.list': 100,
  'smn.topics.create': 20,
  'smn.subscriptions.list': 100,
  'smn.subscriptions.create': 20,
  'cts.notifications.list': 100,
  'cts.notifications.create': 20,
  'cts.notifications.update': 20,
} as const;

export type ApiName = keyof typeof API_LIMITS_PER_MINUTE;

export const API_NAMES = Object.keys(API_LIMITS_PER_MINUTE) as ApiName[];

export function isApiName(value: string): value is ApiName {
  return Object.hasOwn(API_LIMITS_PER_MINUTE, value);
}
