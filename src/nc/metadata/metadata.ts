/**
 * @module nc/metadata
 * The EC2 instance metadata service, answering by the requester's private IP: the meta-data tree, user-data,
 * dynamic/instance-identity (document + RSA-SHA256 signature with the cloud key), IMDSv2 session tokens.
 * `MetadataService.handle` is a pure request → response function over the registered instances; `serveMetadata`
 * puts it behind a unix socket fed by the in-namespace forwarder (PROXY protocol v1 line first) or a TCP port.
 */
import { createSign, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { promises as fs } from 'node:fs';

export interface InstanceMetadataRecord {
  instanceId: string;
  reservationId: string;
  ownerId: string;
  imageId: string;
  instanceType: string;
  privateIp: string;
  publicIp?: string;
  mac: string;
  availabilityZone: string;
  region: string;
  launchIndex: number;
  keyName?: string;
  publicKey?: string;
  /** Decoded user data. */
  userData?: Buffer;
  securityGroups: string[];
  hostname: string;
  publicHostname?: string;
  kernelId?: string;
  ramdiskId?: string;
  blockDeviceMapping: Record<string, string>;
  launchTime: number;
  subnetCidr: string;
}

export interface MetadataResponse {
  status: number;
  body: string | Buffer;
  headers?: Record<string, string>;
}

const MAX_TTL = 21600;

export interface MetadataServiceOptions {
  /** PEM private key (RSA) that signs instance identity documents. */
  signingKeyPem: string;
  now?: () => number;
}

export class MetadataService {
  private readonly byIp = new Map<string, InstanceMetadataRecord>();
  /** instance id → the address it is registered under. */
  private readonly ipOf = new Map<string, string>();
  private readonly tokens = new Map<string, { ip: string; expires: number }>();
  private readonly now: () => number;

  constructor(private readonly opts: MetadataServiceOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** An instance's record, under its (current) private address; O(1) however many instances the node has. */
  register(r: InstanceMetadataRecord): void {
    const old = this.ipOf.get(r.instanceId);
    if (old !== undefined && old !== r.privateIp && this.byIp.get(old)?.instanceId === r.instanceId) this.byIp.delete(old);
    const prev = this.byIp.get(r.privateIp);
    if (prev && prev.instanceId !== r.instanceId && this.ipOf.get(prev.instanceId) === r.privateIp) this.ipOf.delete(prev.instanceId);
    this.byIp.set(r.privateIp, r);
    this.ipOf.set(r.instanceId, r.privateIp);
  }

  unregister(instanceId: string): void {
    const ip = this.ipOf.get(instanceId);
    if (ip === undefined) return;
    this.ipOf.delete(instanceId);
    if (this.byIp.get(ip)?.instanceId === instanceId) this.byIp.delete(ip);
  }

  lookup(ip: string): InstanceMetadataRecord | undefined {
    return this.byIp.get(ip);
  }

  identityDocument(r: InstanceMetadataRecord): string {
    return JSON.stringify({
      accountId: r.ownerId, architecture: 'x86_64', availabilityZone: r.availabilityZone, billingProducts: null,
      devpayProductCodes: null, marketplaceProductCodes: null, imageId: r.imageId, instanceId: r.instanceId,
      instanceType: r.instanceType, kernelId: r.kernelId ?? null, pendingTime: new Date(r.launchTime).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      privateIp: r.privateIp, ramdiskId: r.ramdiskId ?? null, region: r.region, version: '2017-09-30',
    }, null, 2);
  }

  private sign(doc: string): string {
    const s = createSign('RSA-SHA256');
    s.update(doc);
    return s.sign(this.opts.signingKeyPem, 'base64');
  }

  /** Answers one request from `srcIp`. */
  handle(srcIp: string, method: string, rawPath: string, headers: Record<string, string | string[] | undefined>): MetadataResponse {
    const path = rawPath.split('?')[0]!.replace(/\/{2,}/g, '/');
    const h = (n: string) => {
      const v = headers[n];
      return Array.isArray(v) ? v[0] : v;
    };
    const now = this.now();
    for (const [t, v] of this.tokens) if (v.expires <= now) this.tokens.delete(t);

    if (path === '/latest/api/token') {
      if (method !== 'PUT') return { status: 405, body: '', headers: { allow: 'OPTIONS, PUT' } };
      if (h('x-forwarded-for')) return { status: 403, body: 'Forbidden' };
      const ttl = Number(h('x-aws-ec2-metadata-token-ttl-seconds'));
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL) return { status: 400, body: 'Bad Request' };
      if (!this.byIp.has(srcIp)) return { status: 404, body: 'Not Found' };
      const token = randomBytes(36).toString('base64url');
      this.tokens.set(token, { ip: srcIp, expires: now + ttl * 1000 });
      return { status: 200, body: token, headers: { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) } };
    }
    if (method !== 'GET' && method !== 'HEAD') return { status: 405, body: '', headers: { allow: 'OPTIONS, GET, HEAD' } };
    const token = h('x-aws-ec2-metadata-token');
    if (token !== undefined) {
      const t = this.tokens.get(token);
      if (!t || t.ip !== srcIp || t.expires <= now) return { status: 401, body: 'Unauthorized' };
    }
    const r = this.byIp.get(srcIp);
    if (!r) return { status: 404, body: 'Not Found' };
    if (path === '/' || path === '') return { status: 200, body: 'latest' };
    const m = /^\/(latest|\d{4}-\d{2}-\d{2})(\/.*)?$/.exec(path);
    if (!m) return { status: 404, body: 'Not Found' };
    const rest = (m[2] ?? '/').replace(/\/$/, '');
    if (rest === '') return text(['dynamic', 'meta-data', ...(r.userData ? ['user-data'] : [])].join('\n'));
    if (rest === '/user-data') return r.userData ? { status: 200, body: r.userData, headers: { 'content-type': 'application/octet-stream' } } : notFound();
    if (rest.startsWith('/dynamic')) {
      const d = rest.slice('/dynamic'.length);
      if (d === '') return text('instance-identity/');
      if (d === '/instance-identity') return text('document\nsignature');
      const doc = this.identityDocument(r);
      if (d === '/instance-identity/document') return { status: 200, body: doc, headers: { 'content-type': 'application/json' } };
      if (d === '/instance-identity/signature') return text(this.sign(doc));
      return notFound();
    }
    if (rest.startsWith('/meta-data')) return lookupTree(metaTree(r), rest.slice('/meta-data'.length));
    return notFound();
  }
}

type Tree = { [k: string]: string | Tree };

function metaTree(r: InstanceMetadataRecord): Tree {
  const macTree: Tree = {
    'device-number': '0', 'interface-id': `eni-${r.instanceId.slice(2)}`, 'local-hostname': r.hostname, 'local-ipv4s': r.privateIp,
    mac: r.mac, 'owner-id': r.ownerId, ...(r.publicIp ? { 'public-ipv4s': r.publicIp } : {}),
    'security-groups': r.securityGroups.join('\n'), 'subnet-ipv4-cidr-block': r.subnetCidr,
  };
  return {
    'ami-id': r.imageId,
    'ami-launch-index': String(r.launchIndex),
    'ami-manifest-path': '(unknown)',
    'block-device-mapping': Object.fromEntries(Object.entries(r.blockDeviceMapping)),
    hostname: r.hostname,
    'instance-action': 'none',
    'instance-id': r.instanceId,
    'instance-type': r.instanceType,
    ...(r.kernelId ? { 'kernel-id': r.kernelId } : {}),
    'local-hostname': r.hostname,
    'local-ipv4': r.privateIp,
    mac: r.mac,
    network: { interfaces: { macs: { [r.mac]: macTree } } },
    placement: { 'availability-zone': r.availabilityZone, region: r.region },
    'public-hostname': r.publicHostname ?? r.publicIp ?? r.hostname,
    'public-ipv4': r.publicIp ?? '',
    ...(r.publicKey ? { 'public-keys': { [`0=${r.keyName ?? 'key'}`]: { 'openssh-key': r.publicKey.trim() + '\n' } } } : {}),
    ...(r.ramdiskId ? { 'ramdisk-id': r.ramdiskId } : {}),
    'reservation-id': r.reservationId,
    'security-groups': r.securityGroups.join('\n'),
  };
}

function text(body: string): MetadataResponse {
  return { status: 200, body, headers: { 'content-type': 'text/plain' } };
}
function notFound(): MetadataResponse {
  return { status: 404, body: 'Not Found' };
}

/** Walks the tree; directories list their entries (sub-directories with a trailing '/'). `public-keys/0` = `0=name`. */
function lookupTree(tree: Tree, sub: string): MetadataResponse {
  const parts = sub.split('/').filter(Boolean);
  let node: string | Tree = tree;
  for (const p of parts) {
    if (typeof node === 'string') return notFound();
    const key: string | undefined = p in node ? p : Object.keys(node).find((k) => k.split('=')[0] === p);
    if (key === undefined) return notFound();
    node = node[key]!;
  }
  if (typeof node === 'string') return text(node);
  const names = Object.entries(node).map(([k, v]) => (typeof v === 'string' ? k : k.includes('=') ? k : `${k}/`));
  return text(names.join('\n'));
}

/** Serves the metadata service on a unix socket (PROXY v1 line first: the forwarder) and/or a TCP address. */
export async function serveMetadata(svc: MetadataService, where: { unixPath?: string; tcp?: { host: string; port: number } }): Promise<{ close(): Promise<void>; tcpPort?: number }> {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const src = ((req.socket as Socket & { eucaSrc?: string }).eucaSrc ?? req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const out = svc.handle(src, req.method ?? 'GET', req.url ?? '/', req.headers);
    res.writeHead(out.status, { 'content-type': 'text/plain', ...out.headers, server: 'EC2ws', 'content-length': String(Buffer.byteLength(out.body)) });
    res.end(req.method === 'HEAD' ? undefined : out.body);
    req.resume();
  };
  const http: Server = createHttpServer(handler);
  const closers: (() => Promise<void>)[] = [];
  let tcpPort: number | undefined;
  if (where.unixPath) {
    const path = where.unixPath;
    await fs.rm(path, { force: true });
    const unix: NetServer = createNetServer((sock) => {
      let buf = Buffer.alloc(0);
      const onData = (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        const i = buf.indexOf('\r\n');
        if (i < 0) {
          if (buf.length > 256) sock.destroy();
          return;
        }
        sock.off('data', onData);
        sock.pause();
        const m = /^PROXY TCP4 (\S+) /.exec(buf.subarray(0, i).toString('latin1'));
        if (!m) return void sock.destroy();
        (sock as Socket & { eucaSrc?: string }).eucaSrc = m[1];
        const rest = buf.subarray(i + 2);
        if (rest.length) sock.unshift(rest);
        http.emit('connection', sock);
        sock.resume();
      };
      sock.on('data', onData);
      sock.on('error', () => undefined);
    });
    await new Promise<void>((resolve, reject) => unix.once('error', reject).listen(path, () => resolve()));
    closers.push(() => new Promise<void>((r) => unix.close(() => r())));
  }
  if (where.tcp) {
    await new Promise<void>((resolve, reject) => http.once('error', reject).listen(where.tcp!.port, where.tcp!.host, () => resolve()));
    const a = http.address();
    tcpPort = typeof a === 'object' && a ? a.port : undefined;
  }
  closers.push(() => new Promise<void>((r) => {
    http.close(() => r());
    http.closeAllConnections();
  }));
  return { close: async () => { for (const c of closers) await c(); }, ...(tcpPort !== undefined ? { tcpPort } : {}) };
}
