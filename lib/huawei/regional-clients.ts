/**
 * Work items name their region, so composition roots need one signed client set per region,
 * created on first use and sharing that region's rate budget. This is that cache.
 */
import type { Clock } from '../clock.ts';
import type { Env } from '../config/env-parsers.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { CredentialProvider } from './credentials.ts';
import { ENV_REGION } from './endpoints.ts';
import { createHuaweiClients, type HuaweiClients } from './huawei-clients.ts';
import { parseHuaweiConfig } from './huawei-config.ts';

export interface RegionalClients {
  for(region: string): HuaweiClients;
  /** Closes every transport created so far. */
  close(): Promise<void>;
}

export function createRegionalClients(
  env: Env,
  deps: {
    credentials: CredentialProvider;
    clock: Clock;
    logger?: Logger | undefined;
    metrics?: Metrics | undefined;
  },
): RegionalClients {
  const clients = new Map<string, HuaweiClients>();
  return {
    for(region) {
      let c = clients.get(region);
      if (!c) {
        c = createHuaweiClients(parseHuaweiConfig({ ...env, [ENV_REGION]: region }), deps);
        clients.set(region, c);
      }
      return c;
    },
    async close() {
      await Promise.all([...clients.values()].map((c) => c.close()));
    },
  };
}
