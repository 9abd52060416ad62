/**
 * @module auth/sigv4
 * Request-signature verification on node:crypto: SigV4 (Authorization header and presigned URLs), SigV2 (query APIs
 * and S3), aws-chunked bodies with chunk and trailer signatures, and the flexible checksums. Pure functions; the
 * only I/O is the CredentialStore lookup the caller passes in.
 *
 * Usage (gateway): `const r = await authenticate(req, {service:'ec2', now: new Date(), store})`, and on an
 * AuthError answer `toServiceError('ec2', e)`. Walrus streams the body through `createChunkedDecoder(r, headers)`
 * when `r.payload.kind === 'aws-chunked'`, or checks `r.payload.expected` after streaming for `'sha256'`.
 */
export { authenticate } from './authenticate.js';
export { AuthError, isAuthError, toServiceError } from './errors.js';
export type { AuthErrorKind, AuthErrorDetails } from './errors.js';
export type { SignedRequest, VerifyOptions, PayloadMode, AuthResult, AuthMethod, ChunkSigner, ServiceName } from './types.js';
export {
  buildCanonicalRequest,
  buildStringToSign,
  canonicalHeaders,
  canonicalQuery,
  canonicalUriCandidates,
  parseQuery,
  signingKey,
  uriEncode,
  EMPTY_SHA256,
} from './canonical.js';
export { createChunkedDecoder, createSha256Verifier } from './chunked.js';
export type { ChunkedDecoder } from './chunked.js';
export { createChecksum, checksumAlgorithmOfHeader } from './checksums.js';
export type { Checksum, ChecksumAlgorithm } from './checksums.js';
export { authenticatePost, checkPostPolicy, parsePostPolicy } from './post.js';
export type { PostAuthResult, PostPolicy, PostPolicyCondition } from './post.js';
