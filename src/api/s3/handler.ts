/**
 * @module api/s3/handler
 * The S3 HTTP front: `createS3Handler(deps)` returns a node:http request listener that routes, authenticates,
 * authorizes and runs one S3 operation, streaming bodies both ways. Mount it on Walrus's own port (prefix '') or
 * under `/services/objectstorage` in the CLC gateway (prefix '/services/objectstorage').
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { AwsError, toAwsError, requestId as newRequestId, silentLogger, type CredentialStore, type Logger, type Principal } from '../../shared/index.js';
import type { Walrus, Bucket, Permission } from '../../walrus/index.js';
import { resolveS3, type S3Route } from './router.js';
import { ANONYMOUS, authorizeS3, type IdentityPolicies, type ResourceFacts } from './authz.js';
import { errorXml } from './xml.js';
import { s3Arn, type S3Context, type BodyCheck, type OpHandler } from './context.js';
import { OPS } from './ops.js';
import { corsHeadersFor, preflight } from './cors.js';
import { postObject } from './post.js';

/** What authentication tells the handler about one request. */
export interface S3AuthOutcome {
  /** The caller; null for an anonymous request. */
  principal: Principal | null;
  /** Removes aws-chunked framing (verifying chunk signatures) when the body uses it. */
  decodeBody?: (raw: Readable) => { stream: AsyncIterable<Uint8Array>; trailers(): Record<string, string> };
  bodyCheck: BodyCheck;
  /** Body length after decoding, when known. */
  decodedLength?: number;
}

/** Verifies a request's signature (header, presigned, SigV2) and says who is calling. Throws AwsError when refused. */
export type S3Authenticator = (req: IncomingMessage, rawPath: string, rawQuery: string, virtualHostBucket?: string) => Promise<S3AuthOutcome>;

export interface S3HandlerDeps {
  walrus: Walrus;
  /** Signature verification (see `sigv4Authenticator`). */
  authenticate: S3Authenticator;
  /** Access keys, for browser POST uploads (the form's signature is over its policy document). */
  credentials?: CredentialStore;
  /** The caller's IAM policies (users other than their account's admin need them); none when absent. */
  identityPolicies?: IdentityPolicies;
  region: string;
  /** Virtual-host style domain (`<bucket>.<s3Domain>`). */
  s3Domain?: string;
  /** Path prefix this handler serves (`/services/objectstorage`), '' for `/`. */
  prefix?: string;
  log?: Logger;
  /**
   * Quota check (Eucalyptus `Limit` policies) before a resource is created: throws the S3 error when `usage` (the
   * counts after the creation, e.g. `{'s3:quota-bucketnumber': n}`) exceeds the principal's limits.
   */
  quota?: (principal: Principal, action: string, usage: Record<string, number>) => Promise<void>;
}

export type S3RequestListener = ((req: IncomingMessage, res: ServerResponse) => void) & {
  /** Whether a request path belongs to this handler (under its prefix). */
  matches(path: string): boolean;
};

const HOST_ID = randomBytes(24).toString('base64');

/** Which ACL permission, on what, can allow an operation. */
const ACL_NEEDS: Record<string, [on: 'bucket' | 'object', perm: Permission]> = {
  ListObjects: ['bucket', 'READ'], ListObjectsV2: ['bucket', 'READ'], ListObjectVersions: ['bucket', 'READ'], HeadBucket: ['bucket', 'READ'],
  ListMultipartUploads: ['bucket', 'READ'],
  GetObject: ['object', 'READ'], HeadObject: ['object', 'READ'],
  PutObject: ['bucket', 'WRITE'], CopyObject: ['bucket', 'WRITE'], DeleteObject: ['bucket', 'WRITE'], DeleteObjects: ['bucket', 'WRITE'],
  CreateMultipartUpload: ['bucket', 'WRITE'], UploadPart: ['bucket', 'WRITE'], UploadPartCopy: ['bucket', 'WRITE'],
  CompleteMultipartUpload: ['bucket', 'WRITE'], AbortMultipartUpload: ['bucket', 'WRITE'], ListParts: ['bucket', 'WRITE'], PostObject: ['bucket', 'WRITE'],
  GetBucketAcl: ['bucket', 'READ_ACP'], PutBucketAcl: ['bucket', 'WRITE_ACP'],
  GetObjectAcl: ['object', 'READ_ACP'], PutObjectAcl: ['object', 'WRITE_ACP'],
};

/** Request headers a policy condition can name (`s3:<header>`). */
const CONDITION_HEADERS = ['x-amz-acl', 'x-amz-copy-source', 'x-amz-metadata-directive', 'x-amz-server-side-encryption', 'x-amz-content-sha256'];

function accessDenied(): AwsError {
  return new AwsError('AccessDenied', 'Access Denied', { status: 403 });
}

/** Authorizes `action` on bucket/key for the context's principal; throws AccessDenied. */
export async function authorizeAction(ctx: S3Context, bucket: Bucket, action: string, key?: string, opOverride?: string): Promise<void> {
  const op = opOverride ?? ctx.route.op;
  const facts: ResourceFacts = { ownerAccount: bucket.owner.accountId, bucketPolicy: bucket.policy };
  const conditions: Record<string, string | string[]> = {};
  if (ctx.query.size) {
    for (const q of ['prefix', 'delimiter', 'max-keys']) if (ctx.query.has(q)) conditions[`s3:${q}`] = ctx.query.get(q) ?? '';
    if (ctx.query.has('versionId')) conditions['s3:VersionId'] = ctx.query.get('versionId') ?? '';
  }
  for (const h of CONDITION_HEADERS) {
    const v = ctx.req.headers[h];
    if (typeof v === 'string') conditions[`s3:${h}`] = v;
  }
  if (ctx.req.headers.referer) conditions['aws:Referer'] = String(ctx.req.headers.referer);
  const need = ACL_NEEDS[op];
  if (need) {
    if (need[0] === 'bucket') {
      facts.acl = bucket.acl;
      facts.aclPermission = need[1];
    } else if (key !== undefined) {
      const versionId = ctx.query.get('versionId') ?? undefined;
      const v = await ctx.walrus.findVersion(bucket.name, key, versionId);
      if (opOverride === undefined) ctx.looked = { bucket: bucket.name, key, versionId, v };
      if (v && !v.deleteMarker) {
        facts.acl = v.acl;
        facts.aclPermission = need[1];
        // the object's owner, when another account wrote it into this bucket, administers its ACL
        if (v.owner.accountId !== bucket.owner.accountId && ctx.principal.accountId === v.owner.accountId) facts.ownerAccount = v.owner.accountId;
      }
    }
  }
  const env = {
    sourceIp: ctx.sourceIp, now: new Date(), secure: ctx.secure, region: ctx.region,
    ...(ctx.req.headers['user-agent'] ? { userAgent: ctx.req.headers['user-agent'] } : {}),
  };
  const ok = await authorizeS3(ctx.principal, { action, resources: [s3Arn(bucket.name, key)], conditions }, facts, env, ctx.identityPolicies);
  if (!ok) throw accessDenied();
}

function splitUrl(url: string): { path: string; rawQuery: string } {
  const i = url.indexOf('?');
  return i < 0 ? { path: url, rawQuery: '' } : { path: url.slice(0, i), rawQuery: url.slice(i + 1) };
}

/** Creates the S3 request listener. */
export function createS3Handler(deps: S3HandlerDeps): S3RequestListener {
  const log = deps.log ?? silentLogger();
  const prefix = (deps.prefix ?? '').replace(/\/+$/, '');
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    void handle(deps, log, prefix, req, res);
  };
  listener.matches = (path: string) => !prefix || path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}?`);
  return listener;
}

async function handle(deps: S3HandlerDeps, log: Logger, prefix: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const uuid = newRequestId();
  const requestId = `${uuid.slice(0, 8)}${uuid.slice(9, 13)}${uuid.slice(14, 18)}`.toUpperCase();
  res.setHeader('x-amz-request-id', requestId);
  res.setHeader('x-amz-id-2', HOST_ID);
  res.setHeader('server', 'EucalyptusTS');
  const { path, rawQuery } = splitUrl(req.url ?? '/');
  if (!prefix && path === '/healthz' && !rawQuery && req.method === 'GET' && req.headers.authorization === undefined) {
    // Health of Walrus's own port for `euca services` (authenticated requests still reach a bucket named healthz)
    try {
      await deps.walrus.db.selectFrom('walrus_buckets').select('name').limit(1).execute();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } catch {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"database unavailable"}');
    }
    return;
  }
  const query = new URLSearchParams(rawQuery);
  let route: S3Route | undefined;
  let ctx: S3Context | undefined;
  try {
    route = resolveS3(req.method ?? 'GET', path, query, req.headers, { prefix, ...(deps.s3Domain ? { s3Domain: deps.s3Domain } : {}) });
    if (!route) throw new AwsError('NoSuchBucket', 'The specified bucket does not exist', { status: 404 });
    const host = req.headers.host ?? 'localhost';
    const secure = (req.socket as { encrypted?: boolean }).encrypted === true;
    const baseCtx = {
      req, res, route, query, requestId, hostId: HOST_ID, walrus: deps.walrus, blobs: deps.walrus.blobs, region: deps.region, log,
      ...(deps.identityPolicies ? { identityPolicies: deps.identityPolicies } : {}),
      sourceIp: (req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''), secure,
      baseUrl: `${secure ? 'https' : 'http'}://${host}${route.virtualHost ? '' : prefix}`, virtualHost: route.virtualHost === true,
    };
    if (route.op === 'PreflightCors') {
      await preflight({ ...baseCtx, principal: ANONYMOUS, body: () => req, trailers: () => ({}), bodyCheck: { kind: 'none' } });
      return;
    }
    if (route.op === 'PostObject' && (req.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/form-data')) {
      ctx = { ...baseCtx, principal: ANONYMOUS, body: () => req, trailers: () => ({}), bodyCheck: { kind: 'none' } };
      await postObject(ctx, deps.credentials);
      return;
    }
    const auth = await deps.authenticate(req, path, rawQuery, route.virtualHost ? route.bucket : undefined);
    let decoded: { stream: AsyncIterable<Uint8Array>; trailers(): Record<string, string> } | undefined;
    const cl = req.headers['content-length'];
    ctx = {
      ...baseCtx,
      principal: auth.principal ?? ANONYMOUS,
      // (method shorthand: under tsx an arrow function in a property is given its name by a defineProperty per request)
      body() {
        if (!auth.decodeBody) return req;
        decoded ??= auth.decodeBody(req);
        return decoded.stream;
      },
      trailers() {
        return decoded?.trailers() ?? {};
      },
      bodyCheck: auth.bodyCheck,
      ...(auth.decodedLength !== undefined ? { contentLength: auth.decodedLength } : cl !== undefined && /^\d+$/.test(cl) ? { contentLength: Number(cl) } : {}),
    };
    if (route.unsupported) {
      throw new AwsError('NotImplemented', 'A header you provided implies functionality that is not implemented', { status: 501 });
    }
    const op: OpHandler | undefined = OPS[route.op];
    if (!op) {
      if (route.op === 'MethodNotAllowed') {
        throw new AwsError('MethodNotAllowed', 'The specified method is not allowed against this resource.', { status: 405, fields: { Method: req.method ?? '', ResourceType: route.key !== undefined ? 'OBJECT' : 'BUCKET' } });
      }
      throw new AwsError('NotImplemented', 'A header you provided implies functionality that is not implemented', { status: 501 });
    }
    let bucket: Bucket | undefined;
    if (route.bucket !== undefined && route.op !== 'CreateBucket') {
      bucket = await deps.walrus.getBucket(route.bucket);
      if (route.op !== 'DeleteObjects') await authorizeAction(ctx, bucket, route.permission, route.key);
      if (req.headers.origin) {
        for (const [k, v] of Object.entries(corsHeadersFor(bucket, String(req.headers.origin), req.method ?? 'GET'))) res.setHeader(k, v);
      }
    } else if ((route.op === 'ListBuckets' || route.op === 'CreateBucket') && ctx.principal.kind === 'anonymous') {
      throw accessDenied();
    } else if (route.op === 'ListBuckets' || route.op === 'CreateBucket') {
      // Account-level actions: the account admin may; its other users need an IAM Allow (s3:ListAllMyBuckets on
      // arn:aws:s3:::*, s3:CreateBucket on the new bucket's ARN).
      const resource = route.op === 'ListBuckets' ? 'arn:aws:s3:::*' : s3Arn(route.bucket ?? '', undefined);
      const env = { sourceIp: ctx.sourceIp, now: new Date(), secure: ctx.secure, region: ctx.region };
      const ok = await authorizeS3(ctx.principal, { action: route.permission, resources: [resource] }, { ownerAccount: ctx.principal.accountId }, env, ctx.identityPolicies);
      if (!ok) throw accessDenied();
      if (route.op === 'CreateBucket' && deps.quota) {
        const owned = await deps.walrus.listBuckets(ctx.principal.accountId);
        const name = route.bucket;
        if (!owned.some((b) => b.name === name)) {
          await deps.quota(ctx.principal, 's3:CreateBucket', { 's3:quota-bucketnumber': owned.length + 1 });
        }
      }
    }
    await op(ctx, bucket);
  } catch (e) {
    const err = toAwsError(e);
    if (err.status >= 500) log.error({ err: e, requestId, op: route?.op }, 's3 request failed');
    else log.debug({ code: err.code, requestId, op: route?.op }, 's3 error');
    sendError(req, res, err, requestId, route);
  }
}

export function sendError(req: IncomingMessage, res: ServerResponse, err: AwsError, requestId: string, route?: S3Route): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const resource = route?.bucket !== undefined ? `/${route.bucket}${route.key !== undefined ? `/${route.key}` : ''}` : undefined;
  for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
  const head = req.method === 'HEAD';
  const body = head ? '' : errorXml(err, requestId, HOST_ID, resource);
  res.writeHead(err.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
  // A refused request whose body is still arriving: a small body is drained so the connection stays usable and
  // the client reads the error; a large upload is not read, and the connection closes once the error is sent.
  if (!req.complete) {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared <= 1024 * 1024) {
      req.resume();
    } else {
      res.once('finish', () => {
        if (!req.complete) req.socket.destroySoon();
      });
    }
  }
}
