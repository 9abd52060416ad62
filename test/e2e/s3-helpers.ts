/**
 * Test helpers for Walrus: a started S3 service on a random port over a fresh test database, with real access keys
 * in a small in-memory credential store (the lookup the IAM store does in the cloud).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { openTestDatabase } from '../../src/db/index.js';
import { accessKeyId, accountId, secretAccessKey, type CredentialStore, type Principal, type SigningIdentity } from '../../src/shared/index.js';
import { walrusMigrations, type WalrusTables } from '../../src/walrus/index.js';
import { openWalrusService, type WalrusService } from '../../src/api/s3/index.js';

export interface TestUser {
  accessKeyId: string;
  secretAccessKey: string;
  principal: Principal;
}

export class MemoryCredentials implements CredentialStore {
  readonly keys = new Map<string, SigningIdentity>();
  add(p: Omit<Principal, 'accessKeyId'>): TestUser {
    const id = accessKeyId();
    const secret = secretAccessKey();
    const principal = { ...p, accessKeyId: id };
    this.keys.set(id, { accessKeyId: id, secretAccessKey: secret, principal });
    return { accessKeyId: id, secretAccessKey: secret, principal };
  }
  addAdmin(name: string, acct = accountId()): TestUser {
    return this.add({ kind: 'user', accountId: acct, accountAlias: name, userId: `AIDA${acct}`, userName: 'admin', arn: `arn:aws:iam::${acct}:user/admin`, isCloudAdmin: false, isAccountAdmin: true });
  }
  async lookup(id: string): Promise<SigningIdentity | null> {
    return this.keys.get(id) ?? null;
  }
}

export interface StartedWalrus {
  svc: WalrusService;
  port: number;
  endpoint: string;
  dir: string;
  creds: MemoryCredentials;
  alice: TestUser;
  bob: TestUser;
  client(u: TestUser, extra?: Record<string, unknown>): S3Client;
  close(): Promise<void>;
}

export async function startWalrus(opts: { prefix?: string; s3Domain?: string; minPartSize?: number } = {}): Promise<StartedWalrus> {
  const db = await openTestDatabase<WalrusTables>(walrusMigrations);
  const dir = mkdtempSync(join(tmpdir(), 'walrus-e2e-'));
  const creds = new MemoryCredentials();
  const alice = creds.addAdmin('alice');
  const bob = creds.addAdmin('bob');
  const svc = await openWalrusService({
    db: db.db, dir, credentials: creds, region: 'eucalyptus', lifecycleIntervalMs: 0,
    ...(opts.prefix ? { prefix: opts.prefix } : {}), ...(opts.s3Domain ? { s3Domain: opts.s3Domain } : {}),
    ...(opts.minPartSize !== undefined ? { minPartSize: opts.minPartSize } : {}),
  });
  const { port } = await svc.listen(0);
  const endpoint = `http://127.0.0.1:${port}${opts.prefix ?? ''}`;
  const clients: S3Client[] = [];
  return {
    svc, port, endpoint, dir, creds, alice, bob,
    client: (u, extra = {}) => {
      const c = new S3Client({
        endpoint, region: 'eucalyptus', forcePathStyle: true, credentials: { accessKeyId: u.accessKeyId, secretAccessKey: u.secretAccessKey }, ...extra,
      });
      clients.push(c);
      return c;
    },
    close: async () => {
      for (const c of clients) c.destroy();
      await svc.close();
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A SHA-256 (or HMAC-SHA256) for @smithy/signature-v4, on node:crypto. */
export class NodeSha256 {
  private readonly h: Hash | Hmac;
  constructor(secret?: unknown) {
    this.h = secret ? createHmac('sha256', Buffer.from(secret as Uint8Array)) : createHash('sha256');
  }
  update(data: Uint8Array | string): void {
    this.h.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
}

export function signer(u: TestUser, region = 'eucalyptus'): SignatureV4 {
  return new SignatureV4({ service: 's3', region, credentials: { accessKeyId: u.accessKeyId, secretAccessKey: u.secretAccessKey }, sha256: NodeSha256, uriEscapePath: false });
}

function encodeKeyPath(p: string): string {
  return p.split('/').map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join('/');
}

/** A presigned URL for `method` on `/bucket/key` (path style) at the started Walrus. */
export async function presignUrl(w: StartedWalrus, u: TestUser, method: string, path: string, expiresIn: number, signingDate?: Date): Promise<string> {
  const encoded = encodeKeyPath(path);
  const req = await signer(u).presign(
    { method, protocol: 'http:', hostname: '127.0.0.1', port: w.port, path: encoded, query: {}, headers: { host: `127.0.0.1:${w.port}`, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } },
    { expiresIn, unsignableHeaders: new Set(['x-amz-content-sha256']), unhoistableHeaders: new Set(['x-amz-content-sha256']), ...(signingDate ? { signingDate } : {}) },
  );
  const qs = Object.entries(req.query ?? {}).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');
  return `http://127.0.0.1:${w.port}${encoded}?${qs}`;
}

/** Sends a raw signed request (bodies the SDK would not send), returning the fetch Response. */
export async function signedFetch(w: StartedWalrus, u: TestUser, method: string, path: string, query: Record<string, string>, body = '', headers: Record<string, string> = {}): Promise<Response> {
  const encoded = encodeKeyPath(path);
  const req = await signer(u).sign({
    method, protocol: 'http:', hostname: '127.0.0.1', port: w.port, path: encoded, query,
    headers: { ...headers, host: `127.0.0.1:${w.port}`, 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex') }, body,
  });
  const qs = Object.entries(query).map(([k, v]) => (v === '' ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)).join('&');
  const h = { ...(req.headers as Record<string, string>) };
  delete h.host;
  return fetch(`http://127.0.0.1:${w.port}${encoded}${qs ? `?${qs}` : ''}`, { method, headers: h, ...(body ? { body } : {}) });
}
