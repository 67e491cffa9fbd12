/**
 * The API gateway's AK/SK check: SDK-HMAC-SHA256 verified with the same canonicalization
 * the client signs with, a clock-skew limit against real wall time, security tokens for
 * temporary credentials, and the lockout after consecutive failures.
 */
import type { Clock } from '../lib/clock.ts';
import {
  buildCanonicalRequest,
  buildStringToSign,
  computeSignature,
  HEADER_SDK_DATE,
  headerValue,
  parseAuthorization,
  parseQuery,
  parseSdkDate,
  payloadHash,
  signaturesEqual,
} from '../lib/huawei/canonical-request.ts';
import type { CredentialStore, EmulatorCredential } from './credentials.ts';

export interface IncomingSignedRequest {
  method: string;
  rawPath: string;
  rawQuery: string;
  headers: Record<string, string>;
  body: Buffer;
}

export type AuthResult = { ok: true; credential: EmulatorCredential } | { ok: false; message: string };

export interface AuthPolicy {
  clockSkewSeconds: number;
  /** The gateway's own clock is real time plus this (the gatewayClockOffsetSeconds switch). */
  gatewayClockOffsetSeconds: number;
  lockoutThreshold: number;
  lockoutSeconds: number;
}

interface FailureState {
  consecutive: number;
  lockedUntil: number;
}

export class AuthVerifier {
  readonly #credentials: CredentialStore;
  readonly #clock: Clock;
  readonly #policy: () => AuthPolicy;
  readonly #failures = new Map<string, FailureState>();

  constructor(credentials: CredentialStore, clock: Clock, policy: () => AuthPolicy) {
    this.#credentials = credentials;
    this.#clock = clock;
    this.#policy = policy;
  }

  reset(): void {
    this.#failures.clear();
  }

  verify(request: IncomingSignedRequest): AuthResult {
    const auth = parseAuthorization(headerValue(request.headers, 'authorization'));
    if (!auth)
      return fail('Incorrect IAM authentication information: Authorization header missing or malformed');
    const credential = this.#credentials.find(auth.accessKey);
    if (!credential) return fail('Incorrect IAM authentication information: ak not exist');

    const policy = this.#policy();
    const now = this.#clock.now();
    const state = this.#failures.get(auth.accessKey) ?? { consecutive: 0, lockedUntil: 0 };
    if (state.lockedUntil > now) {
      return fail('Incorrect IAM authentication information: the AK/SK is locked, try again later');
    }

    const problem = this.#check(request, auth, credential, policy);
    if (problem) {
      state.consecutive += 1;
      if (state.consecutive >= policy.lockoutThreshold) {
        state.lockedUntil = now + policy.lockoutSeconds * 1000;
        state.consecutive = 0;
      }
      this.#failures.set(auth.accessKey, state);
      return fail(problem);
    }
    this.#failures.delete(auth.accessKey);
    return { ok: true, credential };
  }

  #check(
    request: IncomingSignedRequest,
    auth: NonNullable<ReturnType<typeof parseAuthorization>>,
    credential: EmulatorCredential,
    policy: AuthPolicy,
  ): string | undefined {
    if (!auth.signedHeaders.includes(HEADER_SDK_DATE)) {
      return 'Incorrect IAM authentication information: x-sdk-date not signed';
    }
    const sdkDate = headerValue(request.headers, HEADER_SDK_DATE) ?? '';
    const signedAt = parseSdkDate(sdkDate);
    if (!signedAt) return 'Incorrect IAM authentication information: x-sdk-date invalid';
    // The gateway compares against its own (real) clock, whatever the emulated time is.
    const gatewayNow = Date.now() + policy.gatewayClockOffsetSeconds * 1000;
    if (Math.abs(gatewayNow - signedAt.getTime()) > policy.clockSkewSeconds * 1000) {
      return 'Incorrect IAM authentication information: verify aksk signature fail, signature expired';
    }
    if (credential.securityToken !== undefined) {
      const token = headerValue(request.headers, 'x-security-token');
      if (token !== credential.securityToken || !auth.signedHeaders.includes('x-security-token')) {
        return 'Incorrect IAM authentication information: decrypt token fail';
      }
      if (credential.expiresAt !== undefined && credential.expiresAt <= this.#clock.now()) {
        return `Incorrect IAM authentication information: token expires, expires_at: ${new Date(credential.expiresAt).toISOString()}`;
      }
    }
    const canonical = buildCanonicalRequest({
      method: request.method,
      path: request.rawPath,
      query: parseQuery(request.rawQuery),
      headers: request.headers,
      signedHeaders: auth.signedHeaders,
      payloadHash: payloadHash(request.body, request.headers),
    });
    const expected = computeSignature(credential.secretKey, buildStringToSign(sdkDate, canonical));
    if (!signaturesEqual(expected, auth.signature)) {
      return 'Incorrect IAM authentication information: verify aksk signature fail';
    }
    return undefined;
  }
}

function fail(message: string): AuthResult {
  return { ok: false, message };
}
