import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthError, authenticate, signingKey, toServiceError, type AuthErrorKind } from './index.js';
import { MemoryStore } from './test-util.js';

type Svc = 'ec2' | 'iam' | 'sts' | 's3';
const table: [Svc, AuthErrorKind, string, number, string?][] = [
  ['ec2', 'UnknownKey', 'AuthFailure', 401],
  ['ec2', 'SignatureMismatch', 'AuthFailure', 401],
  ['ec2', 'Skewed', 'RequestExpired', 400],
  ['ec2', 'Expired', 'RequestExpired', 400],
  ['ec2', 'Missing', 'MissingAuthenticationToken', 401],
  ['ec2', 'Incomplete', 'IncompleteSignature', 400],
  ['iam', 'UnknownKey', 'InvalidClientTokenId', 403],
  ['iam', 'InvalidToken', 'InvalidClientTokenId', 403],
  ['iam', 'SignatureMismatch', 'SignatureDoesNotMatch', 403],
  ['iam', 'Incomplete', 'IncompleteSignature', 400],
  ['iam', 'Missing', 'MissingAuthenticationToken', 403],
  ['sts', 'ExpiredToken', 'ExpiredToken', 403],
  ['sts', 'Expired', 'RequestExpired', 400],
  ['s3', 'UnknownKey', 'InvalidAccessKeyId', 403],
  ['s3', 'SignatureMismatch', 'SignatureDoesNotMatch', 403],
  ['s3', 'Skewed', 'RequestTimeTooSkewed', 403],
  ['s3', 'Expired', 'AccessDenied', 403, 'Request has expired'],
  ['s3', 'Missing', 'AccessDenied', 403],
  ['s3', 'ExpiredToken', 'ExpiredToken', 400],
  ['s3', 'InvalidToken', 'InvalidToken', 400],
  ['s3', 'ContentSHA256Mismatch', 'XAmzContentSHA256Mismatch', 400],
  ['s3', 'MissingContentSHA256', 'InvalidRequest', 400],
  ['s3', 'IncompleteBody', 'IncompleteBody', 400],
  ['s3', 'BadDigest', 'BadDigest', 400],
  ['s3', 'UnsupportedAlgorithm', 'InvalidArgument', 400],
];

test('toServiceError: codes and statuses per service', () => {
  for (const [svc, kind, code, status, message] of table) {
    const e = toServiceError(svc, new AuthError(kind, 'x', { method: 'sigv4-header', accessKeyId: 'AKID' }));
    assert.equal(e.code, code, `${svc} ${kind}`);
    assert.equal(e.status, status, `${svc} ${kind}`);
    if (message) assert.equal(e.message, message);
  }
});

test('toServiceError: IAM/STS skew says "Signature expired" (botocore treats it as clock skew)', () => {
  const e = toServiceError('sts', new AuthError('Skewed', 'x', { method: 'sigv4-header', requestTime: '2015-08-30T12:36:00.000Z', serverTime: '2015-08-30T13:00:00.000Z' }));
  assert.equal(e.code, 'SignatureDoesNotMatch');
  assert.equal(e.message, 'Signature expired: 20150830T123600Z is now earlier than 20150830T124500Z (20150830T130000Z - 15 min.)');
});

test('toServiceError: S3 header errors carry their fields', () => {
  const sig = toServiceError('s3', new AuthError('SignatureMismatch', 'x', { method: 'sigv4-header', accessKeyId: 'AKID', stringToSign: 'AB', canonicalRequest: 'C', signatureProvided: 'ff' }));
  assert.deepEqual(sig.fields, { AWSAccessKeyId: 'AKID', StringToSign: 'AB', StringToSignBytes: '41 42', SignatureProvided: 'ff', CanonicalRequest: 'C', CanonicalRequestBytes: '43' });
  const reg = toServiceError('s3', new AuthError('BadRegion', 'x', { method: 'sigv4-header', region: 'us-east-1', expectedRegion: 'euca' }));
  assert.equal(reg.code, 'AuthorizationHeaderMalformed');
  assert.equal(reg.status, 400);
  assert.deepEqual(reg.fields, { Region: 'euca' });
  const q = toServiceError('s3', new AuthError('Incomplete', 'x', { method: 'sigv4-query' }));
  assert.equal(q.code, 'AuthorizationQueryParametersError');
  const skew = toServiceError('s3', new AuthError('Skewed', 'x', { method: 'sigv4-header', requestTime: 'a', serverTime: 'b' }));
  assert.equal(skew.fields['MaxAllowedSkewMilliseconds'], '900000');
});

test('a failed verification never exposes the secret or the signing key', async () => {
  const secret = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
  const store = new MemoryStore();
  store.add('AKIDEXAMPLE', secret);
  const req = {
    method: 'GET', path: '/', query: '', headers: {
      host: ['example.amazonaws.com'], 'x-amz-date': ['20150830T123600Z'], 'x-amz-content-sha256': ['UNSIGNED-PAYLOAD'],
      authorization: ['AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=00'],
    },
  };
  const key = signingKey(secret, '20150830', 'us-east-1', 's3');
  for (const service of ['s3', 'ec2'] as const) {
    const headers: Record<string, string[]> = { ...req.headers };
    if (service !== 's3') delete headers['x-amz-content-sha256'];
    const err = await authenticate({ ...req, headers }, { service, signingName: 's3', now: new Date('2015-08-30T12:36:00Z'), store }).then(
      () => assert.fail('must fail'),
      (e: unknown) => e as AuthError,
    );
    assert.equal(err.kind, 'SignatureMismatch');
    const svc = toServiceError(service, err);
    const dump = JSON.stringify({ m: err.message, d: err.details, sm: svc.message, f: svc.fields });
    assert.ok(!dump.includes(secret) && !dump.includes(key.toString('hex')) && !dump.includes(key.toString('base64')));
    if (service === 's3') assert.ok(svc.fields['CanonicalRequest']?.includes('UNSIGNED-PAYLOAD'));
  }
});
