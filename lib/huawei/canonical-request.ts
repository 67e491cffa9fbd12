/**
 * SDK-HMAC-SHA256 canonicalization, shared by the client's signer and the emulator's
 * verifier so that both sides can only ever agree or disagree for the same reason.
 *
 * Paths and query strings are decoded and then re-escaped with the RFC 3986 rule the
 * official SDKs use, so a request canonicalizes the same way whether it is seen as a
 * URL object on the client or as a raw request line on the server.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNING_ALGORITHM = 'SDK-HMAC-SHA256';
export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const HEADER_SDK_DATE = 'x-sdk-date';
export const HEADER_CONTENT_SHA256 = 'x-sdk-content-sha256';
/** Declared in X-Sdk-Content-Sha256 in place of a body hash; the gateway then skips the body. */
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

const UNRESERVED = /^[A-Za-z0-9\-_.~]$/;

/** RFC 3986 escaping of every byte outside the unreserved set, upper-case hex. */
export function uriEscape(value: string): string {
  let out = '';
  for (const ch of value) {
    if (UNRESERVED.test(ch)) {
      out += ch;
      continue;
    }
    for (const byte of Buffer.from(ch, 'utf8')) {
      out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out;
}

/** Lenient percent-decoding: a malformed escape stays as it is instead of throwing. */
export function uriUnescape(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Canonical URI: each segment escaped, always ending in '/' (the wire path does not). */
export function canonicalUri(rawPath: string): string {
  const path = rawPath === '' ? '/' : rawPath;
  const escaped = path
    .split('/')
    .map((segment) => uriEscape(uriUnescape(segment)))
    .join('/');
  return escaped.endsWith('/') ? escaped : `${escaped}/`;
}

export type QueryPairs = ReadonlyArray<readonly [string, string]>;

/** Parses a raw query string (without '?') strictly by RFC 3986: '+' is a literal plus. */
export function parseQuery(rawQuery: string): Array<[string, string]> {
  if (rawQuery === '') return [];
  return rawQuery
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      const key = eq === -1 ? part : part.slice(0, eq);
      const value = eq === -1 ? '' : part.slice(eq + 1);
      return [uriUnescape(key), uriUnescape(value)];
    });
}

/** Serializes query pairs for the wire in the same escaping the signature covers. */
export function formatQuery(pairs: QueryPairs): string {
  return pairs.map(([k, v]) => `${uriEscape(k)}=${uriEscape(v)}`).join('&');
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Keys sorted, repeated keys kept as one pair per value with values sorted. */
export function canonicalQueryString(pairs: QueryPairs): string {
  return [...pairs]
    .sort((a, b) => byCodeUnit(a[0], b[0]) || byCodeUnit(a[1], b[1]))
    .map(([k, v]) => `${uriEscape(k)}=${uriEscape(v)}`)
    .join('&');
}

/** Lower-cased, sorted, de-duplicated header names. */
export function signedHeaderNames(names: Iterable<string>): string[] {
  return [...new Set([...names].map((n) => n.toLowerCase()))].sort(byCodeUnit);
}

/** Header lookup that ignores the case of the name. */
export function headerValue(
  headers: Readonly<Record<string, string | undefined>>,
  name: string,
): string | undefined {
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === lower) return value;
  }
  return undefined;
}

export function canonicalHeaders(
  headers: Readonly<Record<string, string | undefined>>,
  names: readonly string[],
): string {
  return names.map((name) => `${name}:${(headerValue(headers, name) ?? '').trim()}\n`).join('');
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The body hash, unless the caller declared one in X-Sdk-Content-Sha256 (e.g. UNSIGNED-PAYLOAD). */
export function payloadHash(
  body: string | Uint8Array | undefined,
  headers: Readonly<Record<string, string | undefined>>,
): string {
  const declared = headerValue(headers, HEADER_CONTENT_SHA256);
  if (declared) return declared;
  if (body === undefined || body.length === 0) return EMPTY_BODY_SHA256;
  return sha256Hex(body);
}

/**
 * The official SDK's body rule (huaweicloud-sdk-core `BaseCredentials.processAuthRequest` with
 * `ICredential.isJsonContentType`): a body is hashed only when Content-Type is absent or is
 * exactly `application/json` (any parameter, even `; charset=UTF-8`, makes it "not JSON");
 * otherwise the request declares `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`, a header that is
 * then signed like any other. A header the caller set itself wins, as in the SDK.
 */
export function declaresUnsignedPayload(headers: Readonly<Record<string, string | undefined>>): boolean {
  if (headerValue(headers, HEADER_CONTENT_SHA256) !== undefined) return false;
  const contentType = headerValue(headers, 'content-type');
  return contentType !== undefined && contentType !== '' && contentType.toLowerCase() !== 'application/json';
}

/**
 * The official signer (`AKSKSigner.sign`) drops a multipart/form-data Content-Type from the
 * signed headers (the boundary is chosen after signing); it is still sent.
 */
export function isUnsignedHeader(name: string, value: string | undefined): boolean {
  return name.toLowerCase() === 'content-type' && (value ?? '').includes('multipart/form-data');
}

export interface CanonicalRequestInput {
  method: string;
  /** The path as it appears on the wire or in a URL object (may be percent-encoded). */
  path: string;
  query: QueryPairs;
  headers: Readonly<Record<string, string | undefined>>;
  /** Lower-cased and sorted; see signedHeaderNames. */
  signedHeaders: readonly string[];
  payloadHash: string;
}

export function buildCanonicalRequest(input: CanonicalRequestInput): string {
  return [
    input.method.toUpperCase(),
    canonicalUri(input.path),
    canonicalQueryString(input.query),
    canonicalHeaders(input.headers, input.signedHeaders),
    input.signedHeaders.join(';'),
    input.payloadHash,
  ].join('\n');
}

export function buildStringToSign(sdkDate: string, canonicalRequest: string): string {
  return `${SIGNING_ALGORITHM}\n${sdkDate}\n${sha256Hex(canonicalRequest)}`;
}

export function computeSignature(secretKey: string, stringToSign: string): string {
  return createHmac('sha256', secretKey).update(stringToSign).digest('hex');
}

export function formatAuthorization(
  accessKey: string,
  signedHeaders: readonly string[],
  signature: string,
): string {
  return `${SIGNING_ALGORITHM} Access=${accessKey}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`;
}

export interface ParsedAuthorization {
  accessKey: string;
  signedHeaders: string[];
  signature: string;
}

const AUTHORIZATION_PATTERN =
  /^SDK-HMAC-SHA256 Access=([^,\s]+), ?SignedHeaders=([a-z0-9\-_;]+), ?Signature=([0-9a-f]{64})$/;

export function parseAuthorization(header: string | undefined): ParsedAuthorization | undefined {
  const match = header ? AUTHORIZATION_PATTERN.exec(header.trim()) : null;
  if (!match) return undefined;
  return { accessKey: match[1]!, signedHeaders: match[2]!.split(';'), signature: match[3]! };
}

export function signaturesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** X-Sdk-Date format: YYYYMMDDTHHMMSSZ in UTC. */
export function formatSdkDate(date: Date): string {
  return `${date.toISOString().replace(/[-:]/g, '').slice(0, 15)}Z`;
}

export function parseSdkDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}
