import { describe, expect, it } from 'vitest';
import type { WorkItem } from '../../../lib/queue/work-item.ts';
import { encodeWorkItem, InvalidWorkItemError, parseWorkItem } from '../../../lib/queue/work-item-codec.ts';

const item: WorkItem = {
  v: 1,
  projectId: '0123456789abcdef0123456789abcdef',
  region: 'cn-north-4',
  serverId: 'cf2a8b97-b5c6-47ef-9714-eb27adf26e5b',
  firstSeenAt: '2026-01-01T00:00:00.000Z',
  attempt: 2,
  source: 'requeue',
  phase: 'verify',
  sha256: 'a'.repeat(64),
  passwordChecks: 3,
};

describe('work item codec', () => {
  it('round-trips', () => {
    expect(parseWorkItem(encodeWorkItem(item))).toEqual(item);
  });

  it('rejects bad bodies naming the field, without echoing the body', () => {
    const secretish = 'Zm9vYmFy'.repeat(50);
    const cases: Array<[string, string]> = [
      ['not json', 'body'],
      ['[]', 'body'],
      [JSON.stringify({ ...item, v: 2 }), 'v'],
      [JSON.stringify({ ...item, serverId: '../etc' }), 'serverId'],
      [JSON.stringify({ ...item, attempt: -1 }), 'attempt'],
      [JSON.stringify({ ...item, source: 'evil' }), 'source'],
      [JSON.stringify({ ...item, firstSeenAt: secretish }), 'firstSeenAt'],
      [JSON.stringify({ ...item, sha256: secretish }), 'sha256'],
    ];
    for (const [body, field] of cases) {
      try {
        parseWorkItem(body);
        expect.unreachable(`accepted ${field}`);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidWorkItemError);
        expect((error as InvalidWorkItemError).field).toBe(field);
        expect((error as Error).message).not.toContain(secretish);
      }
    }
  });

  it('drops unknown fields', () => {
    const parsed = parseWorkItem(JSON.stringify({ ...item, password: 'x' }));
    expect(parsed).not.toHaveProperty('password');
  });
});

describe('clampDelay (SQS holds at most 900 s)', () => {
  it('passes short delays, chains long ones through notBefore, and converts compressed clock time', async () => {
    const { clampDelay } = await import('../../../lib/queue/sqs-queue.ts');
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(clampDelay(item, 30.2, 900, now)).toEqual({ item, delaySeconds: 31 });
    const long = clampDelay(item, 3600, 900, now);
    expect(long.delaySeconds).toBe(900);
    expect(long.item.notBefore).toBe('2026-01-01T01:00:00.000Z');
    expect(clampDelay(item, 600, 900, now, 100).delaySeconds).toBe(6);
  });
});
