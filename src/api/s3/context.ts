/**
 * @module api/s3/context
 * What one S3 operation sees: the request, its route, the caller, and helpers to read small bodies and answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { AwsError, type Logger, type Principal } from '../../shared/index.js';
import type { Walrus, Bucket, BlobStore, ObjectVersion } from '../../walrus/index.js';
import type { S3Route } from './router.js';
import type { IdentityPolicies } from './authz.js';
import { s3Xml } from './xml.js';

/** How the request body must be verified after streaming (from the signature check). */
export type BodyCheck =
  | { kind: 'none' }
  | { kind: 'sha256'; expected: string };

export interface S3Context {
  req: IncomingMessage;
  res: ServerResponse;
  route: S3Route & { bucket?: string };
  query: URLSearchParams;
  principal: Principal;
  requestId: string;
  hostId: string;
  walrus: Walrus;
  blobs: BlobStore;
  region: string;
  log: Logger;
  identityPolicies?: IdentityPolicies;
  sourceIp: string;
  secure: boolean;
  /** The request body as plain bytes (aws-chunked framing already removed). */
  body: () => AsyncIterable<Uint8Array>;
  /** Trailing checksum headers of an aws-chunked body, available once `body()` has been read to the end. */
  trailers: () => Record<string, string>;
  bodyCheck: BodyCheck;
  /** Decoded body length when known (Content-Length, or x-amz-decoded-content-length for aws-chunked). */
  contentLength?: number;
  /** Base URL for Location fields (`http://host[/prefix]`). */
  baseUrl: string;
  /** Whether the bucket was named by the Host header. */
  virtualHost: boolean;
  /** The object version looked up while authorizing (saves a second query in the operation). */
  looked?: { bucket: string; key: string; versionId: string | undefined; v: ObjectVersion | undefined };
}

export function header(ctx: S3Context, name: string): string | undefined {
  const v = ctx.req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export function queryParam(ctx: S3Context, name: string): string | undefined {
  return ctx.query.get(name) ?? undefined;
}

/** Reads a small body (XML configurations, policies) whole, refusing more than `limit` bytes. */
export async function readSmallBody(ctx: S3Context, limit = 1 << 20): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of ctx.body()) {
    n += c.length;
    if (n > limit) throw new AwsError('MaxMessageLengthExceeded', 'Your request was too big.');
    parts.push(Buffer.from(c.buffer, c.byteOffset, c.length));
  }
  return Buffer.concat(parts);
}

export function requireBucketName(ctx: S3Context): string {
  const b = ctx.route.bucket;
  if (b === undefined) throw new AwsError('InvalidRequest', 'A bucket name is required');
  return b;
}

export function requireKey(ctx: S3Context): string {
  const k = ctx.route.key;
  if (k === undefined) throw new AwsError('InvalidRequest', 'An object key is required');
  return k;
}

export function sendXml(ctx: S3Context, shape: string, value: unknown, status = 200, headers: Record<string, string> = {}): void {
  const body = s3Xml(shape, value);
  ctx.res.writeHead(status, { ...headers, 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  ctx.res.end(body);
}

export function sendRaw(ctx: S3Context, body: string, contentType: string, status = 200, headers: Record<string, string> = {}): void {
  ctx.res.writeHead(status, { ...headers, 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  ctx.res.end(body);
}

export function sendEmpty(ctx: S3Context, status = 200, headers: Record<string, string> = {}): void {
  ctx.res.writeHead(status, { ...headers, 'content-length': 0 });
  ctx.res.end();
}

export type OpHandler = (ctx: S3Context, bucket: Bucket | undefined) => Promise<void | Readable>;

/** `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`. */
export function s3Arn(bucket: string, key?: string): string {
  return key === undefined ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${key}`;
}
