/**
 * The per-server escrow-then-clear state machine: the effects half. Each call looks at one
 * server once and returns an Outcome plus the updated WorkItem to re-queue when not ready.
 *
 * Order of effects, and why it is crash-safe:
 *   show → GET → escrow put (idempotent by sha256) → read back by version id and compare in
 *   constant time → markCleared (the durable "DELETE sent") → DELETE (never after the signal
 *   fired) → verify GET.
 * A DELETE is never repeated blindly (issue 9): after one whose answer was lost, or one that
 * was accepted (202 may apply late), the next step is a GET. Empty: done. The same ciphertext:
 * DELETE again only after the grace period. A different one: escrow it first.
 * A clear is done for the launch (launched_at) that posted the cleared ciphertext: when the
 * hook cannot tell that this launch posted it (a reinstall may have left an old record), it
 * watches for the launch's own post until that can no longer come.
 * Decrypt mode is a store decorator (lib/escrow/decrypt.ts withDecryption): the pipeline only
 * ever handles the ciphertext.
 * A rerun after a crash at any boundary repeats only idempotent steps: the put of the same
 * ciphertext returns the existing version, and a GET that finds the record gone consults the
 * escrow ledger to tell "already cleared by us" from "not posted yet".
 */
import type { Clock } from '../clock.ts';
import { buildEscrowRecord, sameCiphertext, sha256Hex } from '../escrow/escrow-record.ts';
import type { EscrowRecord, EscrowStore, ServerRef } from '../escrow/escrow-store.ts';
import type { ApiName } from '../huawei/api-names.ts';
import { launchOf } from '../huawei/bms-server.ts';
import type { BmsApi, BmsServer } from '../huawei/bms-types.ts';
import { isHuaweiApiError, isOutcomeUnknown } from '../huawei/errors.ts';
import type { Logger } from '../observability/logger.ts';
import { registerSecret } from '../observability/redact.ts';
import type { WorkItem } from '../queue/work-item.ts';
import {
  applyDeadline,
  assessPassword,
  assessServer,
  checkProject,
  deadlineMs,
  type EscrowHistory,
  type LaunchTiming,
  outcomeForHuaweiError,
  planPasswordCheck,
  type ServerPolicy,
  watchOver,
} from './decide.ts';
import type { BookkeepingFailure, FailReason, Outcome } from './outcome.ts';
import { DEFAULT_DELETE_GRACE_SECONDS, DEFAULT_REPOST_WATCH_SECONDS } from './pipeline-config.ts';
import { budgetPressure, type PollScheduler, planFindCheck } from './poll-schedule.ts';

/** The part of the rate limiter the scheduler reads. */
export interface RateBudget {
  estimatedWaitMs(api: ApiName): number;
  /** Share of the API's per-minute limit used over the last minute (0..1). */
  utilization?(api: ApiName): number;
}

export interface ProcessDeps {
  /** The BMS client for a region (items name their region; clients and budgets are per region). */
  bmsFor(region: string): BmsApi;
  store: EscrowStore;
  clock: Clock;
  policy: ServerPolicy;
  scheduler: PollScheduler;
  deadlineSeconds: number;
  dryRun: boolean;
  logger: Logger;
  /** See PipelineConfig.ledgerBeforeFind. */
  ledgerBeforeFind?: boolean | undefined;
  rateBudgetFor?: ((region: string) => RateBudget | undefined) | undefined;
}

export interface ProcessResult {
  outcome: Outcome;
  /** The item as it should be re-queued (attempt not yet incremented). */
  item: WorkItem;
}

export const PASSWORD_GET_API: ApiName = 'password.get';
/** The gateway counts per minute; waiting half of that lets the window roll. */
const THROTTLE_DELAY_SECONDS = 30;

export interface ProcessOptions {
  /** Pulled forward onto a password GET token nothing due wanted: a find looks now, whatever its schedule. */
  spareToken?: boolean | undefined;
}

export async function processServer(
  input: WorkItem,
  deps: ProcessDeps,
  signal?: AbortSignal,
  options: ProcessOptions = {},
): Promise<ProcessResult> {
  const run = new ServerRun(input, deps, signal, options.spareToken === true);
  const outcome = await run.execute();
  return {
    outcome: applyDeadline(outcome, run.item, deps.clock.now(), run.deadline),
    item: run.item,
  };
}

class ServerRun {
  item: WorkItem;
  readonly deps: ProcessDeps;
  readonly signal: AbortSignal | undefined;
  readonly ref: ServerRef;
  readonly bms: BmsApi;
  readonly rateBudget: RateBudget | undefined;
  readonly spareToken: boolean;

  constructor(item: WorkItem, deps: ProcessDeps, signal: AbortSignal | undefined, spareToken: boolean) {
    this.item = { ...item };
    this.spareToken = spareToken;
    this.deps = deps;
    this.signal = signal;
    this.ref = { projectId: item.projectId, region: item.region, serverId: item.serverId };
    this.bms = deps.bmsFor(item.region);
    this.rateBudget = deps.rateBudgetFor?.(item.region);
  }

  private now(): number {
    return this.deps.clock.now();
  }

  /** Counted from when the item was first seen, or from when it saw the server's launch move. */
  get deadline(): number {
    return deadlineMs(this.item, this.deps.deadlineSeconds);
  }

  private rateWaitMs(): number {
    return this.rateBudget?.estimatedWaitMs(PASSWORD_GET_API) ?? 0;
  }

  /** How full the password GET budget is, relative to the share this hook aims to use (0..1). */
  private budgetPressure(): number {
    const used = this.rateBudget?.utilization?.(PASSWORD_GET_API);
    return used === undefined ? 1 : budgetPressure(used, this.deps.scheduler.config.budgetTargetShare);
  }

  async execute(): Promise<Outcome> {
    const { deps, item } = this;
    const projectSkip = checkProject(item, deps.policy);
    if (projectSkip) return projectSkip;

    // A known-ACTIVE item that is early (a duplicate) or cannot get a token costs no call at all.
    if (item.activeSince !== undefined) {
      const early = this.planCheck(Date.parse(item.activeSince));
      if (early.kind === 'wait')
        return { kind: 'not-ready', reason: early.reason, retryAfterSeconds: early.delaySeconds };
    }

    let server: BmsServer;
    try {
      server = await this.bms.showServer(item.projectId, item.serverId, { signal: this.signal });
    } catch (error) {
      return this.huaweiFailure(error);
    }
    const assessment = assessServer(server, item, deps.policy, this.now());
    if (assessment.kind === 'skipped') return assessment;
    const launch = launchOf(server);
    if (assessment.kind === 'building') {
      this.item.activeSince = undefined;
      // The first BUILD (no launch yet): whatever this server posts next is its first launch's.
      // A rebuild still shows the old launch, so the new one will be seen to move on.
      if (launch === undefined && this.item.launchedAt === undefined) this.item.freshLaunch = FIRST_BUILD;
      else this.enterLaunch(launch);
      return {
        kind: 'not-ready',
        reason: 'building',
        retryAfterSeconds: deps.scheduler.config.buildPollSeconds,
      };
    }
    this.enterLaunch(launch);
    const activeSinceMs = assessment.activeSinceMs;
    this.item.activeSince = new Date(activeSinceMs).toISOString();

    const plan = this.planCheck(activeSinceMs);
    if (plan.kind === 'wait')
      return { kind: 'not-ready', reason: plan.reason, retryAfterSeconds: plan.delaySeconds };
    if (
      deps.ledgerBeforeFind &&
      item.source === 'posted' &&
      item.phase !== 'verify' &&
      item.sha256 === undefined
    ) {
      // The server's chain may have escrowed and cleared this launch's record ahead of this hint.
      // The escrow says so without a password GET: the same decision an empty GET would take,
      // and only when every version of this launch is marked cleared. Only a hint may end on it:
      // a version is marked before its DELETE goes out, so a mark alone does not prove the
      // record empty (a worker may have died in between), and the chain must look for itself.
      let history: EscrowHistory | undefined;
      try {
        history = await this.escrowHistory();
      } catch (error) {
        return { kind: 'failed', reason: 'escrow-read-failed', permanent: false, detail: errorDetail(error) };
      }
      const before = assessPassword({
        item: this.item,
        sha256: undefined,
        activeSinceMs,
        history,
        timing: this.timing(),
      });
      if (before.kind === 'already-cleared' && before.uncleared.length === 0)
        return { kind: 'skipped', reason: 'already-cleared' };
    }
    return this.checkPassword(server, activeSinceMs);
  }

  private planCheck(activeSinceMs: number) {
    return planPasswordCheck({
      item: this.item,
      activeSinceMs,
      nowMs: this.now(),
      deadlineMs: this.deadline,
      scheduler: this.deps.scheduler,
      rateWaitMs: this.rateWaitMs(),
      pressure: this.budgetPressure(),
      spareToken: this.spareToken,
    });
  }

  /** Notes the server's launch; a launch that moved on (a reinstall) starts a new watch. */
  private enterLaunch(launch: string | undefined): void {
    const { item } = this;
    if (launch === undefined || item.launchedAt === launch) return;
    if (item.launchedAt === undefined) {
      if (item.freshLaunch === FIRST_BUILD) item.freshLaunch = launch;
    } else {
      // Reinstalled since this item last looked: a record present now may be the old OS's.
      item.launchMoved = true;
      // A new launch is a new exposure with a whole deadline of its own: one chain may watch a
      // server across reinstalls (leases on SQS), and the old deadline would end it in the
      // middle of the new launch's post or its repost watch (sim seed 501531).
      item.firstSeenAt = new Date(this.now()).toISOString();
      // The launch being watched is gone; the new one is found afresh.
      if (item.phase === 'watch') item.phase = 'find';
    }
    item.launchedAt = launch;
  }

  private timing(): LaunchTiming {
    const { config } = this.deps.scheduler;
    return {
      nowMs: this.now(),
      deleteGraceSeconds: config.deleteGraceSeconds ?? DEFAULT_DELETE_GRACE_SECONDS,
      postClearWatchSeconds: config.postClearWatchSeconds ?? 0,
      repostWatchSeconds: config.repostWatchSeconds ?? DEFAULT_REPOST_WATCH_SECONDS,
    };
  }

  private async getPassword(): Promise<{ ciphertext: string | undefined; sha256: string | undefined }> {
    const record = await this.bms.getPassword(this.item.projectId, this.item.serverId, {
      signal: this.signal,
    });
    this.item.passwordChecks = (this.item.passwordChecks ?? 0) + 1;
    this.item.lastPasswordCheckAt = new Date(this.now()).toISOString();
    const ciphertext = record?.ciphertext ? record.ciphertext : undefined;
    if (ciphertext === undefined) {
      // Only a look before the find bounds the post; a verify or repost-watch GET comes after our
      // DELETE and would make the exposure just closed look shorter than it was.
      if (this.item.phase !== 'verify' && this.item.phase !== 'watch')
        this.item.lastEmptyCheckAt = this.item.lastPasswordCheckAt;
      // Whatever DELETE we sent has applied (or the record was emptied otherwise), and a
      // ciphertext found from now on in this launch was posted by it.
      this.item.deleteSentAt = undefined;
      if (this.item.launchedAt !== undefined) this.item.freshLaunch = this.item.launchedAt;
      return { ciphertext, sha256: undefined };
    }
    registerSecret(ciphertext);
    return { ciphertext, sha256: sha256Hex(ciphertext) };
  }

  private async checkPassword(server: BmsServer, activeSinceMs: number): Promise<Outcome> {
    const found = await this.step('huawei-error', () => this.getPassword());
    if (!found.ok) return found.outcome;
    const { sha256, ciphertext } = found.value;

    let history: EscrowHistory | undefined;
    if (sha256 === undefined && (this.item.phase ?? 'find') === 'find') {
      const read = await this.step('escrow-read-failed', () => this.escrowHistory());
      if (!read.ok) return read.outcome;
      history = read.value;
    }

    const assessment = assessPassword({
      item: this.item,
      sha256,
      activeSinceMs,
      history,
      timing: this.timing(),
    });
    switch (assessment.kind) {
      case 'not-posted':
        return this.notPosted(activeSinceMs);
      case 'already-cleared': {
        for (const versionId of assessment.uncleared) {
          const marked = await this.step('escrow-write-failed', () =>
            this.deps.store.markCleared(this.ref, versionId, { signal: this.signal }),
          );
          if (!marked.ok) return marked.outcome;
        }
        return { kind: 'skipped', reason: 'already-cleared' };
      }
      case 'verified':
        return this.verified(activeSinceMs);
      case 'watch':
        if (assessment.untilMs !== undefined) return this.notPosted(activeSinceMs, 'watching');
        return this.watch(activeSinceMs);
      case 'clear-pending':
        return {
          kind: 'not-ready',
          reason: 'clear-pending',
          retryAfterSeconds: Math.min(
            assessment.retryAfterSeconds,
            Math.max(1, this.deps.scheduler.config.verifyDelaySeconds),
          ),
        };
      case 'escrow':
        return this.escrowAndClear(server, ciphertext!, sha256!);
    }
  }

  private notPosted(activeSinceMs: number, reason: 'not-posted' | 'watching' = 'not-posted'): Outcome {
    const next = planFindCheck(
      this.deps.scheduler,
      {
        activeSinceMs,
        lastCheckMs: this.now(),
        checks: this.item.passwordChecks ?? 0,
        deadlineMs: this.deadline,
      },
      this.now(),
      this.budgetPressure(),
    );
    return { kind: 'not-ready', reason, retryAfterSeconds: next.due ? 1 : next.delaySeconds };
  }

  /** The newest escrowed version: when and in which launch it was read, and what awaits markCleared. */
  private async escrowHistory(): Promise<EscrowHistory | undefined> {
    const ledger = await this.deps.store.ledger(this.ref, { signal: this.signal });
    if (!ledger || ledger.versions.length === 0) return undefined;
    const newest = [...ledger.versions].sort(
      (a, b) => (Date.parse(b.createdAt ?? '') || 0) - (Date.parse(a.createdAt ?? '') || 0),
    )[0]!;
    // retrievedAt and launchedAt are on the cloud's clock (the ledger's createdAt is the store's).
    const record = await this.deps.store.read(this.ref, newest.versionId, { signal: this.signal });
    if (record?.launchedAt !== undefined && record.launchedAt === this.item.launchedAt) {
      // A duplicate that finds this launch's clear and watches with it reports the same version.
      this.item.versionId ??= newest.versionId;
      this.item.sha256 ??= record.sha256;
      this.item.foundAt ??= record.retrievedAt;
    }
    return {
      latestRetrievedAt: record?.retrievedAt ?? newest.createdAt,
      latestLaunchedAt: record?.launchedAt,
      latestPostedInLaunch: record?.postedInLaunch,
      uncleared: ledger.versions.filter((v) => !v.cleared).map((v) => v.versionId),
    };
  }

  private async escrowAndClear(server: BmsServer, ciphertext: string, sha256: string): Promise<Outcome> {
    const { deps, item } = this;
    const nowIso = new Date(this.now()).toISOString();
    if (item.sha256 !== sha256) {
      this.item.foundAt = nowIso;
      this.item.clearedAt = undefined;
      this.item.deleteSentAt = undefined;
      this.item.postedInLaunch = await this.postedInThisLaunch(sha256);
    }
    this.item.foundAt ??= nowIso;
    this.item.sha256 = sha256;
    this.item.phase = 'find';

    const put = await this.step('escrow-write-failed', () =>
      deps.store.put(
        buildEscrowRecord({
          ref: this.ref,
          ciphertext,
          retrievedAt: nowIso,
          serverName: server.name,
          keyName: server.key_name,
          launchedAt: item.launchedAt,
          postedInLaunch: item.postedInLaunch,
        }),
        { signal: this.signal },
      ),
    );
    if (!put.ok) return put.outcome;
    const versionId = put.value.versionId;
    this.item.versionId = versionId;

    const read = await this.step('escrow-read-failed', () =>
      deps.store.read(this.ref, versionId, { signal: this.signal }),
    );
    if (!read.ok) return read.outcome;
    const readBack: EscrowRecord | undefined = read.value;
    if (!readBack || readBack.sha256 !== sha256 || !sameCiphertext(readBack.ciphertext, ciphertext))
      return {
        kind: 'failed',
        reason: 'escrow-mismatch',
        permanent: false,
        detail: readBack ? 'read-back differs from the fetched ciphertext' : 'version not found on read-back',
      };

    const exposure = {
      foundAt: this.item.foundAt,
      lastEmptyCheckAt: this.item.lastEmptyCheckAt,
      passwordChecks: this.item.passwordChecks ?? 0,
    };
    if (deps.dryRun) return { kind: 'escrowed', versionId, sha256, exposure, dryRun: true };
    // Looked again right before the DELETE: a concurrent worker on this server may have sent its
    // DELETE of this ciphertext since our put (it marks the version first). Its DELETE may be
    // a 202 that applies late, so a second one could land after a repost and empty a record
    // nobody escrowed: defer to it, as this chain does to its own within the grace period.
    // A ledger that cannot be read is no answer: wait and look again rather than DELETE.
    if (item.deleteSentAt === undefined) {
      const markedBefore = await this.step('escrow-read-failed', () => this.markedCleared(versionId));
      if (!markedBefore.ok) return markedBefore.outcome;
      if (markedBefore.value) {
        this.item.deleteSentAt = nowIso;
        this.item.phase = 'verify';
        return this.clearPending();
      }
    }
    // Invariant: no DELETE starts once the invocation is being cut short; the retry resumes here.
    if (this.signal?.aborted)
      return { kind: 'failed', reason: 'aborted', permanent: false, detail: 'before DELETE' };
    // The version is marked before the DELETE goes out (the durable "DELETE sent" every other
    // worker checks above); unmarked, no DELETE is sent. (A narrow race remains: two workers
    // that both read the ledger before either marks it. Only a conditional DELETE would close
    // it, and the API has none.)
    const premarked = await this.step('escrow-write-failed', () =>
      deps.store.markCleared(this.ref, versionId, { signal: this.signal }),
    );
    if (!premarked.ok) return premarked.outcome;
    // Marked but not sent: whoever looks next finds the mark and waits out the grace, then sends it.
    if (this.signal?.aborted)
      return { kind: 'failed', reason: 'aborted', permanent: false, detail: 'before DELETE' };

    // From here the DELETE may apply, whatever its answer: the item remembers it went out.
    this.item.deleteSentAt = nowIso;
    this.item.phase = 'verify';
    try {
      await this.bms.deletePassword(item.projectId, item.serverId, { signal: this.signal });
    } catch (error) {
      // Lost answer (reset, timeout, 5xx) or cut short mid-call: it may have applied. Look
      // before doing anything else; never send it again blindly.
      if (isOutcomeUnknown(error) || isHuaweiApiError(error, 'aborted') || this.signal?.aborted) {
        deps.logger.warn('DELETE outcome unknown; checking the record before anything else', {
          serverId: item.serverId,
          error,
        });
        return this.verifyInline();
      }
      // A definite refusal (4xx, 429): nothing was cleared, though the version is marked. This
      // chain knows that, so its next pass sends the DELETE again without the grace wait.
      const graceMs = (deps.scheduler.config.deleteGraceSeconds ?? DEFAULT_DELETE_GRACE_SECONDS) * 1000;
      this.item.deleteSentAt = new Date(this.now() - graceMs).toISOString();
      this.item.phase = 'find';
      return this.huaweiFailure(error);
    }
    this.item.clearedAt = new Date(this.now()).toISOString();
    return this.verifyInline();
  }

  /**
   * Whether a newly found ciphertext is taken as this launch's own post, so that clearing it
   * finishes the launch. Known when this item saw the record empty in this launch (or saw its
   * first BUILD), or when the escrow already holds this very ciphertext as this launch's own.
   * Never assumed: a server reinstalled before the hook first looked still shows the old OS's
   * record, and an item that never saw the earlier launch cannot tell (sim seed 1000544: that
   * record was taken for the new launch's post and the new post was never looked for). Then
   * the launch watch after the clear looks for the new OS's post (until launch + 1 h).
   */
  private async postedInThisLaunch(sha256: string): Promise<boolean> {
    const { item } = this;
    if (item.launchedAt === undefined) return false;
    if (item.freshLaunch === item.launchedAt) return true;
    if (item.launchMoved) return false;
    try {
      const versions = (await this.deps.store.ledger(this.ref, { signal: this.signal }))?.versions ?? [];
      return (
        versions.length > 0 &&
        versions.every(
          (v) => v.sha256 === sha256 && v.launchedAt === item.launchedAt && v.postedInLaunch === true,
        )
      );
    } catch {
      return false;
    }
  }

  private async markedCleared(versionId: string): Promise<boolean> {
    const ledger = await this.deps.store.ledger(this.ref, { signal: this.signal });
    return ledger?.versions.some((v) => v.versionId === versionId && v.cleared) ?? false;
  }

  private clearPending(): Outcome {
    return {
      kind: 'not-ready',
      reason: 'clear-pending',
      retryAfterSeconds: this.deps.scheduler.config.verifyDelaySeconds,
    };
  }

  /** Verifies right away when a token is free; otherwise leaves it to a later, low-priority pass. */
  private async verifyInline(): Promise<Outcome> {
    // Inline only if a token is free now: waiting here would hold the invocation for a call
    // that does not shorten the exposure. The re-queued pass yields only under real load.
    if (this.signal?.aborted || this.rateWaitMs() > 0) return this.clearPending();
    let found: { sha256: string | undefined };
    try {
      found = await this.getPassword();
    } catch {
      return this.clearPending();
    }
    if (found.sha256 === undefined)
      return this.verified(Date.parse(this.item.activeSince ?? '') || this.now());
    // The same ciphertext: the DELETE is still being processed (or was lost). A different one:
    // a new post that the next pass escrows before anything else. Either way, look again.
    return this.clearPending();
  }

  /**
   * The record is empty after our DELETE. Done, unless this launch may still post its own
   * password (we could not tell it posted the one we cleared): then watch for it.
   */
  private async verified(activeSinceMs: number): Promise<Outcome> {
    const { item } = this;
    if (item.versionId === undefined || item.sha256 === undefined || item.foundAt === undefined)
      return {
        kind: 'failed',
        reason: 'invalid-item',
        permanent: true,
        detail: 'verify phase without version',
      };
    const bookkeeping = await this.markCleared(item.versionId);
    // A clear whose answer was lost is dated by the GET that saw it done.
    item.clearedAt ??= new Date(this.now()).toISOString();
    if (watchOver(item, this.timing())) return this.cleared(bookkeeping);
    item.phase = 'watch';
    return this.watch(activeSinceMs);
  }

  /** Empty while watching: done once this launch's post can no longer come (or at the deadline). */
  private async watch(activeSinceMs: number): Promise<Outcome> {
    const { item } = this;
    if (!watchOver(item, this.timing()) && this.now() < this.deadline)
      return this.notPosted(activeSinceMs, 'watching');
    if (
      item.phase !== 'watch' ||
      item.versionId === undefined ||
      item.sha256 === undefined ||
      item.foundAt === undefined
    )
      return { kind: 'skipped', reason: 'already-cleared' };
    return this.cleared(await this.markCleared(item.versionId));
  }

  private async markCleared(versionId: string): Promise<BookkeepingFailure | undefined> {
    const marked = await this.step('escrow-write-failed', () =>
      this.deps.store.markCleared(this.ref, versionId, { signal: this.signal }),
    );
    if (marked.ok) return undefined;
    const detail = marked.outcome.kind === 'failed' ? (marked.outcome.detail ?? '') : '';
    this.deps.logger.warn('record escrowed and cleared, but markCleared failed', {
      serverId: this.item.serverId,
      detail,
    });
    return { reason: 'escrow-write-failed', detail };
  }

  private async cleared(bookkeeping: BookkeepingFailure | undefined): Promise<Outcome> {
    const { deps, item } = this;
    let newVersion = false;
    try {
      newVersion = ((await deps.store.ledger(this.ref, { signal: this.signal }))?.versions.length ?? 0) > 1;
    } catch {
      // Only informational.
    }
    return {
      kind: 'cleared',
      versionId: item.versionId!,
      sha256: item.sha256!,
      newVersion,
      exposure: {
        foundAt: item.foundAt!,
        lastEmptyCheckAt: item.lastEmptyCheckAt,
        clearedAt: item.clearedAt,
        passwordChecks: item.passwordChecks ?? 0,
      },
      ...(bookkeeping ? { bookkeeping } : {}),
    };
  }

  /** One effect, its failure turned into the outcome that names it (issue 12: one helper). */
  private async step<T>(reason: FailReason, effect: () => Promise<T>): Promise<Step<T>> {
    try {
      return { ok: true, value: await effect() };
    } catch (error) {
      if (reason === 'huawei-error') return { ok: false, outcome: this.huaweiFailure(error) };
      return { ok: false, outcome: { kind: 'failed', reason, permanent: false, detail: errorDetail(error) } };
    }
  }

  private huaweiFailure(error: unknown): Outcome {
    const mapped = outcomeForHuaweiError(error, THROTTLE_DELAY_SECONDS);
    if (mapped.kind === 'not-found') return { kind: 'skipped', reason: 'server-not-found' };
    return mapped;
  }
}

type Step<T> = { ok: true; value: T } | { ok: false; outcome: Outcome };

/** Marks an item that saw the server's first BUILD: its next launch is the server's first. */
const FIRST_BUILD = 'first-build';

function errorDetail(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
}
