/**
 * What Cloudbase-Init does in a Windows guest: invent a random Administrator password
 * and encrypt it with the key pair's public key (RSA PKCS#1 v1.5, base64) before posting.
 */
import { constants, publicEncrypt } from 'node:crypto';
import type { Random } from './seeded-random.ts';

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
const ALPHABET = LOWER + UPPER + DIGITS;
export const PASSWORD_LENGTH = 20;

/** 20 characters of [A-Za-z0-9] with at least one lower, one upper and one digit. */
export function generatePassword(random: Random): string {
  for (;;) {
    const candidate = random.chars(PASSWORD_LENGTH, ALPHABET);
    if (/[a-z]/.test(candidate) && /[A-Z]/.test(candidate) && /[0-9]/.test(candidate)) return candidate;
  }
}

export function encryptPassword(publicKeyPem: string, password: string): string {
  return publicEncrypt(
    { key: publicKeyPem, padding: constants.RSA_PKCS1_PADDING },
    Buffer.from(password, 'utf8'),
  ).toString('base64');
}
