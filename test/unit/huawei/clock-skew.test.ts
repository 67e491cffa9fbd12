import { describe, expect, it } from 'vitest';
import { skewFromDateHeader } from '../../../lib/huawei/clock-skew.ts';

describe('skewFromDateHeader', () => {
  const sent = Date.parse('2026-12-02T10:00:00.000Z');

  it('is the gateway clock minus ours, against the middle of the round trip and of the Date second', () => {
    // Gateway says 10:05:00 (i.e. 10:05:00.000–.999) while our round trip was 10:00:00.000–.200.
    expect(skewFromDateHeader('Wed, 02 Dec 2026 10:05:00 GMT', sent, sent + 200)).toBe(300_400);
    expect(skewFromDateHeader('Wed, 02 Dec 2026 09:59:00 GMT', sent, sent)).toBe(-59_500);
  });

  it('is undefined without a readable header', () => {
    expect(skewFromDateHeader(undefined, sent, sent)).toBeUndefined();
    expect(skewFromDateHeader('yesterday', sent, sent)).toBeUndefined();
  });
});
