/**
 * When to spend a password GET.
 *
 * The figure of merit is the exposure window: from Cloudbase-Init's post to our DELETE. A GET
 * that finds nothing costs one of the fleet's ~50 password calls per minute and buys nothing,
 * so checks should sit where posts are likely:
 *
 * - Nothing can be posted before the server first boots, so while it is BUILD only the
 *   show-server API (1000/min) is polled; the password clock starts at ACTIVE.
 * - The post delay after ACTIVE is modelled as a log-normal (see PostDelayModel). The model
 *   scheduler places checks so that each one covers an equal slice of posting probability:
 *   F(t_next) = F(t_last) + q. Checks are dense around the median, where most posts land and
 *   a short gap saves the most exposure per call, and sparse in the early and late tails.
 *   Min/max gaps keep the schedule sane where the density is extreme (and the max gap
 *   bounds the exposure of the rare server that posts after an hour).
 * - Under fleet load the token bucket, not the schedule, is the bottleneck: nearly every server
 *   is due at once. Then the probability that the server has posted since its last check (the
 *   hazard over that interval) decides who gets the next token: each batch is ordered by it,
 *   and locally, where the queue sees the whole fleet, the queue hands out its due messages by
 *   it (batch-worker.ts workPriority); low-priority items are deferred without spending a call
 *   once the rate limiter says the budget for this invocation is gone.
 * - The budget is also use-it-or-lose-it: a token not spent this minute is gone. So the model's
 *   gaps shrink toward the minimum gap while the GET budget is not fully used, and stretch back
 *   to the model as its use approaches the share this hook aims for (ESCROW_BUDGET_TARGET_SHARE,
 *   leaving the rest to other users of the account). A small fleet
 *   is then polled about as often as fixed polling would, and a large one as sparingly as the
 *   model says. Gaps already scheduled do not shrink, so locally a token that nothing due wants
 *   goes to the likeliest waiting server ahead of its time (batch-worker.ts spareTokenLook).
 * - The verify GET after a DELETE does not affect exposure (the window ended at DELETE), so it
 *   is ordered last and yields the budget whenever there is any wait.
 *
 * - A guest that runs the `posted` snippet says when it has posted; its hint takes the next
 *   token (batch-worker.ts). Where guests are expected to notify (ESCROW_POSTED_HINT_SHARE =
 *   s), a server that has not notified has posted unseen only if it is among the 1 − s that
 *   do not: the model covers that mass with proportionally fewer checks, and an unused
 *   budget shrinks its gaps only by that share, so tokens are not spent on servers that would
 *   have told us.
 *
 * Two baselines exist for the fleet benchmark: fixed-interval polling and plain exponential
 * backoff. They start checking at ACTIVE and neither prioritise nor defer.
 */
import type { WorkItem } from '../queue/work-item.ts';
import { DEFAULT_POST_DELAY_MODEL, type PostDelayModel, type SchedulerConfig } from './pipeline-config.ts';

/** How long before the deadline the last finding GET is due at the latest. */
const DEADLINE_MARGIN_MS = 10 * 60_000;

/** A message delivered this close to its due time counts as due (queues are not exact). */
const DUE_TOLERANCE_SECONDS = 1;
/** Beyond this CDF the distribution's mass is spent: fall back to the max gap. */
const CDF_CEILING = 0.999;

export interface PollScheduler {
  readonly kind: SchedulerConfig['kind'];
  readonly config: SchedulerConfig;
  /** Whether a batch is ordered by posting probability and its remainder deferred under load. */
  readonly defersUnderLoad: boolean;
  /**
   * Seconds after ACTIVE at which the next finding GET is due, given when the last one ran
   * (undefined: none yet), how many ran, and how full the GET budget is (pressure 0..1).
   */
  nextCheckElapsedSeconds(
    lastCheckElapsedSeconds: number | undefined,
    checks: number,
    pressure?: number,
  ): number;
  /** Higher first. */
  priority(item: WorkItem, nowMs: number): number;
}

export type CheckPlan = { due: true } | { due: false; delaySeconds: number };

export interface FindCheckFacts {
  activeSinceMs: number;
  lastCheckMs?: number | undefined;
  checks: number;
  deadlineMs: number;
}

/**
 * How full the GET budget is relative to the share we aim to use: 0 when idle, 1 at or above
 * the target. Without a measurement, assume full, which is the model's own schedule.
 */
export function budgetPressure(utilization: number, targetShare: number): number {
  if (!Number.isFinite(utilization) || targetShare <= 0) return 1;
  return clamp(utilization / targetShare, 0, 1);
}

/** Decides whether a finding GET is due now or how long to wait; never schedules past the deadline. */
export function planFindCheck(
  scheduler: PollScheduler,
  facts: FindCheckFacts,
  nowMs: number,
  pressure = 1,
): CheckPlan {
  const lastElapsed =
    facts.lastCheckMs === undefined
      ? undefined
      : Math.max(0, (facts.lastCheckMs - facts.activeSinceMs) / 1000);
  // The last look comes early enough for a find to be escrowed, cleared and verified before the
  // deadline (a safety-net check of a fleet that notifies would otherwise land on it).
  const lastLookMs =
    facts.deadlineMs - Math.min(DEADLINE_MARGIN_MS, (facts.deadlineMs - facts.activeSinceMs) / 4);
  const dueMs = Math.min(
    facts.activeSinceMs + scheduler.nextCheckElapsedSeconds(lastElapsed, facts.checks, pressure) * 1000,
    Math.max(nowMs, lastLookMs),
  );
  const waitSeconds = (dueMs - nowMs) / 1000;
  if (waitSeconds <= DUE_TOLERANCE_SECONDS) return { due: true };
  return { due: false, delaySeconds: Math.ceil(waitSeconds) };
}

/**
 * A verify GET gives its turn away once callers are queueing for more than a few tokens. Not at
 * any wait at all: a bucket with a burst of one is empty right after every call, and a verify
 * that always yields would only reach its deadline.
 */
export const VERIFY_YIELD_WAIT_MS = 5_000;

/** Seconds to push back a check that the rate limiter cannot serve in this invocation. */
export function deferDelaySeconds(estimatedWaitMs: number): number {
  return Math.min(60, Math.max(5, Math.ceil(estimatedWaitMs / 1000)));
}

export function createPollScheduler(config: SchedulerConfig): PollScheduler {
  switch (config.kind) {
    case 'fixed':
      return {
        kind: 'fixed',
        config,
        defersUnderLoad: false,
        nextCheckElapsedSeconds: (last) => (last === undefined ? 0 : last + config.fixedIntervalSeconds),
        priority: () => 0,
      };
    case 'exponential':
      return {
        kind: 'exponential',
        config,
        defersUnderLoad: false,
        nextCheckElapsedSeconds: (last, checks) =>
          last === undefined
            ? 0
            : last +
              Math.min(
                config.exponentialMaxSeconds,
                config.exponentialInitialSeconds * config.exponentialFactor ** Math.max(0, checks - 1),
              ),
        priority: () => 0,
      };
    default:
      return createModelScheduler(config);
  }
}

function createModelScheduler(config: SchedulerConfig): PollScheduler {
  const { model, minGapSeconds, maxGapSeconds } = config;
  // The share of servers that post without telling us; the model's checks cover only that mass.
  const silent = 1 - config.postedHintShare;
  const q = silent > 0 ? config.sliceProbability / silent : Number.POSITIVE_INFINITY;
  return {
    kind: 'model',
    config,
    defersUnderLoad: true,
    nextCheckElapsedSeconds(last, _checks, pressure = 1) {
      const p = 1 - (1 - clamp(pressure, 0, 1)) * silent;
      if (last === undefined) {
        // The first check closes the first slice; a server already older than that is due now.
        return postDelayQuantile(model, Math.min(q, CDF_CEILING)) * p;
      }
      const target = postDelayCdf(model, last) + q;
      const ideal = target >= CDF_CEILING ? last + maxGapSeconds : postDelayQuantile(model, target);
      const modelGap = clamp(ideal - last, minGapSeconds, maxGapSeconds);
      return last + minGapSeconds + (modelGap - minGapSeconds) * p;
    },
    priority: (item, nowMs) => {
      if (item.phase === 'verify') return -1;
      // Found but not yet cleared: certainly posted and exposed right now. A watch after the
      // clear (its sha256 is the cleared record's) looks for a post like any find.
      if (item.sha256 !== undefined && item.phase !== 'watch') return 2;
      return postedProbability(item, nowMs, model) * silent;
    },
  };
}

/**
 * The probability that the server posted between our last look and `nowMs`, given it had not
 * posted by then: (F(now) − F(last)) / (1 − F(last)), with t measured from ACTIVE. Before any
 * check "last" is ACTIVE itself. An item not yet seen ACTIVE uses its first-seen time as a
 * stand-in (a sweep may find servers that have been up for a while).
 */
export function postedProbability(
  item: WorkItem,
  nowMs: number,
  model: PostDelayModel = DEFAULT_POST_DELAY_MODEL,
): number {
  const originMs = Date.parse(item.activeSince ?? item.firstSeenAt);
  if (!Number.isFinite(originMs)) return 0;
  const lastMs = item.lastPasswordCheckAt === undefined ? Number.NaN : Date.parse(item.lastPasswordCheckAt);
  const lastElapsed = Number.isFinite(lastMs) ? Math.max(0, (lastMs - originMs) / 1000) : 0;
  const nowElapsed = Math.max(lastElapsed, (nowMs - originMs) / 1000);
  const fLast = postDelayCdf(model, lastElapsed);
  const fNow = postDelayCdf(model, nowElapsed);
  if (fLast >= 1) return 1;
  return clamp((fNow - fLast) / (1 - fLast), 0, 1);
}

/** P(post delay ≤ seconds) under the log-normal model. */
export function postDelayCdf(model: PostDelayModel, seconds: number): number {
  if (seconds <= 0) return 0;
  return normalCdf(Math.log(seconds / model.medianSeconds) / model.sigma);
}

/** The post delay (seconds) below which a fraction `p` of servers post. */
export function postDelayQuantile(model: PostDelayModel, p: number): number {
  return model.medianSeconds * Math.exp(model.sigma * normalQuantile(clamp(p, 1e-9, 1 - 1e-9)));
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** Standard normal CDF via erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** Inverse standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
function normalQuantile(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  if (p < low) {
    const r = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c0 * r + c1) * r + c2) * r + c3) * r + c4) * r + c5) /
      ((((d0 * r + d1) * r + d2) * r + d3) * r + 1)
    );
  }
  if (p > 1 - low) {
    const r = Math.sqrt(-2 * Math.log(1 - p));
    return (
      -(((((c0 * r + c1) * r + c2) * r + c3) * r + c4) * r + c5) /
      ((((d0 * r + d1) * r + d2) * r + d3) * r + 1)
    );
  }
  const r = p - 0.5;
  const s = r * r;
  return (
    ((((((a0 * s + a1) * s + a2) * s + a3) * s + a4) * s + a5) * r) /
    (((((b0 * s + b1) * s + b2) * s + b3) * s + b4) * s + 1)
  );
}
