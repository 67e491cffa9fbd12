/**
 * Time as the scheduler, the rate limiter and the emulator see it. Production uses the
 * wall clock; the demo, tests and benchmarks compress minutes into milliseconds with a
 * scaled clock so that a fleet's hour of waiting runs in seconds.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch, in (possibly compressed) clock time. */
  now(): number;
  /** Waits `ms` of clock time. Rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** How many clock milliseconds pass per real millisecond (1 for the wall clock). */
  readonly scale: number;
  /** A scaled clock's epoch (wall ms at which it equalled the wall clock); another process needs it to agree. */
  readonly epochMs?: number;
}

function realSleep(realMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, realMs),
    );
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => realSleep(ms, signal),
  scale: 1,
};

/**
 * A clock that runs `scale` times faster than real time from `epochMs` on. Two processes
 * given the same scale and epoch agree on the time, so a restarted service keeps its schedule.
 */
export function scaledClock(scale: number, epochMs: number): Clock {
  if (!(scale >= 1)) throw new RangeError('clock scale must be >= 1');
  if (scale === 1) return systemClock;
  return {
    now: () => epochMs + (Date.now() - epochMs) * scale,
    sleep: (ms, signal) => realSleep(ms / scale, signal),
    scale,
    epochMs,
  };
}
