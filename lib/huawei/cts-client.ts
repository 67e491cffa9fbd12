/**
 * CTS v3 key-event notifications, as `doctor` needs them: list the SMN-type notifications,
 * create one, update one. Same signed caller as every other client. Wire shapes: CTS API
 * reference (CreateNotification cts_api_0312, ListNotifications, UpdateNotification).
 */
import { validateProjectId } from './path-params.ts';
import { parseJsonBody, type SignedCaller, unexpectedShape } from './signed-call.ts';

export interface CtsOperation {
  service_type: string;
  resource_type: string;
  trace_names: string[];
}

export interface CtsNotification {
  notification_id?: string;
  notification_name: string;
  operation_type: 'complete' | 'customized';
  operations?: CtsOperation[];
  /** An SMN topic URN (or a FunctionGraph func_urn). */
  topic_id?: string;
  status?: 'enabled' | 'disabled';
  [field: string]: unknown;
}

export interface NotificationSpec {
  name: string;
  topicUrn: string;
  operations: CtsOperation[];
}

const NAME = /^[A-Za-z0-9_]{1,64}$/;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';

function body(spec: NotificationSpec): Record<string, unknown> {
  if (!NAME.test(spec.name))
    throw new RangeError(`not a CTS notification name: ${JSON.stringify(spec.name)}`);
  return {
    notification_name: spec.name,
    operation_type: 'customized',
    operations: spec.operations,
    topic_id: spec.topicUrn,
    status: 'enabled',
  };
}

export class CtsClient {
  readonly #caller: SignedCaller;
  readonly #endpoint: URL;

  constructor(options: { caller: SignedCaller; endpoint: URL }) {
    this.#caller = options.caller;
    this.#endpoint = options.endpoint;
  }

  async listNotifications(projectId: string, signal?: AbortSignal): Promise<CtsNotification[]> {
    const pid = validateProjectId(projectId);
    const response = await this.#caller.call({
      api: 'cts.notifications.list',
      method: 'GET',
      endpoint: this.#endpoint,
      path: `/v3/${pid}/notifications/smn`,
      projectId: pid,
      signal,
    });
    const data = parseJsonBody('cts.notifications.list', response);
    if (!isObject(data) || !Array.isArray(data['notifications']))
      throw unexpectedShape('cts.notifications.list', response, 'no "notifications" array');
    return data['notifications'].filter(
      (n): n is CtsNotification => isObject(n) && typeof n['notification_name'] === 'string',
    );
  }

  createNotification(
    projectId: string,
    spec: NotificationSpec,
    signal?: AbortSignal,
  ): Promise<CtsNotification> {
    return this.#write('cts.notifications.create', 'POST', projectId, body(spec), signal);
  }

  updateNotification(
    projectId: string,
    notificationId: string,
    spec: NotificationSpec,
    signal?: AbortSignal,
  ): Promise<CtsNotification> {
    return this.#write(
      'cts.notifications.update',
      'PUT',
      projectId,
      { ...body(spec), notification_id: notificationId },
      signal,
    );
  }

  /** POST (create) and PUT (update) share a path and answer the notification. */
  async #write(
    api: 'cts.notifications.create' | 'cts.notifications.update',
    method: 'POST' | 'PUT',
    projectId: string,
    payload: Record<string, unknown>,
    signal: AbortSignal | undefined,
  ): Promise<CtsNotification> {
    const pid = validateProjectId(projectId);
    const response = await this.#caller.call({
      api,
      method,
      endpoint: this.#endpoint,
      path: `/v3/${pid}/notifications`,
      body: payload,
      projectId: pid,
      signal,
    });
    const data = parseJsonBody(api, response);
    if (!isObject(data)) throw unexpectedShape(api, response, 'not a JSON object');
    return data as CtsNotification;
  }
}
