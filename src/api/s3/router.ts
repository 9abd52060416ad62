/**
 * @module api/s3/router
 * The pure S3 router: method, raw path, query, headers → the operation (AWS model name), bucket, key and the IAM
 * action it needs. Path style (`/<bucket>/<key>` below an optional prefix such as `/services/objectstorage`) and
 * virtual-host style (`<bucket>.<s3Domain>`). Keys are percent-decoded per segment and kept exactly otherwise
 * (`//`, trailing `/`, `+` stay as sent: `+` in a path is a literal plus).
 */

export interface S3RouteOptions {
  /** Domain for virtual-host style: a Host of `<bucket>.<s3Domain>` names the bucket. */
  s3Domain?: string;
  /** Path prefix the S3 API is mounted at (`/services/objectstorage`); '' or undefined for `/`. */
  prefix?: string;
}

export interface S3Route {
  /** The AWS model operation name (`PutObject`, `ListObjectsV2` …), `PreflightCors` for OPTIONS, `PostObject`. */
  op: string;
  bucket?: string;
  key?: string;
  /** The IAM action the operation needs (`s3:GetObject` …). */
  permission: string;
  /** The operation exists in S3 but Walrus does not implement it: answer NotImplemented. */
  unsupported?: boolean;
  /** The bucket came from the Host header. */
  virtualHost?: boolean;
}

type Query = URLSearchParams | Record<string, string | string[] | undefined>;

function has(q: Query, k: string): boolean {
  return q instanceof URLSearchParams ? q.has(k) : q[k] !== undefined;
}
function get(q: Query, k: string): string | undefined {
  if (q instanceof URLSearchParams) return q.get(k) ?? undefined;
  const v = q[k];
  return Array.isArray(v) ? v[0] : v;
}

/** Bucket subresources Walrus implements: query key → [GET op, PUT op, DELETE op]. */
const BUCKET_SUB: Record<string, [string, string, string | undefined]> = {
  acl: ['GetBucketAcl', 'PutBucketAcl', undefined],
  cors: ['GetBucketCors', 'PutBucketCors', 'DeleteBucketCors'],
  lifecycle: ['GetBucketLifecycleConfiguration', 'PutBucketLifecycleConfiguration', 'DeleteBucketLifecycle'],
  policy: ['GetBucketPolicy', 'PutBucketPolicy', 'DeleteBucketPolicy'],
  tagging: ['GetBucketTagging', 'PutBucketTagging', 'DeleteBucketTagging'],
  versioning: ['GetBucketVersioning', 'PutBucketVersioning', undefined],
  location: ['GetBucketLocation', '', undefined],
  versions: ['ListObjectVersions', '', undefined],
  uploads: ['ListMultipartUploads', '', undefined],
};

/** Bucket subresources S3 has and Walrus answers NotImplemented (or, for a few GETs, an empty configuration). */
const BUCKET_UNSUPPORTED: Record<string, [string, string, string]> = {
  logging: ['GetBucketLogging', 'PutBucketLogging', ''],
  website: ['GetBucketWebsite', 'PutBucketWebsite', 'DeleteBucketWebsite'],
  notification: ['GetBucketNotificationConfiguration', 'PutBucketNotificationConfiguration', ''],
  encryption: ['GetBucketEncryption', 'PutBucketEncryption', 'DeleteBucketEncryption'],
  replication: ['GetBucketReplication', 'PutBucketReplication', 'DeleteBucketReplication'],
  requestPayment: ['GetBucketRequestPayment', 'PutBucketRequestPayment', ''],
  accelerate: ['GetBucketAccelerateConfiguration', 'PutBucketAccelerateConfiguration', ''],
  'object-lock': ['GetObjectLockConfiguration', 'PutObjectLockConfiguration', ''],
  ownershipControls: ['GetBucketOwnershipControls', 'PutBucketOwnershipControls', 'DeleteBucketOwnershipControls'],
  publicAccessBlock: ['GetPublicAccessBlock', 'PutPublicAccessBlock', 'DeletePublicAccessBlock'],
  policyStatus: ['GetBucketPolicyStatus', '', ''],
  analytics: ['GetBucketAnalyticsConfiguration', 'PutBucketAnalyticsConfiguration', 'DeleteBucketAnalyticsConfiguration'],
  metrics: ['GetBucketMetricsConfiguration', 'PutBucketMetricsConfiguration', 'DeleteBucketMetricsConfiguration'],
  inventory: ['GetBucketInventoryConfiguration', 'PutBucketInventoryConfiguration', 'DeleteBucketInventoryConfiguration'],
  'intelligent-tiering': ['GetBucketIntelligentTieringConfiguration', 'PutBucketIntelligentTieringConfiguration', 'DeleteBucketIntelligentTieringConfiguration'],
  session: ['CreateSession', '', ''],
};

const OBJECT_UNSUPPORTED: Record<string, string> = {
  attributes: 'GetObjectAttributes', 'legal-hold': 'GetObjectLegalHold', retention: 'GetObjectRetention', torrent: 'GetObjectTorrent',
  restore: 'RestoreObject', select: 'SelectObjectContent', renameObject: 'RenameObject',
};

/** IAM action for each operation Walrus implements. */
export const PERMISSIONS: Record<string, string> = {
  ListBuckets: 's3:ListAllMyBuckets',
  CreateBucket: 's3:CreateBucket',
  DeleteBucket: 's3:DeleteBucket',
  HeadBucket: 's3:ListBucket',
  ListObjects: 's3:ListBucket',
  ListObjectsV2: 's3:ListBucket',
  ListObjectVersions: 's3:ListBucketVersions',
  GetBucketLocation: 's3:GetBucketLocation',
  GetBucketAcl: 's3:GetBucketAcl',
  PutBucketAcl: 's3:PutBucketAcl',
  GetBucketCors: 's3:GetBucketCORS',
  PutBucketCors: 's3:PutBucketCORS',
  DeleteBucketCors: 's3:PutBucketCORS',
  GetBucketLifecycleConfiguration: 's3:GetLifecycleConfiguration',
  PutBucketLifecycleConfiguration: 's3:PutLifecycleConfiguration',
  DeleteBucketLifecycle: 's3:PutLifecycleConfiguration',
  GetBucketPolicy: 's3:GetBucketPolicy',
  PutBucketPolicy: 's3:PutBucketPolicy',
  DeleteBucketPolicy: 's3:DeleteBucketPolicy',
  GetBucketTagging: 's3:GetBucketTagging',
  PutBucketTagging: 's3:PutBucketTagging',
  DeleteBucketTagging: 's3:PutBucketTagging',
  GetBucketVersioning: 's3:GetBucketVersioning',
  PutBucketVersioning: 's3:PutBucketVersioning',
  ListMultipartUploads: 's3:ListBucketMultipartUploads',
  DeleteObjects: 's3:DeleteObject',
  PostObject: 's3:PutObject',
  GetObject: 's3:GetObject',
  HeadObject: 's3:GetObject',
  PutObject: 's3:PutObject',
  CopyObject: 's3:PutObject',
  DeleteObject: 's3:DeleteObject',
  GetObjectAcl: 's3:GetObjectAcl',
  PutObjectAcl: 's3:PutObjectAcl',
  GetObjectTagging: 's3:GetObjectTagging',
  PutObjectTagging: 's3:PutObjectTagging',
  DeleteObjectTagging: 's3:DeleteObjectTagging',
  CreateMultipartUpload: 's3:PutObject',
  UploadPart: 's3:PutObject',
  UploadPartCopy: 's3:PutObject',
  CompleteMultipartUpload: 's3:PutObject',
  AbortMultipartUpload: 's3:AbortMultipartUpload',
  ListParts: 's3:ListMultipartUploadParts',
  PreflightCors: '',
};

/** Versioned reads and deletes need the `…Version` action. */
function versioned(op: string, perm: string, q: Query): string {
  if (!has(q, 'versionId')) return perm;
  switch (op) {
    case 'GetObject':
    case 'HeadObject':
      return 's3:GetObjectVersion';
    case 'DeleteObject':
      return 's3:DeleteObjectVersion';
    case 'GetObjectAcl':
      return 's3:GetObjectVersionAcl';
    case 'PutObjectAcl':
      return 's3:PutObjectVersionAcl';
    case 'GetObjectTagging':
      return 's3:GetObjectVersionTagging';
    case 'PutObjectTagging':
      return 's3:PutObjectVersionTagging';
    case 'DeleteObjectTagging':
      return 's3:DeleteObjectVersionTagging';
    default:
      return perm;
  }
}

/** Percent-decodes a path piece; a malformed escape is kept literally. */
export function decodePathPart(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s.replace(/%([0-9A-Fa-f]{2})/g, (m, h: string) => {
      const c = parseInt(h, 16);
      return c < 0x80 ? String.fromCharCode(c) : m;
    });
  }
}

function hostBucket(host: string | undefined, s3Domain: string | undefined): string | undefined {
  if (!host || !s3Domain) return undefined;
  const h = host.toLowerCase().replace(/:\d+$/, '');
  const d = s3Domain.toLowerCase();
  if (h.length > d.length + 1 && h.endsWith(`.${d}`)) return h.slice(0, -(d.length + 1));
  return undefined;
}

function pickOp(method: string, bucket: string | undefined, key: string | undefined, q: Query, headers: Record<string, string | string[] | undefined>): { op: string; unsupported?: boolean } {
  const m = method.toUpperCase();
  if (m === 'OPTIONS') return { op: 'PreflightCors' };
  if (bucket === undefined) {
    if (m === 'GET') return { op: 'ListBuckets' };
    return { op: 'MethodNotAllowed' };
  }
  if (key === undefined) {
    for (const [sub, ops] of Object.entries(BUCKET_SUB)) {
      if (!has(q, sub)) continue;
      if (m === 'GET' && ops[0]) return { op: ops[0] };
      if (m === 'PUT' && ops[1]) return { op: ops[1] };
      if (m === 'DELETE' && ops[2]) return { op: ops[2] };
    }
    for (const [sub, ops] of Object.entries(BUCKET_UNSUPPORTED)) {
      if (!has(q, sub)) continue;
      const op = m === 'GET' ? ops[0] : m === 'PUT' ? ops[1] : m === 'DELETE' ? ops[2] : '';
      if (op) return { op, unsupported: true };
    }
    switch (m) {
      case 'GET':
        return { op: get(q, 'list-type') === '2' ? 'ListObjectsV2' : 'ListObjects' };
      case 'HEAD':
        return { op: 'HeadBucket' };
      case 'PUT':
        return { op: 'CreateBucket' };
      case 'DELETE':
        return { op: 'DeleteBucket' };
      case 'POST':
        if (has(q, 'delete')) return { op: 'DeleteObjects' };
        return { op: 'PostObject' };
      default:
        return { op: 'MethodNotAllowed' };
    }
  }
  for (const [sub, op] of Object.entries(OBJECT_UNSUPPORTED)) {
    if (has(q, sub)) return { op, unsupported: true };
  }
  const copy = headers['x-amz-copy-source'] !== undefined;
  switch (m) {
    case 'GET':
      if (has(q, 'acl')) return { op: 'GetObjectAcl' };
      if (has(q, 'tagging')) return { op: 'GetObjectTagging' };
      if (has(q, 'uploadId')) return { op: 'ListParts' };
      return { op: 'GetObject' };
    case 'HEAD':
      return { op: 'HeadObject' };
    case 'PUT':
      if (has(q, 'acl')) return { op: 'PutObjectAcl' };
      if (has(q, 'tagging')) return { op: 'PutObjectTagging' };
      if (has(q, 'uploadId') && has(q, 'partNumber')) return { op: copy ? 'UploadPartCopy' : 'UploadPart' };
      return { op: copy ? 'CopyObject' : 'PutObject' };
    case 'DELETE':
      if (has(q, 'tagging')) return { op: 'DeleteObjectTagging' };
      if (has(q, 'uploadId')) return { op: 'AbortMultipartUpload' };
      return { op: 'DeleteObject' };
    case 'POST':
      if (has(q, 'uploads')) return { op: 'CreateMultipartUpload' };
      if (has(q, 'uploadId')) return { op: 'CompleteMultipartUpload' };
      return { op: 'MethodNotAllowed' };
    default:
      return { op: 'MethodNotAllowed' };
  }
}

/**
 * Resolves an S3 request. `path` is the raw request path (percent-encoded, without the query). Returns undefined
 * when the path is not below `prefix`.
 */
export function resolveS3(method: string, path: string, query: Query, headers: Record<string, string | string[] | undefined>, opts: S3RouteOptions = {}): S3Route | undefined {
  let p = path;
  const prefix = (opts.prefix ?? '').replace(/\/+$/, '');
  if (prefix) {
    if (p !== prefix && !p.startsWith(`${prefix}/`)) return undefined;
    p = p.slice(prefix.length);
  }
  if (!p.startsWith('/')) p = `/${p}`;
  const hostHeader = headers.host;
  const vb = hostBucket(Array.isArray(hostHeader) ? hostHeader[0] : hostHeader, opts.s3Domain);
  let bucket: string | undefined;
  let key: string | undefined;
  if (vb !== undefined) {
    bucket = vb;
    const rest = p.slice(1);
    key = rest === '' ? undefined : decodePathPart(rest);
  } else {
    const rest = p.slice(1);
    const slash = rest.indexOf('/');
    const b = slash < 0 ? rest : rest.slice(0, slash);
    bucket = b === '' ? undefined : decodePathPart(b);
    if (slash >= 0) {
      const k = rest.slice(slash + 1);
      key = k === '' ? undefined : decodePathPart(k);
    }
  }
  const { op, unsupported } = pickOp(method, bucket, key, query, headers);
  const permission = versioned(op, PERMISSIONS[op] ?? `s3:${op}`, query);
  return {
    op, permission,
    ...(bucket !== undefined ? { bucket } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(unsupported ? { unsupported } : {}),
    ...(vb !== undefined ? { virtualHost: true } : {}),
  };
}
