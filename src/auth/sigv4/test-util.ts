/**
 * Test helpers for the sigv4 tests (not exported from the module): an in-memory CredentialStore, a parser for the
 * SigV4 suite's raw request texts, and a principal factory.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { CredentialStore, Principal, SigningIdentity } from '../../shared/index.js';
import { createChunkedDecoder } from './chunked.js';
import type { AuthResult, SignedRequest } from './types.js';

export const CROSS_AK = 'AKIAIOSFODNN7CROSS01';
export const CROSS_SK = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYCROSSKEY1';
const ENDPOINT = 'http://127.0.0.1:8773';
const HELPER = join(dirname(fileURLToPath(import.meta.url)), '../../../test/helpers/botocore_sign.py');
/** botocore 1.43 (pyenv) and Debian's python3-botocore (1.29). */
export const PY_NEW = '/root/.pyenv/shims/python3';
export const PY_DEBIAN = '/usr/bin/python3';


export function principal(name = 'alice', accountId = '000000000001'): Principal {
  return {
    kind: 'user',
    accountId,
    userId: 'AIDA' + name.toUpperCase(),
    userName: name,
    arn: `arn:aws:iam::${accountId}:user/${name}`,
    isCloudAdmin: false,
    isAccountAdmin: false,
  };
}

export class MemoryStore implements CredentialStore {
  readonly keys = new Map<string, SigningIdentity>();
  lookups = 0;
  add(accessKeyId: string, secretAccessKey: string, extra: Partial<SigningIdentity> = {}): SigningIdentity {
    const id: SigningIdentity = { accessKeyId, secretAccessKey, principal: principal(), ...extra };
    this.keys.set(accessKeyId, id);
    return id;
  }
  async lookup(accessKeyId: string): Promise<SigningIdentity | null> {
    this.lookups++;
    return this.keys.get(accessKeyId) ?? null;
  }
}

/** Percent-encodes non-ASCII and space characters, as a client puts a path or query on the wire. */
export function toWire(s: string): string {
  return s.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));
}

/** Parses `METHOD target HTTP/1.1\nName:value\n…\n\nbody` (the suite's .req format) into a SignedRequest. */
export function parseRawRequest(text: string): SignedRequest {
  const sep = text.indexOf('\n\n');
  const head = sep < 0 ? text : text.slice(0, sep);
  const body = sep < 0 ? '' : text.slice(sep + 2);
  const lines = head.split('\n');
  const m = /^(\S+) (.*) HTTP\/1\.1$/.exec(lines[0]!);
  if (!m) throw new Error(`bad request line ${lines[0]}`);
  const target = toWire(m[2]!);
  const q = target.indexOf('?');
  const headers: Record<string, string[]> = {};
  let last: string | undefined;
  for (const line of lines.slice(1)) {
    if (/^\s/.test(line) && last) {
      const arr = headers[last]!;
      arr[arr.length - 1] += ' ' + line.trim();
      continue;
    }
    const c = line.indexOf(':');
    const name = line.slice(0, c).toLowerCase();
    (headers[name] ??= []).push(line.slice(c + 1));
    last = name;
  }
  return {
    method: m[1]!,
    path: q < 0 ? target : target.slice(0, q),
    query: q < 0 ? '' : target.slice(q + 1),
    headers,
    body: Buffer.from(body, 'utf8'),
  };
}

export interface BotoCase {
  name: string;
  service: string;
  op: string;
  params?: Record<string, unknown>;
  signature_version?: string;
  presign?: number;
  http_method?: string;
  addressing_style?: string;
  checksum?: string;
  endpoint?: string;
  stream?: boolean;
  post?: number;
}

export function botocoreSign(cases: BotoCase[], token?: string, python = PY_NEW): Map<string, SignedRequest> {
  const out = execFileSync(python, [HELPER], {
    input: JSON.stringify({ endpoint: ENDPOINT, access_key: CROSS_AK, secret_key: CROSS_SK, token, cases }),
    encoding: 'utf8',
  });
  const list = JSON.parse(out) as (Omit<SignedRequest, 'body'> & { name: string; body_b64: string })[];
  return new Map(list.map((r) => [r.name, { method: r.method, path: r.path, query: r.query, headers: r.headers, body: Buffer.from(r.body_b64, 'base64') }]));
}


/** Runs a decoder over `body`, fed in slices of `slice` bytes; resolves with the output or rejects with its error. */
export async function decode(result: AuthResult, headers: Record<string, string[]>, body: Buffer, slice = 65536): Promise<{ out: Buffer; trailers: Record<string, string>; checksum?: { algorithm: string; value: string } }> {
  const d = createChunkedDecoder(result, headers);
  const parts: Buffer[] = [];
  for (let i = 0; i < body.length; i += slice) parts.push(body.subarray(i, i + slice));
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    d.on('data', (c: Buffer) => chunks.push(c));
    d.on('end', resolve);
    d.on('error', reject);
    Readable.from(parts).pipe(d);
  });
  return { out: Buffer.concat(chunks), trailers: d.trailers(), checksum: d.checksum() };
}


/** botocore's generate_presigned_post: the form fields it tells a browser to send. */
export function botocorePost(cases: BotoCase[], token?: string, python = PY_NEW): Map<string, { url: string; fields: Record<string, string> }> {
  const out = execFileSync(python, [HELPER], {
    input: JSON.stringify({ endpoint: ENDPOINT, access_key: CROSS_AK, secret_key: CROSS_SK, token, cases }),
    encoding: 'utf8',
  });
  const list = JSON.parse(out) as { name: string; url: string; fields: Record<string, string> }[];
  return new Map(list.map((r) => [r.name, { url: r.url, fields: r.fields }]));
}
