/**
 * The simulator's only source of time and of concurrency. Every wait in the hook's code goes
 * through `clock.sleep` (backoff, rate-limit waits, Lambda timeouts) and every fake I/O call
 * takes a seeded latency on the same timer queue, so the order in which concurrent steps
 * (workers, the guest, reinstalls, the sweep, SMN deliveries) interleave is decided here, by
 * the seed, and nowhere else.
 *
 * One step = one timer firing. Between steps the loop lets the microtask queue drain (the code
 * under test never touches a real socket, file or timer, so when nothing is queued it is
 * blocked on a simulated timer), then calls `afterStep` so the oracle can look at the world.
 */

import type { Random } from '../../emulator/seeded-random.ts';
import type { Clock } from '../../lib/clock.ts';

interface Timer {
  due: number;
  /** Seeded tie-break: two timers due at the same millisecond fire in a seeded order. */
  tie: number;
  seq: number;
  label: string | undefined;
  fire: () => void;
  cancelled: boolean;
}

/** A binary min-heap on (due, tie, seq). */
class TimerHeap {
  readonly #items: Timer[] = [];

  get size(): number {
    return this.#items.length;
  }

  push(timer: Timer): void {
    const a = this.#items;
    a.push(timer);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }

  pop(): Timer | undefined {
    const a = this.#items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.due !== b.due ? a.due < b.due : a.tie !== b.tie ? a.tie < b.tie : a.seq < b.seq;
}

/** Lets every promise continuation that is ready run; nothing in the simulation does real I/O. */
const drain = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class SimAbort extends Error {
  override name = 'AbortError';
}

export class SimLoop {
  #now: number;
  #seq = 0;
  readonly #heap = new TimerHeap();
  readonly #random: Random;
  steps = 0;

  constructor(startMs: number, random: Random) {
    this.#now = startMs;
    this.#random = random;
  }

  /** True (cloud) time. */
  now(): number {
    return this.#now;
  }

  /** Runs `fire` at `due` (true time). Returns a cancel function. */
  at(due: number, fire: () => void, label?: string): () => void {
    const timer: Timer = {
      due: Math.max(this.#now, Math.ceil(due)),
      tie: this.#random.next(),
      seq: this.#seq++,
      label,
      fire,
      cancelled: false,
    };
    this.#heap.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  after(ms: number, fire: () => void, label?: string): () => void {
    return this.at(this.#now + Math.max(0, ms), fire, label);
  }

  /** Sleeps `ms` of simulated time; rejects with the signal's reason when it fires first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason ?? new SimAbort('aborted'));
        return;
      }
      const onAbort = (): void => {
        cancel();
        reject(signal?.reason ?? new SimAbort('aborted'));
      };
      const cancel = this.after(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A Clock for code that runs on a machine whose clock is `skewMs` off true time. */
  clock(skewMs = 0): Clock {
    return {
      now: () => this.#now + skewMs,
      sleep: (ms, signal) => this.sleep(ms, signal),
      scale: 1,
    };
  }

  /**
   * Fires timers in order until `done()` says so, the queue runs dry, or `maxSteps` is reached.
   * `afterStep` runs once the continuations of each firing have settled.
   */
  async run(options: {
    done: () => boolean;
    afterStep: () => void;
    maxSteps: number;
    onStep?: ((label: string | undefined) => void) | undefined;
  }): Promise<'done' | 'idle' | 'step-limit'> {
    await drain();
    options.afterStep();
    for (;;) {
      if (options.done()) return 'done';
      if (this.steps >= options.maxSteps) return 'step-limit';
      const timer = this.#heap.pop();
      if (!timer) return 'idle';
      if (timer.cancelled) continue;
      this.#now = Math.max(this.#now, timer.due);
      this.steps++;
      options.onStep?.(timer.label);
      timer.fire();
      await drain();
      options.afterStep();
    }
  }
}
