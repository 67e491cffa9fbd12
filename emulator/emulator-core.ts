/**
 * The emulator's state and the operations both the HTTP APIs and the admin surface
 * use, so a server created through either path is the same kind of server, records the
 * same CTS traces and triggers the same SMN pushes.
 */
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/observability/logger.ts';
import { AuthVerifier } from './auth-verifier.ts';
import { CallLog } from './call-log.ts';
import type { CredentialStore } from './credentials.ts';
import { CtsNotifications } from './cts-notifications.ts';
import { type CtsTrace, createTraces, reinstallTrace } from './cts-trace.ts';
import { validateFaults } from './faults.ts';
import { Fleet, type ServerSpec } from './fleet.ts';
import type { DelaySpec } from './post-delays.ts';
import { PostedNotifier } from './posted-notifier.ts';
import { SlidingWindowLimiter } from './rate-limiter.ts';
import { createStreams, type RandomStreams } from './seeded-random.ts';
import { SmnPublisher } from './smn-publisher.ts';
import type {
  CreateServersResult,
  EmulatorKeyPair,
  EmulatorSwitches,
  FaultSettings,
  ReinstallResult,
} from './types.ts';

export const DEFAULT_SWITCHES: EmulatorSwitches = {
  emptyPassword: 'empty-string',
  deletePasswordStatus: 202,
  notFoundStatus: 404,
  retryAfterHeader: true,
  rateLimitsEnabled: true,
  rateLimits: {},
  clockSkewSeconds: 15 * 60,
  gatewayClockOffsetSeconds: 0,
  lostDeleteResponses: 0,
  lostDeleteResponseKind: 'reset',
  deleteApplyDelaySeconds: 0,
  lockoutThreshold: 5,
  lockoutSeconds: 5 * 60,
  ctsCreateTraceName: 'createBareMetalServers',
  ctsReinstallTraceName: 'reinstallOs',
  ctsResourceMode: 'per-server',
  smnSignatureDigest: 'sha256',
  smnDropRate: 0,
  smnDeliveryTimeoutMs: 2000,
  distribution: 'fixed',
  bootDelaySeconds: 180,
  postDelaySeconds: 420,
  faults: { errorRate: 0, throttleRate: 0, resetRate: 0, latencyMs: 0 },
  postedNotifyLossRate: 0,
  postedNotifyUrl: null,
  postedNotifyMinDelaySeconds: 1,
  postedNotifyMaxDelaySeconds: 5,
  deniedActions: [],
};

export function mergeSwitches(base: EmulatorSwitches, patch: Partial<EmulatorSwitches>): EmulatorSwitches {
  const merged: EmulatorSwitches = {
    ...base,
    ...patch,
    rateLimits: { ...base.rateLimits, ...patch.rateLimits },
    faults: validateFaults({ ...base.faults, ...patch.faults }),
  };
  if (!(merged.smnDropRate >= 0 && merged.smnDropRate <= 1)) {
    throw new RangeError('switches.smnDropRate must be between 0 and 1');
  }
  if (!(merged.postedNotifyLossRate >= 0 && merged.postedNotifyLossRate <= 1)) {
    throw new RangeError('switches.postedNotifyLossRate must be between 0 and 1');
  }
  if (
    !(
      merged.postedNotifyMinDelaySeconds >= 0 &&
      merged.postedNotifyMaxDelaySeconds >= merged.postedNotifyMinDelaySeconds
    )
  ) {
    throw new RangeError(
      'switches.postedNotifyMinDelaySeconds must be >= 0 and <= postedNotifyMaxDelaySeconds',
    );
  }
  return merged;
}

export interface CoreOptions {
  clock: Clock;
  seed: number;
  region: string;
  projectId: string;
  domainId: string;
  credentials: CredentialStore;
  keyPair: EmulatorKeyPair;
  switches: EmulatorSwitches;
  logger: Logger;
  smnSigningKeyPem: string;
  baseUrl: () => string;
}

export class EmulatorCore {
  readonly clock: Clock;
  readonly region: string;
  readonly projectId: string;
  readonly domainId: string;
  readonly credentials: CredentialStore;
  readonly keyPair: EmulatorKeyPair;
  readonly logger: Logger;
  readonly baseUrl: () => string;
  readonly callLog = new CallLog();
  readonly limiter = new SlidingWindowLimiter();
  readonly verifier: AuthVerifier;
  readonly fleet: Fleet;
  readonly smn: SmnPublisher;
  readonly posted: PostedNotifier;
  readonly cts = new CtsNotifications();
  random: RandomStreams;
  switches: EmulatorSwitches;
  readonly #seed: number;
  readonly #initialSwitches: EmulatorSwitches;

  constructor(options: CoreOptions) {
    this.clock = options.clock;
    this.region = options.region;
    this.projectId = options.projectId;
    this.domainId = options.domainId;
    this.credentials = options.credentials;
    this.keyPair = options.keyPair;
    this.logger = options.logger;
    this.baseUrl = options.baseUrl;
    this.#seed = options.seed;
    this.random = createStreams(options.seed);
    this.switches = options.switches;
    this.#initialSwitches = options.switches;
    this.verifier = new AuthVerifier(this.credentials, this.clock, () => this.switches);
    // The fleet and publisher read `this.random` lazily so reset() can reseed them.
    const core = this;
    this.fleet = new Fleet({
      clock: this.clock,
      get random() {
        return core.random;
      },
      publicKeyPem: () => this.keyPair.publicKeyPem,
      onPosted: (record, at) => this.posted.onPosted(record, at),
    });
    this.posted = new PostedNotifier({
      clock: this.clock,
      fleet: () => this.fleet,
      random: () => this.random.posted,
      projectId: this.projectId,
      logger: this.logger,
      settings: () => ({
        lossRate: this.switches.postedNotifyLossRate,
        url: this.switches.postedNotifyUrl,
        minDelaySeconds: this.switches.postedNotifyMinDelaySeconds,
        maxDelaySeconds: this.switches.postedNotifyMaxDelaySeconds,
      }),
    });
    this.smn = new SmnPublisher({
      baseUrl: this.baseUrl,
      region: this.region,
      projectId: this.projectId,
      clock: this.clock,
      get random() {
        return core.random.smn;
      },
      callLog: this.callLog,
      logger: this.logger,
      signingKeyPem: options.smnSigningKeyPem,
      settings: () => ({
        digest: this.switches.smnSignatureDigest,
        dropRate: this.switches.smnDropRate,
        timeoutMs: this.switches.smnDeliveryTimeoutMs,
      }),
    });
  }

  /** Back to the state just after start: same credentials, key pair and seed. */
  reset(): void {
    this.random = createStreams(this.#seed);
    this.switches = this.#initialSwitches;
    this.fleet.clear();
    this.callLog.reset();
    this.limiter.reset();
    this.verifier.reset();
    this.smn.reset();
    this.posted.reset();
    this.cts.reset();
  }

  setSwitches(patch: Partial<EmulatorSwitches>): EmulatorSwitches {
    this.switches = mergeSwitches(this.switches, patch);
    return this.switches;
  }

  setFaults(patch: Partial<FaultSettings>): FaultSettings {
    this.switches = mergeSwitches(this.switches, { faults: { ...this.switches.faults, ...patch } });
    return this.switches.faults;
  }

  defaultDelays(overrides: Partial<DelaySpec> = {}): DelaySpec {
    return {
      distribution: overrides.distribution ?? this.switches.distribution,
      bootDelaySeconds: overrides.bootDelaySeconds ?? this.switches.bootDelaySeconds,
      postDelaySeconds: overrides.postDelaySeconds ?? this.switches.postDelaySeconds,
    };
  }

  createServers(specs: ServerSpec[], delays: DelaySpec, request: unknown): CreateServersResult {
    const { job, orderId, servers } = this.fleet.create(specs, delays);
    for (const server of servers) this.posted.watch(server);
    const traces = createTraces(
      {
        traceName: this.switches.ctsCreateTraceName,
        mode: this.switches.ctsResourceMode,
        request,
        jobId: job.id,
        orderId,
        servers: servers.map((s) => ({ id: s.id, name: s.spec.name })),
      },
      this.#traceContext(),
    );
    for (const trace of traces) this.#publish(trace);
    return {
      serverIds: servers.map((s) => s.id),
      windowsIds: servers.filter((s) => s.spec.osType === 'Windows').map((s) => s.id),
      linuxIds: servers.filter((s) => s.spec.osType === 'Linux').map((s) => s.id),
      jobId: job.id,
      orderId,
    };
  }

  reinstall(id: string, delays: DelaySpec, request: unknown): ReinstallResult {
    const { job, postAt } = this.fleet.reinstall(id, delays);
    const record = this.fleet.get(id)!;
    this.posted.watch(record);
    this.#publish(
      reinstallTrace(
        {
          traceName: this.switches.ctsReinstallTraceName,
          serverId: id,
          serverName: record.spec.name,
          jobId: job.id,
          request,
        },
        this.#traceContext(),
      ),
    );
    return { jobId: job.id, postAt };
  }

  /** CTS → SMN: the key-event notifications decide which topics a trace reaches. */
  #publish(trace: CtsTrace): void {
    this.smn.publish(trace, (topicUrn) => this.cts.routes(trace, topicUrn));
  }

  #traceContext() {
    return {
      projectId: this.projectId,
      domainId: this.domainId,
      random: this.random.traces,
      now: this.clock.now(),
    };
  }
}
