/**
 * The guest's "posted" notification in the simulator: guest/posted-notify.ps1 running in a
 * Windows guest whose user data carries it, mapped onto the simulated Cloudbase-Init
 * (run-scenario.ts `guestPost`), and sent through the real intake (`handlePostedRequest` with a
 * real `PostedGate`, the sim's queue, the sim's BMS for the show-server call, the hook's clock).
 *
 * The snippet, step by step, as the real one does it:
 * 1. It starts with the user data, before SetUserPasswordPlugin (the default plugin order), so
 *    at a seeded time between the boot and the launch's post. It polls the metadata service's
 *    password every 3 s for up to 20 minutes, and goes on once it sees the record non-empty.
 *    It sees the record as it is at its poll: one the hook cleared between two polls is never
 *    seen, and an older launch's record that a reinstall left behind is seen at once.
 * 2. It reads SetUserPasswordPlugin's status every second for up to 60 s: "settled" if the
 *    plugin is marked done by then, else not.
 * 3. It signs and POSTs, retrying (2, 4, 8… s, at most 60, for 5 minutes) on no answer (a 10 s
 *    timeout), a 5xx, 408 or 429; a 2xx or another 4xx ends it.
 * A reboot (the rerun of a failed plugin) or a reinstall kills the detached process wherever
 * it is; what is already on the wire still arrives.
 *
 * Cloudbase-Init marks the plugin done (`pluginDone`) only when its run returns: a POST whose
 * answer arrived, a retried POST that landed, or a run that found the record already set
 * (`_set_metadata_password` returns early on `is_password_set`). A run whose retry met a set
 * record ends on the 409 (raised: requests' HTTPError is not the urllib one the service
 * catches), and a run that goes to a reboot is not marked. A rerun does not run the user data
 * again (UserDataPlugin is done), so it sends nothing; a reinstall is a new instance and runs
 * it again.
 *
 * Faults at this boundary: a notification that never arrives, an answer lost (the snippet sends
 * a new one, with a new timestamp), the network delivering a request twice, the same request
 * replayed much later, and deliveries to a fresh intake instance. Nothing here tells the oracle
 * anything: it judges posts, escrows and clears only.
 */

import type { Random } from '../../emulator/seeded-random.ts';
import type { Clock } from '../../lib/clock.ts';
import type { BmsApi } from '../../lib/huawei/bms-types.ts';
import { parsePostedConfig } from '../../lib/intake/posted/posted-config.ts';
import { handlePostedRequest, type PostedDeps, PostedGate } from '../../lib/intake/posted/posted-intake.ts';
import { signPosted } from '../../lib/intake/posted/posted-signature.ts';
import type { Logger } from '../../lib/observability/logger.ts';
import type { Metrics } from '../../lib/observability/metrics.ts';
import type { WorkQueue } from '../../lib/queue/work-item.ts';
import type { FaultCounts, SimServer } from './fake-cloud.ts';
import type { PostedScenario } from './scenario.ts';
import type { SimLoop } from './sim-loop.ts';

const RECORD_POLL_MS = 3000;
const RECORD_WAIT_MS = 20 * 60_000;
const SETTLE_POLL_MS = 1000;
const SETTLE_WAIT_MS = 60_000;
const SEND_TIMEOUT_MS = 10_000;
const SEND_BUDGET_MS = 5 * 60_000;

/** What the guest's POST of its password did, as Cloudbase-Init's plugin run sees it. */
export type GuestPostResult =
  /** Landed and answered: the plugin returns, done. */
  | 'answered'
  /** Landed, answer lost: the plugin retries or fails; not done. */
  | 'answer-lost'
  /** A first run (or rerun) that found the record set: `is_password_set`, done without a post. */
  | 'found-set'
  /** A retry that met a set record: 409, raised; not done. */
  | 'conflict';

interface Snippet {
  server: SimServer;
  launch: number;
  startAt: number;
  phase: 'record' | 'settle' | 'send' | 'over';
  alive: boolean;
  seenAt: number;
  /** Bumped on every transition, so a stale timer does nothing. */
  turn: number;
}

export interface PostedGuestsDeps {
  loop: SimLoop;
  random: Random;
  scenario: PostedScenario;
  faults: FaultCounts;
  projectId: string;
  region: string;
  key: string;
  queue: WorkQueue;
  bms: BmsApi;
  hookClock: Clock;
  logger: Logger;
  metrics: Metrics;
  trace: (line: string) => void;
  /** Schedules environment work that keeps the world from being quiet until it has run. */
  envAt: (delayMs: number, label: string, fn: () => void) => void;
  /** Counts environment work in flight (an intake call) for quiescence. */
  pending: (delta: number) => void;
  /** Every signature sent, for the oracle's secret scan (never echoed by the intake). */
  onSigned: (signature: string) => void;
}

export class SimPostedGuests {
  readonly #d: PostedGuestsDeps;
  readonly #runsSnippet = new Map<string, boolean>();
  readonly #snippets = new Map<string, Snippet>();
  /** serverId → the launch whose password plugin is marked done. */
  readonly #done = new Map<string, number>();
  readonly #postedDeps: Omit<PostedDeps, 'gate'>;
  readonly #names = new Map<string, string>();
  #gate: PostedGate;

  constructor(deps: PostedGuestsDeps) {
    this.#d = deps;
    const config = parsePostedConfig(
      {
        ESCROW_POSTED_MODE: deps.scenario.mode,
        ...(deps.scenario.mode === 'hmac' ? { ESCROW_POSTED_HMAC_KEY: deps.key } : {}),
      },
      [{ region: deps.region, projectId: deps.projectId }],
    );
    this.#postedDeps = {
      config,
      queue: deps.queue,
      bmsFor: () => deps.bms,
      clock: deps.hookClock,
      logger: deps.logger,
      metrics: deps.metrics,
    };
    this.#gate = new PostedGate(config);
  }

  /** A launch became ACTIVE; `postInMs` is when its Cloudbase-Init will post (undefined: never). */
  launched(server: SimServer, postInMs: number | undefined): void {
    const r = this.#d.random;
    this.#names.set(server.id, server.name);
    let runs = this.#runsSnippet.get(server.id);
    if (runs === undefined) {
      runs = r.next() < this.#d.scenario.snippetShare;
      this.#runsSnippet.set(server.id, runs);
    }
    this.#kill(server);
    this.#done.delete(server.id);
    if (!runs) return;
    const snippet: Snippet = {
      server,
      launch: server.launch,
      startAt: this.#d.loop.now() + r.int(0, postInMs ?? 60_000),
      phase: 'record',
      alive: true,
      seenAt: 0,
      turn: 0,
    };
    this.#snippets.set(server.id, snippet);
    this.#d.envAt(snippet.startAt - this.#d.loop.now(), 'snippet-start', () => this.#lookAtRecord(snippet));
  }

  /** The guest's password POST (or its check) and what Cloudbase-Init makes of it. */
  guestPosted(server: SimServer, launch: number, result: GuestPostResult): void {
    if (server.launch !== launch) return;
    if (result === 'answered' || result === 'found-set') {
      this.#done.set(server.id, launch);
      const s = this.#live(server);
      if (s?.phase === 'settle') {
        const waited = this.#d.loop.now() - s.seenAt;
        const at = s.seenAt + Math.ceil(waited / SETTLE_POLL_MS) * SETTLE_POLL_MS;
        const turn = ++s.turn;
        this.#d.envAt(at - this.#d.loop.now(), 'snippet-settled', () => {
          if (s.turn === turn) this.#send(s, true);
        });
      }
    }
    if (result === 'answered' || result === 'answer-lost') {
      // The record is set now: the snippet sees it at its next poll, if it is still there.
      const s = this.#live(server);
      if (s?.phase === 'record' && this.#d.loop.now() >= s.startAt) {
        const next =
          s.startAt + Math.ceil((this.#d.loop.now() - s.startAt) / RECORD_POLL_MS) * RECORD_POLL_MS;
        if (next <= s.startAt + RECORD_WAIT_MS)
          this.#d.envAt(next - this.#d.loop.now(), 'snippet-poll', () => this.#lookAtRecord(s));
      }
    }
  }

  /** The guest reboots within `withinMs` (its failed plugin runs again after it). */
  rebooting(server: SimServer, withinMs: number): void {
    const launch = server.launch;
    this.#d.envAt(this.#d.random.int(0, withinMs), 'guest-reboot', () => {
      if (server.launch === launch) this.killed(server, 'reboot');
    });
  }

  /** A reboot or a reinstall: the detached process dies. */
  killed(server: SimServer, why: string): void {
    const s = this.#live(server);
    if (s && s.phase !== 'over') {
      this.#d.faults.add('snippet-killed');
      this.#d.trace(
        `guest ${server.name} snippet dies (${why}) while ${s.phase === 'record' ? 'waiting for the record' : s.phase === 'settle' ? 'waiting for the plugin' : 'sending'}`,
      );
    }
    this.#kill(server);
  }

  #kill(server: SimServer): void {
    const s = this.#snippets.get(server.id);
    if (s) {
      s.alive = false;
      s.turn++;
      this.#snippets.delete(server.id);
    }
  }

  #live(server: SimServer): Snippet | undefined {
    const s = this.#snippets.get(server.id);
    return s?.alive && s.launch === server.launch ? s : undefined;
  }

  #lookAtRecord(s: Snippet): void {
    if (!s.alive || s.phase !== 'record' || s.server.launch !== s.launch) return;
    if (s.server.record === undefined) return; // the next post schedules the next useful poll
    s.phase = 'settle';
    s.seenAt = this.#d.loop.now();
    if (this.#done.get(s.server.id) === s.launch) {
      this.#send(s, true);
      return;
    }
    const turn = ++s.turn;
    this.#d.envAt(SETTLE_WAIT_MS, 'snippet-settle-timeout', () => {
      if (s.turn === turn) this.#send(s, this.#done.get(s.server.id) === s.launch);
    });
  }

  #send(s: Snippet, settled: boolean): void {
    if (!s.alive || s.phase !== 'settle') return;
    s.phase = 'send';
    s.turn++;
    const { random: r, scenario } = this.#d;
    this.#d.trace(`guest ${s.server.name} snippet notifies (settled ${settled}, launch ${s.launch})`);
    this.#d.faults.add(settled ? 'posted-sent-settled' : 'posted-sent-unsettled');
    if (scenario.lossRate > 0 && r.next() < scenario.lossRate) {
      this.#d.faults.add('notification-lost');
      this.#d.trace(`notification for ${s.server.name} never arrives`);
      s.phase = 'over';
      return;
    }
    this.#attempt(s, settled, this.#d.loop.now(), 2000);
  }

  #attempt(s: Snippet, settled: boolean, firstAt: number, backoffMs: number): void {
    if (!s.alive) return;
    const { loop, random: r, scenario } = this.#d;
    const sentAt = loop.now();
    const timestamp = Math.floor((sentAt + scenario.guestSkewMs) / 1000);
    const signature = signPosted(
      Buffer.from(this.#d.key, 'utf8'),
      s.server.id,
      this.#d.projectId,
      timestamp,
      settled,
    );
    this.#d.onSigned(signature);
    const body = JSON.stringify({
      server_id: s.server.id,
      project_id: this.#d.projectId,
      timestamp,
      settled,
      signature,
    });
    let answered = false;
    const answer = (status: number): void => {
      if (answered) return;
      answered = true;
      if (!s.alive) return;
      if (status >= 200 && status < 300) {
        s.phase = 'over';
        return;
      }
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
        this.#d.trace(`guest ${s.server.name} snippet gives up: ${status}`);
        s.phase = 'over';
        return;
      }
      if (loop.now() + backoffMs > firstAt + SEND_BUDGET_MS) {
        this.#d.trace(`guest ${s.server.name} snippet gives up after 5 minutes`);
        s.phase = 'over';
        return;
      }
      const turn = s.turn;
      this.#d.envAt(backoffMs, 'snippet-backoff', () => {
        if (s.turn === turn) this.#attempt(s, settled, firstAt, Math.min(backoffMs * 2, 60_000));
      });
    };
    const delay = (): number => r.int(scenario.delaySeconds[0] * 1000, scenario.delaySeconds[1] * 1000);
    this.#d.envAt(SEND_TIMEOUT_MS, 'snippet-timeout', () => answer(0));
    const lostAnswer = scenario.answerLossRate > 0 && r.next() < scenario.answerLossRate;
    this.#d.envAt(delay(), 'posted-delivery', () =>
      this.#deliver(body, 'notification', (status) => {
        if (lostAnswer) {
          this.#d.faults.add('notification-answer-lost');
          return;
        }
        this.#d.envAt(delay(), 'posted-answer', () => answer(status));
      }),
    );
    if (scenario.duplicateRate > 0 && r.next() < scenario.duplicateRate) {
      this.#d.faults.add('notification-duplicated');
      this.#d.envAt(delay() + r.int(0, 2000), 'posted-duplicate', () => this.#deliver(body, 'duplicate'));
    }
    if (scenario.replayRate > 0 && r.next() < scenario.replayRate) {
      this.#d.faults.add('notification-replayed');
      this.#d.envAt(r.int(30_000, 600_000), 'posted-replay', () => this.#deliver(body, 'replay'));
    }
  }

  /** One request through the real intake, on the warm instance or a fresh one. */
  #deliver(body: string, what: string, then?: (status: number) => void): void {
    const r = this.#d.random;
    const fresh = this.#d.scenario.freshRate > 0 && r.next() < this.#d.scenario.freshRate;
    if (fresh) this.#gate = new PostedGate(this.#postedDeps.config);
    const gate = this.#gate;
    this.#d.pending(1);
    handlePostedRequest(
      { ...this.#postedDeps, gate },
      { method: 'POST', headers: { 'content-type': 'application/json' }, body },
    ).then(
      (response) => {
        this.#d.pending(-1);
        this.#d.faults.add(`posted-answer-${response.statusCode}`);
        const serverId = (JSON.parse(body) as { server_id: string }).server_id;
        this.#d.trace(
          `intake${fresh ? ' (fresh)' : ''} answers ${response.statusCode} to a ${what} from ${this.#names.get(serverId)}: ${response.body.slice(0, 80)}`,
        );
        then?.(response.statusCode);
      },
      (error: unknown) => {
        this.#d.pending(-1);
        this.#d.trace(`intake threw on a ${what}: ${(error as Error).name}`);
        then?.(500);
      },
    );
  }
}
