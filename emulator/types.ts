/** The emulator's public types: options, behaviour switches and the admin surface. */

import type { Clock } from '../lib/clock.ts';
import type { ApiName } from '../lib/huawei/api-names.ts';
import type { Logger } from '../lib/observability/logger.ts';
import type { PostedNotificationRecord } from './posted-notifier.ts';

export type { PostedNotificationRecord } from './posted-notifier.ts';

export interface EmulatorKeyPair {
  name: string;
  publicKeyPem: string;
  privateKeyPem: string;
}

/** Injected failures. Rates are probabilities in [0, 1] drawn from the seeded fault stream. */
export interface FaultSettings {
  /** Share of requests answered 500/502/503 before they reach the handler. */
  errorRate: number;
  /** Share of requests answered with a spurious 429 APIGW.0308. */
  throttleRate: number;
  /** Share of requests whose socket is destroyed without a response. */
  resetRate: number;
  /** Added latency per request, in emulated milliseconds. */
  latencyMs: number;
  /** Only these APIs are affected; empty or missing means every API. */
  apis?: ApiName[];
}

export type DistributionKind = 'fixed' | 'realistic';

/** Behaviours the reference marks unconfirmed ([U]) plus test knobs. */
export interface EmulatorSwitches {
  /** How GET os-server-password renders "no record": `""`, `null` or the field left out. */
  emptyPassword: 'empty-string' | 'null' | 'missing';
  deletePasswordStatus: 200 | 202 | 204;
  /** Unknown server: 404 (default) or the documented 400, both with BMS.0040. */
  notFoundStatus: 404 | 400;
  retryAfterHeader: boolean;
  rateLimitsEnabled: boolean;
  /** Per-API overrides of API_LIMITS_PER_MINUTE. */
  rateLimits: Partial<Record<ApiName, number>>;
  /** Allowed |X-Sdk-Date - the gateway's time|. */
  clockSkewSeconds: number;
  /**
   * The gateway's clock minus real wall time, in seconds: its `Date` header and its X-Sdk-Date
   * check use wall time plus this, as when the hook's machine clock is off by minus this much.
   */
  gatewayClockOffsetSeconds: number;
  /**
   * The next N DELETE os-server-password calls clear the record and then lose their answer
   * (an ambiguous DELETE): the socket is reset, or a 500 comes back. Counts down to 0.
   */
  lostDeleteResponses: number;
  lostDeleteResponseKind: 'reset' | 'server-error';
  /** A DELETE answered 2xx empties the record this many emulated seconds later (202 = processed later). */
  deleteApplyDelaySeconds: number;
  lockoutThreshold: number;
  lockoutSeconds: number;
  ctsCreateTraceName: string;
  ctsReinstallTraceName: string;
  ctsResourceMode: 'per-server' | 'job';
  smnSignatureDigest: 'sha256' | 'sha1';
  /** Share of SMN notifications silently not delivered (seeded). */
  smnDropRate: number;
  smnDeliveryTimeoutMs: number;
  /** Used by the HTTP create API and by admin creates that do not say otherwise. */
  distribution: DistributionKind;
  bootDelaySeconds: number;
  postDelaySeconds: number;
  faults: FaultSettings;
  /** Share of the emulated guests' "posted" notifications that never arrive (seeded). */
  postedNotifyLossRate: number;
  /** Where notifications go instead of the hook URL in the snippet (null: the snippet's URL). */
  postedNotifyUrl: string | null;
  /** Seeded delay between the post and the notification, in emulated seconds. */
  postedNotifyMinDelaySeconds: number;
  postedNotifyMaxDelaySeconds: number;
  /** IAM actions (lib/huawei/iam-actions.ts) answered 403 as if the AK/SK's policy lacked them. */
  deniedActions: string[];
}

export interface EmulatorOptions {
  host?: string;
  port?: number;
  region?: string;
  projectId?: string;
  accessKey?: string;
  secretKey?: string;
  timeScale?: number;
  seed?: number;
  switches?: Partial<EmulatorSwitches>;
  keyPair?: EmulatorKeyPair;
  logger?: Logger;
}

export interface CreateServersRequest {
  windows: number;
  linux: number;
  bootDelaySeconds?: number;
  postDelaySeconds?: number;
  distribution?: DistributionKind;
  tags?: Record<string, string>;
  namePrefix?: string;
  /**
   * User data for every server created (text; the HTTP API takes it base64). When it carries
   * the "posted" snippet (guest/posted-notify.ps1, filled in), the guest notifies the hook.
   */
  userData?: string;
}

export interface CreateServersResult {
  serverIds: string[];
  windowsIds: string[];
  linuxIds: string[];
  jobId: string;
  orderId: string;
}

export type PostSource = 'cloudbase-init' | 'guest-post' | 'reinstall';

export interface PostHistoryEntry {
  /** Emulated epoch milliseconds. */
  at: number;
  event: 'posted' | 'refused' | 'cleared';
  /** 'late-clear': a DELETE accepted earlier (202) applied now. */
  source: PostSource | 'delete-api' | 'late-clear';
  /**
   * 'posted' only: lower-case hex SHA-256 of the ciphertext stored (not secret; the same hash
   * a WorkItem carries), so tests can check each posted version against the escrow.
   */
  sha256?: string;
}

/** The true state of a server as the emulator knows it (times are emulated epoch ms). */
export interface ServerTruth {
  id: string;
  name: string;
  status: string;
  osType: 'Windows' | 'Linux';
  keyName: string | null;
  jobId: string;
  tags: string[];
  createdAt: number;
  activeAt: number;
  deletedAt: number | null;
  /** The posted ciphertext currently on record, or null. */
  ciphertext: string | null;
  postedAt: number | null;
  clearedAt: number | null;
  /** Emulated time of the next scheduled Cloudbase-Init post, if any. */
  nextPostAt: number | null;
  postHistory: PostHistoryEntry[];
  refusedPosts: PostHistoryEntry[];
}

export interface GuestPostResult {
  accepted: boolean;
  /** 201 when stored, 409 when a record already exists (Nova semantics), 400 for Linux. */
  status: 201 | 409 | 400;
}

export interface ReinstallResult {
  jobId: string;
  /** When Cloudbase-Init in the reinstalled OS will try to post (emulated epoch ms); null for Linux. */
  postAt: number | null;
}

export interface ApiCallCounts {
  total: number;
  '2xx': number;
  '401': number;
  '429': number;
  '5xx': number;
  other: number;
  resets: number;
}

export interface PasswordCallEvent {
  time: number;
  serverId: string;
  method: 'GET' | 'DELETE';
  status: number;
  /** Whether a GET returned a ciphertext. */
  returnedPassword?: boolean;
}

export interface SmnDeliveryRecord {
  time: number;
  endpoint: string;
  type: 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';
  messageId: string;
  outcome: 'delivered' | 'failed' | 'dropped';
  status?: number;
  error?: string;
}

export interface CallsSnapshot {
  apis: Record<string, ApiCallCounts>;
  passwordEvents: PasswordCallEvent[];
  smnDeliveries: SmnDeliveryRecord[];
}

export interface TemporaryCredentials {
  accessKey: string;
  secretKey: string;
  securityToken: string;
  /** ISO time on the emulator clock. */
  expiresAt: string;
}

export interface SubscriptionInfo {
  subscriptionUrn: string;
  topicUrn: string;
  endpoint: string;
  confirmed: boolean;
}

export interface EmulatorAdmin {
  createServers(request: CreateServersRequest): CreateServersResult;
  server(id: string): ServerTruth | undefined;
  servers(): ServerTruth[];
  guestPost(id: string): GuestPostResult;
  reinstall(id: string, options?: { bootDelaySeconds?: number; postDelaySeconds?: number }): ReinstallResult;
  deleteServer(id: string): boolean;
  setFaults(faults: Partial<FaultSettings>): FaultSettings;
  setSwitches(switches: Partial<EmulatorSwitches>): EmulatorSwitches;
  switches(): EmulatorSwitches;
  calls(): CallsSnapshot;
  reset(): void;
  subscribe(endpointUrl: string): Promise<SubscriptionInfo>;
  subscriptions(): SubscriptionInfo[];
  /** Resolves when every SMN delivery and guest notification started so far has finished. */
  idle(): Promise<void>;
  /** The emulated guests' "posted" notifications so far (sent, refused, failed or lost). */
  postedNotifications(): PostedNotificationRecord[];
  decryptKey(): EmulatorKeyPair;
  issueTemporaryCredentials(durationSeconds?: number): TemporaryCredentials;
}

export interface RunningEmulator {
  url: string;
  region: string;
  projectId: string;
  /** The SMN topic the emulator publishes CTS key events to (what SMN_TOPIC_URN_ALLOWLIST must name). */
  smnTopicUrn: string;
  accessKey: string;
  secretKey: string;
  clock: Clock;
  admin: EmulatorAdmin;
  close(): Promise<void>;
}
