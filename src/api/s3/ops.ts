/**
 * @module api/s3/ops
 * The S3 operations: thin handlers that bind headers/query/XML to the Walrus domain and write S3's answers.
 */
import { AwsError } from '../../shared/index.js';
import {
  cannedAcl, etagMatches, successor,
  type Bucket, type Grant, type Grantee, type ObjectHeaders, type ObjectVersion, type Owner, type Permission, type Part,
  type CorsRule, type LifecycleRule,
} from '../../walrus/index.js';
import { header, queryParam, readSmallBody, requireBucketName, requireKey, sendEmpty, sendRaw, sendXml, type OpHandler, type S3Context } from './context.js';
import { invalidArgument, openVersion, parseRange, rangeOf, receiveBody, sendRange, invalidRange, checksumFactory } from './objects.js';
import { child, children, malformedXml, parseXmlBody, s3Time, text, texts, S3_NS } from './xml.js';
import { escapeXml } from '../../protocol/index.js';
import { authorizeAction } from './handler.js';
import { compileBucketPolicy } from './authz.js';
import { authorize } from '../../auth/policy/index.js';
import { decodePathPart } from './router.js';

// ------------------------------------------------------------------ helpers

function ownerOf(ctx: S3Context): Owner {
  return { accountId: ctx.principal.accountId, displayName: ctx.principal.accountAlias ?? ctx.principal.accountId };
}

function owner(o: Owner) {
  return { ID: o.accountId, DisplayName: o.displayName };
}

function quoted(etag: string): string {
  return `"${etag}"`;
}

const STORED_HEADERS: (keyof ObjectHeaders)[] = ['content-type', 'content-encoding', 'content-disposition', 'content-language', 'cache-control', 'expires', 'x-amz-website-redirect-location'];

function objectHeaders(ctx: S3Context): ObjectHeaders {
  const h: ObjectHeaders = {};
  for (const name of STORED_HEADERS) {
    let v = header(ctx, name);
    if (v === undefined) continue;
    if (name === 'content-encoding') {
      v = v.split(',').map((s) => s.trim()).filter((s) => s && s.toLowerCase() !== 'aws-chunked').join(',');
      if (!v) continue;
    }
    h[name] = v;
  }
  return h;
}

function userMetadata(ctx: S3Context): Record<string, string> {
  const m: Record<string, string> = {};
  let size = 0;
  for (const [k, v] of Object.entries(ctx.req.headers)) {
    if (!k.startsWith('x-amz-meta-') || v === undefined) continue;
    const name = k.slice(11);
    const val = Array.isArray(v) ? v.join(',') : v;
    m[name] = val;
    size += name.length + val.length;
  }
  if (size > 2048) throw new AwsError('MetadataTooLarge', 'Your metadata headers exceed the maximum allowed metadata size', { fields: { Size: String(size), MaxSizeAllowed: '2048' } });
  return m;
}

function parseTagging(s: string | undefined): Record<string, string> | null {
  if (s === undefined) return null;
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(s)) out[k] = v;
  validateTags(out);
  return out;
}

function validateTags(t: Record<string, string>, max = 10): void {
  if (Object.keys(t).length > max) throw new AwsError('BadRequest', `Object tags cannot be greater than ${max}`);
  for (const [k, v] of Object.entries(t)) {
    if (k.length === 0 || k.length > 128) throw new AwsError('InvalidTag', 'The TagKey you have provided is invalid');
    if (v.length > 256) throw new AwsError('InvalidTag', 'The TagValue you have provided is too long');
  }
}

const GRANT_HEADERS: [string, Permission][] = [
  ['x-amz-grant-read', 'READ'], ['x-amz-grant-write', 'WRITE'], ['x-amz-grant-read-acp', 'READ_ACP'],
  ['x-amz-grant-write-acp', 'WRITE_ACP'], ['x-amz-grant-full-control', 'FULL_CONTROL'],
];

/** The ACL a request asks for: `x-amz-acl`, or `x-amz-grant-*` headers, or undefined. */
function aclFromHeaders(ctx: S3Context, o: Owner, bucketOwner?: Owner): Grant[] | undefined {
  const canned = header(ctx, 'x-amz-acl');
  const grants: Grant[] = [];
  for (const [h, perm] of GRANT_HEADERS) {
    const v = header(ctx, h);
    if (v === undefined) continue;
    for (const item of v.split(',')) {
      const m = /^\s*(id|uri|emailAddress)\s*=\s*"?([^"]*)"?\s*$/i.exec(item);
      if (!m) throw invalidArgument('Invalid grant header', h, v);
      const kind = m[1]!.toLowerCase();
      const val = m[2]!;
      const grantee: Grantee = kind === 'id' ? { type: 'CanonicalUser', id: val } : kind === 'uri' ? { type: 'Group', uri: val } : { type: 'AmazonCustomerByEmail', email: val };
      grants.push({ grantee, permission: perm });
    }
  }
  if (canned !== undefined && grants.length) throw new AwsError('InvalidRequest', 'Specifying both Canned ACLs and Header Grants is not allowed');
  if (canned !== undefined) return cannedAcl(canned, o, bucketOwner);
  if (grants.length) return [{ grantee: { type: 'CanonicalUser', id: o.accountId, displayName: o.displayName }, permission: 'FULL_CONTROL' }, ...grants];
  return undefined;
}

function aclFromXml(body: Buffer): { owner?: string; grants: Grant[] } {
  const doc = parseXmlBody(body, 'AccessControlPolicy');
  const list = child(doc, 'AccessControlList');
  const grants: Grant[] = [];
  for (const g of children(list, 'Grant')) {
    const ge = child(g, 'Grantee');
    const perm = text(g, 'Permission') as Permission | undefined;
    if (!ge || !perm || !['FULL_CONTROL', 'READ', 'WRITE', 'READ_ACP', 'WRITE_ACP'].includes(perm)) throw malformedXml();
    const type = (ge['@type'] as string | undefined) ?? (text(ge, 'URI') !== undefined ? 'Group' : text(ge, 'ID') !== undefined ? 'CanonicalUser' : 'AmazonCustomerByEmail');
    let grantee: Grantee;
    if (type === 'Group') grantee = { type: 'Group', uri: text(ge, 'URI') ?? '' };
    else if (type === 'CanonicalUser') grantee = { type: 'CanonicalUser', id: text(ge, 'ID') ?? '', ...(text(ge, 'DisplayName') ? { displayName: text(ge, 'DisplayName')! } : {}) };
    else grantee = { type: 'AmazonCustomerByEmail', email: text(ge, 'EmailAddress') ?? '' };
    grants.push({ grantee, permission: perm });
  }
  const o = text(child(doc, 'Owner'), 'ID');
  return { ...(o !== undefined ? { owner: o } : {}), grants };
}

function aclOutput(o: Owner, grants: Grant[]) {
  return {
    Owner: owner(o),
    Grants: grants.map((g) => ({
      Grantee: g.grantee.type === 'Group' ? { Type: 'Group', URI: g.grantee.uri }
        : g.grantee.type === 'CanonicalUser' ? { Type: 'CanonicalUser', ID: g.grantee.id, ...(g.grantee.displayName ? { DisplayName: g.grantee.displayName } : {}) }
          : { Type: 'AmazonCustomerByEmail', EmailAddress: g.grantee.email },
      Permission: g.permission,
    })),
  };
}

/** Sets the ACL from headers or an XML body (Put*Acl). */
async function requestedAcl(ctx: S3Context, o: Owner, bucketOwner?: Owner): Promise<Grant[]> {
  const fromHeaders = aclFromHeaders(ctx, o, bucketOwner);
  const body = await readSmallBody(ctx, 64 * 1024);
  if (fromHeaders && body.length) throw new AwsError('UnexpectedContent', 'This request does not support content');
  if (fromHeaders) return fromHeaders;
  if (!body.length) throw new AwsError('MissingSecurityHeader', 'Your request was missing a required header', { fields: { MissingHeaderName: 'x-amz-acl' } });
  return aclFromXml(body).grants;
}

function versionHeader(b: Bucket, v: { versionId?: string }): Record<string, string> {
  return b.versioning !== '' && v.versionId !== undefined ? { 'x-amz-version-id': v.versionId } : {};
}

function urlEncode(s: string): string {
  return encodeURIComponent(s).replace(/%2F/g, '/').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function maxKeysParam(ctx: S3Context, name = 'max-keys', cap = 1000): number {
  const v = queryParam(ctx, name);
  if (v === undefined || v === '') return cap;
  if (!/^\d+$/.test(v)) throw invalidArgument(`Provided ${name} not an integer or within integer range`, name, v);
  return Math.min(Number(v), cap);
}

function encoding(ctx: S3Context): ((s: string) => string) {
  const e = queryParam(ctx, 'encoding-type');
  if (e === undefined || e === '') return (s) => s;
  if (e !== 'url') throw invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', e);
  return urlEncode;
}

function contentsOf(v: ObjectVersion, enc: (s: string) => string, withOwner = true) {
  return {
    Key: enc(v.key), LastModified: s3Time(v.lastModified), ETag: quoted(v.etag), Size: v.size, StorageClass: 'STANDARD',
    ...(withOwner ? { Owner: owner(v.owner) } : {}),
    ...(Object.keys(v.checksums.values).length ? { ChecksumAlgorithm: Object.keys(v.checksums.values), ChecksumType: v.checksums.type ?? 'FULL_OBJECT' } : {}),
  };
}

// ------------------------------------------------------------------ buckets

const listBuckets: OpHandler = async (ctx) => {
  const buckets = ctx.principal.isCloudAdmin ? await ctx.walrus.listBuckets(ctx.principal.accountId) : await ctx.walrus.listBuckets(ctx.principal.accountId);
  sendXml(ctx, 'ListBucketsOutput', {
    Owner: owner(ownerOf(ctx)),
    Buckets: buckets.map((b) => ({ Name: b.name, CreationDate: s3Time(b.createdAt), BucketRegion: b.region })),
  });
};

const createBucket: OpHandler = async (ctx) => {
  const name = requireBucketName(ctx);
  const body = await readSmallBody(ctx, 64 * 1024);
  let region = ctx.region;
  if (body.length) {
    const doc = parseXmlBody(body, 'CreateBucketConfiguration');
    const loc = text(doc, 'LocationConstraint');
    if (loc !== undefined && loc !== '' && loc !== ctx.region && loc !== 'us-east-1') {
      throw new AwsError('InvalidLocationConstraint', 'The specified location-constraint is not valid', { fields: { LocationConstraint: loc } });
    }
  }
  // AWS's us-east-1 quirk: an existing bucket of the same owner is answered 200 there; we follow the regional rule.
  const o = ownerOf(ctx);
  if (!ctx.principal.isAccountAdmin && !ctx.principal.isCloudAdmin) {
    const ids = ctx.identityPolicies ? await ctx.identityPolicies(ctx.principal) : [];
    const r = authorize({
      principal: ctx.principal, identityPolicies: ids, request: { action: 's3:CreateBucket', resources: [`arn:aws:s3:::${name}`], resourceAccount: ctx.principal.accountId },
      env: { sourceIp: ctx.sourceIp, now: new Date(), secure: ctx.secure, region: ctx.region },
    });
    if (r.decision !== 'Allow') throw new AwsError('AccessDenied', 'Access Denied', { status: 403 });
  }
  const acl = aclFromHeaders(ctx, o) ?? cannedAcl('private', o);
  region = ctx.region;
  await ctx.walrus.createBucket(o, name, region, acl);
  sendEmpty(ctx, 200, { location: `/${name}` });
};

const deleteBucket: OpHandler = async (ctx) => {
  await ctx.walrus.deleteBucket(requireBucketName(ctx));
  sendEmpty(ctx, 204);
};

const headBucket: OpHandler = async (ctx, b) => {
  sendEmpty(ctx, 200, { 'x-amz-bucket-region': b!.region });
};

const getBucketLocation: OpHandler = async (ctx, b) => {
  const loc = b!.region === 'us-east-1' ? '' : b!.region;
  sendRaw(ctx, `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="${S3_NS}">${escapeXml(loc)}</LocationConstraint>`, 'application/xml');
};

const listObjects: OpHandler = async (ctx, b) => {
  const enc = encoding(ctx);
  const prefix = queryParam(ctx, 'prefix') ?? '';
  const delimiter = queryParam(ctx, 'delimiter') ?? '';
  const marker = queryParam(ctx, 'marker') ?? '';
  const maxKeys = maxKeysParam(ctx);
  const r = await ctx.walrus.listObjects(b!.name, { prefix, delimiter, after: marker, maxKeys });
  sendXml(ctx, 'ListObjectsOutput', {
    Name: b!.name, Prefix: enc(prefix), Marker: enc(marker), MaxKeys: maxKeys, IsTruncated: r.truncated,
    ...(delimiter ? { Delimiter: enc(delimiter) } : {}),
    ...(r.truncated && r.last !== undefined ? { NextMarker: enc(r.last) } : {}),
    ...(queryParam(ctx, 'encoding-type') === 'url' ? { EncodingType: 'url' } : {}),
    Contents: r.objects.map((v) => contentsOf(v, enc)),
    CommonPrefixes: r.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
  });
};

function encodeToken(s: string): string {
  return Buffer.from(`1:${s}`, 'utf8').toString('base64url');
}

function decodeToken(t: string): string {
  const s = Buffer.from(t, 'base64url').toString('utf8');
  if (!s.startsWith('1:')) throw invalidArgument('The continuation token provided is incorrect', 'continuation-token', t);
  return s.slice(2);
}

const listObjectsV2: OpHandler = async (ctx, b) => {
  const enc = encoding(ctx);
  const prefix = queryParam(ctx, 'prefix') ?? '';
  const delimiter = queryParam(ctx, 'delimiter') ?? '';
  const token = queryParam(ctx, 'continuation-token');
  const startAfter = queryParam(ctx, 'start-after') ?? '';
  const maxKeys = maxKeysParam(ctx);
  const fetchOwner = queryParam(ctx, 'fetch-owner') === 'true';
  let after = startAfter;
  if (token !== undefined) {
    if (token === '') throw invalidArgument('The continuation token provided is incorrect', 'continuation-token', token);
    after = decodeToken(token);
  }
  const r = await ctx.walrus.listObjects(b!.name, { prefix, delimiter, after, maxKeys });
  sendXml(ctx, 'ListObjectsV2Output', {
    Name: b!.name, Prefix: enc(prefix), MaxKeys: maxKeys, IsTruncated: r.truncated, KeyCount: r.objects.length + r.commonPrefixes.length,
    ...(delimiter ? { Delimiter: enc(delimiter) } : {}),
    ...(token !== undefined ? { ContinuationToken: token } : {}),
    ...(startAfter ? { StartAfter: enc(startAfter) } : {}),
    ...(r.truncated && r.last !== undefined ? { NextContinuationToken: encodeToken(r.last) } : {}),
    ...(queryParam(ctx, 'encoding-type') === 'url' ? { EncodingType: 'url' } : {}),
    Contents: r.objects.map((v) => contentsOf(v, enc, fetchOwner)),
    CommonPrefixes: r.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
  });
};

const listObjectVersions: OpHandler = async (ctx, b) => {
  const enc = encoding(ctx);
  const prefix = queryParam(ctx, 'prefix') ?? '';
  const delimiter = queryParam(ctx, 'delimiter') ?? '';
  const keyMarker = queryParam(ctx, 'key-marker') ?? '';
  const versionIdMarker = queryParam(ctx, 'version-id-marker') ?? '';
  if (versionIdMarker && !keyMarker) throw invalidArgument('A version-id marker cannot be specified without a key marker.', 'version-id-marker', versionIdMarker);
  const maxKeys = maxKeysParam(ctx);
  const r = await ctx.walrus.listVersions(b!.name, { prefix, delimiter, after: keyMarker, ...(versionIdMarker ? { versionIdMarker } : {}), maxKeys });
  const versions = r.versions.filter((v) => !v.deleteMarker);
  const markers = r.versions.filter((v) => v.deleteMarker);
  sendXml(ctx, 'ListObjectVersionsOutput', {
    Name: b!.name, Prefix: enc(prefix), KeyMarker: enc(keyMarker), VersionIdMarker: versionIdMarker, MaxKeys: maxKeys, IsTruncated: r.truncated,
    ...(delimiter ? { Delimiter: enc(delimiter) } : {}),
    ...(r.nextKeyMarker !== undefined ? { NextKeyMarker: enc(r.nextKeyMarker) } : {}),
    ...(r.nextVersionIdMarker !== undefined ? { NextVersionIdMarker: r.nextVersionIdMarker } : {}),
    ...(queryParam(ctx, 'encoding-type') === 'url' ? { EncodingType: 'url' } : {}),
    Versions: versions.map((v) => ({
      Key: enc(v.key), VersionId: v.versionId, IsLatest: v.isLatest, LastModified: s3Time(v.lastModified), ETag: quoted(v.etag), Size: v.size,
      StorageClass: 'STANDARD', Owner: owner(v.owner),
    })),
    DeleteMarkers: markers.map((v) => ({ Key: enc(v.key), VersionId: v.versionId, IsLatest: v.isLatest, LastModified: s3Time(v.lastModified), Owner: owner(v.owner) })),
    CommonPrefixes: r.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
  });
};

const getBucketVersioning: OpHandler = async (ctx, b) => {
  sendXml(ctx, 'GetBucketVersioningOutput', b!.versioning ? { Status: b!.versioning } : {});
};

const putBucketVersioning: OpHandler = async (ctx, b) => {
  const doc = parseXmlBody(await readSmallBody(ctx), 'VersioningConfiguration');
  const status = text(doc, 'Status');
  if (status !== 'Enabled' && status !== 'Suspended') throw malformedXml();
  await ctx.walrus.updateBucket(b!.name, { versioning: status });
  sendEmpty(ctx);
};

const getBucketAcl: OpHandler = async (ctx, b) => {
  sendXml(ctx, 'GetBucketAclOutput', aclOutput(b!.owner, b!.acl));
};

const putBucketAcl: OpHandler = async (ctx, b) => {
  const acl = await requestedAcl(ctx, b!.owner);
  await ctx.walrus.updateBucket(b!.name, { acl });
  sendEmpty(ctx);
};

const getBucketPolicy: OpHandler = async (ctx, b) => {
  if (!b!.policy) throw new AwsError('NoSuchBucketPolicy', 'The bucket policy does not exist', { status: 404, fields: { BucketName: b!.name } });
  sendRaw(ctx, b!.policy, 'application/json');
};

const putBucketPolicy: OpHandler = async (ctx, b) => {
  const body = (await readSmallBody(ctx, 20 * 1024)).toString('utf8');
  compileBucketPolicy(body);
  const doc = JSON.parse(body) as { Statement?: unknown };
  for (const st of [doc.Statement].flat() as Record<string, unknown>[]) {
    const res = [st.Resource ?? st.NotResource].flat().filter((r) => r !== undefined).map(String);
    if (res.some((r) => r !== '*' && !r.startsWith(`arn:aws:s3:::${b!.name}`))) {
      throw new AwsError('MalformedPolicy', 'Policy has invalid resource');
    }
  }
  await ctx.walrus.updateBucket(b!.name, { policy: body });
  sendEmpty(ctx, 204);
};

const deleteBucketPolicy: OpHandler = async (ctx, b) => {
  await ctx.walrus.updateBucket(b!.name, { policy: null });
  sendEmpty(ctx, 204);
};

function tagsFromXml(body: Buffer, max: number): Record<string, string> {
  const doc = parseXmlBody(body, 'Tagging');
  const set = child(doc, 'TagSet');
  if (!set) throw malformedXml();
  const tags: Record<string, string> = {};
  for (const t of children(set, 'Tag')) {
    const k = text(t, 'Key');
    const v = text(t, 'Value') ?? '';
    if (k === undefined) throw malformedXml();
    if (k in tags) throw new AwsError('InvalidTag', 'Cannot provide multiple Tags with the same key');
    tags[k] = v;
  }
  validateTags(tags, max);
  return tags;
}

const tagSet = (t: Record<string, string> | null) => ({ TagSet: Object.entries(t ?? {}).map(([Key, Value]) => ({ Key, Value })) });

const getBucketTagging: OpHandler = async (ctx, b) => {
  if (!b!.tagging) throw new AwsError('NoSuchTagSet', 'The TagSet does not exist', { status: 404, fields: { BucketName: b!.name } });
  sendXml(ctx, 'GetBucketTaggingOutput', tagSet(b!.tagging));
};

const putBucketTagging: OpHandler = async (ctx, b) => {
  await ctx.walrus.updateBucket(b!.name, { tagging: tagsFromXml(await readSmallBody(ctx), 50) });
  sendEmpty(ctx, 204);
};

const deleteBucketTagging: OpHandler = async (ctx, b) => {
  await ctx.walrus.updateBucket(b!.name, { tagging: null });
  sendEmpty(ctx, 204);
};

const getBucketCors: OpHandler = async (ctx, b) => {
  if (!b!.cors) throw new AwsError('NoSuchCORSConfiguration', 'The CORS configuration does not exist', { status: 404, fields: { BucketName: b!.name } });
  sendXml(ctx, 'GetBucketCorsOutput', {
    CORSRules: b!.cors.map((r) => ({
      ...(r.id ? { ID: r.id } : {}), AllowedOrigins: r.allowedOrigins, AllowedMethods: r.allowedMethods,
      ...(r.allowedHeaders.length ? { AllowedHeaders: r.allowedHeaders } : {}), ...(r.exposeHeaders.length ? { ExposeHeaders: r.exposeHeaders } : {}),
      ...(r.maxAgeSeconds !== undefined ? { MaxAgeSeconds: r.maxAgeSeconds } : {}),
    })),
  });
};

const putBucketCors: OpHandler = async (ctx, b) => {
  const doc = parseXmlBody(await readSmallBody(ctx), 'CORSConfiguration');
  const rules: CorsRule[] = children(doc, 'CORSRule').map((r) => {
    const methods = texts(r, 'AllowedMethod');
    const origins = texts(r, 'AllowedOrigin');
    if (!methods.length || !origins.length) throw malformedXml();
    for (const m of methods) {
      if (!['GET', 'PUT', 'POST', 'DELETE', 'HEAD'].includes(m)) throw invalidArgument(`Found unsupported HTTP method in CORS config. Unsupported method is ${m}`, 'AllowedMethod', m);
    }
    const age = text(r, 'MaxAgeSeconds');
    const id = text(r, 'ID');
    return {
      ...(id !== undefined ? { id } : {}), allowedOrigins: origins, allowedMethods: methods, allowedHeaders: texts(r, 'AllowedHeader'),
      exposeHeaders: texts(r, 'ExposeHeader'), ...(age !== undefined ? { maxAgeSeconds: Number(age) } : {}),
    };
  });
  if (!rules.length) throw malformedXml();
  await ctx.walrus.updateBucket(b!.name, { cors: rules });
  sendEmpty(ctx);
};

const deleteBucketCors: OpHandler = async (ctx, b) => {
  await ctx.walrus.updateBucket(b!.name, { cors: null });
  sendEmpty(ctx, 204);
};

function num(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  if (!/^\d+$/.test(s.trim())) throw malformedXml();
  return Number(s);
}

const putBucketLifecycle: OpHandler = async (ctx, b) => {
  const doc = parseXmlBody(await readSmallBody(ctx), 'LifecycleConfiguration');
  const rules: LifecycleRule[] = children(doc, 'Rule').map((r) => {
    const status = text(r, 'Status');
    if (status !== 'Enabled' && status !== 'Disabled') throw malformedXml();
    const filter = child(r, 'Filter');
    const and = child(filter, 'And');
    const prefix = text(r, 'Prefix') ?? text(filter, 'Prefix') ?? text(and, 'Prefix') ?? '';
    const tagNodes = [...children(filter, 'Tag'), ...children(and, 'Tag')];
    const tags = tagNodes.length ? Object.fromEntries(tagNodes.map((t) => [text(t, 'Key') ?? '', text(t, 'Value') ?? ''])) : undefined;
    const exp = child(r, 'Expiration');
    const nce = child(r, 'NoncurrentVersionExpiration');
    const abort = child(r, 'AbortIncompleteMultipartUpload');
    const rule: LifecycleRule = { status, prefix };
    const id = text(r, 'ID');
    if (id !== undefined) rule.id = id;
    if (tags) rule.tags = tags;
    const days = num(text(exp, 'Days'));
    if (days !== undefined) {
      if (days <= 0) throw invalidArgument('\'Days\' for Expiration action must be a positive integer', 'Days', String(days));
      rule.expirationDays = days;
    }
    const date = text(exp, 'Date');
    if (date !== undefined) {
      const t = Date.parse(date);
      if (Number.isNaN(t)) throw malformedXml();
      rule.expirationDate = t;
    }
    if (text(exp, 'ExpiredObjectDeleteMarker') === 'true') rule.expiredObjectDeleteMarker = true;
    const nd = num(text(nce, 'NoncurrentDays'));
    if (nd !== undefined) rule.noncurrentDays = nd;
    const nn = num(text(nce, 'NewerNoncurrentVersions'));
    if (nn !== undefined) rule.newerNoncurrentVersions = nn;
    const ad = num(text(abort, 'DaysAfterInitiation'));
    if (ad !== undefined) rule.abortIncompleteDays = ad;
    if (!exp && !nce && !abort && !child(r, 'Transition') && !child(r, 'NoncurrentVersionTransition')) throw malformedXml();
    return rule;
  });
  if (!rules.length) throw malformedXml();
  await ctx.walrus.updateBucket(b!.name, { lifecycle: rules });
  sendEmpty(ctx);
};

const getBucketLifecycle: OpHandler = async (ctx, b) => {
  if (!b!.lifecycle) throw new AwsError('NoSuchLifecycleConfiguration', 'The lifecycle configuration does not exist', { status: 404, fields: { BucketName: b!.name } });
  sendXml(ctx, 'GetBucketLifecycleConfigurationOutput', {
    Rules: b!.lifecycle.map((r) => {
      const tagList = Object.entries(r.tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
      const filter = tagList.length > 1 || (tagList.length === 1 && r.prefix)
        ? { And: { Prefix: r.prefix, Tags: tagList } }
        : tagList.length === 1 ? { Tag: tagList[0] } : { Prefix: r.prefix };
      return {
        ...(r.id !== undefined ? { ID: r.id } : {}), Filter: filter, Status: r.status,
        ...(r.expirationDays !== undefined || r.expirationDate !== undefined || r.expiredObjectDeleteMarker
          ? { Expiration: { ...(r.expirationDays !== undefined ? { Days: r.expirationDays } : {}), ...(r.expirationDate !== undefined ? { Date: new Date(r.expirationDate) } : {}), ...(r.expiredObjectDeleteMarker ? { ExpiredObjectDeleteMarker: true } : {}) } }
          : {}),
        ...(r.noncurrentDays !== undefined || r.newerNoncurrentVersions !== undefined
          ? { NoncurrentVersionExpiration: { ...(r.noncurrentDays !== undefined ? { NoncurrentDays: r.noncurrentDays } : {}), ...(r.newerNoncurrentVersions !== undefined ? { NewerNoncurrentVersions: r.newerNoncurrentVersions } : {}) } }
          : {}),
        ...(r.abortIncompleteDays !== undefined ? { AbortIncompleteMultipartUpload: { DaysAfterInitiation: r.abortIncompleteDays } } : {}),
      };
    }),
  });
};

const deleteBucketLifecycle: OpHandler = async (ctx, b) => {
  await ctx.walrus.updateBucket(b!.name, { lifecycle: null });
  sendEmpty(ctx, 204);
};

// ------------------------------------------------------------------ objects

function checkCommon(ctx: S3Context): void {
  for (const h of ['x-amz-server-side-encryption-customer-algorithm', 'x-amz-server-side-encryption-aws-kms-key-id']) {
    if (header(ctx, h) !== undefined) throw new AwsError('NotImplemented', `The ${h} header is not implemented`, { status: 501 });
  }
}

function writeConditions(ctx: S3Context) {
  const ifMatch = header(ctx, 'if-match');
  const ifNoneMatch = header(ctx, 'if-none-match');
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
    throw new AwsError('NotImplemented', 'A header you provided implies functionality that is not implemented', { status: 501, fields: { Header: 'If-None-Match' } });
  }
  return { ...(ifMatch !== undefined ? { ifMatch } : {}), ...(ifNoneMatch !== undefined ? { ifNoneMatch } : {}) };
}

function checksumHeaders(c: ObjectVersion['checksums'] | { values: Record<string, string>; type?: string }): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [a, v] of Object.entries(c.values)) h[`x-amz-checksum-${a.toLowerCase()}`] = v;
  if (Object.keys(c.values).length) h['x-amz-checksum-type'] = c.type ?? 'FULL_OBJECT';
  return h;
}

const putObject: OpHandler = async (ctx, b) => {
  checkCommon(ctx);
  const key = requireKey(ctx);
  if (Buffer.byteLength(key) > 1024) throw new AwsError('KeyTooLongError', 'Your key is too long');
  const o = ownerOf(ctx);
  const acl = aclFromHeaders(ctx, o, b!.owner) ?? cannedAcl('private', o);
  const headers = objectHeaders(ctx);
  const metadata = userMetadata(ctx);
  const tagging = parseTagging(header(ctx, 'x-amz-tagging'));
  const cond = writeConditions(ctx);
  if (ctx.contentLength !== undefined && ctx.contentLength > 5 * 1024 ** 3) {
    throw new AwsError('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', { fields: { ProposedSize: String(ctx.contentLength), MaxSizeAllowed: String(5 * 1024 ** 3) } });
  }
  const r = await receiveBody(ctx, { maxSize: 5 * 1024 ** 3, inline: true });
  let v: ObjectVersion;
  try {
    v = await ctx.walrus.commitObject(b!.name, key, {
      owner: o, size: r.size, etag: r.md5, headers, metadata, checksums: { type: 'FULL_OBJECT', values: r.verified },
      blobs: r.data ? [] : [{ id: r.blobId, size: r.size }], acl, tagging, ...(r.data ? { data: r.data } : {}),
    }, cond);
  } catch (e) {
    if (!r.data) await ctx.blobs.delete(r.blobId);
    throw e;
  }
  sendEmpty(ctx, 200, { etag: quoted(v.etag), ...versionHeader(b!, v), ...checksumHeaders(v.checksums) });
};

function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** Last-Modified of a version, formatted once per version object (cached versions are shared and never mutated). */
const lastModifiedOf = new WeakMap<ObjectVersion, string>();
function lastModified(v: ObjectVersion): string {
  let s = lastModifiedOf.get(v);
  if (s === undefined) {
    s = httpDate(v.lastModified);
    lastModifiedOf.set(v, s);
  }
  return s;
}

function parseDate(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

function preconditionFailed(condition: string): AwsError {
  return new AwsError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { status: 412, fields: { Condition: condition } });
}

/** GET/HEAD conditionals (RFC 7232 as S3 applies them). Returns 304 or throws 412; undefined to proceed. */
function readConditions(ctx: S3Context, v: ObjectVersion): 304 | undefined {
  const ifMatch = header(ctx, 'if-match');
  const ifNoneMatch = header(ctx, 'if-none-match');
  const ims = parseDate(header(ctx, 'if-modified-since'));
  const ius = parseDate(header(ctx, 'if-unmodified-since'));
  const lm = Math.floor(v.lastModified / 1000) * 1000;
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, v.etag)) throw preconditionFailed('If-Match');
  } else if (ius !== undefined && lm > ius) {
    throw preconditionFailed('If-Unmodified-Since');
  }
  if (ifNoneMatch !== undefined) {
    if (etagMatches(ifNoneMatch, v.etag)) return 304;
  } else if (ims !== undefined && lm <= ims) {
    return 304;
  }
  return undefined;
}

const RESPONSE_OVERRIDES: [string, string][] = [
  ['response-content-type', 'content-type'], ['response-content-language', 'content-language'], ['response-expires', 'expires'],
  ['response-cache-control', 'cache-control'], ['response-content-disposition', 'content-disposition'], ['response-content-encoding', 'content-encoding'],
];

function objectResponseHeaders(ctx: S3Context, b: Bucket, v: ObjectVersion): Record<string, string> {
  const h: Record<string, string> = {
    'last-modified': lastModified(v), etag: quoted(v.etag), 'accept-ranges': 'bytes', 'content-type': 'binary/octet-stream',
  };
  for (const [k, val] of Object.entries(v.headers)) if (val !== undefined) h[k] = val;
  for (const [k, val] of Object.entries(v.metadata)) h[`x-amz-meta-${k}`] = val;
  Object.assign(h, versionHeader(b, v));
  if (v.tagging && Object.keys(v.tagging).length) h['x-amz-tagging-count'] = String(Object.keys(v.tagging).length);
  if (v.blobs.length > 1) h['x-amz-mp-parts-count'] = String(v.blobs.length);
  const whole = header(ctx, 'range') === undefined && queryParam(ctx, 'partNumber') === undefined;
  if (whole && header(ctx, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED') Object.assign(h, checksumHeaders(v.checksums));
  for (const [q, name] of RESPONSE_OVERRIDES) {
    const val = queryParam(ctx, q);
    if (val !== undefined) {
      if (ctx.principal.kind === 'anonymous') throw new AwsError('InvalidRequest', 'Request specific response headers cannot be used for anonymous GET requests.');
      h[name] = val;
    }
  }
  return h;
}

async function getOrHead(ctx: S3Context, b: Bucket, head: boolean): Promise<void> {
  checkCommon(ctx);
  const key = requireKey(ctx);
  const versionId = queryParam(ctx, 'versionId');
  const l = ctx.looked;
  const v = l && l.bucket === b.name && l.key === key && l.versionId === versionId
    ? ctx.walrus.readable(l.v, key, versionId)
    : await ctx.walrus.getObject(b.name, key, versionId);
  const headers = objectResponseHeaders(ctx, b, v);
  if (readConditions(ctx, v) === 304) {
    const keep: Record<string, string> = {};
    for (const k of ['etag', 'last-modified', 'x-amz-version-id']) if (headers[k]) keep[k] = headers[k]!;
    ctx.res.writeHead(304, keep);
    ctx.res.end();
    return;
  }
  let start = 0;
  let end = v.size - 1;
  let status = 200;
  const partNumber = queryParam(ctx, 'partNumber');
  if (partNumber !== undefined) {
    const n = Number(partNumber);
    if (!/^\d+$/.test(partNumber) || n < 1 || n > 10000) throw invalidArgument('Part number must be an integer between 1 and 10000, inclusive', 'partNumber', partNumber);
    if (n > v.blobs.length) throw invalidRange(v.size);
    start = v.blobs.slice(0, n - 1).reduce((s, x) => s + x.size, 0);
    end = start + v.blobs[n - 1]!.size - 1;
    headers['x-amz-mp-parts-count'] = String(v.blobs.length);
    if (v.blobs.length > 1 || n > 1) {
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${v.size}`;
    }
  } else {
    const range = parseRange(header(ctx, 'range'), v.size);
    if (range) {
      [start, end] = range;
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${v.size}`;
    }
  }
  headers['content-length'] = String(Math.max(end - start + 1, 0));
  if (head) {
    ctx.res.writeHead(status, headers);
    ctx.res.end();
    return;
  }
  const handles = await openVersion(ctx, v);
  if (handles.length === 1 && end - start < 256 * 1024) {
    // small reads: one read, one write
    const buf = await handles[0]!.readAll(start, end);
    ctx.res.writeHead(status, headers);
    ctx.res.end(buf);
    return;
  }
  ctx.res.writeHead(status, headers);
  await sendRange(ctx, handles, start, end);
}

const getObject: OpHandler = async (ctx, b) => getOrHead(ctx, b!, false);
const headObject: OpHandler = async (ctx, b) => getOrHead(ctx, b!, true);

const deleteObject: OpHandler = async (ctx, b) => {
  const key = requireKey(ctx);
  const versionId = queryParam(ctx, 'versionId');
  const r = await ctx.walrus.deleteObject(b!.name, key, ownerOf(ctx), versionId);
  const h: Record<string, string> = {};
  if (r.deleteMarker) h['x-amz-delete-marker'] = 'true';
  if (r.versionId !== undefined && (b!.versioning !== '' || versionId !== undefined)) h['x-amz-version-id'] = r.versionId;
  sendEmpty(ctx, 204, h);
};

const deleteObjects: OpHandler = async (ctx, b) => {
  const body = await readSmallBody(ctx, 2 * 1024 * 1024);
  const doc = parseXmlBody(body, 'Delete');
  const quiet = text(doc, 'Quiet') === 'true';
  const objs = children(doc, 'Object');
  if (objs.length > 1000) throw malformedXml();
  const deleted: unknown[] = [];
  const errors: unknown[] = [];
  for (const o of objs) {
    const key = text(o, 'Key');
    if (key === undefined) throw malformedXml();
    const versionId = text(o, 'VersionId');
    try {
      await authorizeAction(ctx, b!, versionId !== undefined ? 's3:DeleteObjectVersion' : 's3:DeleteObject', key, 'DeleteObject');
      const r = await ctx.walrus.deleteObject(b!.name, key, ownerOf(ctx), versionId);
      if (!quiet) {
        deleted.push({
          Key: key, ...(versionId !== undefined ? { VersionId: versionId } : {}),
          ...(r.deleteMarker ? { DeleteMarker: true, ...(r.versionId !== undefined && versionId === undefined ? { DeleteMarkerVersionId: r.versionId } : {}) } : {}),
        });
      }
    } catch (e) {
      const err = e instanceof AwsError ? e : new AwsError('InternalError', 'We encountered an internal error. Please try again.');
      errors.push({ Key: key, ...(versionId !== undefined ? { VersionId: versionId } : {}), Code: err.code, Message: err.message });
    }
  }
  sendXml(ctx, 'DeleteObjectsOutput', { Deleted: deleted, Errors: errors });
};

/** Parses `x-amz-copy-source`: `[/]bucket/key[?versionId=…]`, URL-encoded. */
function copySource(ctx: S3Context): { bucket: string; key: string; versionId?: string } {
  const raw = header(ctx, 'x-amz-copy-source') ?? '';
  let s = raw;
  let versionId: string | undefined;
  const q = s.indexOf('?');
  if (q >= 0) {
    const params = new URLSearchParams(s.slice(q + 1));
    versionId = params.get('versionId') ?? undefined;
    s = s.slice(0, q);
  }
  s = decodePathPart(s);
  if (s.startsWith('/')) s = s.slice(1);
  const i = s.indexOf('/');
  if (i <= 0 || i === s.length - 1) throw invalidArgument('Invalid copy source object key', 'x-amz-copy-source', raw);
  return { bucket: s.slice(0, i), key: s.slice(i + 1), ...(versionId !== undefined ? { versionId } : {}) };
}

/** Loads and authorizes the copy source, checking x-amz-copy-source-if-* conditions. */
async function loadCopySource(ctx: S3Context): Promise<{ src: ObjectVersion; srcBucket: Bucket }> {
  const cs = copySource(ctx);
  const srcBucket = await ctx.walrus.getBucket(cs.bucket);
  await authorizeAction(ctx, srcBucket, cs.versionId !== undefined ? 's3:GetObjectVersion' : 's3:GetObject', cs.key, 'GetObject');
  const src = await ctx.walrus.getObject(cs.bucket, cs.key, cs.versionId);
  const lm = Math.floor(src.lastModified / 1000) * 1000;
  const im = header(ctx, 'x-amz-copy-source-if-match');
  const inm = header(ctx, 'x-amz-copy-source-if-none-match');
  const ims = parseDate(header(ctx, 'x-amz-copy-source-if-modified-since'));
  const ius = parseDate(header(ctx, 'x-amz-copy-source-if-unmodified-since'));
  if (im !== undefined && !etagMatches(im, src.etag)) throw preconditionFailed('x-amz-copy-source-If-Match');
  if (inm !== undefined && etagMatches(inm, src.etag)) throw preconditionFailed('x-amz-copy-source-If-None-Match');
  if (im === undefined && ius !== undefined && lm > ius) throw preconditionFailed('x-amz-copy-source-If-Unmodified-Since');
  if (inm === undefined && ims !== undefined && lm <= ims) throw preconditionFailed('x-amz-copy-source-If-Modified-Since');
  return { src, srcBucket };
}

async function copyBytes(ctx: S3Context, src: ObjectVersion, start: number, end: number) {
  const handles = await openVersion(ctx, src);
  const algos = Object.keys(src.checksums.values);
  const checksums = Object.fromEntries(algos.filter((a) => checksumFactory(a)).map((a) => [a, checksumFactory(a)!()]));
  return ctx.blobs.write(rangeOf(handles, start, end), { checksums });
}

const copyObject: OpHandler = async (ctx, b) => {
  checkCommon(ctx);
  const key = requireKey(ctx);
  const { src, srcBucket } = await loadCopySource(ctx);
  const directive = (header(ctx, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  const tagDirective = (header(ctx, 'x-amz-tagging-directive') ?? 'COPY').toUpperCase();
  if (!['COPY', 'REPLACE'].includes(directive)) throw invalidArgument('Unknown metadata directive.', 'x-amz-metadata-directive', directive);
  if (srcBucket.name === b!.name && src.key === key && directive === 'COPY' && queryParam(ctx, 'versionId') === undefined && b!.versioning !== 'Enabled'
    && header(ctx, 'x-amz-storage-class') === undefined && header(ctx, 'x-amz-website-redirect-location') === undefined) {
    throw new AwsError('InvalidRequest', 'This copy request is illegal because it is trying to copy an object to itself without changing the object\'s metadata, storage class, website redirect location or encryption attributes.');
  }
  const o = ownerOf(ctx);
  const acl = aclFromHeaders(ctx, o, b!.owner) ?? cannedAcl('private', o);
  const headers = directive === 'REPLACE' ? objectHeaders(ctx) : src.headers;
  const metadata = directive === 'REPLACE' ? userMetadata(ctx) : src.metadata;
  const tagging = tagDirective === 'REPLACE' ? parseTagging(header(ctx, 'x-amz-tagging')) : src.tagging;
  const cond = writeConditions(ctx);
  const r = await copyBytes(ctx, src, 0, src.size - 1);
  let v: ObjectVersion;
  try {
    v = await ctx.walrus.commitObject(b!.name, key, {
      owner: o, size: r.size, etag: src.blobs.length > 1 ? r.md5 : r.md5, headers, metadata,
      checksums: { type: 'FULL_OBJECT', values: r.checksums }, blobs: [{ id: r.blobId, size: r.size }], acl, tagging,
    }, cond);
  } catch (e) {
    await ctx.blobs.delete(r.blobId);
    throw e;
  }
  const h: Record<string, string> = { ...versionHeader(b!, v) };
  if (srcBucket.versioning !== '') h['x-amz-copy-source-version-id'] = src.versionId;
  sendXml(ctx, 'CopyObjectResult', { ETag: quoted(v.etag), LastModified: s3Time(v.lastModified), ...Object.fromEntries(Object.entries(r.checksums).map(([a, val]) => [`Checksum${a}`, val])) }, 200, h);
};

const getObjectAcl: OpHandler = async (ctx, b) => {
  const v = await ctx.walrus.getObject(b!.name, requireKey(ctx), queryParam(ctx, 'versionId'));
  sendXml(ctx, 'GetObjectAclOutput', aclOutput(v.owner, v.acl), 200, versionHeader(b!, v));
};

const putObjectAcl: OpHandler = async (ctx, b) => {
  const v = await ctx.walrus.getObject(b!.name, requireKey(ctx), queryParam(ctx, 'versionId'));
  const acl = await requestedAcl(ctx, v.owner, b!.owner);
  await ctx.walrus.updateObject(b!.name, v.key, v.versionId, { acl });
  sendEmpty(ctx, 200, versionHeader(b!, v));
};

const getObjectTagging: OpHandler = async (ctx, b) => {
  const v = await ctx.walrus.getObject(b!.name, requireKey(ctx), queryParam(ctx, 'versionId'));
  sendXml(ctx, 'GetObjectTaggingOutput', tagSet(v.tagging), 200, versionHeader(b!, v));
};

const putObjectTagging: OpHandler = async (ctx, b) => {
  const v = await ctx.walrus.getObject(b!.name, requireKey(ctx), queryParam(ctx, 'versionId'));
  const tags = tagsFromXml(await readSmallBody(ctx), 10);
  await ctx.walrus.updateObject(b!.name, v.key, v.versionId, { tagging: tags });
  sendEmpty(ctx, 200, versionHeader(b!, v));
};

const deleteObjectTagging: OpHandler = async (ctx, b) => {
  const v = await ctx.walrus.getObject(b!.name, requireKey(ctx), queryParam(ctx, 'versionId'));
  await ctx.walrus.updateObject(b!.name, v.key, v.versionId, { tagging: null });
  sendEmpty(ctx, 204, versionHeader(b!, v));
};

// ------------------------------------------------------------------ multipart

const createMultipartUpload: OpHandler = async (ctx, b) => {
  checkCommon(ctx);
  const key = requireKey(ctx);
  const o = ownerOf(ctx);
  const algo = header(ctx, 'x-amz-checksum-algorithm');
  if (algo !== undefined && !checksumFactory(algo)) throw invalidArgument('Checksum algorithm provided is unsupported.', 'x-amz-checksum-algorithm', algo);
  const u = await ctx.walrus.createUpload({
    bucket: b!.name, key, owner: o, initiatorArn: ctx.principal.arn, initiatorId: ctx.principal.userId, headers: objectHeaders(ctx),
    metadata: userMetadata(ctx), acl: aclFromHeaders(ctx, o, b!.owner) ?? cannedAcl('private', o), tagging: parseTagging(header(ctx, 'x-amz-tagging')),
    checksumAlgorithm: algo ? algo.toUpperCase() : null,
  });
  sendXml(ctx, 'CreateMultipartUploadOutput', { Bucket: b!.name, Key: key, UploadId: u.uploadId }, 200, algo ? { 'x-amz-checksum-algorithm': algo.toUpperCase() } : {});
};

function partNumberParam(ctx: S3Context): number {
  const p = queryParam(ctx, 'partNumber') ?? '';
  const n = Number(p);
  if (!/^\d+$/.test(p) || n < 1 || n > ctx.walrus.maxParts) throw invalidArgument('Part number must be an integer between 1 and 10000, inclusive', 'partNumber', p);
  return n;
}

const uploadPart: OpHandler = async (ctx, b) => {
  checkCommon(ctx);
  const key = requireKey(ctx);
  const uploadId = queryParam(ctx, 'uploadId') ?? '';
  const partNumber = partNumberParam(ctx);
  const up = await ctx.walrus.getUpload(b!.name, key, uploadId);
  const r = await receiveBody(ctx, { maxSize: 5 * 1024 ** 3, checksumAlgorithm: up.checksumAlgorithm });
  try {
    await ctx.walrus.commitPart(b!.name, key, uploadId, { partNumber, size: r.size, etag: r.md5, blobId: r.blobId, checksums: r.verified, lastModified: Date.now() });
  } catch (e) {
    await ctx.blobs.delete(r.blobId);
    throw e;
  }
  sendEmpty(ctx, 200, { etag: quoted(r.md5), ...checksumHeaders({ values: r.verified }) });
};

const uploadPartCopy: OpHandler = async (ctx, b) => {
  const key = requireKey(ctx);
  const uploadId = queryParam(ctx, 'uploadId') ?? '';
  const partNumber = partNumberParam(ctx);
  await ctx.walrus.getUpload(b!.name, key, uploadId);
  const { src } = await loadCopySource(ctx);
  let start = 0;
  let end = src.size - 1;
  const range = header(ctx, 'x-amz-copy-source-range');
  if (range !== undefined) {
    const m = /^bytes=(\d+)-(\d+)$/.exec(range.trim());
    if (!m || Number(m[2]) < Number(m[1]) || Number(m[2]) >= src.size) {
      throw new AwsError('InvalidArgument', 'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy', {
        fields: { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: range },
      });
    }
    start = Number(m[1]);
    end = Number(m[2]);
  }
  const r = await copyBytes(ctx, src, start, end);
  const now = Date.now();
  try {
    await ctx.walrus.commitPart(b!.name, key, uploadId, { partNumber, size: r.size, etag: r.md5, blobId: r.blobId, checksums: {}, lastModified: now });
  } catch (e) {
    await ctx.blobs.delete(r.blobId);
    throw e;
  }
  sendXml(ctx, 'CopyPartResult', { ETag: quoted(r.md5), LastModified: s3Time(now) });
};

/** COMPOSITE checksum of a multipart object: checksum of the parts' binary checksums, then `-N`. */
function compositeChecksum(algo: string | null) {
  return (parts: Part[]): ObjectVersion['checksums'] => {
    if (!algo || !checksumFactory(algo) || parts.some((p) => p.checksums[algo] === undefined)) return { values: {} };
    const c = checksumFactory(algo)!();
    for (const p of parts) c.update(Buffer.from(p.checksums[algo]!, 'base64'));
    return { type: 'COMPOSITE', values: { [algo]: `${c.digest()}-${parts.length}` } };
  };
}

const completeMultipartUpload: OpHandler = async (ctx, b) => {
  const key = requireKey(ctx);
  const uploadId = queryParam(ctx, 'uploadId') ?? '';
  const up = await ctx.walrus.getUpload(b!.name, key, uploadId);
  const doc = parseXmlBody(await readSmallBody(ctx, 4 * 1024 * 1024), 'CompleteMultipartUpload');
  const list = children(doc, 'Part').map((p) => {
    const n = text(p, 'PartNumber');
    const etag = text(p, 'ETag');
    if (n === undefined || etag === undefined || !/^\d+$/.test(n.trim())) throw malformedXml();
    return { partNumber: Number(n), etag };
  });
  const v = await ctx.walrus.completeUpload(b!.name, key, uploadId, list, writeConditions(ctx), compositeChecksum(up.checksumAlgorithm));
  const location = `${ctx.baseUrl}${ctx.virtualHost ? '' : `/${b!.name}`}/${key.split('/').map(encodeURIComponent).join('/')}`;
  sendXml(ctx, 'CompleteMultipartUploadOutput', {
    Location: location, Bucket: b!.name, Key: key, ETag: quoted(v.etag),
    ...Object.fromEntries(Object.entries(v.checksums.values).map(([a, val]) => [`Checksum${a}`, val])),
    ...(Object.keys(v.checksums.values).length ? { ChecksumType: v.checksums.type } : {}),
  }, 200, versionHeader(b!, v));
};

const abortMultipartUpload: OpHandler = async (ctx, b) => {
  await ctx.walrus.abortUpload(b!.name, requireKey(ctx), queryParam(ctx, 'uploadId') ?? '');
  sendEmpty(ctx, 204);
};

const listParts: OpHandler = async (ctx, b) => {
  const key = requireKey(ctx);
  const uploadId = queryParam(ctx, 'uploadId') ?? '';
  const up = await ctx.walrus.getUpload(b!.name, key, uploadId);
  const marker = Number(queryParam(ctx, 'part-number-marker') ?? '0') || 0;
  const max = maxKeysParam(ctx, 'max-parts');
  const r = await ctx.walrus.listParts(uploadId, marker, max);
  const last = r.parts[r.parts.length - 1];
  sendXml(ctx, 'ListPartsOutput', {
    Bucket: b!.name, Key: key, UploadId: uploadId, PartNumberMarker: marker, MaxParts: max, IsTruncated: r.truncated,
    ...(last ? { NextPartNumberMarker: last.partNumber } : {}),
    Initiator: { ID: up.initiatorArn, DisplayName: up.owner.displayName }, Owner: owner(up.owner), StorageClass: 'STANDARD',
    ...(up.checksumAlgorithm ? { ChecksumAlgorithm: up.checksumAlgorithm } : {}),
    Parts: r.parts.map((p) => ({
      PartNumber: p.partNumber, LastModified: s3Time(p.lastModified), ETag: quoted(p.etag), Size: p.size,
      ...Object.fromEntries(Object.entries(p.checksums).map(([a, val]) => [`Checksum${a}`, val])),
    })),
  });
};

const listMultipartUploads: OpHandler = async (ctx, b) => {
  const enc = encoding(ctx);
  const prefix = queryParam(ctx, 'prefix') ?? '';
  const delimiter = queryParam(ctx, 'delimiter') ?? '';
  const keyMarker = queryParam(ctx, 'key-marker') ?? '';
  const uploadIdMarker = queryParam(ctx, 'upload-id-marker') ?? '';
  const max = maxKeysParam(ctx, 'max-uploads');
  const r = await ctx.walrus.listUploads(b!.name, { prefix, delimiter, keyMarker, uploadIdMarker, maxUploads: max });
  sendXml(ctx, 'ListMultipartUploadsOutput', {
    Bucket: b!.name, KeyMarker: enc(keyMarker), UploadIdMarker: uploadIdMarker, Prefix: enc(prefix), MaxUploads: max, IsTruncated: r.truncated,
    ...(delimiter ? { Delimiter: enc(delimiter) } : {}),
    ...(r.truncated && r.nextKeyMarker !== undefined ? { NextKeyMarker: enc(r.nextKeyMarker), NextUploadIdMarker: r.nextUploadIdMarker } : {}),
    ...(queryParam(ctx, 'encoding-type') === 'url' ? { EncodingType: 'url' } : {}),
    Uploads: r.uploads.map((u) => ({
      UploadId: u.uploadId, Key: enc(u.key), Initiated: s3Time(u.createdAt), StorageClass: 'STANDARD', Owner: owner(u.owner),
      Initiator: { ID: u.initiatorArn, DisplayName: u.owner.displayName },
    })),
    CommonPrefixes: r.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
  });
};

void successor;

export const OPS: Record<string, OpHandler> = {
  ListBuckets: listBuckets, CreateBucket: createBucket, DeleteBucket: deleteBucket, HeadBucket: headBucket, GetBucketLocation: getBucketLocation,
  ListObjects: listObjects, ListObjectsV2: listObjectsV2, ListObjectVersions: listObjectVersions,
  GetBucketVersioning: getBucketVersioning, PutBucketVersioning: putBucketVersioning,
  GetBucketAcl: getBucketAcl, PutBucketAcl: putBucketAcl,
  GetBucketPolicy: getBucketPolicy, PutBucketPolicy: putBucketPolicy, DeleteBucketPolicy: deleteBucketPolicy,
  GetBucketTagging: getBucketTagging, PutBucketTagging: putBucketTagging, DeleteBucketTagging: deleteBucketTagging,
  GetBucketCors: getBucketCors, PutBucketCors: putBucketCors, DeleteBucketCors: deleteBucketCors,
  GetBucketLifecycleConfiguration: getBucketLifecycle, PutBucketLifecycleConfiguration: putBucketLifecycle, DeleteBucketLifecycle: deleteBucketLifecycle,
  PutObject: putObject, GetObject: getObject, HeadObject: headObject, DeleteObject: deleteObject, DeleteObjects: deleteObjects, CopyObject: copyObject,
  GetObjectAcl: getObjectAcl, PutObjectAcl: putObjectAcl,
  GetObjectTagging: getObjectTagging, PutObjectTagging: putObjectTagging, DeleteObjectTagging: deleteObjectTagging,
  CreateMultipartUpload: createMultipartUpload, UploadPart: uploadPart, UploadPartCopy: uploadPartCopy,
  CompleteMultipartUpload: completeMultipartUpload, AbortMultipartUpload: abortMultipartUpload, ListParts: listParts, ListMultipartUploads: listMultipartUploads,
};
