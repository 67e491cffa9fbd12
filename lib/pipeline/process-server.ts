/**
 * The per-server escrow-then-clear state machine: the effects half. Each call looks at one
 * server once and returns an Outcome plus the updated WorkItem to re-queue when not ready.
 *
 * Order of effects, and why it is crash-safe:
 *   show → GET → escrow put (idempotent by sha256) → read back by version id and compare in
 *   constant time → DELETE (idempotent; never after the signal fired) → markCleared → verify GET.
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
import type { BmsApi, BmsServer } from '../huawei/bms-types.ts';
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
  outcomeForHuaweiError,
  planPasswordCheck,
  type ServerPolicy,
} from './decide.ts';
import type { Outcome } from './outcome.ts';
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

export async function processServer(
  input: WorkItem,
  deps: ProcessDeps,
  signal?: AbortSignal,
): Promise<ProcessResult> {
  const run = new ServerRun(input, deps, signal);
  const outcome = await run.execute();
  return {
    outcome: applyDeadline(outcome, run.item, deps.clock.now(), deadlineMs(input, deps.deadlineSeconds)),
    item: run.item,
  };
}

class ServerRun {
  item: WorkItem;
  readonly deps: ProcessDeps;
  readonly signal: AbortSignal | undefined;
  readonly ref: ServerRef;
  readonly deadline: number;
  readonly bms: BmsApi;
  readonly rateBudget: RateBudget | undefined;

  constructor(item: WorkItem, deps: ProcessDeps, signal: AbortSignal | undefined) {
    this.item = { ...item };
    this.deps = deps;
    this.signal = signal;
    this.ref = { projectId: item.projectId, region: item.region, serverId: item.serverId };
    this.deadline = deadlineMs(item, deps.deadlineSeconds);
    this.bms = deps.bmsFor(item.region);
    this.rateBudget = deps.rateBudgetFor?.(item.region);
  }

  private now(): number {
    return this.deps.clock.now();
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
    if (assessment.kind === 'building') {
      this.item.activeSince = undefined;
      return {
        kind: 'not-ready',
        reason: 'building',
        retryAfterSeconds: deps.scheduler.config.buildPollSeconds,
      };
    }
    const activeSinceMs = assessment.activeSinceMs;
    this.item.activeSince = new Date(activeSinceMs).toISOString();

    const plan = this.planCheck(activeSinceMs);
    if (plan.kind === 'wait')
      return { kind: 'not-ready', reason: plan.reason, retryAfterSeconds: plan.delaySeconds };
    if (deps.ledgerBeforeFind && item.phase !== 'verify' && item.sha256 === undefined) {
      // A "posted" hint may have escrowed and cleared this launch's record ahead of this chain.
      // The escrow proves it without a password GET: the same decision an empty GET would take,
      // and only when every version of this launch is marked cleared.
      let history: EscrowHistory | undefined;
      try {
        history = await this.escrowHistory();
      } catch (error) {
        return { kind: 'failed', reason: 'escrow-read-failed', permanent: false, detail: errorDetail(error) };
      }
      const before = assessPassword({ item: this.item, sha256: undefined, activeSinceMs, history });
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
    });
  }

  private async getPassword(): Promise<{ ciphertext: string | undefined; sha256: string | undefined }> {
    const record = await this.bms.getPassword(this.item.projectId, this.item.serverId, {
      signal: this.signal,
    });
    this.item.passwordChecks = (this.item.passwordChecks ?? 0) + 1;
    this.item.lastPasswordCheckAt = new Date(this.now()).toISOString();
    const ciphertext = record?.ciphertext ? record.ciphertext : undefined;
    if (ciphertext === undefined) {
      if (this.item.phase !== 'verify') this.item.lastEmptyCheckAt = this.item.lastPasswordCheckAt;
      return { ciphertext, sha256: undefined };
    }
    registerSecret(ciphertext);
    return { ciphertext, sha256: sha256Hex(ciphertext) };
  }

  private async checkPassword(server: BmsServer, activeSinceMs: number): Promise<Outcome> {
    const { deps } = this;
    let found: { ciphertext: string | undefined; sha256: string | undefined };
    try {
      found = await this.getPassword();
    } catch (error) {
      return this.huaweiFailure(error);
    }

    let history: EscrowHistory | undefined;
    if (found.sha256 === undefined && this.item.phase !== 'verify') {
      try {
        history = await this.escrowHistory();
      } catch (error) {
        return { kind: 'failed', reason: 'escrow-read-failed', permanent: false, detail: errorDetail(error) };
      }
    }

    const assessment = assessPassword({ item: this.item, sha256: found.sha256, activeSinceMs, history });
    switch (assessment.kind) {
      case 'not-posted': {
        const next = planFindCheck(
          deps.scheduler,
          {
            activeSinceMs,
            lastCheckMs: this.now(),
            checks: this.item.passwordChecks ?? 0,
            deadlineMs: this.deadline,
          },
          this.now(),
          this.budgetPressure(),
        );
        return {
          kind: 'not-ready',
          reason: 'not-posted',
          retryAfterSeconds: next.due ? 1 : next.delaySeconds,
        };
      }
      case 'already-cleared':
        for (const versionId of assessment.uncleared) {
          try {
            await deps.store.markCleared(this.ref, versionId, { signal: this.signal });
          } catch (error) {
            return {
              kind: 'failed',
              reason: 'escrow-write-failed',
              permanent: false,
              detail: errorDetail(error),
            };
          }
        }
        return { kind: 'skipped', reason: 'already-cleared' };
      case 'verified':
        return this.verified();
      case 'clear-pending':
        this.item.verifyAttempts = (this.item.verifyAttempts ?? 0) + 1;
        return {
          kind: 'not-ready',
          reason: 'clear-pending',
          retryAfterSeconds: deps.scheduler.config.verifyDelaySeconds,
        };
      case 'escrow':
        return this.escrowAndClear(server, found.ciphertext!, found.sha256!);
    }
  }

  /** The newest escrowed version's retrieval time, and which versions still await markCleared. */
  private async escrowHistory(): Promise<EscrowHistory | undefined> {
    const ledger = await this.deps.store.ledger(this.ref, { signal: this.signal });
    if (!ledger || ledger.versions.length === 0) return undefined;
    const newest = [...ledger.versions].sort(
      (a, b) => (Date.parse(b.createdAt ?? '') || 0) - (Date.parse(a.createdAt ?? '') || 0),
    )[0]!;
    // retrievedAt is on our clock (the ledger's createdAt is the store's), so it compares
    // with launched_at even when the emulator compresses time.
    const record = await this.deps.store.read(this.ref, newest.versionId, { signal: this.signal });
    return {
      latestRetrievedAt: record?.retrievedAt ?? newest.createdAt,
      uncleared: ledger.versions.filter((v) => !v.cleared).map((v) => v.versionId),
    };
  }

  private async escrowAndClear(server: BmsServer, ciphertext: string, sha256: string): Promise<Outcome> {
    const { deps, item } = this;
    const nowIso = new Date(this.now()).toISOString();
    if (item.sha256 !== sha256) {
      this.item.foundAt = nowIso;
      this.item.clearedAt = undefined;
      this.item.verifyAttempts = undefined;
    }
    this.item.foundAt ??= nowIso;
    this.item.sha256 = sha256;
    this.item.phase = 'find';

    let versionId: string;
    try {
      const record = buildEscrowRecord({
        ref: this.ref,
        ciphertext,
        retrievedAt: nowIso,
        serverName: server.name,
        keyName: server.key_name,
      });
      versionId = (await deps.store.put(record, { signal: this.signal })).versionId;
    } catch (error) {
      return { kind: 'failed', reason: 'escrow-write-failed', permanent: false, detail: errorDetail(error) };
    }
    this.item.versionId = versionId;

    let readBack: EscrowRecord | undefined;
    try {
      readBack = await deps.store.read(this.ref, versionId, { signal: this.signal });
    } catch (error) {
      return { kind: 'failed', reason: 'escrow-read-failed', permanent: false, detail: errorDetail(error) };
    }
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
    // Invariant: no DELETE starts once the invocation is being cut short; the retry resumes here.
    if (this.signal?.aborted)
      return { kind: 'failed', reason: 'aborted', permanent: false, detail: 'before DELETE' };

    try {
      await this.bms.deletePassword(item.projectId, item.serverId, { signal: this.signal });
    } catch (error) {
      return this.huaweiFailure(error);
    }
    this.item.clearedAt = new Date(this.now()).toISOString();
    this.item.phase = 'verify';
    this.item.verifyAttempts = 0;

    try {
      await deps.store.markCleared(this.ref, versionId, { signal: this.signal });
    } catch (error) {
      // The record is gone; the bookkeeping is retried by the verify pass.
      deps.logger.warn('markCleared failed; will retry on verify', { serverId: item.serverId, error });
      return {
        kind: 'not-ready',
        reason: 'clear-pending',
        retryAfterSeconds: deps.scheduler.config.verifyDelaySeconds,
      };
    }
    return this.verifyInline();
  }

  /** Verifies right away when a token is free; otherwise leaves it to a later, low-priority pass. */
  private async verifyInline(): Promise<Outcome> {
    const pending: Outcome = {
      kind: 'not-ready',
      reason: 'clear-pending',
      retryAfterSeconds: this.deps.scheduler.config.verifyDelaySeconds,
    };
    // Inline only if a token is free now: waiting here would hold the invocation for a call
    // that does not shorten the exposure. The re-queued pass yields only under real load.
    if (this.signal?.aborted || this.rateWaitMs() > 0) return pending;
    let found: { sha256: string | undefined };
    try {
      found = await this.getPassword();
    } catch {
      return pending;
    }
    if (found.sha256 === undefined) return this.verified();
    // The same ciphertext: the 202 is still being processed. A different one: a new version
    // (an OS reinstall) that the next pass escrows. Either way, look again shortly.
    if (found.sha256 === this.item.sha256) this.item.verifyAttempts = 1;
    return pending;
  }

  private async verified(): Promise<Outcome> {
    const { deps, item } = this;
    if (item.versionId === undefined || item.sha256 === undefined || item.foundAt === undefined)
      return {
        kind: 'failed',
        reason: 'invalid-item',
        permanent: true,
        detail: 'verify phase without version',
      };
    try {
      await deps.store.markCleared(this.ref, item.versionId, { signal: this.signal });
    } catch (error) {
      return { kind: 'failed', reason: 'escrow-write-failed', permanent: false, detail: errorDetail(error) };
    }
    let newVersion = false;
    try {
      newVersion = ((await deps.store.ledger(this.ref, { signal: this.signal }))?.versions.length ?? 0) > 1;
    } catch {
      // Only informational.
    }
    return {
      kind: 'cleared',
      versionId: item.versionId,
      sha256: item.sha256,
      newVersion,
      exposure: {
        foundAt: item.foundAt,
        lastEmptyCheckAt: item.lastEmptyCheckAt,
        clearedAt: item.clearedAt,
        passwordChecks: item.passwordChecks ?? 0,
      },
    };
  }

  private huaweiFailure(error: unknown): Outcome {
    const mapped = outcomeForHuaweiError(error, THROTTLE_DELAY_SECONDS);
    if (mapped.kind === 'not-found') return { kind: 'skipped', reason: 'server-not-found' };
    return mapped;
  }
}

function errorDetail(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
}
