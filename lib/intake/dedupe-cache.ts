/**
 * A small LRU of (notification id, server id) pairs already enqueued by this warm
 * instance. It only saves queue traffic on SMN redeliveries; correctness does not depend on
 * it because the worker is idempotent.
 */
export class DedupeCache {
  readonly capacity: number;
  readonly #seen = new Map<string, true>();

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  has(key: string): boolean {
    if (!this.#seen.has(key)) return false;
    // Refresh recency.
    this.#seen.delete(key);
    this.#seen.set(key, true);
    return true;
  }

  add(key: string): void {
    if (this.capacity <= 0) return;
    this.#seen.delete(key);
    this.#seen.set(key, true);
    while (this.#seen.size > this.capacity) this.#seen.delete(this.#seen.keys().next().value as string);
  }

  get size(): number {
    return this.#seen.size;
  }
}
