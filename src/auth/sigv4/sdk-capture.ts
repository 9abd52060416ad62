/**
 * Test helper (not exported from the module): runs a real AWS SDK v3 command with a request handler that captures
 * the signed HttpRequest instead of sending it, and turns it into the SignedRequest our verifier sees on the wire.
 */
import { Readable } from 'node:stream';
import type { SignedRequest } from './types.js';

export class CapturedRequest extends Error {
  constructor(readonly request: SignedRequest) {
    super('captured');
  }
}

function escapeUri(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** The query string as @smithy/querystring-builder writes it on the wire. */
export function wireQuery(query: Record<string, string | string[] | null | undefined> | undefined): string {
  const parts: string[] = [];
  for (const key of Object.keys(query ?? {}).sort()) {
    const v = query![key];
    const k = escapeUri(key);
    if (Array.isArray(v)) for (const x of v) parts.push(`${k}=${escapeUri(x)}`);
    else if (v === null || v === undefined) parts.push(k);
    else parts.push(`${k}=${escapeUri(v)}`);
  }
  return parts.join('&');
}

async function bodyBytes(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (body instanceof Readable || (typeof body === 'object' && Symbol.asyncIterator in (body as object))) {
    const chunks: Buffer[] = [];
    for await (const c of body as AsyncIterable<Uint8Array | string>) chunks.push(typeof c === 'string' ? Buffer.from(c) : Buffer.from(c));
    return Buffer.concat(chunks);
  }
  throw new Error(`unsupported body type ${typeof body}`);
}

interface SdkHttpRequest {
  method: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
}

/** Converts a signed SDK HttpRequest to what Node's server would hand us (headers lower-cased, host added). */
export async function toSignedRequest(r: SdkHttpRequest): Promise<SignedRequest> {
  const headers: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(r.headers)) (headers[k.toLowerCase()] ??= []).push(String(v));
  headers['host'] ??= [r.port ? `${r.hostname}:${r.port}` : r.hostname];
  return { method: r.method, path: r.path, query: wireQuery(r.query), headers, body: await bodyBytes(r.body) };
}

/** A requestHandler for SDK v3 clients: captures and throws CapturedRequest. */
export const capturingHandler = {
  async handle(request: SdkHttpRequest): Promise<never> {
    throw new CapturedRequest(await toSignedRequest(request));
  },
  updateHttpClientConfig(): void {},
  httpHandlerConfigs(): Record<string, never> {
    return {};
  },
};

/** Sends `command` through `client` and returns the captured signed request. */
export async function capture(client: { send(c: never): Promise<unknown> }, command: unknown): Promise<SignedRequest> {
  try {
    await client.send(command as never);
  } catch (e) {
    if (e instanceof CapturedRequest) return e.request;
    throw e;
  }
  throw new Error('request was not captured');
}
