/**
 * Fetches and caches SMN signing certificates. Only URLs that pass `checkCertUrl` (allowed
 * host, https, a `.pem` path, no query or fragment) are fetched; redirects are refused (a
 * redirect could leave the allow-listed host), the fetch has a timeout and the body a size cap. Successful fetches are cached per warm instance;
 * failures are not, so a transient outage heals on redelivery.
 */
import { X509Certificate } from 'node:crypto';
import { IntakeError } from '../intake-errors.ts';
import { checkCertUrl, fetchAllowed, type HostPattern } from './url-allowlist.ts';
import {
  CertificateFormatError,
  certificateSignatureAlgorithm,
  type SignatureAlgorithm,
} from './x509-signature-algorithm.ts';

export interface SigningCertificate {
  certificate: X509Certificate;
  algorithm: SignatureAlgorithm;
}

export interface CertFetcherOptions {
  allowlist: readonly HostPattern[];
  timeoutMs: number;
  maxBytes: number;
  /** Defaults to the global fetch; tests pass a counting wrapper. */
  fetch?: typeof fetch;
  /** How many certificates to keep; SMN uses one per region. */
  cacheSize?: number;
}

export type CertFetcher = (url: unknown, signal?: AbortSignal) => Promise<SigningCertificate>;

async function readCapped(response: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new IntakeError('certificate_invalid', `signing certificate is larger than ${maxBytes} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (response.body) {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      total += chunk.byteLength;
      if (total > maxBytes)
        throw new IntakeError('certificate_invalid', `signing certificate is larger than ${maxBytes} bytes`);
      chunks.push(chunk);
    }
  }
  return Buffer.concat(chunks);
}

function parseCertificate(bytes: Uint8Array): SigningCertificate {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(bytes);
  } catch (cause) {
    throw new IntakeError(
      'certificate_invalid',
      'signing certificate is not a PEM or DER X.509 certificate',
      {
        cause,
      },
    );
  }
  try {
    return { certificate, algorithm: certificateSignatureAlgorithm(certificate.raw) };
  } catch (cause) {
    const detail = cause instanceof CertificateFormatError ? cause.message : 'unreadable DER';
    throw new IntakeError('certificate_invalid', `signing certificate: ${detail}`, { cause });
  }
}

export function createCertFetcher(options: CertFetcherOptions): CertFetcher {
  const doFetch = options.fetch ?? fetch;
  const cacheSize = options.cacheSize ?? 16;
  const cache = new Map<string, Promise<SigningCertificate>>();

  const load = async (url: URL, signal?: AbortSignal): Promise<SigningCertificate> => {
    let response: Response;
    try {
      response = await fetchAllowed(doFetch, url, options.timeoutMs, signal);
    } catch (cause) {
      throw new IntakeError('certificate_unavailable', 'signing certificate could not be fetched', { cause });
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      // A 5xx may heal; anything else will not.
      const retryable = response.status >= 500;
      throw new IntakeError(
        retryable ? 'certificate_unavailable' : 'certificate_invalid',
        `signing certificate fetch answered HTTP ${response.status}`,
        { retryable },
      );
    }
    return parseCertificate(await readCapped(response, options.maxBytes));
  };

  return async (raw, signal) => {
    const url = checkCertUrl(raw, options.allowlist, 'signing_cert_url');
    const key = url.href;
    let pending = cache.get(key);
    if (!pending) {
      pending = load(url, signal);
      cache.set(key, pending);
      if (cache.size > cacheSize) cache.delete(cache.keys().next().value as string);
      pending.catch(() => cache.delete(key));
    }
    return pending;
  };
}
