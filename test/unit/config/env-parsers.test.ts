import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  readBoolean,
  readEnum,
  readInteger,
  readKeyValues,
  readList,
  readNumber,
  readUrl,
  requireString,
} from '../../../lib/config/env-parsers.ts';

function error(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('env parsers', () => {
  it('use the fallback for unset or blank values', () => {
    expect(readInteger({ A: ' ' }, 'A', 7)).toBe(7);
    expect(readBoolean({}, 'B', true)).toBe(true);
    expect(readList({ C: '' }, 'C', ['x'])).toEqual(['x']);
  });

  it('parse what they are given', () => {
    expect(readInteger({ A: '42' }, 'A', 0, { min: 1, max: 100 })).toBe(42);
    expect(readNumber({ A: '0.25' }, 'A', 0)).toBe(0.25);
    expect(readBoolean({ B: 'YES' }, 'B', false)).toBe(true);
    expect(readList({ C: 'a, b,,c ' }, 'C')).toEqual(['a', 'b', 'c']);
    expect(readKeyValues({ D: 'team=platform, env=prod' }, 'D')).toEqual({ team: 'platform', env: 'prod' });
    expect(readUrl({ E: 'http://127.0.0.1:8080' }, 'E')?.port).toBe('8080');
  });

  it('name the variable and what is expected when a value is wrong', () => {
    expect(error(() => readInteger({ A: '1.5' }, 'A', 0)).message).toBe(
      'A must be a whole number, got "1.5"',
    );
    expect(error(() => readInteger({ A: '0' }, 'A', 1, { min: 1 })).message).toBe(
      'A must be at least 1, got 0',
    );
    expect(error(() => readNumber({ A: '9' }, 'A', 1, { max: 5 })).message).toBe(
      'A must be at most 5, got 9',
    );
    expect(error(() => readBoolean({ B: 'maybe' }, 'B', false)).message).toMatch(/^B must be true or false/);
    expect(error(() => readEnum({ C: 'x' }, 'C', ['a', 'b'], 'a')).message).toBe(
      'C must be one of a, b, got "x"',
    );
    expect(error(() => readKeyValues({ D: 'novalue' }, 'D')).variable).toBe('D');
    expect(error(() => readUrl({ E: 'ftp://x' }, 'E')).message).toMatch(/^E must be an http\(s\) URL/);
    expect(error(() => requireString({}, 'F', 'set it to the queue URL')).message).toBe(
      'F is not set; set it to the queue URL',
    );
  });
});
