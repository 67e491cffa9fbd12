import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseSchedulerConfig } from '../../../lib/pipeline/pipeline-config.ts';
import { createPollScheduler } from '../../../lib/pipeline/poll-schedule.ts';
import type { RateBudget } from '../../../lib/pipeline/process-server.ts';
import { SqliteQueue } from '../../../lib/queue/sqlite-queue.ts';
import type { WorkItem } from '../../../lib/queue/work-item.ts';
import { parseWorkItem } from '../../../lib/queue/work-item-codec.ts';
import { spareTokenLook, workPriority } from '../../../lib/worker/batch-worker.ts';
import { FakeClock } from '../huawei/fake-clock.ts';
import { T0, workItem } from '../pipeline/work-item-fixture.ts';

const DEADLINE_SECONDS = 7200;
const MIN = 60_000;
const iso = (ms: number): string => new Date(ms).toISOString();
const serverIds = (messages: Array<{ body: string }>) => messages.map((m) => parseWorkItem(m.body).serverId);
const model = workPriority(createPollScheduler(parseSchedulerConfig({})), DEADLINE_SECONDS);
const fixed = workPriority(
  createPollScheduler(parseSchedulerConfig({ ESCROW_SCHEDULER: 'fixed' })),
  DEADLINE_SECONDS,
);

/** ACTIVE at T0, last looked at `lastMin` minutes after it (never, when undefined). */
function find(serverId: string, lastMin: number | undefined, extra: Partial<WorkItem> = {}): WorkItem {
  return workItem({
    serverId,
    activeSince: iso(T0),
    ...(lastMin === undefined ? {} : { lastPasswordCheckAt: iso(T0 + lastMin * MIN), passwordChecks: 1 }),
    ...extra,
  });
}

describe('work priority', () => {
  const now = T0 + 12 * MIN;

  it('ranks a hint, then a found record not yet cleared, then the likeliest finds, verifies last', () => {
    const hint = find('hint', 11, { source: 'posted' });
    const found = find('found', 11, { sha256: 'a'.repeat(64) });
    const stale = find('stale', 2); // not looked at since minute 2, around the model's median now
    const fresh = find('fresh', 11.5); // looked at half a minute ago
    const verify = find('verify', 11.9, { sha256: 'b'.repeat(64), phase: 'verify' });
    const ranked = [verify, fresh, stale, found, hint].sort((a, b) => model(b, now) - model(a, now));
    expect(ranked.map((i) => i.serverId)).toEqual(['hint', 'found', 'stale', 'fresh', 'verify']);
  });

  it('ranks a repost watch like a look for a post, not like a record waiting for its DELETE', () => {
    const watch = find('watch', 2, { sha256: 'a'.repeat(64), phase: 'watch', clearedAt: iso(T0) });
    const found = find('found', 11, { sha256: 'b'.repeat(64) });
    expect(model(watch, now)).toBeLessThan(model(found, now));
    expect(model(watch, now)).toBe(model(find('twin', 2), now));
  });

  it('lifts an item near its deadline above every look for a post, so nothing starves in a long rush', () => {
    const late = T0 + (DEADLINE_SECONDS - 10 * 60) * 1000;
    const verify = find('verify', 100, { phase: 'verify', sha256: 'b'.repeat(64) });
    // firstSeenAt is T0: an item first seen an hour later is far from its deadline.
    const young = find('young', 100, { firstSeenAt: iso(T0 + 60 * MIN), activeSince: iso(T0 + 60 * MIN) });
    expect(model(verify, late)).toBeGreaterThan(model(young, late));
    expect(model(verify, late)).toBeGreaterThan(1); // any posting probability is at most 1
    expect(model(verify, now)).toBeLessThan(0);
  });

  it('leaves the baselines in arrival order: every ordinary item ranks the same', () => {
    expect(fixed(find('a', 2), now)).toBe(fixed(find('b', 11.5), now));
    expect(fixed(find('hint', 11, { source: 'posted' }), now)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('the local queue in work-priority order (receive, receiveAhead)', () => {
  let dir: string;
  let clock: FakeClock;
  let queue: SqliteQueue;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'work-priority-'));
    clock = new FakeClock(T0 + 12 * MIN);
    queue = new SqliteQueue({ database: join(dir, 'state.db'), clock, priority: model });
  });
  afterEach(async () => {
    queue.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('hands a batch the likeliest due servers of the whole queue, not the longest-waiting ones', async () => {
    // Enqueued (so due) longest first: the servers looked at most recently.
    for (const [id, last] of [
      ['fresh-1', 11.5],
      ['fresh-2', 11.4],
      ['stale-1', 2],
      ['stale-2', 3],
    ] as const)
      await queue.enqueue([find(id, last, { source: 'requeue' })]);
    await queue.enqueue([find('later', 1, { source: 'requeue' })], { delaySeconds: 60 });
    const batch = await queue.receive(2);
    expect(serverIds(batch)).toEqual(['stale-1', 'stale-2']);
    // A message not yet due is not handed out, however likely.
    const rest = await queue.receive(10);
    expect(serverIds(rest).sort()).toEqual(['fresh-1', 'fresh-2']);
  });

  it('leases the likeliest waiting message that is not due yet and that the caller accepts', async () => {
    await queue.enqueue([find('due', 11, { source: 'requeue' })]);
    await queue.enqueue([find('fresh', 11.5, { source: 'requeue' })], { delaySeconds: 120 });
    await queue.enqueue([find('stale', 2, { source: 'requeue' })], { delaySeconds: 300 });
    await queue.enqueue([find('refused', 1, { source: 'requeue' })], { delaySeconds: 60 });
    const ahead = await queue.receiveAhead(1, (item) => item.serverId !== 'refused');
    expect(serverIds(ahead)).toEqual(['stale']);
    // Leased now: neither handed out again ahead of time nor counted as waiting.
    expect(serverIds(await queue.receiveAhead(5, () => true)).sort()).toEqual(['fresh', 'refused']);
    expect(serverIds(await queue.receive(5))).toEqual(['due']);
    expect(await queue.receiveAhead(5, () => true)).toEqual([]);
    // Acked like any message; one not acked comes back after the visibility timeout.
    await queue.ack(ahead[0]!.messageId);
    expect(await queue.depth()).toEqual({ visible: 0, invisible: 3, deadLettered: 0 });
    await clock.advance(61_000);
    expect(serverIds(await queue.receive(5)).sort()).toEqual(['due', 'fresh', 'refused']);
  });
});

describe('a look ahead of its time on a spare token', () => {
  const budget = (waitMs: number, utilization: number): RateBudget => ({
    estimatedWaitMs: () => waitMs,
    utilization: () => utilization,
  });
  const lookFor = (scheduler: 'model' | 'fixed', rate: RateBudget, hintShare = '0') => {
    const config = parseSchedulerConfig({ ESCROW_SCHEDULER: scheduler, ESCROW_POSTED_HINT_SHARE: hintShare });
    return spareTokenLook({
      scheduler: createPollScheduler(config),
      rateBudgetFor: () => rate,
      clock: new FakeClock(T0 + 12 * MIN),
    } as unknown as Parameters<typeof spareTokenLook>[0]);
  };
  const idle = budget(0, 0.3);

  it('takes a find of an ACTIVE server while a token is free and the budget is below its share', () => {
    expect(lookFor('model', idle)(find('a', 5, { source: 'requeue' }))).toBe(true);
  });

  it("brings a look forward to the model's minimum gap (15 s) after the last one, never closer", () => {
    const look = lookFor('model', idle);
    expect(look(find('a', 12 - 20 / 60))).toBe(true);
    expect(look(find('b', 12 - 10 / 60))).toBe(false);
    // Never looked at: counted from ACTIVE.
    expect(look(workItem({ serverId: 'c', activeSince: iso(T0 + 12 * MIN - 10_000) }))).toBe(false);
  });

  it('leaves the budget alone once a caller waits or the hook uses its share (default 0.8)', () => {
    expect(lookFor('model', budget(1250, 0.3))(find('a', 5))).toBe(false);
    expect(lookFor('model', budget(0, 0.8))(find('a', 5))).toBe(false);
  });

  it('scales that share by the guests that post without telling us: none spare where all notify', () => {
    expect(lookFor('model', budget(0, 0.3), '0.5')(find('a', 5))).toBe(true);
    expect(lookFor('model', budget(0, 0.45), '0.5')(find('a', 5))).toBe(false);
    expect(lookFor('model', budget(0, 0), '1')(find('a', 5))).toBe(false);
  });

  it('never pulls forward what is not a look for a post, nor anything under a baseline', () => {
    const look = lookFor('model', idle);
    expect(look(workItem({ serverId: 'building' }))).toBe(false); // not seen ACTIVE: a show, not a GET
    expect(look(find('hint', 5, { source: 'posted' }))).toBe(false);
    expect(look(find('verify', 5, { phase: 'verify', sha256: 'a'.repeat(64) }))).toBe(false);
    expect(look(find('watch', 5, { phase: 'watch', sha256: 'a'.repeat(64) }))).toBe(false);
    expect(look(find('found', 5, { sha256: 'a'.repeat(64) }))).toBe(false);
    expect(look(find('failing', 5, { failureStreak: 2 }))).toBe(false);
    expect(lookFor('fixed', idle)(find('a', 5))).toBe(false);
  });
});
