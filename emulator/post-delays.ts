/**
 * How long a server takes to boot (BUILD → ACTIVE) and how long after ACTIVE
 * Cloudbase-Init posts its password. 'realistic' follows the field reports: boot in a
 * few minutes, post mostly 5–15 minutes after ACTIVE, with a long tail to about an hour.
 */
import type { Random } from './seeded-random.ts';
import type { DistributionKind } from './types.ts';

export interface DelayPlan {
  bootMs: number;
  postMs: number;
}

export interface DelaySpec {
  distribution: DistributionKind;
  bootDelaySeconds: number;
  postDelaySeconds: number;
}

const MINUTE = 60_000;

export function planDelays(spec: DelaySpec, random: Random): DelayPlan {
  if (spec.distribution === 'fixed') {
    return { bootMs: spec.bootDelaySeconds * 1000, postMs: spec.postDelaySeconds * 1000 };
  }
  const bootMs = (2 + random.next() * 4) * MINUTE;
  const roll = random.next();
  let postMinutes: number;
  if (roll < 0.85) postMinutes = 5 + random.next() * 10;
  else if (roll < 0.97) postMinutes = 15 + random.next() * 20;
  else postMinutes = 35 + random.next() * 25;
  return { bootMs: Math.round(bootMs), postMs: Math.round(postMinutes * MINUTE) };
}
