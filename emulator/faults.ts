/** Decides, with the seeded fault stream, whether a request is sabotaged and how. */
import type { ApiName } from '../lib/huawei/api-names.ts';
import type { Random } from './seeded-random.ts';
import type { FaultSettings } from './types.ts';

export type InjectedFault = 'reset' | 'server-error' | 'throttle';

export const NO_FAULTS: FaultSettings = { errorRate: 0, throttleRate: 0, resetRate: 0, latencyMs: 0 };

export function faultApplies(settings: FaultSettings, api: ApiName): boolean {
  return !settings.apis || settings.apis.length === 0 || settings.apis.includes(api);
}

/** One die roll per request so the three rates partition the unit interval. */
export function rollFault(settings: FaultSettings, api: ApiName, random: Random): InjectedFault | undefined {
  if (!faultApplies(settings, api)) return undefined;
  const total = settings.resetRate + settings.errorRate + settings.throttleRate;
  if (total <= 0) return undefined;
  const roll = random.next();
  if (roll < settings.resetRate) return 'reset';
  if (roll < settings.resetRate + settings.errorRate) return 'server-error';
  if (roll < total) return 'throttle';
  return undefined;
}

export function validateFaults(settings: FaultSettings): FaultSettings {
  for (const key of ['errorRate', 'throttleRate', 'resetRate'] as const) {
    const value = settings[key];
    if (!(value >= 0 && value <= 1)) throw new RangeError(`faults.${key} must be between 0 and 1`);
  }
  if (!(settings.latencyMs >= 0)) throw new RangeError('faults.latencyMs must be >= 0');
  return settings;
}
