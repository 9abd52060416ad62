/**
 * @module api/gateway/server
 * The CLC's API gateway: one node:http server for EC2 (`/services/compute`, `/`), IAM (`/services/Euare`), STS
 * (`/services/Tokens`) and S3 (`/services/objectstorage`, handed to Walrus's handler).
 *
 * Pipeline for the query services, in order: request id → service from the path (or the credential scope on `/`) →
 * body (bounded) → signature (src/auth/sigv4) → parse + validate (src/protocol, from the AWS model) → handler lookup
 * (unsupported → the service's error) → authorization (handler-declared actions/resources) → DryRun → handler →
 * serialize. Every error leaves as the service's AWS error envelope; anything unexpected as InternalError, logged with
 * the request id and never shown to the client.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AwsError, infoLineWriter, readSmallBody, requestId as newRequestId, type CredentialStore, type Logger, type Principal } from '../../shared/index.js';
import {
  parseQueryRequest, serializeQueryError, serializeQueryResponse, unsupportedOperation, type QueryService,
} from '../../protocol/index.js';
import { authenticate, toServiceError, AuthError } from '../../auth/sigv4/index.js';
import type { AuthzRequest, HandlerTable, RequestContext } from './contract.js';
import type { Authorizer } from './authorizer.js';

export interface GatewayOptions {
  region: string;
  credentials: CredentialStore;
  authorizer: Authorizer;
  handlers: Partial<Record<QueryService, HandlerTable>>;
  /** Walrus's S3 handler, mounted at /services/objectstorage (it does its own auth and errors). */
  s3?: (req: IncomingMessage, res: ServerResponse) => void;
  log: Logger;
  /** Largest query-API body accepted; larger ones get 413 and the connection is closed. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Extra health facts for GET /healthz. */
  health?: () => Record<string, unknown>;
  /** Clock, for tests. */
  now?: () => Date;
}

const SERVICE_PATHS = new Map<string, QueryService>([
  ['/services/compute', 'ec2'],
  ['/services/Eucalyptus', 'ec2'],
  ['/services/Euare', 'iam'],
  ['/services/Tokens', 'sts'],
]);
const IAM_PREFIX: Record<QueryService, string> = { ec2: 'ec2', iam: 'iam', sts: 'sts' };
const S3_PREFIX = '/services/objectstorage';

/** The service a request is for: by path, and on `/` by the SigV4 credential scope (default EC2). */
export function detectService(path: string, headers: IncomingMessage['headers'], query: string): QueryService | 's3' | 'health' | null {
  if (path === S3_PREFIX || path.startsWith(S3_PREFIX + '/')) return 's3';
  if (path === '/healthz') return 'health';
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const byPath = SERVICE_PATHS.get(trimmed);
  if (byPath) return byPath;
  if (trimmed !== '/' && trimmed !== '') return null;
  const auth = typeof headers.authorization === 'string' ? headers.authorization : '';
  const scope = /Credential=[^/]+\/\d{8}\/[^/]+\/([a-z0-9-]+)\/aws4_request/.exec(auth)?.[1]
    ?? /X-Amz-Credential=[^&/]+(?:%2F|\/)\d{8}(?:%2F|\/)[^&/%]+(?:%2F|\/)([a-z0-9-]+)(?:%2F|\/)aws4_request/i.exec(query)?.[1];
  if (scope === 'iam' || scope === 'sts') return scope;
  return 'ec2';
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number, contentLength: string | undefined): Promise<Buffer> {
  const length = Number(contentLength ?? 0);
  if (length > limit) return Promise.reject(new BodyTooLarge());
  return readSmallBody(req, limit, () => new BodyTooLarge(), Number.isSafeInteger(length) ? length : undefined);
}

/**
 * Writes a whole response. The body goes out as a string with its byte length precomputed: node:http then sends the
 * status line, headers and body as one chunk (a Buffer body would be a second chunk of a writev).
 */
function send(res: ServerResponse, out: { status: number; headers: Record<string, string>; body: string }, close = false): void {
  if (res.headersSent) return;
  // the serializers hand over a fresh headers object per response: completed in place rather than copied
  const headers = out.headers;
  headers['content-length'] = String(Buffer.byteLength(out.body, 'utf8'));
  if (close) headers.connection = 'close';
  res.writeHead(out.status, headers);
  res.end(out.body, 'utf8');
}

/**
 * The RequestContext handed to handlers. Its `log` (a pino child carrying the request id) is made on first use only:
 * most requests never log from a handler, and a child logger costs more than the rest of a small request's context.
 */
class Context implements RequestContext {
  // plain assignments in one order (no class-field definitions): every context has the same hidden class
  declare readonly requestId: string;
  declare readonly service: QueryService;
  declare readonly operation: string;
  declare readonly region: string;
  declare readonly principal: Principal;
  declare readonly sourceIp: string;
  declare readonly secure: boolean;
  declare readonly now: Date;
  declare readonly userAgent: string | undefined;
  declare private readonly root: Logger;
  declare private child: Logger | undefined;

  constructor(requestId: string, service: QueryService, operation: string, region: string, principal: Principal, sourceIp: string, now: Date, root: Logger, userAgent: string | undefined) {
    this.requestId = requestId;
    this.service = service;
    this.operation = operation;
    this.region = region;
    this.principal = principal;
    this.sourceIp = sourceIp;
    this.secure = false;
    this.now = now;
    this.userAgent = userAgent || undefined;
    this.root = root;
    this.child = undefined;
  }

  get log(): Logger {
    return (this.child ??= this.root.child({ requestId: this.requestId }));
  }
}

function remoteIp(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

export interface Gateway {
  handle(req: IncomingMessage, res: ServerResponse): void;
  listen(port: number, host?: string): Promise<{ server: Server; port: number }>;
}

export function createGateway(opts: GatewayOptions): Gateway {
  const limit = opts.maxBodyBytes ?? 1024 * 1024;
  const now = opts.now ?? (() => new Date());
  // The access log line has fixed, non-secret fields: written without pino's generic serializer and redaction pass
  // (pino runs its wildcard redactors on every field of every line, which costs more than writing the line).
  const access = infoLineWriter(opts.log, 'request');

  function denied(service: QueryService, principal: Principal, d: { action: string; resource: string; explicitDeny: boolean }): AwsError {
    if (service === 'ec2') {
      const encoded = Buffer.from(JSON.stringify({
        allowed: false, explicitDeny: d.explicitDeny,
        context: { principal: { id: principal.userId, arn: principal.arn }, action: d.action, resource: d.resource },
      })).toString('base64');
      return new AwsError('UnauthorizedOperation', `You are not authorized to perform this operation. Encoded authorization failure message: ${encoded}`, { status: 403 });
    }
    const why = d.explicitDeny ? 'with an explicit deny' : 'because no identity-based policy allows the action';
    return new AwsError('AccessDenied', `User: ${principal.arn} is not authorized to perform: ${d.action} on resource: ${d.resource} ${why}`, { status: 403 });
  }

  async function handleQuery(service: QueryService, req: IncomingMessage, res: ServerResponse, rid: string, path: string, query: string): Promise<{ op: string; status: number }> {
    let op = '-';
    try {
      if (req.method !== 'GET' && req.method !== 'POST') {
        throw new AwsError('InvalidAction', `The HTTP method ${req.method ?? ''} is not supported by this endpoint.`, { status: 400 });
      }
      // only the distinct-values view of the headers is built (the signature needs it); node's joined `req.headers`
      // view would be a second object per request
      const hd = req.headersDistinct as Record<string, string[]>;
      let body: Buffer;
      try {
        body = await readBody(req, limit, hd['content-length']?.[0]);
      } catch (e) {
        if (e instanceof BodyTooLarge) {
          const err = new AwsError('RequestEntityTooLarge', `Request body larger than ${limit} bytes.`, { status: 413 });
          send(res, serializeQueryError(service, err, rid), true);
          req.resume();
          return { op, status: 413 };
        }
        throw e;
      }
      const ctype = (hd['content-type']?.[0] ?? '').toLowerCase();
      let params: URLSearchParams;
      if (body.length > 0) {
        if (!ctype.startsWith('application/x-www-form-urlencoded')) {
          throw new AwsError(service === 'ec2' ? 'InvalidParameterValue' : 'ValidationError', 'The request body must be application/x-www-form-urlencoded.');
        }
        params = new URLSearchParams(body.toString('utf8'));
        // query parameters come first (the first occurrence of a key wins in the parser)
        if (query !== '') params = new URLSearchParams([...new URLSearchParams(query), ...params]);
      } else params = new URLSearchParams(query);
      op = params.get('Action') ?? '-';
      const at = now();
      const auth = await authenticate(
        { method: req.method, path, query, headers: hd, body },
        { service, now: at, store: opts.credentials },
      );
      if (!auth.identity) throw new AwsError(service === 'ec2' ? 'AuthFailure' : 'MissingAuthenticationToken', 'Request is missing Authentication Token', { status: service === 'ec2' ? 401 : 403 });
      const principal = auth.identity.principal;
      const parsed = parseQueryRequest(service, params);
      op = parsed.operation;
      const handler = opts.handlers[service]?.[op];
      if (!handler) throw unsupportedOperation(service, op);
      const ctx = new Context(rid, service, op, opts.region, principal, remoteIp(req), at, opts.log, hd['user-agent']?.[0]);
      const asks: AuthzRequest[] = handler.authz
        ? await handler.authz(parsed.input, ctx)
        : [{ action: `${IAM_PREFIX[service]}:${op}`, resources: ['*'] }];
      if (asks.length) {
        const decision = await opts.authorizer.authorize(principal, asks, ctx);
        if (!decision.allowed) throw denied(service, principal, decision);
      }
      if (parsed.input.DryRun === true) {
        throw new AwsError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', { status: 412 });
      }
      const output = await handler.handle(parsed.input, ctx);
      const out = serializeQueryResponse(service, op, output ?? {}, rid);
      send(res, out);
      return { op, status: out.status };
    } catch (e) {
      let err: AwsError;
      if (e instanceof AuthError) err = toServiceError(service, e);
      else if (e instanceof AwsError) err = e;
      else if (req.destroyed && ['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE'].includes((e as { code?: string }).code ?? '')) {
        opts.log.debug({ requestId: rid, service, op }, 'client went away');
        return { op, status: 499 };
      } else {
        opts.log.error({ requestId: rid, service, op, err: e }, 'unexpected error');
        err = new AwsError('InternalError', 'We encountered an internal error. Please try again.', { status: 500 });
      }
      const out = serializeQueryError(service, err, rid);
      send(res, out);
      return { op, status: out.status };
    }
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const started = process.hrtime.bigint();
    const rid = newRequestId();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? '' : url.slice(q + 1);
    // the usual paths need no look at the headers
    const service = SERVICE_PATHS.get(path) ?? detectService(path, req.headers, query);
    if (service === 's3') {
      if (opts.s3) return opts.s3(req, res);
      send(res, { status: 503, headers: { 'content-type': 'application/xml', 'x-amz-request-id': rid }, body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ServiceUnavailable</Code><Message>Walrus is not running on this host.</Message><RequestId>${rid}</RequestId></Error>` });
      return;
    }
    if (service === 'health') {
      send(res, { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'ok', region: opts.region, ...(opts.health?.() ?? {}) }) });
      return;
    }
    if (service === null) {
      send(res, serializeQueryError('ec2', new AwsError('InvalidAction', `No service at path ${path.slice(0, 200)}.`, { status: 404 }), rid));
      return;
    }
    handleQuery(service, req, res, rid, path, query).then(({ op, status }) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      access({ requestId: rid, service, op, status, ms: Math.round(ms * 100) / 100 });
    }, (e: unknown) => {
      opts.log.error({ requestId: rid, err: e }, 'request failed');
      if (!res.headersSent) send(res, serializeQueryError(service, new AwsError('InternalError', 'We encountered an internal error. Please try again.', { status: 500 }), rid));
    });
  }

  return {
    handle,
    listen(port, host = '127.0.0.1') {
      const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, handle);
      server.on('clientError', (_err, socket) => {
        if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        else socket.destroy();
      });
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve({ server, port: (server.address() as AddressInfo).port });
        });
      });
    },
  };
}
