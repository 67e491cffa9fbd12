import type { WorkItem } from '../../../lib/queue/work-item.ts';

/** The fake clock's start for the pure pipeline tests. */
export const T0 = Date.parse('2026-01-01T00:00:00Z');

/** A fresh direct-intake item for server s1, first seen at T0. */
export function workItem(extra: Partial<WorkItem> = {}): WorkItem {
  return {
    v: 1,
    projectId: 'p1',
    region: 'cn-north-4',
    serverId: 's1',
    firstSeenAt: new Date(T0).toISOString(),
    attempt: 0,
    source: 'direct',
    ...extra,
  };
}
