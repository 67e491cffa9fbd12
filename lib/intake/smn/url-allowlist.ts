/**
 * Which URLs the webhook may fetch (SMN signing certificates) or call (subscription
 * confirmations). Every outbound request the intake makes goes through `checkUrl`, so the
 * SSRF rules live in one place:
 *  - https only, unless an entry names `http://` explicitly (the local emulator);
 *  - no userinfo (`https://smn.x.myhuaweicloud.com@evil.com` is refused, not parsed around);
 *  - hosts are compared after WHATWG URL normalisation, so IDN lookalikes arrive as `xn--`
 *    labels and never match an ASCII pattern;
 *  - a `*` label matches one DNS label and never an IP literal; a label such as `*-console`
 *    matches a region id followed by that suffix (`sa-brazil-1-console`); IP literals and
 *    loopback names match only an entry that names them literally;
 *  - the port must be the scheme's default unless the entry names the port (or `:*`).
 * A signing certificate URL is held to more (`checkCertUrl`): a `.pem` path, no query, no
 * fragment, so an allowed host cannot be made to serve (or do) anything but a certificate.
 */
import { IntakeError } from '../intake-errors.ts';

export interface HostPattern {
  scheme: 'https:' | 'http:';
  /** Lower-case labels; '*' matches exactly one DNS label, '*-x' a region id then '-x'. */
  labels: string[];
  /** undefined = the scheme's default port only; '*' = any port. */
  port: string | undefined;
  /** The entry as configured, for messages. */
  source: string;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** A wildcard label with a fixed suffix: `*-console`. */
const SUFFIX_WILDCARD = /^\*(-[a-z0-9](?:[a-z0-9-]{0,40}[a-z0-9])?)$/;
/** What the `*` of a suffix wildcard stands for: a region id such as sa-brazil-1. */
const REGION_ID = /^[a-z]{2,}(?:-[a-z0-9]+){1,4}$/;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/** Parses "host", "*.host", "http://127.0.0.1:8080", "https://host:*". Throws a plain Error on nonsense. */
export function parseHostPattern(entry: string): HostPattern {
  const text = entry.trim().toLowerCase();
  const schemeMatch = /^(https?):\/\//.exec(text);
  const scheme = schemeMatch?.[1] === 'http' ? 'http:' : 'https:';
  const rest = schemeMatch ? text.slice(schemeMatch[0].length) : text;
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9*.-]+)(?::(\d{1,5}|\*))?\/?$/.exec(rest);
  if (!m?.[1]) throw new Error(`"${entry}" is not a host pattern such as smn.*.myhuaweicloud.com`);
  const host = m[1];
  const labels = isIpLiteral(host) ? [host] : host.split('.');
  for (const label of labels) {
    if (label !== '*' && !SUFFIX_WILDCARD.test(label) && !isIpLiteral(label) && !LABEL.test(label))
      throw new Error(`"${entry}" has an invalid host label "${label}"`);
  }
  if (labels.some((l) => l.includes('*')) && labels.length < 3)
    throw new Error(`"${entry}" is too broad: a wildcard needs at least two fixed labels after it`);
  return { scheme, labels, port: m[2], source: entry.trim() };
}

function isIpLiteral(hostname: string): boolean {
  return hostname.startsWith('[') || IPV4.test(hostname);
}

function hostMatches(pattern: HostPattern, hostname: string): boolean {
  if (isIpLiteral(hostname)) return pattern.labels.length === 1 && pattern.labels[0] === hostname;
  if (hostname === pattern.labels.join('.')) return true;
  const labels = hostname.split('.');
  if (labels.length !== pattern.labels.length) return false;
  return pattern.labels.every((p, i) => {
    const label = labels[i] ?? '';
    if (p === '*') return LABEL.test(label);
    const suffix = SUFFIX_WILDCARD.exec(p)?.[1];
    if (suffix !== undefined) return label.endsWith(suffix) && REGION_ID.test(label.slice(0, -suffix.length));
    return p === label;
  });
}

function portMatches(pattern: HostPattern, url: URL): boolean {
  if (pattern.port === '*') return true;
  // URL.port is '' when the URL uses (or spells out) the scheme's default port.
  return (pattern.port ?? '') === url.port;
}

/**
 * Parses `raw` and returns the URL when an allow-list entry permits it; otherwise throws
 * IntakeError('untrusted_url') naming `what` (never the URL itself, which is sender-controlled).
 */
export function checkUrl(raw: unknown, allowlist: readonly HostPattern[], what: string): URL {
  if (typeof raw !== 'string' || raw === '' || raw.length > 2048)
    throw new IntakeError('untrusted_url', `${what} must be a URL string of at most 2048 characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new IntakeError('untrusted_url', `${what} is not a valid absolute URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new IntakeError('untrusted_url', `${what} must use https`);
  if (url.username !== '' || url.password !== '')
    throw new IntakeError('untrusted_url', `${what} must not carry user information (user@host)`);
  const hostname = url.hostname.toLowerCase();
  const allowed = allowlist.some(
    (p) => p.scheme === url.protocol && hostMatches(p, hostname) && portMatches(p, url),
  );
  if (!allowed) {
    const why = url.protocol === 'http:' ? 'uses plain http or a host' : 'has a host';
    throw new IntakeError('untrusted_url', `${what} ${why} that is not on the allow-list`);
  }
  return url;
}

/** Letters, digits and `._-/` only, ending `.pem`: no percent-encoding to smuggle a different path. */
const CERT_PATH = /^\/[A-Za-z0-9._/-]{0,500}\.pem$/;

/**
 * `checkUrl` plus what only a certificate URL must satisfy: the path names a `.pem` file and
 * there is no query or fragment (not even an empty `?` or `#`). Checked before any fetch.
 */
export function checkCertUrl(raw: unknown, allowlist: readonly HostPattern[], what: string): URL {
  const url = checkUrl(raw, allowlist, what);
  if ((raw as string).includes('?') || (raw as string).includes('#'))
    throw new IntakeError('untrusted_url', `${what} must not carry a query or a fragment`);
  if (!CERT_PATH.test(url.pathname) || url.pathname.includes('..'))
    throw new IntakeError('untrusted_url', `${what} must name a .pem file (letters, digits, ._-/ only)`);
  return url;
}

/**
 * The only way intake fetches anything: a GET of an already allow-listed URL, no redirects
 * (a redirect could leave the allow-list), bounded by `timeoutMs` and the caller's signal.
 */
export function fetchAllowed(
  doFetch: typeof fetch,
  url: URL,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Response> {
  const timeout = AbortSignal.timeout(timeoutMs);
  return doFetch(url, {
    method: 'GET',
    redirect: 'error',
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  });
}
