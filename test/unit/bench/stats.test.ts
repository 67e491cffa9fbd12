import { describe, expect, it } from 'vitest';
import {
  formatRatio,
  formatTable,
  measureOpsPerSecond,
  median,
  percentile,
  summarize,
} from '../../../bench/stats.ts';

describe('bench stats', () => {
  it('takes the middle value, or the mean of the two middle values', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(RangeError);
  });

  it('uses nearest-rank percentiles', () => {
    const values = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(percentile(values, 95)).toBe(19);
    expect(percentile(values, 100)).toBe(20);
    expect(percentile([7], 95)).toBe(7);
    expect(summarize([3, 1, 2])).toEqual({ n: 3, median: 2, p95: 3, min: 1, max: 3 });
  });

  it('stops a throughput loop at its call cap even when time remains', () => {
    let calls = 0;
    const opsPerSec = measureOpsPerSecond(() => calls++, 60_000, 640);
    expect(calls).toBe(640);
    expect(opsPerSec).toBeGreaterThan(0);
  });

  it('formats ratios and refuses meaningless ones', () => {
    expect(formatRatio(3, 2)).toBe('1.50×');
    expect(formatRatio(1, 0)).toBe('n/a');
  });

  it('aligns labels left and figures right', () => {
    const text = formatTable({
      title: 'T',
      columns: ['name', 'ms'],
      rows: [
        ['a', '1.5'],
        ['long name', '10'],
      ],
    });
    expect(text.split('\n')).toEqual([
      'T',
      'name        ms',
      '---------  ---',
      'a          1.5',
      'long name   10',
    ]);
  });
});
