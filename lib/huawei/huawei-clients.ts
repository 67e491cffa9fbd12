/**
 * Composition root for the Huawei side: one transport, one rate limiter and one signed caller
 * shared by the BMS, IAM, SMN and CTS clients, built from the parsed config.
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { type AuthGuard, processAuthGuard } from './auth-guard.ts';
import { BmsClient } from './bms-client.ts';
import type { CredentialProvider } from './credentials.ts';
import { CtsClient } from './cts-client.ts';
import { type HttpTransport, UndiciTransport } from './http-transport.ts';
import type { HuaweiConfig } from './huawei-config.ts';
import { IamClient } from './iam-client.ts';
import { RateLimiter } from './rate-limiter.ts';
import { DEFAULT_RETRY_POLICY } from './retry-policy.ts';
import { SignedCaller } from './signed-call.ts';
import { SmnClient } from './smn-client.ts';

export interface HuaweiClientsDeps {
  credentials: CredentialProvider;
  clock: Clock;
  logger?: Logger | undefined;
  metrics?: Metrics | undefined;
  /** Defaults to an UndiciTransport with the config's timeouts. */
  transport?: HttpTransport | undefined;
  random?: (() => number) | undefined;
  /** Defaults to the process-wide guard: one auth failure stops every client in the process. */
  authGuard?: AuthGuard | undefined;
}

export interface HuaweiClients {
  bms: BmsClient;
  iam: IamClient;
  smn: SmnClient;
  cts: CtsClient;
  rateLimiter: RateLimiter;
  transport: HttpTransport;
  /** The configured project id, or the one IAM resolves for the region (cached). */
  projectId(signal?: AbortSignal): Promise<string>;
  close(): Promise<void>;
}

export function createHuaweiClients(config: HuaweiConfig, deps: HuaweiClientsDeps): HuaweiClients {
  const transport =
    deps.transport ??
    new UndiciTransport({ connectTimeoutMs: config.connectTimeoutMs, timeoutMs: config.timeoutMs });
  const rateLimiter = new RateLimiter({
    clock: deps.clock,
    limitsPerMinute: config.rateLimitsPerMinute,
    jitterAllowanceMs: config.rateJitterMs,
  });
  const caller = new SignedCaller({
    transport,
    credentials: deps.credentials,
    clock: deps.clock,
    rateLimiter,
    retryPolicy: { ...DEFAULT_RETRY_POLICY, maxAttempts: config.maxAttempts },
    random: deps.random,
    logger: deps.logger,
    metrics: deps.metrics,
    authGuard: deps.authGuard ?? processAuthGuard,
  });
  const bms = new BmsClient({ caller, endpoint: config.endpoints.bms });
  const iam = new IamClient({ caller, endpoint: config.endpoints.iam });
  return {
    bms,
    iam,
    smn: new SmnClient({ caller, endpoint: config.endpoints.smn }),
    cts: new CtsClient({ caller, endpoint: config.endpoints.cts }),
    rateLimiter,
    transport,
    projectId: (signal) =>
      config.projectId !== undefined
        ? Promise.resolve(config.projectId)
        : iam.resolveProjectId(config.region, { signal }),
    close: () => transport.close(),
  };
}
