/**
 * Clock skew against a Huawei gateway, measured from the `Date` header of a response we just
 * signed a request for. The gateway rejects an X-Sdk-Date more than 15 minutes off its own
 * clock ("signature expired"), so a skewed host fails every call with a 401 that looks like
 * a bad key. `Date` has one-second resolution: the estimate is good to about ±1 s plus half the
 * round trip.
 */
import type { HttpRequest, HttpResponse, HttpTransport } from './http-transport.ts';

/** Gateway clock minus ours, in milliseconds, or undefined when the header is absent or unreadable. */
export function skewFromDateHeader(
  date: string | undefined,
  sentAtMs: number,
  receivedAtMs: number,
): number | undefined {
  if (date === undefined) return undefined;
  const gateway = Date.parse(date);
  if (Number.isNaN(gateway)) return undefined;
  // The header is truncated to whole seconds: compare against the middle of that second.
  return Math.round(gateway + 500 - (sentAtMs + receivedAtMs) / 2);
}

/** Wraps a transport and remembers the skew seen on the last response (any status). */
export class SkewRecordingTransport implements HttpTransport {
  readonly #inner: HttpTransport;
  readonly #now: () => number;
  lastSkewMs: number | undefined;

  constructor(inner: HttpTransport, now: () => number = Date.now) {
    this.#inner = inner;
    this.#now = now;
  }

  async send(request: HttpRequest): Promise<HttpResponse> {
    const sentAt = this.#now();
    const response = await this.#inner.send(request);
    this.lastSkewMs = skewFromDateHeader(response.headers['date'], sentAt, this.#now()) ?? this.lastSkewMs;
    return response;
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
