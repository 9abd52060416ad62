/**
 * @module api/s3/cors
 * CORS: the preflight (OPTIONS) answer from the bucket's rules, and the headers added to actual requests.
 */
import { AwsError } from '../../shared/index.js';
import type { Bucket, CorsRule } from '../../walrus/index.js';
import { sendEmpty, type S3Context } from './context.js';

function wild(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\?]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
  return re.test(value);
}

/** The first rule allowing this origin, method and request headers. */
export function matchCors(rules: CorsRule[] | null, origin: string, method: string, requestHeaders: string[] = []): CorsRule | undefined {
  return (rules ?? []).find((r) => r.allowedOrigins.some((o) => wild(o, origin)) && r.allowedMethods.includes(method.toUpperCase())
    && requestHeaders.every((h) => r.allowedHeaders.some((a) => wild(a, h))));
}

function headersFor(rule: CorsRule, origin: string, method: string): Record<string, string> {
  const any = rule.allowedOrigins.includes('*');
  const h: Record<string, string> = {
    'access-control-allow-origin': any ? '*' : origin,
    'access-control-allow-methods': rule.allowedMethods.join(', '),
    vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
  };
  if (!any) h['access-control-allow-credentials'] = 'true';
  if (rule.exposeHeaders.length) h['access-control-expose-headers'] = rule.exposeHeaders.join(', ');
  if (rule.maxAgeSeconds !== undefined) h['access-control-max-age'] = String(rule.maxAgeSeconds);
  void method;
  return h;
}

/** CORS headers for an actual (non-preflight) request with an Origin header; empty when no rule matches. */
export function corsHeadersFor(bucket: Bucket, origin: string, method: string): Record<string, string> {
  const rule = matchCors(bucket.cors, origin, method === 'HEAD' ? 'HEAD' : method);
  return rule ? headersFor(rule, origin, method) : {};
}

/** Answers an OPTIONS preflight. */
export async function preflight(ctx: S3Context): Promise<void> {
  const name = ctx.route.bucket;
  const origin = ctx.req.headers.origin;
  const method = ctx.req.headers['access-control-request-method'];
  if (!origin || typeof method !== 'string') {
    throw new AwsError('BadRequest', 'Insufficient information. Origin request header needed.');
  }
  if (name === undefined) throw new AwsError('AccessForbidden', 'CORSResponse: Bucket not found', { status: 403 });
  const bucket = await ctx.walrus.getBucket(name);
  if (!bucket.cors) throw new AwsError('AccessForbidden', 'CORSResponse: CORS is not enabled for this bucket.', { status: 403, fields: { Method: method, ResourceType: 'BUCKET' } });
  const reqHeaders = String(ctx.req.headers['access-control-request-headers'] ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const rule = matchCors(bucket.cors, origin, method, reqHeaders);
  if (!rule) {
    throw new AwsError('AccessForbidden', 'CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource\'s CORS spec.', {
      status: 403, fields: { Method: method, ResourceType: ctx.route.key !== undefined ? 'OBJECT' : 'BUCKET' },
    });
  }
  const h = headersFor(rule, origin, method);
  if (reqHeaders.length) h['access-control-allow-headers'] = reqHeaders.join(', ');
  sendEmpty(ctx, 200, h);
}
