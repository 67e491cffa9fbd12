/**
 * The batch logic shared by the Lambda SQS handler and the local file-queue worker: parse,
 * order by priority, process with bounded concurrency, and map each outcome to what the
 * queue should do with the message.
 *
 *   cleared / escrowed / skipped → ack
 *   not-ready                    → enqueue a NEW message (delay, attempt + 1), then ack: a
 *                                  long wait must not burn the message's receive count
 *   transient failure            → enqueue a NEW message after a growing backoff, then ack: it is
 *                                  retried until its deadline, not until the receive count runs
 *                                  out (SQS redelivery and the redrive to the DLQ remain for a
 *                                  worker that dies, or a re-queue that fails)
 *   deadline / permanent failure → DLQ with the reason, then ack
 *   malformed body               → DLQ with the raw body, then ack
 *
 * A "posted" hint (source 'posted') goes first in its batch and is best effort: unless it found
 * the record (then it carries on to the clear and its verify like any item), a not-ready or a
 * transient failure is acked and dropped, so a hint never starts a second chain of checks.
 */

import type { WatchStore } from '../escrow/watch-lease.ts';
import { failureBackoffSeconds } from '../huawei/retry-policy.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { deadlineMs, VERIFY_DEADLINE_MARGIN_MS } from '../pipeline/decide.ts';
import type { Outcome } from '../pipeline/outcome.ts';
import { reportOutcome } from '../pipeline/outcome-report.ts';
import type { PollScheduler } from '../pipeline/poll-schedule.ts';
import { PASSWORD_GET_API, type ProcessDeps, processServer } from '../pipeline/process-server.ts';
import type { DeadLetterQueue } from '../queue/dead-letter.ts';
import type { WorkItem, WorkQueue } from '../queue/work-item.ts';
import { InvalidWorkItemError, parseWorkItem } from '../queue/work-item-codec.ts';
import { claimChain, settleChain } from './chain-lease.ts';

/** A guest's "posted" hint that has not yet been requeued as an ordinary item. */
export function isPostedHint(item: WorkItem | undefined): boolean {
  return item?.source === 'posted';
}

/**
 * Within this of its deadline an item goes before every finding GET, so no item starves behind
 * a long rush (the verify GET stops yielding its turn at the same margin: decide.ts).
 */
const DEADLINE_PRIORITY_MARGIN_MS = VERIFY_DEADLINE_MARGIN_MS;
/** Above any posting probability (at most 1), below a found record that is not cleared yet (2). */
const NEAR_DEADLINE_PRIORITY = 1.5;

/**
 * Which item gets the next password GET, higher first: a guest's hint, then the scheduler's
 * priority (for the model, the probability that the server posted since its last look), with
 * an item near its deadline lifted above every look for a post. The batch orders its items by
 * it, and the local queue hands out its due messages by it, so on `serve` each batch takes the
 * likeliest servers of the whole fleet rather than the longest-waiting ones. A body that cannot
 * be parsed costs no call and is dead-lettered at once, so it is not held back either.
 */
export function workPriority(
  scheduler: PollScheduler,
  deadlineSeconds: number,
): (item: WorkItem | undefined, nowMs: number) => number {
  return (item, nowMs) => {
    if (item === undefined) return NEAR_DEADLINE_PRIORITY;
    if (isPostedHint(item)) return Number.POSITIVE_INFINITY;
    const priority = scheduler.priority(item, nowMs);
    const nearDeadline = nowMs >= deadlineMs(item, deadlineSeconds) - DEADLINE_PRIORITY_MARGIN_MS;
    return nearDeadline ? Math.max(priority, NEAR_DEADLINE_PRIORITY) : priority;
  };
}

/**
 * Whether a waiting item that is not due yet may take a password GET token now, because nothing
 * due wants it and a token not spent this minute is gone: a find of a server known to be ACTIVE
 * (not a BUILD poll, a hint, a verify or watch after our DELETE, nor a wait after a failure),
 * last looked at (or ACTIVE) at least the model's minimum gap ago,
 * under the model scheduler (the baselines poll as they always have), while a token of the
 * item's region is free now and the hook's use of that budget is below the share it aims for
 * (ESCROW_BUDGET_TARGET_SHARE), scaled, as the model's gaps are, by the share of guests that
 * post without telling us: where every guest notifies, a spare token would only look at
 * servers that will say when they have posted. The local queue sees the whole fleet and offers
 * the likeliest such server first (SqliteQueue.receiveAhead); SQS cannot show a message before
 * its time.
 */
export function spareTokenLook(deps: ProcessDeps): (item: WorkItem) => boolean {
  const { scheduler } = deps;
  const share = scheduler.config.budgetTargetShare * (1 - scheduler.config.postedHintShare);
  return (item) => {
    if (!scheduler.defersUnderLoad || isPostedHint(item)) return false;
    if ((item.phase ?? 'find') !== 'find' || item.sha256 !== undefined) return false;
    if (item.activeSince === undefined || item.failureStreak !== undefined || item.notBefore !== undefined)
      return false;
    // The model's own floor on the gap between two looks at one server holds here too: a spare
    // token brings a look forward to it, never closer (an idle budget is not one server's).
    const lastLookMs = Date.parse(item.lastPasswordCheckAt ?? item.activeSince);
    if (!(deps.clock.now() - lastLookMs >= scheduler.config.minGapSeconds * 1000)) return false;
    const budget = deps.rateBudgetFor?.(item.region);
    if (!budget?.utilization) return false;
    return budget.estimatedWaitMs(PASSWORD_GET_API) === 0 && budget.utilization(PASSWORD_GET_API) < share;
  };
}

export interface BatchMessage {
  messageId: string;
  body: string;
  receiveCount?: number | undefined;
  /** Leased ahead of its time onto a password GET token nothing due wanted (see spareTokenLook). */
  spareToken?: boolean | undefined;
}

export type Disposition = 'ack' | 'retry';

export interface BatchWorkerDeps {
  process: ProcessDeps;
  queue: WorkQueue;
  dlq: DeadLetterQueue;
  logger: Logger;
  metrics: Metrics;
  concurrency: number;
  /**
   * One polling chain per server where the queue cannot keep one (SQS): leases in the escrow
   * store (chain-lease.ts). Absent locally, where the SQLite queue merges chains itself.
   */
  watches?: WatchStore | undefined;
  /** Observer called once per processed item (the local status page); must not throw. */
  onOutcome?: ((item: WorkItem, outcome: Outcome, updated: WorkItem) => void) | undefined;
}

export interface BatchResult {
  dispositions: Map<string, Disposition>;
  /** Message ids to report as batch item failures. */
  failures: string[];
}

/** Settles every message; `onSettled` fires as each one is decided (for early-timeout bookkeeping). */
export async function runBatch(
  messages: readonly BatchMessage[],
  deps: BatchWorkerDeps,
  signal?: AbortSignal,
  onSettled?: (messageId: string, disposition: Disposition) => void,
): Promise<BatchResult> {
  const dispositions = new Map<string, Disposition>();
  const settle = (id: string, d: Disposition): void => {
    dispositions.set(id, d);
    onSettled?.(id, d);
  };
  const clock = deps.process.clock;

  try {
    const work: Array<{ message: BatchMessage; item: WorkItem }> = [];
    for (const message of messages) {
      let item: WorkItem;
      try {
        item = parseWorkItem(message.body);
      } catch (error) {
        const detail = error instanceof InvalidWorkItemError ? error.message : 'unparseable';
        deps.logger.warn('invalid work item sent to the DLQ', { messageId: message.messageId, detail });
        deps.metrics.add('InvalidWorkItem', 'Count', 1);
        settle(
          message.messageId,
          await sendToDlq(deps, { body: message.body, reason: 'invalid-item', detail }, signal),
        );
        continue;
      }
      const notBefore = item.notBefore === undefined ? Number.NaN : Date.parse(item.notBefore);
      const waitSeconds = Math.ceil((notBefore - clock.now()) / 1000);
      if (waitSeconds > 1) {
        // A wait longer than the queue's maximum delay, chained: put it back, spend no call.
        if (deps.watches && item.chain !== undefined)
          await settleChain(
            deps.watches,
            item,
            { kind: 'waiting', retryAfterSeconds: waitSeconds },
            clock.now(),
            signal,
          );
        settle(message.messageId, await requeue(deps, item, waitSeconds, signal));
        continue;
      }
      work.push({ message, item });
    }

    const now = clock.now();
    const priority = workPriority(deps.process.scheduler, deps.process.deadlineSeconds);
    const ordered = work
      .map((w, index) => ({ ...w, index, priority: priority(w.item, now) }))
      .sort((a, b) => b.priority - a.priority || a.index - b.index);

    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < ordered.length) {
        const entry = ordered[next++]!;
        if (signal?.aborted) {
          settle(entry.message.messageId, 'retry');
          continue;
        }
        settle(entry.message.messageId, await handleOne(entry.item, deps, signal, entry.message));
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(deps.concurrency, ordered.length)) }, lane));
  } finally {
    deps.metrics.flush();
  }

  const failures = messages.map((m) => m.messageId).filter((id) => dispositions.get(id) !== 'ack');
  for (const id of failures) if (!dispositions.has(id)) dispositions.set(id, 'retry');
  return { dispositions, failures };
}

async function handleOne(
  received: WorkItem,
  deps: BatchWorkerDeps,
  signal: AbortSignal | undefined,
  message: BatchMessage,
): Promise<Disposition> {
  const { receiveCount, spareToken } = message;
  let item = received;
  if (deps.watches) {
    const claim = await claimChain(deps.watches, item, deps.process.clock.now(), signal);
    // A hint is not a chain: it looks once whatever chain holds the lease (that chain is the
    // normal case: it waits for its next scheduled look). If it finds the record, its own chain
    // id goes with the clear and takes the lease over; the old chain then ends when it wakes.
    // A message received again that names no chain may be the one whose first pass took the
    // lease and then lost what it queued next (a failed re-queue, a dead worker): under its new
    // id that lease looks foreign, and ending would leave the server unwatched until it runs out
    // (sim seed 430). It goes on; a continuation that does exist meets its lease and ends.
    const firstPassAgain = item.chain === undefined && (receiveCount ?? 1) > 1;
    if (claim.duplicate && !isPostedHint(item) && !firstPassAgain) {
      // Another chain holds a live lease on this server and will look again: end this one.
      deps.logger.info('duplicate polling chain ended', { serverId: item.serverId, attempt: item.attempt });
      deps.metrics.add('DuplicateChainEnded', 'Count', 1);
      return 'ack';
    }
    item = claim.item;
  }
  let outcome: Outcome;
  let updated: WorkItem = item;
  try {
    // A hint received again may have been its server's chain: its first pass found the record,
    // and what it queued next never got there (a failed re-queue, a dead worker). The ledger then
    // shows that pass's own mark, made before a DELETE that may not have applied, and a post may
    // have come since: it looks for itself (sim seeds 500905, 501285).
    const redeliveredHint = isPostedHint(item) && (receiveCount ?? 1) > 1;
    const process = redeliveredHint ? { ...deps.process, ledgerBeforeFind: false } : deps.process;
    const result = await processServer(item, process, signal, { spareToken });
    outcome = result.outcome;
    updated = result.item;
  } catch (error) {
    // processServer maps every expected failure; this is a bug or an unexpected throw.
    outcome = {
      kind: 'failed',
      reason: signal?.aborted ? 'aborted' : 'huawei-error',
      permanent: false,
      detail: error instanceof Error ? error.name : 'unknown',
    };
  }
  reportOutcome(deps.logger, deps.metrics, item, outcome);
  // A dropped hint leaves the server's own chain as it was; only what it changed is reported.
  const droppedHint = isPostedHint(item) && updated.sha256 === undefined;
  if (droppedHint && (outcome.kind === 'not-ready' || (outcome.kind === 'failed' && !outcome.permanent)))
    return 'ack';
  deps.onOutcome?.(item, outcome, updated);
  if (deps.watches) await settleChain(deps.watches, updated, outcome, deps.process.clock.now(), signal);

  switch (outcome.kind) {
    case 'cleared':
    case 'escrowed':
    case 'skipped':
      return 'ack';
    case 'not-ready':
      return requeue(deps, { ...updated, failureStreak: undefined }, outcome.retryAfterSeconds, signal);
    case 'failed': {
      if (outcome.permanent) break;
      const failureStreak = (updated.failureStreak ?? 0) + 1;
      return requeue(deps, { ...updated, failureStreak }, failureBackoffSeconds(failureStreak), signal);
    }
  }
  return sendToDlq(deps, { item: updated, reason: outcome.reason, detail: outcome.detail }, signal);
}

async function requeue(
  deps: BatchWorkerDeps,
  item: WorkItem,
  delaySeconds: number,
  signal: AbortSignal | undefined,
): Promise<Disposition> {
  const next: WorkItem = { ...item, attempt: item.attempt + 1, source: 'requeue', notBefore: undefined };
  try {
    const result = await deps.queue.enqueue([next], { delaySeconds, signal });
    if (result.accepted === 1) return 'ack';
    deps.logger.warn('re-queue rejected; the original message will be redelivered', {
      serverId: item.serverId,
      reason: result.failed[0]?.reason,
    });
  } catch (error) {
    deps.logger.warn('re-queue failed; the original message will be redelivered', {
      serverId: item.serverId,
      error,
    });
  }
  return 'retry';
}

async function sendToDlq(
  deps: BatchWorkerDeps,
  letter: Parameters<DeadLetterQueue['send']>[0],
  signal: AbortSignal | undefined,
): Promise<Disposition> {
  try {
    await deps.dlq.send(letter, { signal });
    return 'ack';
  } catch (error) {
    deps.logger.error('DLQ send failed; the message will be redelivered', { reason: letter.reason, error });
    return 'retry';
  }
}
