/**
 * The simulator's oracle. It shares no code with the pipeline: it keeps its own books from
 * what the fakes report as it happens (every post, every applied clear, every durable write,
 * every read-back) and judges them against the promise.
 *
 * - premature: a clear removed a ciphertext that, at that moment, was not durably escrowed and
 *   read back (checked at the clear itself, so after every step).
 * - lost: at quiescence, a ciphertext the guest posted is not durably escrowed.
 * - unfinished: at quiescence, a Windows server still exposes a record and nothing about it
 *   reached the DLQ after that record was posted.
 * - leaked: a posted ciphertext, or the AK/SK, appears in a log line, a metric line or a
 *   queue/DLQ body.
 */
import { createHash } from 'node:crypto';
import type { ClearCause, CloudObserver, PostKind, SimServer } from './fake-cloud.ts';
import type { StoreObserver } from './fake-escrow-store.ts';
import type { DlqEntry } from './fake-queue.ts';

export type ViolationKind = 'lost' | 'premature' | 'leaked' | 'unfinished';

export interface Violation {
  kind: ViolationKind;
  at: number;
  detail: string;
  /** Which of the failure classes this looks like, for the campaign summary. */
  tag: string;
}

interface Post {
  serverId: string;
  name: string;
  launch: number;
  sha: string;
  at: number;
  /** Wiped by a reinstall before anyone could escrow it: not the hook's to keep. */
  wiped: boolean;
  kind: PostKind;
}

const sha = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export class Oracle implements CloudObserver, StoreObserver {
  readonly violations: Violation[] = [];
  readonly posts: Post[] = [];
  readonly #durable = new Set<string>();
  readonly #readBack = new Set<string>();
  readonly #secrets: string[] = [];
  readonly #now: () => number;

  constructor(now: () => number, fixedSecrets: readonly string[]) {
    this.#now = now;
    for (const s of fixedSecrets) this.#secrets.push(s);
  }

  /** Another text that must never appear in an emitted line (the posted key, a signature). */
  addSecret(text: string): void {
    this.#secrets.push(text);
  }

  onPost(server: SimServer, ciphertext: string, kind: PostKind = 'first'): void {
    this.#secrets.push(ciphertext.slice(0, 32));
    this.posts.push({
      serverId: server.id,
      name: server.name,
      launch: server.launch,
      sha: sha(ciphertext),
      at: this.#now(),
      wiped: false,
      kind,
    });
  }

  onRebuildWipe(server: SimServer, ciphertext: string): void {
    const h = sha(ciphertext);
    for (const p of this.posts) if (p.serverId === server.id && p.sha === h) p.wiped = true;
  }

  onClear(
    server: SimServer,
    ciphertext: string | undefined,
    cause: ClearCause,
    afterAmbiguous: boolean,
  ): void {
    if (ciphertext === undefined) return;
    const h = sha(ciphertext);
    const key = `${server.id}|${h}`;
    if (this.#durable.has(key) && this.#readBack.has(key)) return;
    const why = this.#durable.has(key) ? 'escrowed but never read back' : 'never escrowed';
    const tag =
      cause === 'late-202'
        ? 'failure 1 (late 202 cleared a newer post)'
        : afterAmbiguous
          ? 'failure 1 (ambiguous DELETE retried blindly)'
          : "failure 1 (an unconditional DELETE, e.g. a concurrent worker's, cleared a newer post)";
    this.violations.push({
      kind: 'premature',
      at: this.#now(),
      detail: `${server.name} launch ${server.launch}: cleared ${h.slice(0, 8)} (${cause}${afterAmbiguous ? ', after an ambiguous DELETE' : ''}), ${why}`,
      tag,
    });
  }

  onDurable(serverId: string, sha256: string): void {
    this.#durable.add(`${serverId}|${sha256}`);
  }

  onReadBack(serverId: string, sha256: string): void {
    this.#readBack.add(`${serverId}|${sha256}`);
  }

  /** Scans emitted lines for secrets; `from` lets the caller scan only what is new. */
  scanLines(lines: readonly string[], from: number, where: string): void {
    for (let i = from; i < lines.length; i++) {
      const line = lines[i]!;
      for (const secret of this.#secrets) {
        if (!line.includes(secret)) continue;
        this.violations.push({
          kind: 'leaked',
          at: this.#now(),
          detail: `a secret appears in a ${where} line`,
          tag: 'secret in output',
        });
        return;
      }
    }
  }

  /**
   * Whether nothing is left that could still go wrong: every post escrowed and no record
   * exposed. Once the world stops changing (no more posts), only a clear could spoil this, and
   * clears are judged as they happen.
   */
  settled(servers: Iterable<SimServer>): boolean {
    for (const p of this.posts) if (!p.wiped && !this.#durable.has(`${p.serverId}|${p.sha}`)) return false;
    for (const server of servers) if (server.windows && server.record !== undefined) return false;
    return true;
  }

  /** Which failure a post the hook never escrowed looks like. */
  #classify(p: Post | undefined): string {
    if (p === undefined) return 'post never escrowed';
    if (p.kind === 'rerun')
      return 'a new ciphertext in the same launch after our clear (guest re-run after a reboot)';
    if (p.launch > 1) return 'failure 2 (reinstall: the new launch was never looked at again)';
    return 'post never escrowed';
  }

  /**
   * The checks that only make sense once nothing moves any more. `degraded` is the hook's own
   * health, when it says it cannot make progress (e.g. the clock is beyond the gateway's window):
   * a server the hook cannot reach is then surfaced by that, not silently reported done.
   */
  atQuiescence(servers: Iterable<SimServer>, dlq: readonly DlqEntry[], degraded?: string | undefined): void {
    const problems: Violation[] = [];
    for (const p of this.posts) {
      if (p.wiped || this.#durable.has(`${p.serverId}|${p.sha}`)) continue;
      problems.push({
        kind: 'lost',
        at: this.#now(),
        detail: `${p.name} launch ${p.launch}: posted ${p.sha.slice(0, 8)} at ${p.at}, never escrowed`,
        tag: this.#classify(p),
      });
    }
    for (const server of servers) {
      if (!server.windows || server.record === undefined) continue;
      const h = sha(server.record);
      const post = this.posts.findLast((p) => p.serverId === server.id && p.sha === h);
      const postedAt = post?.at ?? 0;
      if (dlq.some((d) => d.serverId === server.id && d.at >= postedAt)) continue;
      problems.push({
        kind: 'unfinished',
        at: this.#now(),
        detail: `${server.name} launch ${server.launch}: record ${h.slice(0, 8)} still exposed, nothing in the DLQ`,
        tag: this.#classify(post),
      });
    }
    if (degraded === undefined) this.violations.push(...problems);
    else this.surfacedByHealth += problems.length;
  }

  /** Problems the hook itself reported through its health (degraded) instead of a DLQ letter. */
  surfacedByHealth = 0;
}
