import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/observability/logger.ts';
import { nullMetrics } from '../../../lib/observability/metrics.ts';
import { SqliteQueue } from '../../../lib/queue/sqlite-queue.ts';
import type { WorkItem } from '../../../lib/queue/work-item.ts';
import { parseWorkItem } from '../../../lib/queue/work-item-codec.ts';
import { QueueWorker } from '../../../lib/worker/local-queue-worker.ts';
import { FakeClock } from '../huawei/fake-clock.ts';

function item(serverId: string, attempt = 0, source: WorkItem['source'] = 'direct'): WorkItem {
  return {
    v: 1,
    projectId: 'p1',
    region: 'cn-north-4',
    serverId,
    firstSeenAt: '2026-01-01T00:00:00.000Z',
    attempt,
    source,
  };
}

const ids = (messages: Array<{ body: string }>) => messages.map((m) => parseWorkItem(m.body).serverId);

describe('SqliteQueue', () => {
  let dir: string;
  let file: string;
  let clock: FakeClock;
  const open: SqliteQueue[] = [];
  const queue = (options: Partial<ConstructorParameters<typeof SqliteQueue>[0]> = {}): SqliteQueue => {
    const q = new SqliteQueue({ database: file, clock, ...options });
    open.push(q);
    return q;
  };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sqlite-queue-'));
    file = join(dir, 'state.db');
    clock = new FakeClock();
  });
  afterEach(async () => {
    for (const q of open.splice(0)) q.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('delivers due messages only, leases them, and deletes on ack', async () => {
    const q = queue({ visibilityTimeoutSeconds: 30 });
    await q.enqueue([item('a')]);
    await q.enqueue([item('b')], { delaySeconds: 60 });
    const first = await q.receive(10);
    expect(ids(first)).toEqual(['a']);
    expect(await q.receive(10)).toEqual([]); // 'a' is leased, 'b' delayed
    await clock.advance(31_000);
    const again = await q.receive(10);
    expect(again.map((m) => [parseWorkItem(m.body).serverId, m.receiveCount])).toEqual([['a', 2]]);
    await q.ack(again[0]!.messageId);
    await clock.advance(60_000);
    expect(ids(await q.receive(10))).toEqual(['b']);
  });

  it('survives a restart: a new connection to the same file sees the same messages', async () => {
    const first = queue();
    await first.enqueue([item('a'), item('b')]);
    first.close();
    expect((await queue().receive(10)).length).toBe(2);
  });

  it('takes messages from a second connection (the sweep command beside a running serve)', async () => {
    const serve = queue();
    await queue().enqueue([item('a')]);
    expect(ids(await serve.receive(10))).toEqual(['a']);
  });

  it('orders due messages by priority', async () => {
    const q = queue({ priority: (i) => (i?.serverId === 'urgent' ? 1 : 0) });
    await q.enqueue([item('x'), item('y'), item('urgent')]);
    expect(ids(await q.receive(2))[0]).toBe('urgent');
  });

  it('moves a message to the dead letters after maxReceiveCount retries, and keeps reasons', async () => {
    const q = queue({ maxReceiveCount: 2 });
    await q.enqueue([item('a')]);
    let [m] = await q.receive(1);
    expect(await q.retry(m!.messageId, 0)).toBe('retried');
    [m] = await q.receive(1);
    expect(await q.retry(m!.messageId, 0)).toBe('dead-lettered');
    await q.send({ item: item('b'), reason: 'deadline-exceeded', detail: 'still not-posted' });
    const dlq = await q.deadLetters();
    expect(dlq.map((d) => d.reason)).toEqual(['max-receive-count', 'deadline-exceeded']);
    expect(dlq[1]!.item?.serverId).toBe('b');
    expect(await q.receive(10)).toEqual([]);
    expect(await q.depth()).toEqual({ visible: 0, invisible: 0, deadLettered: 2 });
  });

  describe('one chain per server', () => {
    it('merges a fresh item into the message already waiting for that server', async () => {
      const q = queue();
      await q.enqueue([item('a', 3, 'requeue')], { delaySeconds: 60 });
      // Twelve sweeps later there is still one message for 'a', and it is the chain's own.
      for (let sweep = 0; sweep < 12; sweep++)
        await q.enqueue([item('a', 0, 'sweep'), item('b', 0, 'sweep')]);
      expect(await q.depth()).toMatchObject({ visible: 1, invisible: 1 });
      await clock.advance(61_000);
      const got = await q.receive(10);
      expect(got.map((m) => [parseWorkItem(m.body).serverId, parseWorkItem(m.body).attempt]).sort()).toEqual([
        ['a', 3],
        ['b', 0],
      ]);
    });

    it("lets a continuation replace the waiting fresh item, keeping the chain's state", async () => {
      const q = queue();
      await q.enqueue([item('a')]);
      const [leased] = await q.receive(1);
      // An event arrives while the chain's message is being processed: it is kept beside it…
      await q.enqueue([item('a', 0, 'smn')]);
      expect(await q.depth()).toMatchObject({ visible: 1, invisible: 1 });
      // …until the chain re-queues its successor, which takes its place.
      await q.enqueue([item('a', 1, 'requeue')], { delaySeconds: 30 });
      await q.ack(leased!.messageId);
      expect(await q.depth()).toMatchObject({ visible: 0, invisible: 1 });
      await clock.advance(31_000);
      expect((await q.receive(10)).map((m) => parseWorkItem(m.body).attempt)).toEqual([1]);
    });

    it('keeps the fresh item when the leased message ends its chain (an event during the last look)', async () => {
      const q = queue();
      await q.enqueue([item('a')]);
      const [leased] = await q.receive(1);
      await q.enqueue([item('a', 0, 'smn')]);
      await q.ack(leased!.messageId); // cleared: no successor
      expect(ids(await q.receive(10))).toEqual(['a']);
    });
    it("keeps a guest's posted hint beside the waiting chain, and merges repeated hints", async () => {
      const q = queue();
      await q.enqueue([item('a', 3, 'requeue')], { delaySeconds: 600 });
      // Two notifications for 'a': one hint waits, due now, and the delayed chain is untouched.
      await q.enqueue([item('a', 0, 'posted')]);
      await q.enqueue([item('a', 0, 'posted')]);
      expect(await q.depth()).toMatchObject({ visible: 1, invisible: 1 });
      // The chain's own continuation does not delete the waiting hint either.
      await q.enqueue([item('a', 4, 'requeue')], { delaySeconds: 600 });
      const got = await q.receive(10);
      expect(got.map((m) => parseWorkItem(m.body).source)).toEqual(['posted']);
      expect(await q.depth()).toMatchObject({ visible: 0, invisible: 2 });
    });
  });

  describe('corrupt rows', () => {
    const insertRaw = (q: SqliteQueue, body: string): void => {
      q.db
        .statement(
          'INSERT INTO queue_messages (body, chain_key, visible_at, enqueued_at) VALUES (?, NULL, 0, 0)',
        )
        .run(body);
    };

    it('dead-letters `{}`, `null` and garbage once each, with a reason, and never loops on them', async () => {
      const q = queue();
      for (const body of ['{}', 'null', 'garbage']) insertRaw(q, body);
      const worker = new QueueWorker({
        queue: q,
        batch: {
          process: { clock, scheduler: { priority: () => 0 } } as never,
          queue: q,
          dlq: q,
          logger: silentLogger,
          metrics: nullMetrics,
          concurrency: 1,
        },
        logger: silentLogger,
        batchSize: 10,
        idlePollMs: 10,
        retryDelaySeconds: 30,
      });
      for (let round = 0; round < 5; round++) {
        await worker.runOnce();
        await clock.advance(120_000);
      }
      const letters = await q.deadLetters();
      expect(letters.map((l) => [l.body, l.reason])).toEqual([
        ['{}', 'invalid-item'],
        ['null', 'invalid-item'],
        ['garbage', 'invalid-item'],
      ]);
      expect(letters.every((l) => (l.detail ?? '').length > 0)).toBe(true);
      expect(await q.depth()).toEqual({ visible: 0, invisible: 0, deadLettered: 3 });
    });

    it('lists a garbled dead letter with its raw text instead of throwing', async () => {
      const q = queue();
      q.db.statement("INSERT INTO queue_dead_letters (at, reason, item) VALUES ('x', 'r', '{garbled')").run();
      expect(await q.deadLetters()).toEqual([{ id: '1', at: 'x', reason: 'r', body: '{garbled' }]);
    });
  });
});
