/** What the emulator saw: per-API outcome counts, the password call log and SMN deliveries. */
import type { ApiCallCounts, CallsSnapshot, PasswordCallEvent, SmnDeliveryRecord } from './types.ts';

function emptyCounts(): ApiCallCounts {
  return { total: 0, '2xx': 0, '401': 0, '429': 0, '5xx': 0, other: 0, resets: 0 };
}

export class CallLog {
  #apis = new Map<string, ApiCallCounts>();
  #passwordEvents: PasswordCallEvent[] = [];
  #smnDeliveries: SmnDeliveryRecord[] = [];

  reset(): void {
    this.#apis = new Map();
    this.#passwordEvents = [];
    this.#smnDeliveries = [];
  }

  /** `status` undefined means the connection was reset without a response. */
  recordApi(api: string, status: number | undefined): void {
    let counts = this.#apis.get(api);
    if (!counts) {
      counts = emptyCounts();
      this.#apis.set(api, counts);
    }
    counts.total += 1;
    if (status === undefined) counts.resets += 1;
    else if (status >= 200 && status < 300) counts['2xx'] += 1;
    else if (status === 401) counts['401'] += 1;
    else if (status === 429) counts['429'] += 1;
    else if (status >= 500) counts['5xx'] += 1;
    else counts.other += 1;
  }

  recordPassword(event: PasswordCallEvent): void {
    this.#passwordEvents.push(event);
  }

  recordSmn(record: SmnDeliveryRecord): void {
    this.#smnDeliveries.push(record);
  }

  snapshot(): CallsSnapshot {
    return {
      apis: Object.fromEntries([...this.#apis].map(([k, v]) => [k, { ...v }])),
      passwordEvents: this.#passwordEvents.map((e) => ({ ...e })),
      smnDeliveries: this.#smnDeliveries.map((d) => ({ ...d })),
    };
  }
}
