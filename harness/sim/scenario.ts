/**
 * One simulated scenario, drawn from one seed: the fleet, the hook's configuration and how
 * hard every I/O boundary is hit. Each dimension is quiet in about a third of the scenarios so
 * faults combine in different mixes, and the same seed always draws the same scenario.
 */
import {
  createRandom,
  deriveSeed,
  pick,
  type Random,
  faultRate as rate,
} from '../../emulator/seeded-random.ts';

export interface SimScenario {
  seed: number;
  servers: number;
  /** Servers that are not Windows (the hook must skip them and never DELETE). */
  linux: number;
  /** Seconds between a server's creation and ACTIVE. */
  buildSeconds: [number, number];
  /** Seconds between ACTIVE and the guest's first post. */
  postDelaySeconds: [number, number];
  /** Probability that a launch's guest never posts (the hook must surface it at its deadline). */
  neverPostRate: number;
  /** The guest's POST is applied but its answer is lost; it checks and posts again (a new ciphertext). */
  guestRepostRate: number;
  /** Of those, the share where the guest reboots and posts a new ciphertext (else it retries the same one). */
  guestRerunShare: number;
  guestRepostDelaySeconds: [number, number];
  reinstalls: number;
  /** Seconds a reinstall keeps the server rebuilding before the new launch is ACTIVE. */
  rebuildSeconds: [number, number];
  /** [U] whether a reinstall empties the password record (Nova keeps it; BMS is unknown). */
  rebuildClearsRecord: boolean;
  /** Offset of the hook's clock from the cloud's, ms (positive: the hook is ahead). */
  skewMs: number;
  huawei: {
    resetRate: number;
    serverErrorRate: number;
    throttleRate: number;
    /** The call took effect, its answer did not arrive (reset, 5xx or timeout after the fact). */
    lostResponseRate: number;
    /** The same, for DELETE: the ambiguous DELETE. */
    lostDeleteRate: number;
    /** A DELETE answered 202 that clears the record only later. */
    lateDeleteRate: number;
    lateDeleteSeconds: [number, number];
    deleteStatus: 200 | 202 | 204;
    latencyMs: [number, number];
  };
  store: {
    putFailRate: number;
    /** Stored durably, but the acknowledgement is lost. */
    putLostAckRate: number;
    readFailRate: number;
    markFailRate: number;
    ledgerFailRate: number;
    latencyMs: [number, number];
  };
  /** At-least-once delivery: a receive leaves a copy behind (at most `maxDuplicates` times). */
  queue: { enqueueFailRate: number; duplicateRate: number; maxDuplicates: number; deleteFailRate: number };
  events: {
    /** CTS traces that never arrive. */
    dropRate: number;
    duplicateRate: number;
    /** Extra delivery delay, seconds (reorders events). */
    delaySeconds: [number, number];
    /** Reinstalls announce themselves with a CTS trace at this rate (BMS may have none). */
    reinstallTraceRate: number;
  };
  workers: number;
  batchSize: number;
  concurrency: number;
  /** Per I/O boundary a worker passes, the chance it dies there (at most `maxCrashes` times). */
  crashRate: number;
  maxCrashes: number;
  lambdaTimeoutSeconds: number;
  visibilityTimeoutSeconds: number;
  maxReceiveCount: number;
  sweepIntervalSeconds: number;
  scheduler: 'model' | 'fixed' | 'exponential';
  deadlineSeconds: number;
  verifyDelaySeconds: number;
  /** The guest's "posted" notification (guest/posted-notify.ps1) and the hook's POST /posted. */
  posted: PostedScenario;
  /** One polling chain per server through watch leases in the escrow store, as on SQS. */
  leases: boolean;
}

export interface PostedScenario {
  /** Share of Windows servers whose user data carries the snippet (0: the path is off). */
  snippetShare: number;
  /** How the hook checks notifications. */
  mode: 'hmac' | 'unsigned';
  /** Whether the hook's scheduler is told that share (ESCROW_POSTED_HINT_SHARE), or left at 0. */
  hintShareConfigured: boolean;
  /** A notification that never arrives (every attempt of the snippet fails). */
  lossRate: number;
  /** An attempt that arrived but whose answer the guest never saw: it sends a new one. */
  answerLossRate: number;
  /** The network delivers the same request twice. */
  duplicateRate: number;
  /** The same request is delivered again much later (a replay). */
  replayRate: number;
  /** A delivery lands on a fresh intake instance (an empty PostedGate). */
  freshRate: number;
  /** One-way network delay of a notification, seconds. */
  delaySeconds: [number, number];
  /** Offset of the guest's clock from the cloud's, ms (the signed timestamp). */
  guestSkewMs: number;
}

function range(random: Random, lo: number, hi: number): [number, number] {
  const a = random.int(lo, hi);
  const b = random.int(lo, hi);
  return a <= b ? [a, b] : [b, a];
}

/** Drawn from a stream of its own, so scenarios drawn before it existed draw the same everywhere else. */
function drawPosted(seed: number): PostedScenario {
  const r = createRandom(deriveSeed(seed, 'sim-scenario-posted'));
  return {
    snippetShare: pick(r, [0, 0.5, 1]),
    mode: pick(r, ['hmac', 'hmac', 'hmac', 'unsigned'] as const),
    hintShareConfigured: r.next() < 0.5,
    lossRate: rate(r, 0.5),
    answerLossRate: rate(r, 0.3),
    duplicateRate: rate(r, 0.3),
    replayRate: rate(r, 0.5),
    freshRate: rate(r, 0.5),
    delaySeconds: range(r, 1, 5),
    guestSkewMs: r.next() < 0.6 ? 0 : r.int(-240_000, 240_000),
  };
}

export function drawScenario(seed: number): SimScenario {
  const r = createRandom(deriveSeed(seed, 'sim-scenario'));
  const servers = r.int(1, 3);
  const skewRoll = r.next();
  return {
    seed,
    servers,
    linux: r.next() < 0.2 ? 1 : 0,
    buildSeconds: range(r, 5, 120),
    postDelaySeconds: r.next() < 0.8 ? range(r, 1, 240) : range(r, 1, 900),
    neverPostRate: r.next() < 0.9 ? 0 : 0.3,
    guestRepostRate: rate(r, 0.8),
    guestRerunShare: r.next() < 0.5 ? 0 : 0.3,
    guestRepostDelaySeconds: r.next() < 0.5 ? range(r, 1, 30) : range(r, 1, 300),
    reinstalls: r.next() < 0.4 ? 0 : r.int(1, 3),
    rebuildSeconds: range(r, 1, 900),
    rebuildClearsRecord: r.next() < 0.3,
    skewMs:
      skewRoll < 0.6
        ? 0
        : skewRoll < 0.95
          ? r.int(-600_000, 600_000)
          : (r.next() < 0.5 ? -1 : 1) * r.int(960_000, 1_200_000),
    huawei: {
      resetRate: rate(r, 0.1),
      serverErrorRate: rate(r, 0.1),
      throttleRate: rate(r, 0.1),
      lostResponseRate: rate(r, 0.08),
      lostDeleteRate: rate(r, 0.5),
      lateDeleteRate: rate(r, 0.8),
      lateDeleteSeconds: range(r, 1, 120),
      deleteStatus: pick(r, [202, 202, 202, 204, 200] as const),
      latencyMs: range(r, 1, 3000),
    },
    store: {
      putFailRate: rate(r, 0.15),
      putLostAckRate: rate(r, 0.15),
      readFailRate: rate(r, 0.15),
      markFailRate: rate(r, 0.15),
      ledgerFailRate: rate(r, 0.1),
      latencyMs: range(r, 1, 500),
    },
    queue: {
      enqueueFailRate: rate(r, 0.1),
      duplicateRate: rate(r, 0.3),
      maxDuplicates: r.int(1, 4),
      deleteFailRate: rate(r, 0.1),
    },
    events: {
      dropRate: rate(r, 0.5),
      duplicateRate: rate(r, 0.4),
      delaySeconds: range(r, 0, 600),
      reinstallTraceRate: r.next() < 0.5 ? 0 : 1,
    },
    workers: r.int(1, 3),
    batchSize: r.int(1, 5),
    concurrency: r.int(1, 4),
    crashRate: rate(r, 0.05),
    maxCrashes: r.int(1, 4),
    lambdaTimeoutSeconds: pick(r, [30, 120, 900]),
    visibilityTimeoutSeconds: pick(r, [60, 300, 960]),
    maxReceiveCount: pick(r, [3, 5, 10]),
    sweepIntervalSeconds: pick(r, [600, 900, 1800]),
    scheduler: pick(r, ['model', 'model', 'model', 'fixed', 'exponential'] as const),
    deadlineSeconds: pick(r, [3600, 7200]),
    verifyDelaySeconds: pick(r, [1, 5, 30]),
    posted: drawPosted(seed),
    leases: createRandom(deriveSeed(seed, 'sim-scenario-leases')).next() < 0.5,
  };
}

/** One line: what this scenario throws at the hook. */
export function describeScenario(s: SimScenario): string {
  const h = s.huawei;
  return [
    `seed=${s.seed}`,
    `${s.servers}W+${s.linux}L`,
    `reinstall=${s.reinstalls}${s.rebuildClearsRecord ? '(clears)' : ''}`,
    `repost=${s.guestRepostRate}(new ${s.guestRerunShare})`,
    `skew=${Math.round(s.skewMs / 1000)}s`,
    `reset=${h.resetRate} 5xx=${h.serverErrorRate} 429=${h.throttleRate} lost=${h.lostResponseRate}/DELETE ${h.lostDeleteRate}`,
    `DELETE→${h.deleteStatus} late=${h.lateDeleteRate}@${h.lateDeleteSeconds.join('-')}s`,
    `store put=${s.store.putFailRate}/${s.store.putLostAckRate} read=${s.store.readFailRate}`,
    `events drop=${s.events.dropRate} dup=${s.events.duplicateRate}`,
    `workers=${s.workers}x${s.concurrency} crash=${s.crashRate}(max ${s.maxCrashes})`,
    `sched=${s.scheduler}`,
    describePosted(s.posted),
    `leases=${s.leases ? 'on' : 'off'}`,
  ].join(' ');
}

function describePosted(p: PostedScenario): string {
  if (p.snippetShare === 0) return 'posted=off';
  return [
    `posted=${p.mode} snippet=${p.snippetShare}${p.hintShareConfigured ? '(configured)' : ''}`,
    `lost=${p.lossRate}/answer ${p.answerLossRate} dup=${p.duplicateRate} replay=${p.replayRate} fresh=${p.freshRate}`,
    `delay=${p.delaySeconds.join('-')}s guest-skew=${Math.round(p.guestSkewMs / 1000)}s`,
  ].join(' ');
}

/** No faults anywhere: what is left is the hook doing its job (mutates `s`). */
export function quietScenario(s: SimScenario): void {
  s.huawei = {
    ...s.huawei,
    resetRate: 0,
    serverErrorRate: 0,
    throttleRate: 0,
    lostResponseRate: 0,
    lostDeleteRate: 0,
    lateDeleteRate: 0,
  };
  s.store = {
    ...s.store,
    putFailRate: 0,
    putLostAckRate: 0,
    readFailRate: 0,
    markFailRate: 0,
    ledgerFailRate: 0,
  };
  s.queue = { ...s.queue, enqueueFailRate: 0, duplicateRate: 0, deleteFailRate: 0 };
  s.events = { ...s.events, dropRate: 0, duplicateRate: 0 };
  s.crashRate = 0;
  s.skewMs = 0;
  s.reinstalls = 0;
  s.guestRepostRate = 0;
  s.neverPostRate = 0;
}
