/**
 * @module rpc/http
 * The transport of internal messages: `POST <base>/<Operation>` with a JSON body, answered by `200` and the JSON
 * response, or by an error status and `{"error":{"code","message"}}` (the code is an AWS error code, so a caller
 * can pass it straight on as an `AwsError`). Both sides check every message against its schema.
 *
 * Optional authentication: when both sides are given the same secret, the client sends
 * `x-euca-date` (epoch ms) and `x-euca-signature` = hex HMAC-SHA256(secret, `<op>\n<date>\n<body>`); the server
 * rejects a missing or wrong signature, or a date more than 5 minutes off, with `AuthFailure`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { AwsError, toAwsError } from '../shared/index.js';
import { parse, SchemaError, type Schema } from './schema.js';

export interface RpcOperation<Req, Res> {
  readonly name: string;
  readonly request: Schema<Req>;
  readonly response: Schema<Res>;
}

export function op<Req, Res>(name: string, request: Schema<Req>, response: Schema<Res>): RpcOperation<Req, Res> {
  return { name, request, response };
}

type AnyOps = Record<string, RpcOperation<any, any>>;
type ReqOf<O> = O extends RpcOperation<infer R, any> ? R : never;
type ResOf<O> = O extends RpcOperation<any, infer R> ? R : never;

/** A typed client: one async method per operation, named as the operation with a lower-case first letter. */
export type RpcClient<Ops extends AnyOps> = {
  [K in keyof Ops as Uncapitalize<K & string>]: (req: ReqOf<Ops[K]>) => Promise<ResOf<Ops[K]>>;
};

/** The server side: one async function per operation. Throw AwsError for an error the caller should see. */
export type RpcImplementation<Ops extends AnyOps> = {
  [K in keyof Ops]: (req: ReqOf<Ops[K]>) => Promise<ResOf<Ops[K]>>;
};

export interface RpcClientOptions {
  /** Shared secret for request signing (see module doc). */
  secret?: string;
  /** Per-call timeout in ms (default 30 s). */
  timeoutMs?: number;
}

const MAX_BODY = 8 * 1024 * 1024;

/** Kept-alive connections for internal calls (node:http costs a fraction of fetch per call on these small messages). */
const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 64 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 64 }) };

/** One POST with a deadline for the whole exchange; resolves with the status and body of any answer. */
function post(url: URL, headers: Record<string, string>, body: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  const tls = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (tls ? httpsRequest : httpRequest)(url, {
      method: 'POST', agent: tls ? agents.https : agents.http, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', fail);
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    function fail(e: Error): void {
      clearTimeout(timer);
      reject(e);
    }
    req.on('error', fail);
    req.end(body);
  });
}
const SKEW_MS = 5 * 60 * 1000;

function sign(secret: string, opName: string, date: string, body: string): string {
  return createHmac('sha256', secret).update(`${opName}\n${date}\n${body}`).digest('hex');
}

export function createRpcClient<Ops extends AnyOps>(baseUrl: string, ops: Ops, opts: RpcClientOptions = {}): RpcClient<Ops> {
  const base = baseUrl.replace(/\/+$/, '');
  const client: Record<string, (req: unknown) => Promise<unknown>> = {};
  for (const o of Object.values(ops)) {
    const method = o.name.charAt(0).toLowerCase() + o.name.slice(1);
    client[method] = async (req: unknown) => {
      const body = JSON.stringify(parse(o.request, req, o.name));
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (opts.secret) {
        const date = String(Date.now());
        headers['x-euca-date'] = date;
        headers['x-euca-signature'] = sign(opts.secret, o.name, date, body);
      }
      let res: { status: number; text: string };
      try {
        res = await post(new URL(`${base}/${o.name}`), headers, body, opts.timeoutMs ?? 30_000);
      } catch (e) {
        throw new AwsError('ServiceUnavailable', `${o.name}: cannot reach ${base}: ${(e as Error).message}`, { status: 503, cause: e });
      }
      const text = res.text;
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new AwsError('InternalError', `${o.name}: ${base} answered ${res.status} with a non-JSON body`, { status: 500 });
      }
      if (res.status < 200 || res.status > 299) {
        const err = (json as { error?: { code?: unknown; message?: unknown } }).error;
        throw new AwsError(
          typeof err?.code === 'string' ? err.code : 'InternalError',
          typeof err?.message === 'string' ? err.message : `${o.name} failed with HTTP ${res.status}`,
          { status: res.status },
        );
      }
      return parse(o.response, json, `${o.name}Response`);
    };
  }
  return client as RpcClient<Ops>;
}

export interface RpcServerOptions {
  secret?: string;
  /** Called with every error that is not an AwsError (a bug or an OS failure); the caller sees InternalError. */
  onInternalError?: (op: string, e: unknown) => void;
}

/**
 * Handles one HTTP request for `ops` under `prefix` (e.g. `/nc/v1`). Returns false when the path is not one of
 * ours, so the caller can route it elsewhere (404).
 */
export async function handleRpcRequest<Ops extends AnyOps>(
  req: IncomingMessage,
  res: ServerResponse,
  prefix: string,
  ops: Ops,
  impl: RpcImplementation<Ops>,
  opts: RpcServerOptions = {},
): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://x');
  if (!url.pathname.startsWith(prefix + '/')) return false;
  const name = url.pathname.slice(prefix.length + 1);
  const o = Object.prototype.hasOwnProperty.call(ops, name) ? ops[name] : undefined;
  const send = (status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const sendError = (e: AwsError) => send(e.status, { error: { code: e.code, message: e.message } });
  if (!o) {
    sendError(new AwsError('InvalidAction', `unknown operation ${name}`, { status: 404 }));
    return true;
  }
  if (req.method !== 'POST') {
    sendError(new AwsError('InvalidAction', 'use POST', { status: 405 }));
    return true;
  }
  try {
    const body = await readBody(req);
    if (opts.secret) {
      const date = String(req.headers['x-euca-date'] ?? '');
      const sig = String(req.headers['x-euca-signature'] ?? '');
      const want = Buffer.from(sign(opts.secret, name, date, body));
      const ok = sig.length === want.length && timingSafeEqual(Buffer.from(sig), want) && Math.abs(Date.now() - Number(date)) < SKEW_MS;
      if (!ok) throw new AwsError('AuthFailure', 'request signature missing, wrong or expired', { status: 401 });
    }
    let json: unknown;
    try {
      json = body === '' ? {} : JSON.parse(body);
    } catch {
      throw new AwsError('InvalidParameterValue', 'body is not JSON');
    }
    const input = parse(o.request, json, name);
    const fn = (impl as Record<string, (r: unknown) => Promise<unknown>>)[name]!;
    const out = parse(o.response, await fn(input), `${name}Response`);
    send(200, out);
  } catch (e) {
    if (e instanceof SchemaError) {
      sendError(new AwsError('InvalidParameterValue', e.message));
    } else {
      if (!(e instanceof AwsError)) opts.onInternalError?.(name, e);
      const err = toAwsError(e);
      sendError(err.code === 'InternalError' && !(e instanceof AwsError) ? new AwsError('InternalError', `${name} failed: ${(e as Error)?.message ?? String(e)}`, { status: 500 }) : err);
    }
  }
  return true;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > MAX_BODY) {
        reject(new AwsError('InvalidParameterValue', 'message too large', { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
