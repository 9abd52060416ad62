/**
 * @module api/s3/post
 * Browser POST uploads (multipart/form-data with a policy document).
 */
import { AwsError } from '../../shared/index.js';
import type { S3Context } from './context.js';
import type { S3Authenticator } from './handler.js';

export async function postObject(_ctx: S3Context, _authenticate: S3Authenticator): Promise<void> {
  throw new AwsError('NotImplemented', 'Browser-based POST uploads are not implemented yet', { status: 501 });
}
