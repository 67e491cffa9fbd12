import { describe, expect, it } from 'vitest';
import { exposureBounds, formatExposure } from '../../../lib/pipeline/exposure-bounds.ts';

const T = Date.parse('2026-01-01T00:00:00Z');
const at = (s: number): string => new Date(T + s * 1000).toISOString();

describe('exposure bounds', () => {
  it('run from the finding GET (at least) and the last empty GET (at most) to the DELETE', () => {
    const b = exposureBounds(
      { activeSince: at(0), lastEmptyCheckAt: at(100), foundAt: at(130), clearedAt: at(140) },
      T,
    );
    expect(b).toEqual({ minSeconds: 10, maxSeconds: 40, open: false });
    expect(formatExposure(b)).toBe('10 s – 40 s');
  });

  it('fall back to ACTIVE when the first look found the record, and are open-ended without it', () => {
    expect(exposureBounds({ activeSince: at(0), foundAt: at(300), clearedAt: at(301) }, T)).toEqual({
      minSeconds: 1,
      maxSeconds: 301,
      open: false,
    });
    const open = exposureBounds({ foundAt: at(300), clearedAt: at(400) }, T);
    expect(open?.maxSeconds).toBeUndefined();
    expect(formatExposure(open)).toBe('≥ 100 s');
  });

  it('run on to now while the record is not cleared, and say so', () => {
    const b = exposureBounds({ lastEmptyCheckAt: at(0), foundAt: at(10) }, T + 250_000);
    expect(b).toEqual({ minSeconds: 240, maxSeconds: 250, open: true });
    expect(formatExposure(b)).toBe('4.0 min – 4.2 min so far');
  });

  it('are unknown before anything was found', () => {
    expect(exposureBounds({ lastEmptyCheckAt: at(0) }, T)).toBeUndefined();
    expect(formatExposure(undefined)).toBe('');
  });
});
