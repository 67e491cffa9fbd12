/**
 * The emulated guest's "posted" notification: what guest/posted-notify.ps1 does in a real
 * Windows guest, for servers whose user data carries the snippet. A seeded 1–5 s after
 * Cloudbase-Init posts (the snippet's poll of its own record plus the network), it POSTs the
 * signed notification to the URL in the user data (or the `postedNotifyUrl` override), retries
 * a failed POST with backoff like the snippet, and drops a seeded share of notifications
 * (`postedNotifyLossRate`) to model guests whose notification never arrives. The emulated
 * Cloudbase-Init's password plugin always finishes with its post, so every notification says
 * `settled` (the snippet's registry check).
 *
 * The fleet posts lazily, so a snippet server gets a wake-up timer at each scheduled post time;
 * reading the record then makes the post happen, and the fleet reports it here.
 */

import { readPostedSnippet } from '../guest/posted-snippet.ts';
import type { Clock } from '../lib/clock.ts';
import { signPosted } from '../lib/intake/posted/posted-signature.ts';
import type { Logger } from '../lib/observability/logger.ts';
import type { Fleet, ServerRecord } from './fleet.ts';
import type { Random } from './seeded-random.ts';

export interface PostedNotifySettings {
  lossRate: number;
  url: string | null;
  minDelaySeconds: number;
  maxDelaySeconds: number;
}

export interface PostedNotificationRecord {
  /** Emulated epoch ms the notification was sent (or dropped). */
  time: number;
  serverId: string;
  /** Emulated epoch ms of the post it announces. */
  postedAt: number;
  outcome: 'delivered' | 'refused' | 'failed' | 'lost';
  status?: number;
  attempts: number;
}

export interface PostedNotifierDeps {
  clock: Clock;
  fleet: () => Fleet;
  random: () => Random;
  projectId: string;
  logger: Logger;
  settings: () => PostedNotifySettings;
}

/** The snippet's retry schedule, in emulated seconds: 2, 4, 8… up to 5 minutes in all. */
const RETRY_BUDGET_MS = 5 * 60_000;
/** Below setTimeout's limit (2^31 − 1 ms) even at time scale 1. */
const MAX_WAKE_MS = 20 * 86_400_000;

export class PostedNotifier {
  readonly #deps: PostedNotifierDeps;
  #stop = new AbortController();
  readonly #pending = new Set<Promise<void>>();
  readonly #records: PostedNotificationRecord[] = [];

  constructor(deps: PostedNotifierDeps) {
    this.#deps = deps;
  }

  /** Sets a wake-up at each post the record has scheduled, if its user data carries the snippet. */
  watch(record: ServerRecord): void {
    if (!readPostedSnippet(record.spec.userData)) return;
    const now = this.#deps.clock.now();
    // Not part of idle(): a wake-up is a timer, not work in flight. Posts further out than a
    // timer can wait (tests' "never") are not watched; guestPost still notifies for them.
    for (const post of record.pending) if (post.at - now < MAX_WAKE_MS) void this.#wake(record.id, post.at);
  }

  /** The fleet's report of a post; a snippet server's guest notices and notifies. */
  onPosted(record: ServerRecord, at: number): void {
    const snippet = readPostedSnippet(record.spec.userData);
    if (!snippet) return;
    this.#track(this.#notify(record.id, at, snippet.hookUrl, Buffer.from(snippet.hmacKey, 'utf8')));
  }

  records(): PostedNotificationRecord[] {
    return this.#records.map((r) => ({ ...r }));
  }

  /** Resolves when every notification started so far has finished. */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** Cancels every timer and pending notification (emulator reset or close). */
  reset(): void {
    this.#stop.abort(new Error('emulator reset'));
    this.#stop = new AbortController();
    this.#records.length = 0;
  }

  #track(work: Promise<void>): void {
    this.#pending.add(work);
    void work.finally(() => this.#pending.delete(work));
  }

  async #wake(serverId: string, at: number): Promise<void> {
    const signal = this.#stop.signal;
    try {
      await this.#deps.clock.sleep(Math.max(0, at - this.#deps.clock.now()), signal);
    } catch {
      return;
    }
    this.#deps.fleet().get(serverId);
  }

  async #notify(serverId: string, postedAt: number, snippetUrl: string, key: Buffer): Promise<void> {
    const { clock, random, settings, projectId, logger } = this.#deps;
    const signal = this.#stop.signal;
    const config = settings();
    const rng = random();
    const lost = rng.next() < config.lossRate;
    const delayMs =
      (config.minDelaySeconds + rng.next() * (config.maxDelaySeconds - config.minDelaySeconds)) * 1000;
    try {
      await clock.sleep(Math.max(0, postedAt + delayMs - clock.now()), signal);
    } catch {
      return;
    }
    const record: PostedNotificationRecord = {
      time: clock.now(),
      serverId,
      postedAt,
      outcome: 'lost',
      attempts: 0,
    };
    if (lost) {
      this.#records.push(record);
      return;
    }
    const url = config.url ?? snippetUrl;
    const giveUpAt = clock.now() + RETRY_BUDGET_MS;
    let backoffMs = 2000;
    for (;;) {
      const timestamp = Math.floor(clock.now() / 1000);
      const body = JSON.stringify({
        server_id: serverId,
        project_id: projectId,
        timestamp,
        settled: true,
        signature: signPosted(key, serverId, projectId, timestamp, true),
      });
      record.attempts++;
      let status = 0;
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]),
        });
        await response.arrayBuffer();
        status = response.status;
      } catch (error) {
        if (signal.aborted) return;
        logger.debug('posted notification failed to send', { serverId, error });
      }
      record.time = clock.now();
      record.status = status;
      if (status >= 200 && status < 300) {
        record.outcome = 'delivered';
        break;
      }
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
        record.outcome = 'refused';
        break;
      }
      if (clock.now() + backoffMs > giveUpAt) {
        record.outcome = 'failed';
        break;
      }
      try {
        await clock.sleep(backoffMs, signal);
      } catch {
        return;
      }
      backoffMs = Math.min(backoffMs * 2, 60_000);
    }
    this.#records.push(record);
  }
}
