import { describe, expect, it } from 'vitest';
import {
  buildEscrowRecord,
  EscrowRecordError,
  parseEscrowRecord,
  sameCiphertext,
  serializeEscrowRecord,
  sha256Hex,
} from '../../../lib/escrow/escrow-record.ts';
import { fixtureCiphertexts, newRef } from './store-contract.ts';

const { first, second } = fixtureCiphertexts;

function problem(fn: () => unknown): EscrowRecordError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EscrowRecordError);
    expect((error as Error).message).not.toContain(first);
    return error as EscrowRecordError;
  }
  throw new Error('expected an EscrowRecordError');
}

describe('escrow record', () => {
  const ref = newRef();
  const record = buildEscrowRecord({
    ref,
    ciphertext: first,
    retrievedAt: new Date('2026-11-28T10:00:00Z'),
    serverName: 'win-01',
    keyName: 'kp',
  });

  it('computes the sha256 of the ciphertext and keeps the server facts', () => {
    expect(record.sha256).toBe(sha256Hex(first));
    expect(record).toMatchObject({ schema: 1, ...ref, serverName: 'win-01', keyName: 'kp' });
    expect(record.retrievedAt).toBe('2026-11-28T10:00:00.000Z');
  });

  it('round-trips through serialize and parse, byte-stable', () => {
    const text = serializeEscrowRecord(record);
    expect(parseEscrowRecord(text, ref)).toEqual(record);
    expect(serializeEscrowRecord(parseEscrowRecord(text))).toBe(text);
  });

  it('rejects corrupt, foreign and inconsistent values with a reason, never crashing', () => {
    const text = serializeEscrowRecord(record);
    const obj = JSON.parse(text);
    expect(problem(() => parseEscrowRecord(text.slice(0, 40))).reason).toBe('not-json');
    expect(problem(() => parseEscrowRecord('[1,2]')).reason).toBe('not-json');
    expect(problem(() => parseEscrowRecord('null')).reason).toBe('not-json');
    expect(problem(() => parseEscrowRecord(JSON.stringify({ ...obj, schema: 2 }))).reason).toBe('schema');
    expect(problem(() => parseEscrowRecord(JSON.stringify({ ...obj, ciphertext: second }))).reason).toBe(
      'sha-mismatch',
    );
    expect(
      problem(() => parseEscrowRecord(JSON.stringify({ ...obj, ciphertext: 'not base64!' }))).reason,
    ).toBe('field');
    expect(problem(() => parseEscrowRecord(JSON.stringify({ ...obj, serverId: '../x' }))).reason).toBe(
      'field',
    );
    expect(problem(() => parseEscrowRecord(JSON.stringify({ ...obj, retrievedAt: 'soon' }))).reason).toBe(
      'field',
    );
    expect(problem(() => parseEscrowRecord(text, { ...ref, serverId: 'other-server' })).reason).toBe(
      'foreign',
    );
    expect(problem(() => parseEscrowRecord(text, { ...ref, region: 'ap-southeast-1' })).reason).toBe(
      'foreign',
    );
  });

  it('refuses to build a record from a malformed ciphertext', () => {
    expect(problem(() => buildEscrowRecord({ ref, ciphertext: '', retrievedAt: new Date() })).reason).toBe(
      'field',
    );
    expect(
      problem(() => buildEscrowRecord({ ref, ciphertext: `${first}%`, retrievedAt: new Date() })).reason,
    ).toBe('field');
  });

  it('compares ciphertexts for exact equality', () => {
    expect(sameCiphertext(first, `${first}`)).toBe(true);
    expect(sameCiphertext(first, second)).toBe(false);
    expect(sameCiphertext(first, first.slice(0, -4))).toBe(false);
    expect(sameCiphertext('', '')).toBe(true);
  });
});
