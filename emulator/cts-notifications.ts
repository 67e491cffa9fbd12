/**
 * CTS key-event notifications (CTS v3 `/notifications`): what the SMN management API of the
 * emulator routes on. A trace reaches a topic when an enabled notification targets it and
 * either covers every operation (`complete`) or lists the trace's service type, resource type
 * and trace name (`customized`), as cts_api_0312 describes.
 */
import type { CtsTrace } from './cts-trace.ts';
import type { Random } from './seeded-random.ts';

export interface CtsOperationRecord {
  service_type: string;
  resource_type: string;
  trace_names: string[];
}

export interface CtsNotificationRecord {
  notification_id: string;
  notification_name: string;
  operation_type: 'complete' | 'customized';
  operations: CtsOperationRecord[];
  notify_user_list: unknown[];
  status: 'enabled' | 'disabled';
  topic_id: string;
  notification_type: 'smn' | 'fun';
  project_id: string;
  create_time: number;
  filter: unknown;
}

export class CtsNotificationError extends Error {
  override name = 'CtsNotificationError';
}

const NAME = /^[A-Za-z0-9_]{1,64}$/;

function operations(value: unknown): CtsOperationRecord[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new CtsNotificationError('operations must be an array');
  return value.map((op) => {
    const o = (op ?? {}) as Record<string, unknown>;
    if (
      typeof o['service_type'] !== 'string' ||
      typeof o['resource_type'] !== 'string' ||
      !Array.isArray(o['trace_names']) ||
      !o['trace_names'].every((n) => typeof n === 'string')
    ) {
      throw new CtsNotificationError('each operation needs service_type, resource_type and trace_names');
    }
    return {
      service_type: o['service_type'],
      resource_type: o['resource_type'],
      trace_names: o['trace_names'] as string[],
    };
  });
}

export class CtsNotifications {
  readonly #byId = new Map<string, CtsNotificationRecord>();

  reset(): void {
    this.#byId.clear();
  }

  list(type: string): CtsNotificationRecord[] {
    return [...this.#byId.values()].filter((n) => n.notification_type === type);
  }

  create(body: Record<string, unknown>, ctx: { projectId: string; random: Random; now: number }) {
    const name = body['notification_name'];
    if (typeof name !== 'string' || !NAME.test(name))
      throw new CtsNotificationError('notification_name must be 1-64 letters, digits or _');
    if ([...this.#byId.values()].some((n) => n.notification_name === name))
      throw new CtsNotificationError(`a notification named ${name} already exists`);
    const record = this.#validate(body, {
      notification_id: ctx.random.uuid(),
      notification_name: name,
      project_id: ctx.projectId,
      create_time: ctx.now,
    });
    this.#byId.set(record.notification_id, record);
    return record;
  }

  update(body: Record<string, unknown>): CtsNotificationRecord | undefined {
    const id = body['notification_id'];
    const existing = typeof id === 'string' ? this.#byId.get(id) : undefined;
    if (!existing) return undefined;
    const record = this.#validate({ ...existing, ...body }, existing);
    this.#byId.set(record.notification_id, record);
    return record;
  }

  #validate(
    body: Record<string, unknown>,
    base: Pick<CtsNotificationRecord, 'notification_id' | 'notification_name' | 'project_id' | 'create_time'>,
  ): CtsNotificationRecord {
    const type = body['operation_type'];
    if (type !== 'complete' && type !== 'customized')
      throw new CtsNotificationError('operation_type must be complete or customized');
    const ops = operations(body['operations']);
    if (type === 'customized' && ops.length === 0)
      throw new CtsNotificationError('a customized notification needs operations');
    const topic = body['topic_id'];
    if (topic !== undefined && typeof topic !== 'string')
      throw new CtsNotificationError('topic_id must be a URN');
    const status = body['status'] ?? 'enabled';
    if (status !== 'enabled' && status !== 'disabled')
      throw new CtsNotificationError('status must be enabled or disabled');
    return {
      ...base,
      operation_type: type,
      operations: ops,
      notify_user_list: Array.isArray(body['notify_user_list']) ? body['notify_user_list'] : [],
      status,
      topic_id: topic ?? '',
      notification_type: typeof topic === 'string' && topic.startsWith('urn:fss:') ? 'fun' : 'smn',
      filter: body['filter'] ?? null,
    };
  }

  /** Whether some enabled notification sends `trace` to `topicUrn`. */
  routes(trace: CtsTrace, topicUrn: string): boolean {
    for (const n of this.#byId.values()) {
      if (n.status !== 'enabled' || n.topic_id !== topicUrn) continue;
      if (n.operation_type === 'complete') return true;
      const hit = n.operations.some(
        (op) =>
          op.service_type === trace.service_type &&
          op.resource_type === trace.resource_type &&
          op.trace_names.includes(trace.trace_name),
      );
      if (hit) return true;
    }
    return false;
  }
}
