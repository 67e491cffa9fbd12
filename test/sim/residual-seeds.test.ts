/**
 * Seeds the simulator once failed on, replayed through the whole hook (issue 9 residuals):
 * - 17: a redelivered copy of an older item took a clear it found in the ledger as the end,
 *   dropping the repost watch; the guest's retried POST stayed exposed (unfinished).
 * - 2763: a DELETE whose answer was lost was not marked in the ledger; a concurrent worker sent
 *   a second one, whose late 202 emptied the guest's next post (premature, lost).
 * - 6022: escrow puts that kept failing, plus a worker death, used up the queue's receive count:
 *   the message went to the DLQ long before the deadline, the post never escrowed (lost). A
 *   transient failure is now re-queued with a growing backoff until the deadline.
 * - 500905, 501285 (the guest's posted notification): a hint found the record and cleared it
 *   (or sent its DELETE, which did not apply), then its re-queue failed or its worker died; SQS
 *   redelivered the original hint, which ended on its own ledger mark without a GET. The record
 *   stayed exposed (or a rerun's post was never fetched) and the sweep took the server as done.
 *   A hint received again now looks for itself. (501285 no longer reaches that path since watch
 *   leases are drawn too; 500905 and test/integration/posted-hint-worker.test.ts guard the fix.)
 * - 430 (watch leases on): a first message whose re-queue failed was redelivered under a new
 *   chain id, took its own lease for another chain's and ended; nobody watched the server
 *   until that lease ran out (lost, unfinished). It now goes on.
 * - 501531 (watch leases on): the one chain that watched a server across three reinstalls hit
 *   its first launch's deadline in the fourth, dead-lettered its verify, and the guest's retried
 *   POST after it was never looked at (unfinished). A launch move now restarts the deadline.
 * - 1000544 (watch leases on): every event lost, a reinstall while the first record was still
 *   there; the sweep's item first looked in the new launch and, with an empty ledger, took the
 *   old record for the new OS's post; its clear ended the server and the new post was never
 *   fetched (lost, unfinished). A record is now taken as the launch's own only on evidence.
 * - 4183 (watch leases on): chains of one server that had sent DELETEs before a reinstall were
 *   in the verify phase, which never yielded to another chain's lease; each re-sent its DELETE
 *   after its grace: three in 20 s, and a late 202 emptied the guest's next post (premature,
 *   lost). A verify-phase item now yields to another chain's live lease.
 * - 8980 (watch leases on): guards that change's first form, which also held the lease through
 *   the verify and left a server whose chain died unwatched past the sweep (lost).
 */
import { describe, expect, it } from 'vitest';
import { runSimScenario } from '../../harness/sim/run-scenario.ts';

describe('simulator residual seeds', () => {
  for (const seed of [17, 2763, 6022, 500905, 501285, 430, 501531, 1000544, 4183, 8980])
    it(`seed ${seed} ends without a violation`, { timeout: 120_000 }, async () => {
      const result = await runSimScenario(seed);
      expect(result.posts).toBeGreaterThan(0);
      expect(result.violations.map((v) => `${v.kind}: ${v.detail}`)).toEqual([]);
    });
});
