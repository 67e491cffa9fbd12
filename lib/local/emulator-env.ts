/**
 * Pointing a client at an emulator: the one place that builds the environment a client reads
 * (the official HUAWEICLOUD_* variables plus, for a compressed clock, its scale and epoch),
 * and the clock a client derives from it. `emulator --env`, the local stack, the demo, tests
 * and benchmarks all use these.
 */
import { type Clock, scaledClock, systemClock } from '../clock.ts';
import { ConfigError, type Env } from '../config/env-parsers.ts';
import { ENV_ACCESS_KEY, ENV_SECRET_KEY } from '../huawei/credentials.ts';
import {
  ENV_BMS_ENDPOINT,
  ENV_CTS_ENDPOINT,
  ENV_IAM_ENDPOINT,
  ENV_REGION,
  ENV_SMN_ENDPOINT,
} from '../huawei/endpoints.ts';
import { ENV_PROJECT_ID } from '../huawei/huawei-config.ts';
import { ENV_TOPIC_ALLOWLIST } from '../intake/smn/topic-trust.ts';
import {
  ENV_LOCAL_TIME_EPOCH_MS,
  ENV_LOCAL_TIME_SCALE,
  isLoopbackEndpoint,
  type LocalConfig,
} from './local-config.ts';

/** The one SMN topic an emulator publishes CTS key events to, in its project. */
export const EMULATOR_TOPIC_NAME = 'bms-password-escrow-events';

export function emulatorTopicUrn(region: string, projectId: string): string {
  return `urn:smn:${region}:${projectId}:${EMULATOR_TOPIC_NAME}`;
}

export interface EmulatorEndpoint {
  url: string;
  region: string;
  projectId: string;
  accessKey: string;
  secretKey: string;
  clock?: Pick<Clock, 'scale' | 'epochMs'> | undefined;
}

/**
 * The environment a client needs to talk to this emulator: its throwaway AK/SK, region,
 * project, every endpoint, the emulator's SMN topic as the webhook's topic allow-list, and
 * (when its clock is compressed) the clock's scale and epoch.
 */
export function clientEnv(emulator: EmulatorEndpoint): Record<string, string> {
  const env: Record<string, string> = {
    [ENV_ACCESS_KEY]: emulator.accessKey,
    [ENV_SECRET_KEY]: emulator.secretKey,
    [ENV_REGION]: emulator.region,
    [ENV_PROJECT_ID]: emulator.projectId,
    [ENV_BMS_ENDPOINT]: emulator.url,
    [ENV_IAM_ENDPOINT]: emulator.url,
    [ENV_SMN_ENDPOINT]: emulator.url,
    [ENV_CTS_ENDPOINT]: emulator.url,
    [ENV_TOPIC_ALLOWLIST]: emulatorTopicUrn(emulator.region, emulator.projectId),
  };
  const clock = emulator.clock;
  if (clock && clock.scale !== 1 && clock.epochMs !== undefined) {
    env[ENV_LOCAL_TIME_SCALE] = String(clock.scale);
    env[ENV_LOCAL_TIME_EPOCH_MS] = String(clock.epochMs);
  }
  return env;
}

/**
 * The clock of a client whose BMS endpoint is an emulator on this machine: compressed like the
 * emulator's when LOCAL_TIME_SCALE > 1 (with its epoch), else the wall clock. The real cloud
 * always gets the wall clock.
 */
export function clientClock(env: Env, config: Pick<LocalConfig, 'timeScale' | 'timeEpochMs'>): Clock {
  const bms = env[ENV_BMS_ENDPOINT]?.trim();
  if (!bms || !isLoopbackEndpoint(new URL(bms)) || config.timeScale === 1) return systemClock;
  if (config.timeEpochMs === undefined)
    throw new ConfigError(
      ENV_LOCAL_TIME_EPOCH_MS,
      `is not set while ${ENV_LOCAL_TIME_SCALE} is ${config.timeScale}; a compressed emulator clock needs its epoch too (bms-password-escrow emulator --env prints both)`,
    );
  return scaledClock(config.timeScale, config.timeEpochMs);
}

/** Clock seconds a client and an emulator may disagree before the client refuses to run. */
const MAX_CLOCK_SKEW_MS = 60_000;

/**
 * Refuses to run against an emulator whose clock is not ours: servers would look "ACTIVE in
 * the future", no password would ever seem due, and cleared servers would be polled again.
 * Asks the emulator's admin surface for its time; anything that does not answer like the
 * bundled emulator is not checked.
 */
export async function checkEmulatorClock(
  bmsEndpoint: string,
  clock: Clock,
  signal?: AbortSignal,
): Promise<void> {
  let now: unknown;
  try {
    const response = await fetch(new URL('/__emulator/info', bmsEndpoint), {
      signal: signal ?? AbortSignal.timeout(2000),
    });
    if (!response.ok) return;
    now = ((await response.json()) as { now?: unknown }).now;
  } catch {
    return;
  }
  if (typeof now !== 'number') return;
  const skew = now - clock.now();
  if (Math.abs(skew) <= MAX_CLOCK_SKEW_MS) return;
  throw new ConfigError(
    ENV_LOCAL_TIME_SCALE,
    `does not match the emulator at ${bmsEndpoint}: its clock is ${Math.round(skew / 1000)} s ${skew > 0 ? 'ahead of' : 'behind'} ours (it runs compressed, e.g. --time-scale); set ${ENV_LOCAL_TIME_SCALE} and ${ENV_LOCAL_TIME_EPOCH_MS} as 'bms-password-escrow emulator --env' prints them`,
  );
}
