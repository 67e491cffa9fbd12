import {
  buildCanonicalRequest,
  buildStringToSign,
  computeSignature,
  declaresUnsignedPayload,
  formatAuthorization,
  formatSdkDate,
  HEADER_SDK_DATE,
  headerValue,
  isUnsignedHeader,
  parseQuery,
  payloadHash,
  signedHeaderNames,
  UNSIGNED_PAYLOAD,
} from './canonical-request.ts';

export interface SigningCredentials {
  readonly accessKey: string;
  readonly secretKey: string;
  /** Present for temporary AK/SK; sent and signed as X-Security-Token. */
  readonly securityToken?: string | undefined;
}

export interface RequestToSign {
  method: string;
  url: URL;
  /** Headers the caller wants sent. Every header given here is signed, as the official SDK does. */
  headers?: Readonly<Record<string, string>>;
  body?: string | Uint8Array | undefined;
  projectId?: string | undefined;
  /** Fixed signing time, for tests and vectors. */
  date?: Date | string | undefined;
}

export interface SignedRequest {
  /** Every header to put on the wire, including Host, X-Sdk-Date and Authorization. */
  headers: Record<string, string>;
  canonicalRequest: string;
  stringToSign: string;
}

/**
 * Signs a request the way Huawei's official SDKs do: all headers handed over are signed,
 * plus Host, X-Sdk-Date, X-Project-Id and X-Security-Token when those apply; a body that is
 * not JSON is declared UNSIGNED-PAYLOAD (see declaresUnsignedPayload).
 */
export function signRequest(request: RequestToSign, credentials: SigningCredentials): SignedRequest {
  const headers: Record<string, string> = { ...request.headers };
  const date = typeof request.date === 'string' ? request.date : formatSdkDate(request.date ?? new Date());
  if (headerValue(headers, 'host') === undefined) headers['host'] = request.url.host;
  if (headerValue(headers, HEADER_SDK_DATE) === undefined) headers['X-Sdk-Date'] = date;
  if (request.projectId && headerValue(headers, 'x-project-id') === undefined) {
    headers['X-Project-Id'] = request.projectId;
  }
  if (credentials.securityToken) headers['X-Security-Token'] = credentials.securityToken;
  if (declaresUnsignedPayload(headers)) headers['X-Sdk-Content-Sha256'] = UNSIGNED_PAYLOAD;

  const signedHeaders = signedHeaderNames(
    Object.keys(headers).filter((name) => !isUnsignedHeader(name, headers[name])),
  );
  const canonicalRequest = buildCanonicalRequest({
    method: request.method,
    path: request.url.pathname,
    query: parseQuery(request.url.search.replace(/^\?/, '')),
    headers,
    signedHeaders,
    payloadHash: payloadHash(request.body, headers),
  });
  const sdkDate = headerValue(headers, HEADER_SDK_DATE)!;
  const stringToSign = buildStringToSign(sdkDate, canonicalRequest);
  const signature = computeSignature(credentials.secretKey, stringToSign);
  headers['Authorization'] = formatAuthorization(credentials.accessKey, signedHeaders, signature);
  return { headers, canonicalRequest, stringToSign };
}
