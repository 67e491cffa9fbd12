/**
 * The AK/SK pairs the emulator accepts: one permanent pair for its project, plus
 * temporary pairs (with a security token) minted on request, as IAM's securitytokens API does.
 */
import type { Clock } from '../lib/clock.ts';
import type { Random } from './seeded-random.ts';
import type { TemporaryCredentials } from './types.ts';

export interface EmulatorCredential {
  accessKey: string;
  secretKey: string;
  projectId: string;
  securityToken?: string;
  /** Emulated epoch ms; temporary credentials only. */
  expiresAt?: number;
}

const AK_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const SK_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function generateAccessKey(random: Random): string {
  return random.chars(20, AK_ALPHABET);
}

export function generateSecretKey(random: Random): string {
  return random.chars(40, SK_ALPHABET);
}

export class CredentialStore {
  readonly primary: EmulatorCredential;
  readonly #temporary = new Map<string, EmulatorCredential>();
  readonly #clock: Clock;
  readonly #random: Random;

  constructor(primary: EmulatorCredential, clock: Clock, random: Random) {
    this.primary = primary;
    this.#clock = clock;
    this.#random = random;
  }

  find(accessKey: string): EmulatorCredential | undefined {
    return accessKey === this.primary.accessKey ? this.primary : this.#temporary.get(accessKey);
  }

  issueTemporary(durationSeconds = 3600): TemporaryCredentials {
    const expiresAt = this.#clock.now() + durationSeconds * 1000;
    const credential: EmulatorCredential = {
      accessKey: generateAccessKey(this.#random),
      secretKey: generateSecretKey(this.#random),
      projectId: this.primary.projectId,
      securityToken: `gQpjbi1ub3J0aC00${this.#random.chars(120, SK_ALPHABET)}`,
      expiresAt,
    };
    this.#temporary.set(credential.accessKey, credential);
    return {
      accessKey: credential.accessKey,
      secretKey: credential.secretKey,
      securityToken: credential.securityToken!,
      expiresAt: new Date(expiresAt).toISOString(),
    };
  }
}
