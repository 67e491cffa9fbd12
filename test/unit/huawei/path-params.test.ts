import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InvalidPathParamError,
  validateJobId,
  validateProjectId,
  validateServerId,
} from '../../../lib/huawei/path-params.ts';

const SERVER = 'cf2a8b97-b5c6-47ef-9714-eb27adf26e5b';
const PROJECT = 'bbf1946d374b44a0a2a95533562ba954';
const JOB = '2c9eb2c5544cbf6101544f0602af2b4f';

describe('path parameter validation', () => {
  it('accepts real-shaped ids', () => {
    expect(validateServerId(SERVER)).toBe(SERVER);
    expect(validateServerId(SERVER.toUpperCase())).toBe(SERVER.toUpperCase());
    expect(validateProjectId(PROJECT)).toBe(PROJECT);
    expect(validateJobId(JOB)).toBe(JOB);
    expect(validateJobId(SERVER)).toBe(SERVER);
  });

  const hostile = [
    '',
    '..',
    `../${PROJECT}`,
    `${PROJECT}/x`,
    `${PROJECT}%2F..`,
    `${PROJECT}?limit=1`,
    `${PROJECT}#frag`,
    ` ${PROJECT}`,
    `${PROJECT}\n`,
    `${PROJECT}\t`,
    'a'.repeat(65),
    'ｐｒｏｊ',
  ];
  it.each(hostile)('rejects project id %j', (value) => {
    expect(() => validateProjectId(value)).toThrow(InvalidPathParamError);
  });
  it.each([
    ...hostile,
    `${SERVER}/os-server-password`,
    `${SERVER}%2F`,
    `${SERVER.slice(0, -1)}g`,
    `${SERVER}.`,
  ])('rejects server id %j', (value) => {
    expect(() => validateServerId(value)).toThrow(InvalidPathParamError);
  });
  it.each([...hostile, `-${JOB}`, `${JOB}.json`])('rejects job id %j', (value) => {
    expect(() => validateJobId(value)).toThrow(InvalidPathParamError);
  });

  it('rejects non-strings with a message that names the parameter and the expected shape', () => {
    for (const value of [undefined, null, 42, {}]) {
      expect(() => validateServerId(value)).toThrow(
        /invalid serverId \((undefined|null|number|object)\): expected a UUID/,
      );
    }
  });

  it('quotes the offending value, shortened, in the message', () => {
    const error = (() => {
      try {
        validateProjectId(`../${'x'.repeat(200)}`);
      } catch (e) {
        return e as InvalidPathParamError;
      }
    })();
    expect(error?.param).toBe('projectId');
    expect(error?.message).toMatch(/^invalid projectId "\.\.\/x+…": expected letters and digits only/);
    expect(error!.message.length).toBeLessThan(200);
  });

  it('never lets a separator, escape, dot or whitespace through (property)', () => {
    const bad = fc.constantFrom('/', '\\', '%', '.', '?', '#', ' ', '\n', '\t', '&', '=', '+', ';', '\u00a0');
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), bad, fc.string({ maxLength: 20 }), (a, c, b) => {
        const value = `${a}${c}${b}`;
        expect(() => validateProjectId(value)).toThrow(InvalidPathParamError);
        expect(() => validateServerId(value)).toThrow(InvalidPathParamError);
        expect(() => validateJobId(value)).toThrow(InvalidPathParamError);
      }),
    );
  });
});
