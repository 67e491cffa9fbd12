/**
 * Huawei's SMN samples verify with the certificate's own signature algorithm
 * (`Signature.getInstance(cert.getSigAlgName())`). Node's X509Certificate does not expose
 * that algorithm, so this reads it from the DER:
 *   Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm SEQUENCE { OID, … }, … }
 */

export interface SignatureAlgorithm {
  oid: string;
  name: string;
  /** The digest to hand to crypto.verify; RSA uses PKCS#1 v1.5, ECDSA DER-encoded signatures. */
  digest: 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';
}

const KNOWN: Record<string, Omit<SignatureAlgorithm, 'oid'>> = {
  '1.2.840.113549.1.1.5': { name: 'sha1WithRSAEncryption', digest: 'sha1' },
  '1.2.840.113549.1.1.14': { name: 'sha224WithRSAEncryption', digest: 'sha224' },
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption', digest: 'sha256' },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption', digest: 'sha384' },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption', digest: 'sha512' },
  '1.2.840.10045.4.3.2': { name: 'ecdsa-with-SHA256', digest: 'sha256' },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384', digest: 'sha384' },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512', digest: 'sha512' },
};

export class CertificateFormatError extends Error {
  override name = 'CertificateFormatError';
}

interface Tlv {
  tag: number;
  /** Offset of the first content byte. */
  start: number;
  /** Offset just past the last content byte. */
  end: number;
}

function readTlv(der: Uint8Array, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new CertificateFormatError('truncated DER header');
  const tag = der[offset]!;
  let length = der[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new CertificateFormatError('unsupported DER length encoding');
    if (start + count > limit) throw new CertificateFormatError('truncated DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i]!;
    start += count;
  }
  const end = start + length;
  if (end > limit) throw new CertificateFormatError('DER element runs past its container');
  return { tag, start, end };
}

function decodeOid(bytes: Uint8Array): string {
  if (bytes.length === 0) throw new CertificateFormatError('empty OID');
  const parts: number[] = [];
  let value = 0;
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new CertificateFormatError('OID arc too large');
    if ((byte & 0x80) === 0) {
      if (parts.length === 0)
        parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

const SEQUENCE = 0x30;
const OID = 0x06;

/** The OID of the certificate's outer signatureAlgorithm. */
export function readSignatureAlgorithmOid(der: Uint8Array): string {
  const cert = readTlv(der, 0, der.length);
  if (cert.tag !== SEQUENCE) throw new CertificateFormatError('certificate is not a DER SEQUENCE');
  const tbs = readTlv(der, cert.start, cert.end);
  if (tbs.tag !== SEQUENCE) throw new CertificateFormatError('tbsCertificate is not a SEQUENCE');
  const algorithm = readTlv(der, tbs.end, cert.end);
  if (algorithm.tag !== SEQUENCE) throw new CertificateFormatError('signatureAlgorithm is not a SEQUENCE');
  const oid = readTlv(der, algorithm.start, algorithm.end);
  if (oid.tag !== OID) throw new CertificateFormatError('signatureAlgorithm does not start with an OID');
  return decodeOid(der.subarray(oid.start, oid.end));
}

/** The certificate's signature algorithm, or a CertificateFormatError naming an unsupported OID. */
export function certificateSignatureAlgorithm(der: Uint8Array): SignatureAlgorithm {
  const oid = readSignatureAlgorithmOid(der);
  const known = KNOWN[oid];
  if (!known) throw new CertificateFormatError(`unsupported certificate signature algorithm OID ${oid}`);
  return { oid, ...known };
}
