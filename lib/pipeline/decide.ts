/**
 * The pure half of the per-server state machine: given facts (the work item, the server as
 * shown, what the password GET returned, the escrow ledger, the time), decide the next step.
 * No I/O here, so every branch is unit-testable with plain values; process-server.ts
 * performs the effects in between.
 */

import { AUTH_CIRCUIT_OPEN } from '../huawei/auth-guard.ts';
import { osType, parseHuaweiTime, tagValue } from '../huawei/bms-server.ts';
import type { BmsServer } from '../huawei/bms-types.ts';
import { isHuaweiApiError } from '../huawei/errors.ts';
import type { WorkItem } from '../queue/work-item.ts';
import type { FailReason, Outcome, SkipReason } from './outcome.ts';
import type { OptMode } from './pipeline-config.ts';
import {
  type CheckPlan,
  deferDelaySeconds,
  type PollScheduler,
  planFindCheck,
  VERIFY_YIELD_WAIT_MS,
} from './poll-schedule.ts';

export interface ServerPolicy {
  optMode: OptMode;
  optTagKey: string;
  allowedProjectIds: readonly string[];
}

export type SkipDecision = { kind: 'skipped'; reason: SkipReason; detail?: string | undefined };

/** A project outside the allow-list is skipped before any Huawei call. */
export function checkProject(item: WorkItem, policy: ServerPolicy): SkipDecision | undefined {
  if (policy.allowedProjectIds.length > 0 && !policy.allowedProjectIds.includes(item.projectId))
    return { kind: 'skipped', reason: 'project-not-allowed' };
  return undefined;
}

export type ServerAssessment =
  | SkipDecision
  | { kind: 'building' }
  /** The password phase may start; the post-delay clock counts from `activeSinceMs`. */
  | { kind: 'eligible'; activeSinceMs: number };

/** Nova/BMS task states of a server that is (re)installing; its launched_at is about to move. */
/** Within this of its deadline a verify GET stops yielding its turn. */
export const VERIFY_DEADLINE_MARGIN_MS = 15 * 60_000;

const REBUILDING_TASK = /^(rebuild|spawning|scheduling|networking|block_device_mapping)/;

export function assessServer(
  server: BmsServer,
  item: WorkItem,
  policy: ServerPolicy,
  nowMs: number,
): ServerAssessment {
  const status = String(server.status ?? '').toUpperCase();
  if (status === 'DELETED' || status === 'SOFT_DELETED') return { kind: 'skipped', reason: 'server-deleted' };
  if (status === 'ERROR') return { kind: 'skipped', reason: 'server-error' };
  const os = osType(server);
  if (os !== 'windows')
    return {
      kind: 'skipped',
      reason: 'not-windows',
      detail: os === undefined ? 'os type unknown' : os,
    };
  const optTag = tagValue(server.tags, policy.optTagKey);
  if (optTag?.toLowerCase() === 'skip') return { kind: 'skipped', reason: 'opted-out' };
  if (policy.optMode === 'opt-in' && optTag?.toLowerCase() !== 'enabled')
    return { kind: 'skipped', reason: 'not-opted-in' };
  // Nothing can be posted before the first boot finishes, nor while an OS reinstall runs (BMS
  // shows SHUTOFF with task_state "rebuilding" then). Other states (SHUTOFF, REBOOT…) may
  // already hold a posted record, so they go on to the password phase.
  if (
    status === 'BUILD' ||
    status === 'REBUILD' ||
    REBUILDING_TASK.test(String(server['OS-EXT-STS:task_state'] ?? ''))
  )
    return { kind: 'building' };
  return { kind: 'eligible', activeSinceMs: activeSince(server, item, nowMs) };
}

/**
 * When the post-delay clock started: the server's own launched_at (it moves on a rebuild), else
 * when we first saw it ACTIVE, else now. Never in the future.
 */
export function activeSince(server: BmsServer, item: WorkItem, nowMs: number): number {
  const launched = parseHuaweiTime(server['OS-SRV-USG:launched_at']);
  const remembered = item.activeSince === undefined ? Number.NaN : Date.parse(item.activeSince);
  const ms = Number.isFinite(launched) ? launched : Number.isFinite(remembered) ? remembered : nowMs;
  return Math.min(ms, nowMs);
}

export type PasswordCheckPlan =
  | { kind: 'get' }
  | { kind: 'wait'; reason: 'not-posted' | 'deferred'; delaySeconds: number };

/**
 * Whether to spend a password GET now. `rateWaitMs` is the limiter's estimated wait for a
 * password.get token (0 when free or unknown).
 */
export function planPasswordCheck(args: {
  item: WorkItem;
  activeSinceMs: number;
  nowMs: number;
  deadlineMs: number;
  scheduler: PollScheduler;
  rateWaitMs: number;
  /** How full the GET budget is (0..1); see budgetPressure. */
  pressure?: number | undefined;
  /** The item was pulled forward onto a token nothing due wanted (local-queue-worker.ts): look now. */
  spareToken?: boolean | undefined;
}): PasswordCheckPlan {
  const { item, scheduler, rateWaitMs } = args;
  if (item.phase === 'verify') {
    // The exposure window closed at DELETE: the verify GET only takes a token nobody waits for,
    // until its deadline nears (a rush of hints would otherwise starve it into the DLQ).
    const nearDeadline = args.nowMs >= args.deadlineMs - VERIFY_DEADLINE_MARGIN_MS;
    if (scheduler.defersUnderLoad && rateWaitMs > VERIFY_YIELD_WAIT_MS && !nearDeadline)
      return { kind: 'wait', reason: 'deferred', delaySeconds: deferDelaySeconds(rateWaitMs) };
    return { kind: 'get' };
  }
  // A record was found but its DELETE did not go through (throttled, aborted, store hiccup):
  // the password is known to be exposed, so retry at once rather than on the posting model.
  if (item.sha256 !== undefined) {
    if (scheduler.defersUnderLoad && rateWaitMs > scheduler.config.maxRateWaitMs)
      return { kind: 'wait', reason: 'deferred', delaySeconds: deferDelaySeconds(rateWaitMs) };
    return { kind: 'get' };
  }
  // An operator who runs `process` asks for a look now, and a guest's "posted" hint is the
  // reason to look now: both take the next token, whatever the model says. So does a look
  // pulled forward onto a token that would otherwise go unused.
  if (args.spareToken === true) return { kind: 'get' };
  if ((item.source === 'cli' || item.source === 'posted') && (item.passwordChecks ?? 0) === 0)
    return { kind: 'get' };
  const lastCheckMs =
    item.lastPasswordCheckAt === undefined ? undefined : Date.parse(item.lastPasswordCheckAt);
  const plan: CheckPlan = planFindCheck(
    scheduler,
    {
      activeSinceMs: args.activeSinceMs,
      lastCheckMs: Number.isFinite(lastCheckMs) ? lastCheckMs : undefined,
      checks: item.passwordChecks ?? 0,
      deadlineMs: args.deadlineMs,
    },
    args.nowMs,
    args.pressure,
  );
  if (!plan.due) return { kind: 'wait', reason: 'not-posted', delaySeconds: plan.delaySeconds };
  if (scheduler.defersUnderLoad && rateWaitMs > scheduler.config.maxRateWaitMs)
    return { kind: 'wait', reason: 'deferred', delaySeconds: deferDelaySeconds(rateWaitMs) };
  return { kind: 'get' };
}

export type PasswordAssessment =
  /** Escrow this ciphertext, read it back, then DELETE. */
  | { kind: 'escrow'; newVersion: boolean }
  /** Nothing posted yet. */
  | { kind: 'not-posted' }
  /** The verify GET saw the record gone: done. */
  | { kind: 'verified' }
  /** Our DELETE of this very ciphertext may still apply (202 = processed later): look again, send nothing. */
  | { kind: 'clear-pending'; retryAfterSeconds: number }
  /** Empty, and this launch's password is already escrowed: a duplicate or a rerun after a crash. */
  | { kind: 'already-cleared'; uncleared: string[] }
  /**
   * Empty after a clear of a ciphertext this launch may not have posted: its own post may still
   * come. `untilMs`: a find-phase look inside the repost window of a clear found in the ledger.
   */
  | { kind: 'watch'; untilMs?: number | undefined };

/** What the escrow ledger says about a server, reduced to what the decision needs. */
export interface EscrowHistory {
  /** ISO retrievedAt of the newest escrowed version (cloud time), if any. */
  latestRetrievedAt?: string | undefined;
  /** The newest version's launch and whether that launch is known to have posted it (records since issue 9). */
  latestLaunchedAt?: string | undefined;
  latestPostedInLaunch?: boolean | undefined;
  /** Versions not yet marked cleared. */
  uncleared: string[];
}

export interface LaunchTiming {
  /** Cloud time now. */
  nowMs: number;
  /** See SchedulerConfig.deleteGraceSeconds / postClearWatchSeconds / repostWatchSeconds. */
  deleteGraceSeconds: number;
  postClearWatchSeconds: number;
  repostWatchSeconds?: number | undefined;
}

/** Whether a post from launch `launchedAt` can no longer come (or the launch is unknown). */
export function launchWatchOver(launchedAt: string | undefined, timing: LaunchTiming): boolean {
  const launched = launchedAt === undefined ? Number.NaN : Date.parse(launchedAt);
  return !Number.isFinite(launched) || timing.nowMs >= launched + timing.postClearWatchSeconds * 1000;
}

/** When the repost watch after the clear of a version found at `retrievedAt` ends (0: unknown). */
export function repostWatchEndMs(retrievedAt: string | undefined, timing: LaunchTiming): number {
  const found = retrievedAt === undefined ? Number.NaN : Date.parse(retrievedAt);
  const seconds = timing.repostWatchSeconds ?? 0;
  return Number.isFinite(found) && seconds > 0 ? found + seconds * 1000 : 0;
}

/**
 * Whether a signed "posted" notification said Cloudbase-Init's password plugin had finished in
 * the item's current launch (posted-intake.ts): that launch posts nothing more. A launch that
 * began after the notification (a reinstall) is not covered.
 */
export function guestSettled(item: WorkItem): boolean {
  const settled = item.guestSettledAt === undefined ? Number.NaN : Date.parse(item.guestSettledAt);
  const launched = item.launchedAt === undefined ? Number.NaN : Date.parse(item.launchedAt);
  return Number.isFinite(settled) && Number.isFinite(launched) && launched <= settled;
}

/**
 * Whether the watch after our clear is over: the repost window after the clear has passed and,
 * when the cleared ciphertext may not be this launch's (a reinstall), so has the launch's own.
 * Both wait for a post that a settled guest will not make.
 */
export function watchOver(item: WorkItem, timing: LaunchTiming): boolean {
  if (guestSettled(item)) return true;
  const cleared = item.clearedAt === undefined ? Number.NaN : Date.parse(item.clearedAt);
  const repostEnd = Number.isFinite(cleared) ? cleared + (timing.repostWatchSeconds ?? 0) * 1000 : 0;
  if (timing.nowMs < repostEnd) return false;
  return item.postedInLaunch === true || launchWatchOver(item.launchedAt, timing);
}

/**
 * What the password GET means. `sha256` is the hash of the returned ciphertext (undefined when
 * empty). `history` is looked up only for an empty GET in the find phase.
 */
export function assessPassword(args: {
  item: WorkItem;
  sha256: string | undefined;
  activeSinceMs: number;
  history?: EscrowHistory | undefined;
  timing?: LaunchTiming | undefined;
}): PasswordAssessment {
  const { item, sha256, history } = args;
  const timing = args.timing ?? {
    nowMs: Number.POSITIVE_INFINITY,
    deleteGraceSeconds: 0,
    postClearWatchSeconds: 0,
  };
  if (sha256 === undefined) {
    if (item.phase === 'verify') return { kind: 'verified' };
    if (item.phase === 'watch') return { kind: 'watch' };
    // The ledger names the launch it escrowed in: done only for that launch, and only once that
    // launch's own post can no longer come (we know it posted what we cleared, or it is too late).
    if (history?.latestLaunchedAt !== undefined && item.launchedAt !== undefined) {
      if (history.latestLaunchedAt !== item.launchedAt) return { kind: 'not-posted' };
      // The repost watch after that clear lives in the chain's work item; a redelivered or
      // duplicated copy of an older item must keep it too (the guest's retried POST lands
      // after our clear). It counts from the find: a repost follows its post, which came before.
      const settled = guestSettled(item);
      const repostEndMs = repostWatchEndMs(history.latestRetrievedAt, timing);
      if (timing.nowMs < repostEndMs && !settled) return { kind: 'watch', untilMs: repostEndMs };
      if (history.latestPostedInLaunch === true || settled || launchWatchOver(item.launchedAt, timing))
        return { kind: 'already-cleared', uncleared: history.uncleared };
      return { kind: 'watch' };
    }
    // Older records: a version escrowed after this boot began (launched_at, which a rebuild
    // moves, as in Nova) means we, or a concurrent worker, already cleared this install's record.
    // The event's own time is not used: a late or duplicated event would otherwise poll until
    // its deadline.
    const latest =
      history?.latestRetrievedAt === undefined ? Number.NaN : Date.parse(history.latestRetrievedAt);
    const since = args.activeSinceMs;
    if (!Number.isFinite(latest) || latest < since) return { kind: 'not-posted' };
    return { kind: 'already-cleared', uncleared: history?.uncleared ?? [] };
  }
  // The ciphertext our last DELETE was for: while that DELETE may still apply, sending another
  // could empty the record early and let the late one wipe a post that follows. After the grace
  // period it was lost (or is very late): send it again.
  if (sha256 === item.sha256 && item.deleteSentAt !== undefined) {
    const sent = Date.parse(item.deleteSentAt);
    const remainingMs = sent + timing.deleteGraceSeconds * 1000 - timing.nowMs;
    if (Number.isFinite(sent) && remainingMs > 0)
      return { kind: 'clear-pending', retryAfterSeconds: Math.max(1, Math.ceil(remainingMs / 1000)) };
    return { kind: 'escrow', newVersion: false };
  }
  return { kind: 'escrow', newVersion: item.sha256 !== undefined && item.sha256 !== sha256 };
}

/** A "not ready" past the deadline becomes a permanent failure, so it is surfaced in the DLQ. */
export function applyDeadline(outcome: Outcome, item: WorkItem, nowMs: number, deadlineMs: number): Outcome {
  if (nowMs < deadlineMs) return outcome;
  // A transient failure is retried until the deadline, like a wait; then it is surfaced too.
  if (outcome.kind === 'failed' && !outcome.permanent)
    return { ...outcome, permanent: true, detail: `${outcome.detail ?? outcome.reason}; deadline passed` };
  if (outcome.kind !== 'not-ready') return outcome;
  if (item.phase === 'verify')
    return {
      kind: 'failed',
      reason: 'clear-not-confirmed',
      permanent: true,
      detail: 'deadline passed while verifying',
    };
  return {
    kind: 'failed',
    reason: 'deadline-exceeded',
    permanent: true,
    detail: `still ${outcome.reason} at the deadline`,
  };
}

export function deadlineMs(item: WorkItem, deadlineSeconds: number): number {
  return Date.parse(item.firstSeenAt) + deadlineSeconds * 1000;
}

const AUTH_BLOCKED_RETRY_SECONDS = 300;

/** Maps a failed Huawei call to an outcome. Auth failures are permanent: never loop on them. */
export function outcomeForHuaweiError(
  error: unknown,
  throttleDelaySeconds: number,
): Outcome | { kind: 'not-found' } {
  if (isHuaweiApiError(error)) {
    const detail = error.message;
    switch (error.kind) {
      case 'auth':
        // The breaker held this call back (another call's auth failure, or the clock): nothing
        // is wrong with this server, so it waits (until its deadline) instead of dead-lettering.
        if (error.code === AUTH_CIRCUIT_OPEN)
          return { kind: 'not-ready', reason: 'auth-blocked', retryAfterSeconds: AUTH_BLOCKED_RETRY_SECONDS };
        return { kind: 'failed', reason: 'auth-failed', permanent: true, detail };
      case 'not-found':
        return { kind: 'not-found' };
      case 'throttled':
        return { kind: 'not-ready', reason: 'throttled', retryAfterSeconds: throttleDelaySeconds };
      case 'aborted':
        return { kind: 'failed', reason: 'aborted', permanent: false, detail };
      default:
        return { kind: 'failed', reason: 'huawei-error', permanent: false, detail };
    }
  }
  if (isAbortError(error)) return { kind: 'failed', reason: 'aborted', permanent: false };
  const reason: FailReason = 'huawei-error';
  return {
    kind: 'failed',
    reason,
    permanent: false,
    detail: error instanceof Error ? error.name : 'unknown error',
  };
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}
