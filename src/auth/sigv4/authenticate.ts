/**
 * @module auth/sigv4/authenticate
 * The one entry point: finds which scheme a request uses and verifies it.
 */
import { ALGORITHM, queryGet } from './canonical.js';
import { AuthError } from './errors.js';
import { hasSigV2QueryParams, queryApiParams, verifyS3V2Header, verifyS3V2Query, verifySigV2Query } from './sigv2.js';
import { parseQueryCached, verifySigV4Header, verifySigV4Query } from './sigv4.js';
import type { AuthResult, SignedRequest, VerifyOptions } from './types.js';

const SIGV4A = 'AWS4-ECDSA-P256-SHA256';

/**
 * Authenticates a request: SigV4 (header or presigned), SigV2 (query APIs; S3 header or query), or anonymous (S3,
 * when allowed). Throws AuthError; map it with `toServiceError`. For S3 the payload check is left to the caller
 * as described by `result.payload`.
 */
export async function authenticate(req: SignedRequest, opts: VerifyOptions): Promise<AuthResult> {
  const auths = req.headers['authorization'] ?? [];
  if (auths.length > 1) throw new AuthError('Malformed', 'Only one Authorization header is allowed.', { method: 'sigv4-header' });
  const authorization = auths[0]?.trim();
  const params = parseQueryCached(req);
  const s3 = opts.service === 's3';
  const allowV2 = opts.allowSigV2 !== false;

  const v4Query = params.some((p) => p.key === 'X-Amz-Algorithm' || p.key === 'X-Amz-Credential' || p.key === 'X-Amz-Signature');
  const s3V2Query = s3 && params.some((p) => p.key === 'AWSAccessKeyId');

  if (authorization !== undefined && authorization !== '') {
    if (v4Query || s3V2Query) {
      throw new AuthError('Malformed', 'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified', {
        method: 'sigv4-header',
        argumentName: 'Authorization',
        argumentValue: authorization.split(' ')[0],
      });
    }
    if (authorization.startsWith(ALGORITHM + ' ') || authorization === ALGORITHM) return verifySigV4Header(req, opts, authorization);
    if (authorization.startsWith(SIGV4A)) {
      throw new AuthError('UnsupportedAlgorithm', 'SigV4a (AWS4-ECDSA-P256-SHA256) is not supported.', { method: 'sigv4-header', argumentValue: SIGV4A });
    }
    if (s3 && allowV2 && /^AWS\s/.test(authorization)) return verifyS3V2Header(req, opts, authorization);
    throw new AuthError('UnsupportedAlgorithm', 'Unsupported Authorization Type', {
      method: 'sigv4-header',
      argumentValue: authorization.split(' ')[0],
    });
  }
  if (v4Query) {
    const algorithm = queryGet(params, 'X-Amz-Algorithm');
    if (algorithm === SIGV4A) {
      throw new AuthError('UnsupportedAlgorithm', 'SigV4a (AWS4-ECDSA-P256-SHA256) is not supported.', { method: 'sigv4-query', argumentValue: SIGV4A });
    }
    return verifySigV4Query(req, opts);
  }
  if (s3) {
    if (s3V2Query) {
      if (!allowV2) throw new AuthError('UnsupportedAlgorithm', 'Signature Version 2 is disabled.', { method: 'sigv2-s3-query' });
      return verifyS3V2Query(req, opts);
    }
    if (opts.allowAnonymous) return { identity: null, method: 'anonymous', payload: { kind: 'unsigned' } };
    throw new AuthError('Missing', 'Access Denied', { method: 'anonymous' });
  }
  const all = queryApiParams(req);
  if (hasSigV2QueryParams(all)) {
    if (!allowV2) throw new AuthError('UnsupportedAlgorithm', 'Signature Version 2 is disabled.', { method: 'sigv2-query' });
    return verifySigV2Query(req, opts, all);
  }
  throw new AuthError('Missing', 'Request is missing Authentication Token', { method: 'anonymous' });
}
