/**
 * What batch-cpu.ts hands a driver bundle and what it gets back. Types only: the parent
 * (bench/worker-cpu.ts) writes a BatchCase, the drivers implement BatchDriver.
 */

export interface BatchCase {
  /** Applied to process.env before the driver is imported. */
  env: Record<string, string>;
  /** The emulator's scaled clock (lib/clock.ts scaledClock), rebuilt in the child. */
  clock: { scale: number; epochMs: number };
  /** Servers in flight at once within a batch. */
  concurrency: number;
  /** Processed first and not measured: JIT, lazy module loads, first connections. */
  warmup: string[];
  /** Each inner array is one measured batch of server ids. */
  batches: string[][];
}

export interface BatchDriver {
  /** Builds one batch's input untimed; the returned function does the timed work and resolves with the servers it cleared. */
  prepare(serverIds: readonly string[]): () => Promise<number>;
  close(): Promise<void>;
}

export interface BatchCpuResult {
  /** User + system CPU milliseconds per measured batch. */
  cpuMs: number[];
  wallMs: number[];
  servers: number;
  cleared: number;
}
