/**
 * Numbers and tables shared by every benchmark. Pure functions only, so that the
 * summaries printed and the ones written to JSON can never disagree.
 */

export interface Summary {
  n: number;
  median: number;
  p95: number;
  min: number;
  max: number;
}

/** Nearest-rank percentile (p in 0..100) of a non-empty sample. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('percentile of an empty sample');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty sample');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    median: median(values),
    p95: percentile(values, 95),
    min: Math.min(...values),
    max: Math.max(...values),
  };
}

/**
 * Calls fn in batches until `ms` has passed (or `maxOps` calls were made) and returns the
 * achieved operations per second. Checking the clock once per batch keeps performance.now()
 * out of the figure. Call it once and discard the result to warm the JIT up.
 */
export function measureOpsPerSecond(fn: () => unknown, ms: number, maxOps: number): number {
  const batch = 64;
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms && ops < maxOps) {
    for (let i = 0; i < batch; i++) fn();
    ops += batch;
    elapsed = performance.now() - start;
  }
  return (ops / elapsed) * 1000;
}

/** "2.41×": how many times `ours` is the baseline (for durations pass baseline/ours). */
export function formatRatio(ours: number, baseline: number): string {
  if (!Number.isFinite(ours) || !Number.isFinite(baseline) || baseline === 0) return 'n/a';
  return `${(ours / baseline).toFixed(2)}×`;
}

export function formatMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
}

/** Plain-text table: first column left-aligned (labels), the others right-aligned (figures). */
export function formatTable(table: Table): string {
  const widths = table.columns.map((col, i) =>
    Math.max(col.length, ...table.rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [table.title, line(table.columns), rule, ...table.rows.map(line)].join('\n');
}
