/**
 * A chaos scenario is drawn from one seed: how many servers, which store, how events reach
 * the hook, and how hard each layer is hit. The same seed always draws the same scenario, and
 * every random choice made while it runs comes from streams derived from that seed too.
 */
import { createRandom, deriveSeed, pick, faultRate as rate } from '../../emulator/seeded-random.ts';

export type StoreKind = 'file' | 'secrets-manager';
export type IntakeKind = 'smn' | 'direct';
export type CrashPoint =
  | 'after-show'
  | 'after-get'
  | 'after-put'
  | 'after-read'
  | 'after-delete'
  | 'after-mark-cleared'
  | 'before-verify';

export const CRASH_POINTS: readonly CrashPoint[] = [
  'after-show',
  'after-get',
  'after-put',
  'after-read',
  'after-delete',
  'after-mark-cleared',
  'before-verify',
];

export interface ScenarioSpec {
  seed: number;
  store: StoreKind;
  intake: IntakeKind;
  windows: number;
  linux: number;
  /** Servers are created in this many waves, spread over the first emulated half hour. */
  waves: number;
  distribution: 'realistic' | 'fixed';
  /** Emulated ms per real ms. */
  timeScale: number;
  huawei: { errorRate: number; throttleRate: number; resetRate: number; latencyMs: number };
  deletePasswordStatus: 200 | 202 | 204;
  events: {
    /** Notifications the emulator never sends (smnDropRate) or direct calls never made. */
    dropRate: number;
    /** Events delivered twice, the copy sometimes to a fresh intake instance (empty dedupe cache). */
    duplicateRate: number;
    /** Events held back and delivered after later ones. */
    delayRate: number;
  };
  storeFaults: { writeFailRate: number; tamperReadRate: number; latencyMs: number };
  /** Probability of a worker crash at each step boundary it passes. */
  crashRate: number;
  /** Windows servers reinstalled once (a second password version). */
  reinstalls: number;
  /** Emulated seconds between sweeps (the recovery path for dropped events). */
  sweepIntervalSeconds: number;
  /** DELETEs that clear the record and then lose their answer (reset or 500): ambiguous DELETEs. */
  ambiguousDeletes: number;
  /** A DELETE answered 202 empties the record this many emulated seconds later (0: at once). */
  deleteApplyDelaySeconds: number;
  /** Servers reinstalled right after the hook's GET found their record, before its DELETE. */
  reinstallsBetweenGetAndDelete: number;
}

export interface ScenarioSizing {
  /** Upper bound on Windows servers per scenario. */
  maxWindows: number;
}

export function drawScenario(seed: number, sizing: ScenarioSizing = { maxWindows: 24 }): ScenarioSpec {
  const random = createRandom(deriveSeed(seed, 'chaos-scenario'));
  const windows = Math.max(2, Math.round(sizing.maxWindows * (0.5 + random.next() * 0.5)));
  return {
    seed,
    store: random.next() < 0.5 ? 'file' : 'secrets-manager',
    intake: random.next() < 0.6 ? 'smn' : 'direct',
    windows,
    linux: Math.round(windows * random.next() * 0.3),
    waves: 1 + Math.floor(random.next() * 3),
    distribution: random.next() < 0.5 ? 'realistic' : 'fixed',
    timeScale: 600,
    huawei: {
      errorRate: rate(random, 0.12),
      throttleRate: rate(random, 0.1),
      resetRate: rate(random, 0.06),
      latencyMs: random.next() < 0.5 ? 0 : Math.round(random.next() * 4000),
    },
    deletePasswordStatus: pick(random, [202, 204, 200] as const),
    events: { dropRate: rate(random, 0.3), duplicateRate: rate(random, 0.4), delayRate: rate(random, 0.4) },
    storeFaults: {
      writeFailRate: rate(random, 0.15),
      tamperReadRate: rate(random, 0.12),
      latencyMs: random.next() < 0.7 ? 0 : Math.round(random.next() * 5),
    },
    crashRate: rate(random, 0.03),
    reinstalls: Math.floor(random.next() * Math.min(4, windows / 3)),
    sweepIntervalSeconds: pick(random, [600, 900, 1200]),
    ...drawAmbiguity(seed, windows),
  };
}

/**
 * The faults added for issue 9, from their own stream so that every older seed still draws the
 * same servers, rates and store as before.
 */
function drawAmbiguity(
  seed: number,
  windows: number,
): Pick<ScenarioSpec, 'ambiguousDeletes' | 'deleteApplyDelaySeconds' | 'reinstallsBetweenGetAndDelete'> {
  const random = createRandom(deriveSeed(seed, 'chaos-scenario-ambiguity'));
  return {
    ambiguousDeletes: random.next() < 0.4 ? 0 : 1 + Math.floor(random.next() * Math.min(4, windows)),
    deleteApplyDelaySeconds: random.next() < 0.5 ? 0 : pick(random, [5, 20, 45]),
    reinstallsBetweenGetAndDelete: random.next() < 0.5 ? 0 : 1 + Math.floor(random.next() * 2),
  };
}

/** One line for the campaign log: what this scenario throws at the hook. */
export function describeScenario(spec: ScenarioSpec): string {
  const h = spec.huawei;
  const e = spec.events;
  const s = spec.storeFaults;
  return [
    `seed=${spec.seed}`,
    `${spec.windows}W+${spec.linux}L/${spec.waves}w ${spec.distribution}`,
    `store=${spec.store}`,
    `intake=${spec.intake}`,
    `5xx=${h.errorRate} 429=${h.throttleRate} reset=${h.resetRate} lat=${h.latencyMs}ms`,
    `DELETE→${spec.deletePasswordStatus}`,
    `drop=${e.dropRate} dup=${e.duplicateRate} delay=${e.delayRate}`,
    `putFail=${s.writeFailRate} tamper=${s.tamperReadRate}`,
    `crash=${spec.crashRate}`,
    `reinstall=${spec.reinstalls}`,
    `ambiguousDELETE=${spec.ambiguousDeletes} late202=${spec.deleteApplyDelaySeconds}s reinstallGET→DELETE=${spec.reinstallsBetweenGetAndDelete}`,
  ].join(' ');
}
