/**
 * @module walrus/model
 * Walrus domain types: buckets, object versions, uploads, ACL grants; pure helpers (bucket naming, canned ACLs,
 * multipart ETags, list cursors).
 */
import { createHash } from 'node:crypto';
import { AwsError } from '../shared/index.js';

export type Permission = 'FULL_CONTROL' | 'READ' | 'WRITE' | 'READ_ACP' | 'WRITE_ACP';

export type Grantee =
  | { type: 'CanonicalUser'; id: string; displayName?: string }
  | { type: 'Group'; uri: string }
  | { type: 'AmazonCustomerByEmail'; email: string };

export interface Grant {
  grantee: Grantee;
  permission: Permission;
}

export interface Owner {
  accountId: string;
  displayName: string;
}

export const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';
export const AUTHENTICATED_USERS = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';
export const LOG_DELIVERY = 'http://acs.amazonaws.com/groups/s3/LogDelivery';
/** Eucalyptus's `aws-exec-read`: readable by the cloud's own services (image bundles fetched by node controllers). */
export const EXEC_READ_ID = 'aws-exec-read';

export const CANNED_ACLS = [
  'private', 'public-read', 'public-read-write', 'authenticated-read', 'aws-exec-read', 'bucket-owner-read',
  'bucket-owner-full-control', 'log-delivery-write',
] as const;
export type CannedAcl = (typeof CANNED_ACLS)[number];

/** The grants a canned ACL stands for. `bucketOwner` matters for the bucket-owner-* ACLs on objects. */
export function cannedAcl(name: string, owner: Owner, bucketOwner?: Owner): Grant[] {
  const full: Grant = { grantee: { type: 'CanonicalUser', id: owner.accountId, displayName: owner.displayName }, permission: 'FULL_CONTROL' };
  switch (name) {
    case 'private':
      return [full];
    case 'public-read':
      return [full, { grantee: { type: 'Group', uri: ALL_USERS }, permission: 'READ' }];
    case 'public-read-write':
      return [full, { grantee: { type: 'Group', uri: ALL_USERS }, permission: 'READ' }, { grantee: { type: 'Group', uri: ALL_USERS }, permission: 'WRITE' }];
    case 'authenticated-read':
      return [full, { grantee: { type: 'Group', uri: AUTHENTICATED_USERS }, permission: 'READ' }];
    case 'aws-exec-read':
      return [full, { grantee: { type: 'CanonicalUser', id: EXEC_READ_ID, displayName: 'aws-exec-read' }, permission: 'READ' }];
    case 'bucket-owner-read':
      return bucketOwner && bucketOwner.accountId !== owner.accountId
        ? [full, { grantee: { type: 'CanonicalUser', id: bucketOwner.accountId, displayName: bucketOwner.displayName }, permission: 'READ' }]
        : [full];
    case 'bucket-owner-full-control':
      return bucketOwner && bucketOwner.accountId !== owner.accountId
        ? [full, { grantee: { type: 'CanonicalUser', id: bucketOwner.accountId, displayName: bucketOwner.displayName }, permission: 'FULL_CONTROL' }]
        : [full];
    case 'log-delivery-write':
      return [full, { grantee: { type: 'Group', uri: LOG_DELIVERY }, permission: 'WRITE' }, { grantee: { type: 'Group', uri: LOG_DELIVERY }, permission: 'READ_ACP' }];
    default:
      throw new AwsError('InvalidArgument', `Invalid canned ACL: ${name}`, { fields: { ArgumentName: 'x-amz-acl', ArgumentValue: name } });
  }
}

export interface Bucket {
  name: string;
  owner: Owner;
  region: string;
  createdAt: number;
  versioning: '' | 'Enabled' | 'Suspended';
  acl: Grant[];
  policy: string | null;
  cors: CorsRule[] | null;
  lifecycle: LifecycleRule[] | null;
  tagging: Record<string, string> | null;
}

export interface CorsRule {
  id?: string;
  allowedOrigins: string[];
  allowedMethods: string[];
  allowedHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds?: number;
}

export interface LifecycleRule {
  id?: string;
  status: 'Enabled' | 'Disabled';
  prefix: string;
  tags?: Record<string, string>;
  expirationDays?: number;
  expirationDate?: number;
  expiredObjectDeleteMarker?: boolean;
  noncurrentDays?: number;
  newerNoncurrentVersions?: number;
  abortIncompleteDays?: number;
  /** The rule as received (echoed back by GetBucketLifecycleConfiguration). */
  raw?: unknown;
}

export interface BlobRef {
  id: string;
  size: number;
  /** Part ETag (multipart objects), to answer `partNumber` GETs. */
  etag?: string;
}

/** Standard headers stored with an object and returned on GET/HEAD. */
export interface ObjectHeaders {
  'content-type'?: string;
  'content-encoding'?: string;
  'content-disposition'?: string;
  'content-language'?: string;
  'cache-control'?: string;
  expires?: string;
  'x-amz-website-redirect-location'?: string;
}

export interface ObjectVersion {
  bucket: string;
  key: string;
  versionId: string;
  seq: number;
  owner: Owner;
  isLatest: boolean;
  deleteMarker: boolean;
  size: number;
  etag: string;
  lastModified: number;
  headers: ObjectHeaders;
  metadata: Record<string, string>;
  checksums: { type?: 'FULL_OBJECT' | 'COMPOSITE'; values: Record<string, string> };
  blobs: BlobRef[];
  acl: Grant[];
  tagging: Record<string, string> | null;
}

export interface Upload {
  uploadId: string;
  bucket: string;
  key: string;
  owner: Owner;
  initiatorArn: string;
  initiatorId: string;
  createdAt: number;
  headers: ObjectHeaders;
  metadata: Record<string, string>;
  acl: Grant[];
  tagging: Record<string, string> | null;
  checksumAlgorithm: string | null;
}

export interface Part {
  partNumber: number;
  size: number;
  etag: string;
  blobId: string;
  checksums: Record<string, string>;
  lastModified: number;
}

const IP = /^\d+\.\d+\.\d+\.\d+$/;
/** S3's bucket naming rules (3-63 chars, lowercase letters, digits, dots, hyphens; not an IP address). */
export function validateBucketName(name: string): void {
  const bad = name.length < 3 || name.length > 63 || !/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name) || name.includes('..')
    || IP.test(name) || name.startsWith('xn--') || name.endsWith('-s3alias') || name.includes('.-') || name.includes('-.');
  if (bad) throw new AwsError('InvalidBucketName', 'The specified bucket is not valid.', { fields: { BucketName: name } });
}

/** ETag of a multipart object: MD5 of the parts' binary MD5s, then `-<parts>`. */
export function multipartEtag(partEtags: string[]): string {
  const h = createHash('md5');
  for (const e of partEtags) h.update(Buffer.from(e.replace(/"/g, '').replace(/-\d+$/, ''), 'hex'));
  return `${h.digest('hex')}-${partEtags.length}`;
}

/** The smallest string greater than every string that starts with `s` (for "skip this prefix" range scans). */
export function successor(s: string): string {
  if (s === '') return '';
  const last = s.charCodeAt(s.length - 1);
  return s.slice(0, -1) + String.fromCharCode(last + 1);
}
