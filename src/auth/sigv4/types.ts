/**
 * @module auth/sigv4/types
 * The request as the verifier sees it, the verification options, and the result handed to the caller.
 */
import type { CredentialStore, SigningIdentity } from '../../shared/index.js';

export type ServiceName = 'ec2' | 'iam' | 'sts' | 's3';

export interface SignedRequest {
  method: string;
  /** Raw path as received (percent-encoded as on the wire), no query. */
  path: string;
  /** Raw query string without '?', as received. */
  query: string;
  /** Lower-case names; each value as received (use req.headersDistinct). */
  headers: Record<string, string[]>;
  /** Query APIs (EC2/IAM/STS): the whole, already-limited body; S3: absent (streamed). */
  body?: Buffer;
  /**
   * S3 virtual-hosted-style requests only: the bucket named by the Host header. SigV2 signs `/<bucket><path>`
   * as its CanonicalizedResource. Leave undefined for path-style requests.
   */
  virtualHostBucket?: string;
}

export interface VerifyOptions {
  service: ServiceName;
  now: Date;
  store: CredentialStore;
  /** S3: a request with no auth at all → identity null. */
  allowAnonymous?: boolean;
  /** When given, the credential scope's region must be one of these. */
  regions?: string[];
  /** The service name the credential scope must carry; defaults to `service` (tests use the suite's `service`). */
  signingName?: string;
  /** Accept SigV2 (query APIs and S3). Default true. */
  allowSigV2?: boolean;
}

/** Signs chunk / trailer strings with the request's derived signing key (which never leaves this object). */
export interface ChunkSigner {
  /** hex HMAC-SHA256 of the string to sign with the request's SigV4 signing key. */
  sign(stringToSign: string): string;
}

export type PayloadMode =
  /** Query APIs: body already verified (its hash was in the canonical request). */
  | { kind: 'none' }
  /** UNSIGNED-PAYLOAD, SigV2, or anonymous. */
  | { kind: 'unsigned' }
  /** hex; the caller verifies after streaming → XAmzContentSHA256Mismatch (AuthError 'ContentSHA256Mismatch'). */
  | { kind: 'sha256'; expected: string }
  | {
      kind: 'aws-chunked';
      /** Chunk signatures present (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]). */
      signed: boolean;
      /** Trailing headers after the last chunk (…-TRAILER). */
      trailer: boolean;
      /** The Authorization header's signature, which the first chunk signature chains from. */
      seedSignature: string;
      /** `<date>/<region>/<service>/aws4_request`. */
      scope: string;
      /** The request's `YYYYMMDDTHHMMSSZ`. */
      amzDate: string;
      signer: ChunkSigner;
    };

export type AuthMethod = 'sigv4-header' | 'sigv4-query' | 'sigv2-query' | 'sigv2-s3-header' | 'sigv2-s3-query' | 'anonymous';

export interface AuthResult {
  identity: SigningIdentity | null;
  method: AuthMethod;
  /** SigV4 only: the credential scope's region. */
  region?: string;
  payload: PayloadMode;
}
