/** Parsing the "posted" notification settings: off by default, signed when keyed, fail closed. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lib/config/env-parsers.ts';
import { parsePostedConfig, readPostedMode } from '../../../lib/intake/posted/posted-config.ts';
import { parsePipelineConfig } from '../../../lib/pipeline/pipeline-config.ts';

const P1 = '0a419ac94f80f2c62f14c01e34abcdef';
const P2 = '1b419ac94f80f2c62f14c01e34abcdef';
const TARGETS = [
  { region: 'cn-north-4', projectId: P1 },
  { region: 'ap-southeast-1', projectId: P2 },
];
const KEY = 'k'.repeat(32);

describe('parsePostedConfig', () => {
  it('is off when nothing is set, and then the worker behaves as before', () => {
    expect(parsePostedConfig({}, TARGETS).mode).toBe('off');
    expect(parsePostedConfig({}, []).mode).toBe('off');
    expect(parsePipelineConfig({}).ledgerBeforeFind).toBe(false);
  });

  it('a key turns on signed mode, for the sweep targets, with their regions', () => {
    const config = parsePostedConfig({ ESCROW_POSTED_HMAC_KEY: KEY }, TARGETS);
    expect(config.mode).toBe('hmac');
    expect(config.key?.toString()).toBe(KEY);
    expect([...config.projects]).toEqual([
      [P1, 'cn-north-4'],
      [P2, 'ap-southeast-1'],
    ]);
    expect(config).toMatchObject({ maxSkewSeconds: 300, minIntervalSeconds: 60, showsPerMinute: 60 });
    expect(parsePipelineConfig({ ESCROW_POSTED_MODE: 'hmac' }).ledgerBeforeFind).toBe(true);
  });

  it('narrows the projects to ESCROW_ALLOWED_PROJECT_IDS', () => {
    const config = parsePostedConfig(
      { ESCROW_POSTED_HMAC_KEY: KEY, ESCROW_ALLOWED_PROJECT_IDS: P2 },
      TARGETS,
    );
    expect([...config.projects.keys()]).toEqual([P2]);
  });

  it('fails closed: no project may notify, a short or missing key', () => {
    expect(() => parsePostedConfig({ ESCROW_POSTED_HMAC_KEY: KEY }, [])).toThrow(ConfigError);
    expect(() =>
      parsePostedConfig({ ESCROW_POSTED_HMAC_KEY: KEY, ESCROW_ALLOWED_PROJECT_IDS: 'ffff' }, TARGETS),
    ).toThrow(/ESCROW_POSTED_MODE/);
    expect(() => parsePostedConfig({ ESCROW_POSTED_HMAC_KEY: 'short' }, TARGETS)).toThrow(
      /ESCROW_POSTED_HMAC_KEY must be at least 32/,
    );
    expect(() => parsePostedConfig({ ESCROW_POSTED_MODE: 'hmac' }, TARGETS)).toThrow(
      /ESCROW_POSTED_HMAC_KEY/,
    );
    expect(() => readPostedMode({ ESCROW_POSTED_MODE: 'yes' })).toThrow(/off, hmac, unsigned/);
  });

  it('unsigned only when named; a key alone never means unsigned', () => {
    expect(parsePostedConfig({ ESCROW_POSTED_MODE: 'unsigned' }, TARGETS)).toMatchObject({
      mode: 'unsigned',
      key: undefined,
    });
    expect(parsePostedConfig({ ESCROW_POSTED_MODE: 'off', ESCROW_POSTED_HMAC_KEY: KEY }, TARGETS).mode).toBe(
      'off',
    );
  });
});
