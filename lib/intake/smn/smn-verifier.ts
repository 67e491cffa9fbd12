/**
 * Decides whether a parsed SMN message really comes from Huawei SMN and is fresh:
 * topic allow-list, timestamp window (both stale and far-future are refused), certificate
 * URL allow-list, then the signature, verified with the certificate's own algorithm over
 * the exact string to sign. Cheap checks run first so a forged message costs no fetch.
 */
import { verify } from 'node:crypto';
import type { Clock } from '../../clock.ts';
import { IntakeError } from '../intake-errors.ts';
import type { CertFetcher } from './smn-cert-fetcher.ts';
import type { SmnMessage } from './smn-message.ts';
import { smnStringToSign } from './smn-string-to-sign.ts';
import { assertTopicAllowed, type TopicTrust } from './topic-trust.ts';

export interface SmnVerifierOptions {
  fetchCertificate: CertFetcher;
  clock: Pick<Clock, 'now'>;
  maxMessageAgeSeconds: number;
  /** Unset trusts no topic (fail closed). */
  topicTrust: TopicTrust;
}

export type SmnVerifier = (message: SmnMessage, signal?: AbortSignal) => Promise<void>;

export function createSmnVerifier(options: SmnVerifierOptions): SmnVerifier {
  const windowMs = options.maxMessageAgeSeconds * 1000;
  return async (message, signal) => {
    assertTopicAllowed(options.topicTrust, message.topic_urn);

    const sentAt = Date.parse(message.timestamp);
    const now = options.clock.now();
    if (sentAt < now - windowMs)
      throw new IntakeError('message_expired', `SMN message is older than ${options.maxMessageAgeSeconds} s`);
    if (sentAt > now + windowMs)
      throw new IntakeError(
        'message_expired',
        `SMN message timestamp is more than ${options.maxMessageAgeSeconds} s in the future`,
      );

    const { certificate, algorithm } = await options.fetchCertificate(message.signing_cert_url, signal);
    const validFrom = Date.parse(certificate.validFrom);
    const validTo = Date.parse(certificate.validTo);
    if (!(validFrom <= now && now <= validTo))
      throw new IntakeError('certificate_invalid', 'SMN signing certificate is outside its validity period');

    const signature = Buffer.from(message.signature, 'base64');
    let valid = false;
    try {
      valid = verify(
        algorithm.digest,
        Buffer.from(smnStringToSign(message as unknown as Record<string, unknown>), 'utf8'),
        certificate.publicKey,
        signature,
      );
    } catch {
      valid = false;
    }
    if (!valid) throw new IntakeError('signature_invalid', 'SMN signature does not verify');
  };
}
