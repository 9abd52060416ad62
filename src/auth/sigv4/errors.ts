/**
 * @module auth/sigv4/errors
 * Why a request failed authentication (AuthError, service-neutral), and the AWS error each service answers for it.
 * Messages never contain a secret key; S3's SignatureDoesNotMatch carries the string to sign and canonical request,
 * which is what AWS returns too (they contain no secret).
 */
import { AwsError } from '../../shared/index.js';

export type AuthErrorKind =
  | 'Missing'
  | 'Incomplete'
  | 'Malformed'
  | 'UnknownKey'
  | 'SignatureMismatch'
  | 'Skewed'
  | 'Expired'
  | 'ExpiredToken'
  | 'InvalidToken'
  | 'UnsupportedAlgorithm'
  | 'BadRegion'
  /** x-amz-content-sha256 (or the body hash) does not match the payload received. */
  | 'ContentSHA256Mismatch'
  /** S3 header auth without x-amz-content-sha256. */
  | 'MissingContentSHA256'
  /** aws-chunked body shorter than announced, or cut inside a chunk. */
  | 'IncompleteBody'
  /** A flexible checksum (x-amz-checksum-*) that does not match the payload. */
  | 'BadDigest'
  /** A browser POST upload whose policy document is expired or not satisfied by the form. */
  | 'PolicyViolation';

export interface AuthErrorDetails {
  /** Which scheme failed: header or query (presigned) SigV4, SigV2 … */
  method?: string;
  accessKeyId?: string;
  /** SignatureMismatch: what we computed the signature over. */
  canonicalRequest?: string;
  stringToSign?: string;
  signatureProvided?: string;
  /** Skewed / Expired: the request's time and ours (ISO 8601). */
  requestTime?: string;
  serverTime?: string;
  /** Presigned URLs: X-Amz-Expires, and the instant it expired. */
  expiresIn?: number;
  expiresAt?: string;
  /** Skewed: the request claims to be in the future (rather than too old). */
  future?: boolean;
  /** BadRegion: the region the credential was scoped to, and the one(s) we expected. */
  region?: string;
  expectedRegion?: string;
  /** ContentSHA256Mismatch: client's and our hash. */
  clientSha256?: string;
  computedSha256?: string;
  /** BadDigest: the checksum algorithm (CRC32 …). */
  algorithm?: string;
  /** Malformed S3 header/query: a name for the bad argument. */
  argumentName?: string;
  argumentValue?: string;
}

/** A request that failed authentication. `kind` is the reason; `toServiceError` turns it into the service's AWS error. */
export class AuthError extends Error {
  readonly kind: AuthErrorKind;
  readonly details: AuthErrorDetails;

  constructor(kind: AuthErrorKind, message: string, details: AuthErrorDetails = {}) {
    super(message);
    this.name = 'AuthError';
    this.kind = kind;
    this.details = details;
  }
}

export function isAuthError(e: unknown): e is AuthError {
  return e instanceof AuthError;
}

const SIG_MISMATCH_QUERY =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const SIG_MISMATCH_S3 =
  'The request signature we calculated does not match the signature you provided. Check your key and signing method.';

function hexBytes(s: string): string {
  return [...Buffer.from(s, 'utf8')].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** IAM/STS style message for a skewed SigV4 request (botocore recognises "Signature expired" as clock skew). */
function skewMessage(d: AuthErrorDetails): string {
  const req = compactIso(d.requestTime);
  const srv = compactIso(d.serverTime);
  if (!req || !srv) return 'Signature expired';
  const srvDate = new Date(d.serverTime!);
  if (d.future) {
    const limit = compactIso(new Date(srvDate.getTime() + 15 * 60_000).toISOString());
    return `Signature not yet current: ${req} is still later than ${limit} (${srv} + 15 min.)`;
  }
  const limit = compactIso(new Date(srvDate.getTime() - 15 * 60_000).toISOString());
  return `Signature expired: ${req} is now earlier than ${limit} (${srv} - 15 min.)`;
}

function compactIso(iso: string | undefined): string | undefined {
  if (!iso) return undefined;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return undefined;
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/**
 * The AWS error a service answers for an authentication failure. Codes and statuses follow what AWS returns:
 * EC2 `AuthFailure` (401) for unknown keys and bad signatures, `RequestExpired` (400) for skew and expiry;
 * IAM/STS `InvalidClientTokenId` / `SignatureDoesNotMatch` / `MissingAuthenticationToken` (403),
 * `IncompleteSignature` (400), `ExpiredToken` (403), "Signature expired" for skew;
 * S3 `InvalidAccessKeyId`, `SignatureDoesNotMatch` (with StringToSign/CanonicalRequest), `RequestTimeTooSkewed`,
 * `AccessDenied` "Request has expired" (403), `AuthorizationHeaderMalformed` (400), `InvalidToken`, `ExpiredToken` (400).
 */
export function toServiceError(service: 'ec2' | 'iam' | 'sts' | 's3', e: AuthError): AwsError {
  switch (service) {
    case 'ec2':
      return ec2Error(e);
    case 'iam':
    case 'sts':
      return queryError(e);
    case 's3':
      return s3Error(e);
  }
}

function ec2Error(e: AuthError): AwsError {
  switch (e.kind) {
    case 'Missing':
      return new AwsError('MissingAuthenticationToken', 'Request is missing Authentication Token', { status: 401 });
    case 'Incomplete':
    case 'Malformed':
      return new AwsError('IncompleteSignature', e.message, { status: 400 });
    case 'UnknownKey':
    case 'SignatureMismatch':
    case 'InvalidToken':
    case 'BadRegion':
    case 'ContentSHA256Mismatch':
      return new AwsError('AuthFailure', 'AWS was not able to validate the provided access credentials', { status: 401 });
    case 'Skewed':
    case 'Expired':
      return new AwsError(
        'RequestExpired',
        'Request has expired.',
        { status: 400 },
      );
    case 'ExpiredToken':
      return new AwsError('RequestExpired', 'Request has expired.', { status: 400 });
    case 'UnsupportedAlgorithm':
      return new AwsError('IncompleteSignature', e.message, { status: 400 });
    default:
      return new AwsError('AuthFailure', 'AWS was not able to validate the provided access credentials', { status: 401 });
  }
}

function queryError(e: AuthError): AwsError {
  switch (e.kind) {
    case 'Missing':
      return new AwsError('MissingAuthenticationToken', 'Request is missing Authentication Token', { status: 403 });
    case 'Incomplete':
    case 'Malformed':
    case 'UnsupportedAlgorithm':
      return new AwsError('IncompleteSignature', e.message, { status: 400 });
    case 'UnknownKey':
    case 'InvalidToken':
      return new AwsError('InvalidClientTokenId', 'The security token included in the request is invalid.', { status: 403 });
    case 'SignatureMismatch':
    case 'ContentSHA256Mismatch':
      return new AwsError('SignatureDoesNotMatch', SIG_MISMATCH_QUERY, { status: 403 });
    case 'BadRegion':
      return new AwsError(
        'SignatureDoesNotMatch',
        `Credential should be scoped to a valid region${e.details.region ? `, not '${e.details.region}'` : ''}. `,
        { status: 403 },
      );
    case 'Skewed':
      return e.details.method === 'sigv2-query'
        ? new AwsError('RequestExpired', 'Request has expired.', { status: 400 })
        : new AwsError('SignatureDoesNotMatch', skewMessage(e.details), { status: 403 });
    case 'Expired':
      return new AwsError('RequestExpired', 'Request has expired.', { status: 400 });
    case 'ExpiredToken':
      return new AwsError('ExpiredToken', 'The security token included in the request is expired', { status: 403 });
    default:
      return new AwsError('SignatureDoesNotMatch', SIG_MISMATCH_QUERY, { status: 403 });
  }
}

function s3Error(e: AuthError): AwsError {
  const d = e.details;
  const presigned = d.method === 'sigv4-query' || d.method === 'sigv2-s3-query';
  switch (e.kind) {
    case 'Missing':
      return new AwsError('AccessDenied', 'Access Denied', { status: 403 });
    case 'Incomplete':
    case 'Malformed':
      if (d.method === 'aws-chunked') return new AwsError('InvalidRequest', e.message, { status: 400 });
      if (d.method === 'sigv4-post' || d.method === 'sigv2-post' || (d.method === 'anonymous' && e.kind === 'Malformed')) {
        return e.kind === 'Malformed'
          ? new AwsError('InvalidPolicyDocument', e.message, { status: 400 })
          : new AwsError('InvalidArgument', e.message, { status: 400 });
      }
      if (d.method === 'sigv2-s3-header' || d.method === 'sigv2-s3-query') {
        if (e.kind === 'Incomplete') return new AwsError('AccessDenied', e.message, { status: 403 });
      }
      if (d.method === 'sigv4-query') {
        return new AwsError('AuthorizationQueryParametersError', e.message, { status: 400 });
      }
      if (d.method === 'sigv4-header') {
        return new AwsError('AuthorizationHeaderMalformed', `The authorization header is malformed; ${e.message}`, {
          status: 400,
        });
      }
      return new AwsError('InvalidArgument', e.message, {
        status: 400,
        fields: d.argumentName ? { ArgumentName: d.argumentName, ArgumentValue: d.argumentValue ?? '' } : {},
      });
    case 'UnsupportedAlgorithm':
      return new AwsError('InvalidArgument', 'Unsupported Authorization Type', {
        status: 400,
        fields: { ArgumentName: 'Authorization', ArgumentValue: d.argumentValue ?? '' },
      });
    case 'BadRegion': {
      const expected = d.expectedRegion ?? '';
      const msg = `the region '${d.region ?? ''}' is wrong; expecting '${expected}'`;
      return presigned
        ? new AwsError('AuthorizationQueryParametersError', `Error parsing the X-Amz-Credential parameter; ${msg}`, {
            status: 400,
            fields: { Region: expected },
          })
        : new AwsError('AuthorizationHeaderMalformed', `The authorization header is malformed; ${msg}`, {
            status: 400,
            fields: { Region: expected },
          });
    }
    case 'UnknownKey':
      return new AwsError('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', {
        status: 403,
        fields: { AWSAccessKeyId: d.accessKeyId ?? '' },
      });
    case 'SignatureMismatch': {
      const fields: Record<string, string> = {};
      if (d.accessKeyId !== undefined) fields['AWSAccessKeyId'] = d.accessKeyId;
      if (d.stringToSign !== undefined) {
        fields['StringToSign'] = d.stringToSign;
        fields['StringToSignBytes'] = hexBytes(d.stringToSign);
      }
      if (d.signatureProvided !== undefined) fields['SignatureProvided'] = d.signatureProvided;
      if (d.canonicalRequest !== undefined) {
        fields['CanonicalRequest'] = d.canonicalRequest;
        fields['CanonicalRequestBytes'] = hexBytes(d.canonicalRequest);
      }
      return new AwsError('SignatureDoesNotMatch', SIG_MISMATCH_S3, { status: 403, fields });
    }
    case 'Skewed':
      if (presigned) return new AwsError('AccessDenied', 'Request is not valid yet', { status: 403 });
      return new AwsError('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
        status: 403,
        fields: {
          RequestTime: d.requestTime ?? '',
          ServerTime: d.serverTime ?? '',
          MaxAllowedSkewMilliseconds: '900000',
        },
      });
    case 'Expired': {
      const fields: Record<string, string> = {};
      if (d.expiresIn !== undefined) fields['X-Amz-Expires'] = String(d.expiresIn);
      if (d.expiresAt !== undefined) fields['Expires'] = d.expiresAt;
      if (d.serverTime !== undefined) fields['ServerTime'] = d.serverTime;
      return new AwsError('AccessDenied', 'Request has expired', { status: 403, fields });
    }
    case 'ExpiredToken':
      return new AwsError('ExpiredToken', 'The provided token has expired.', { status: 400 });
    case 'InvalidToken':
      return new AwsError('InvalidToken', 'The provided token is malformed or otherwise invalid.', { status: 400 });
    case 'ContentSHA256Mismatch':
      return new AwsError('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", {
        status: 400,
        fields: {
          ClientComputedContentSHA256: d.clientSha256 ?? '',
          S3ComputedContentSHA256: d.computedSha256 ?? '',
        },
      });
    case 'MissingContentSHA256':
      return new AwsError('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256', {
        status: 400,
      });
    case 'IncompleteBody':
      return new AwsError('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header', {
        status: 400,
      });
    case 'BadDigest':
      return new AwsError('BadDigest', `The ${d.algorithm ?? 'checksum'} you specified did not match the calculated checksum.`, {
        status: 400,
      });
    case 'PolicyViolation':
      return new AwsError('AccessDenied', e.message, { status: 403 });
  }
}
