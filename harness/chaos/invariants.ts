/**
 * The campaign's verdict after quiescence, computed from the emulator's truth (what was really
 * posted and cleared, and the ordered password-call log), the store itself (not what the hook
 * believes) and everything the hook wrote out.
 *
 *  lost              a posted version (post history entry) with no escrowed version of equal content
 *  duplicated        more escrowed versions than distinct posted ones, or a version escrowed twice
 *  uncleared         a record still on the server
 *  premature clears  a record cleared before a read-back of exactly that ciphertext (in-process
 *                    scenarios: against the emulator's ordered call log), or before its version
 *                    was durably written (child-process scenarios: store timestamps, same clock)
 *  leaks             a secret found in a log line, metric, queue message, DLQ letter or response
 *  in flight         a message still queued; DLQ letters must carry a reason
 */
import { createHash } from 'node:crypto';
import type { PasswordCallEvent, ServerTruth } from '../../emulator/types.ts';
import type { EscrowLedger, EscrowRecord } from '../../lib/escrow/escrow-store.ts';
import type { DeadLetter } from '../../lib/queue/dead-letter.ts';
import type { ReadBack } from './fault-injectors.ts';

export interface EscrowView {
  ledger: EscrowLedger | undefined;
  records: Array<EscrowRecord | undefined>;
}

export interface CheckInput {
  truths: ServerTruth[];
  escrow: Map<string, EscrowView>;
  passwordEvents: PasswordCallEvent[];
  /** In-process scenarios: every self-consistent read-back, per server. */
  readBacks?: Map<string, ReadBack[]> | undefined;
  /** Emulated ms between wall-clock store timestamps and emulator times (child scenarios: same clock). */
  outputs: Record<string, readonly string[]>;
  secrets: Array<{ kind: string; value: string }>;
  queuedMessages: number;
  deadLetters: DeadLetter[];
}

export interface CheckResult {
  windowsServers: number;
  postedVersions: number;
  escrowedVersions: number;
  lost: number;
  duplicated: number;
  uncleared: number;
  prematureClears: number;
  secretsLeaked: number;
  inFlight: number;
  deadLetters: Record<string, number>;
  /** Human-readable reasons, one per violation (ids and kinds only). */
  violations: string[];
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

export function checkInvariants(input: CheckInput): CheckResult {
  const violations: string[] = [];
  let postedVersions = 0;
  let escrowedVersions = 0;
  let lost = 0;
  let duplicated = 0;
  let uncleared = 0;
  let premature = 0;

  const deletesByServer = new Map<string, Array<{ index: number; time: number }>>();
  input.passwordEvents.forEach((e, index) => {
    // Every DELETE that reached the cloud, whatever its answer: an ambiguous one (reset or 500
    // after the clear) applied too, and it is the one its clear must be judged against.
    if (e.method !== 'DELETE') return;
    const list = deletesByServer.get(e.serverId) ?? [];
    list.push({ index, time: e.time });
    deletesByServer.set(e.serverId, list);
  });

  for (const truth of input.truths) {
    if (truth.osType !== 'Windows') continue;
    const view = input.escrow.get(truth.id);
    const records = (view?.records ?? []).filter((r): r is EscrowRecord => r !== undefined);
    escrowedVersions += records.length;
    const posted = truth.postHistory.filter((h) => h.event === 'posted');
    postedVersions += posted.length;

    const escrowedShas = new Map<string, number>();
    for (const record of records) {
      const actual = sha256(record.ciphertext);
      if (actual !== record.sha256)
        violations.push(`${truth.id}: escrowed version content differs from its sha256`);
      escrowedShas.set(actual, (escrowedShas.get(actual) ?? 0) + 1);
    }
    for (const entry of posted) {
      if (!entry.sha256 || !escrowedShas.has(entry.sha256)) {
        lost++;
        violations.push(
          `${truth.id}: posted version at ${new Date(entry.at).toISOString()} was not escrowed`,
        );
      }
    }
    const distinctPosted = new Set(posted.map((p) => p.sha256));
    for (const [sha, count] of escrowedShas) {
      if (count > 1 || !distinctPosted.has(sha)) {
        duplicated++;
        violations.push(
          `${truth.id}: escrow holds ${count} version(s) of a ciphertext posted ${distinctPosted.has(sha) ? 'once' : 'never'}`,
        );
      }
    }
    if (truth.ciphertext !== null) {
      uncleared++;
      violations.push(`${truth.id}: a password record is still on the server`);
    }

    // Which version each clear removed: the last post before it (posts are refused while a record exists).
    let current: string | undefined;
    for (const h of truth.postHistory) {
      if (h.event === 'posted') current = h.sha256;
      if (h.event !== 'cleared') continue;
      const ok = input.readBacks
        ? readBackPreceded(
            input.readBacks.get(truth.id) ?? [],
            deletesByServer.get(truth.id) ?? [],
            current,
            h.at,
            h.source === 'late-clear',
          )
        : writtenBefore(view, current, h.at);
      if (!ok) {
        premature++;
        violations.push(
          `${truth.id}: record cleared at ${new Date(h.at).toISOString()} before its escrow was read back`,
        );
      }
      current = undefined;
    }
  }

  let leaked = 0;
  for (const [source, blobs] of Object.entries(input.outputs)) {
    const text = blobs.join('\n');
    for (const secret of input.secrets) {
      if (secret.value.length >= 12 && text.includes(secret.value)) {
        leaked++;
        violations.push(`a ${secret.kind} appears in ${source}`);
      }
    }
  }

  const deadLetters: Record<string, number> = {};
  for (const letter of input.deadLetters) {
    const reason = letter.reason?.trim() ? letter.reason : '(none)';
    const from = letter.item
      ? ` (from ${letter.item.origin?.split(':')[0] ?? letter.item.source}${letter.item.phase === 'verify' ? ', verify' : ''})`
      : '';
    deadLetters[`${reason}${from}`] = (deadLetters[`${reason}${from}`] ?? 0) + 1;
    if (reason === '(none)') violations.push('a dead letter carries no reason');
  }
  if (input.queuedMessages > 0)
    violations.push(`${input.queuedMessages} message(s) still queued after quiescence`);

  return {
    windowsServers: input.truths.filter((t) => t.osType === 'Windows').length,
    postedVersions,
    escrowedVersions,
    lost,
    duplicated,
    uncleared,
    prematureClears: premature,
    secretsLeaked: leaked,
    inFlight: input.queuedMessages,
    deadLetters,
    violations,
  };
}

/**
 * The DELETE that cleared the record is the first accepted DELETE logged at or after the clear;
 * a read-back of exactly that version must have completed before it was logged.
 */
function readBackPreceded(
  readBacks: ReadBack[],
  deletes: Array<{ index: number; time: number }>,
  sha: string | undefined,
  clearedAt: number,
  late = false,
): boolean {
  if (sha === undefined) return false;
  // A late-applied 202 was caused by a DELETE sent before the clear: the last one before it.
  const deleteEvent = late
    ? deletes.findLast((d) => d.time <= clearedAt)
    : deletes.find((d) => d.time >= clearedAt);
  if (!deleteEvent) return false;
  return readBacks.some((r) => r.sha256 === sha && r.passwordEventIndex <= deleteEvent.index);
}

/** Child-process scenarios: the version's durable write (store time, same clock) came first. */
function writtenBefore(view: EscrowView | undefined, sha: string | undefined, clearedAt: number): boolean {
  const version = view?.ledger?.versions.find((v) => v.sha256 === sha);
  const createdAt = version?.createdAt === undefined ? Number.NaN : Date.parse(version.createdAt);
  return Number.isFinite(createdAt) && createdAt <= clearedAt;
}

/** How many checks failed (every other figure is also reported as a violation). */
export function failureCount(result: CheckResult): number {
  return result.violations.length;
}
