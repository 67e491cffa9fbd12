import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileQueue } from '../../../lib/queue/file-queue.ts';
import type { WorkItem } from '../../../lib/queue/work-item.ts';
import { parseWorkItem } from '../../../lib/queue/work-item-codec.ts';
import { FakeClock } from '../huawei/fake-clock.ts';

function item(serverId: string, attempt = 0): WorkItem {
  return {
    v: 1,
    projectId: 'p1',
    region: 'cn-north-4',
    serverId,
    firstSeenAt: '2026-01-01T00:00:00.000Z',
    attempt,
    source: 'direct',
  };
}

describe('FileQueue', () => {
  let dir: string;
  let clock: FakeClock;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'file-queue-'));
    clock = new FakeClock();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('delivers due messages only, leases them, and deletes on ack', async () => {
    const q = new FileQueue({ dir, clock, visibilityTimeoutSeconds: 30 });
    await q.enqueue([item('a')]);
    await q.enqueue([item('b')], { delaySeconds: 60 });
    const first = await q.receive(10);
    expect(first.map((m) => parseWorkItem(m.body).serverId)).toEqual(['a']);
    expect(await q.receive(10)).toEqual([]); // 'a' is leased, 'b' delayed
    await clock.advance(31_000);
    const again = await q.receive(10);
    expect(again.map((m) => [parseWorkItem(m.body).serverId, m.receiveCount])).toEqual([['a', 2]]);
    await q.ack(again[0]!.messageId);
    await clock.advance(60_000);
    expect((await q.receive(10)).map((m) => parseWorkItem(m.body).serverId)).toEqual(['b']);
  });

  it('survives a restart: a new instance on the same directory sees the same messages', async () => {
    await new FileQueue({ dir, clock }).enqueue([item('a'), item('b')]);
    const reopened = new FileQueue({ dir, clock });
    expect((await reopened.receive(10)).length).toBe(2);
  });

  it('orders due messages by priority', async () => {
    const q = new FileQueue({ dir, clock, priority: (i) => (i?.serverId === 'urgent' ? 1 : 0) });
    await q.enqueue([item('x'), item('y'), item('urgent')]);
    const got = await q.receive(2);
    expect(parseWorkItem(got[0]!.body).serverId).toBe('urgent');
  });

  it('moves a message to the DLQ after maxReceiveCount retries, and keeps DLQ reasons', async () => {
    const q = new FileQueue({ dir, clock, maxReceiveCount: 2 });
    await q.enqueue([item('a')]);
    let [m] = await q.receive(1);
    expect(await q.retry(m!.messageId, 0)).toBe('retried');
    [m] = await q.receive(1);
    expect(await q.retry(m!.messageId, 0)).toBe('dead-lettered');
    await q.send({ item: item('b'), reason: 'deadline-exceeded', detail: 'still not-posted' });
    const dlq = await q.deadLetters();
    expect(dlq.map((d) => d.reason)).toEqual(['max-receive-count', 'deadline-exceeded']);
    expect(await q.receive(10)).toEqual([]);
  });

  it('leaves no temp files behind and quarantines a corrupt message file', async () => {
    const q = new FileQueue({ dir, clock });
    await q.enqueue([item('a')]);
    await writeFile(join(dir, 'messages', '000-corrupt.json'), '{not json');
    expect((await q.receive(10)).length).toBe(1);
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
    expect((await q.deadLetters()).map((d) => d.reason)).toEqual(['corrupt-message-file']);
  });
});
