/**
 * Test helpers for the sigv4 tests (not exported from the module): an in-memory CredentialStore, a parser for the
 * SigV4 suite's raw request texts, and a principal factory.
 */
import type { CredentialStore, Principal, SigningIdentity } from '../../shared/index.js';
import type { SignedRequest } from './types.js';

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
