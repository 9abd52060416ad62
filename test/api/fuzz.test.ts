/**
 * Bad input never crashes the gateway and never gets a 500: over a thousand mutated requests (query strings, form
 * bodies, headers, signatures, methods, raw malformed HTTP), some mutated before signing (they reach the parser and
 * the handlers), some after (they exercise the verifier). Deterministic: a seeded PRNG.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import { startTestCloud, type TestCloud } from '../../src/main/testing.js';
import { Sha256 } from './sha256.js';
import { signedFetch } from './sign.js';

let cloud: TestCloud;
before(async () => { cloud = await startTestCloud(); });
after(async () => { await cloud.stop(); });

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEEDS: [string, string, string][] = [
  ['/services/compute', 'ec2', 'Action=DescribeRegions&Version=2016-11-15&RegionName.1=eucalyptus'],
  ['/services/compute', 'ec2', 'Action=DescribeAvailabilityZones&Version=2016-11-15&Filter.1.Name=zone-name&Filter.1.Value.1=euca*'],
  ['/services/compute', 'ec2', 'Action=RunInstances&Version=2016-11-15&ImageId=emi-12345678&MinCount=1&MaxCount=1&TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=a&TagSpecification.1.Tag.1.Value=b'],
  ['/services/Euare', 'iam', 'Action=CreateUser&Version=2010-05-08&UserName=fuzz&Path=%2Fa%2F&Tags.member.1.Key=k&Tags.member.1.Value=v'],
  ['/services/Euare', 'iam', 'Action=ListUsers&Version=2010-05-08&MaxItems=5&Marker=abc'],
  ['/services/Tokens', 'sts', 'Action=GetCallerIdentity&Version=2011-06-15'],
  ['/services/Tokens', 'sts', 'Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fx&RoleSessionName=s&DurationSeconds=900'],
];

const JUNK = ['%', '%FF', '%C3%28', '&&', '==', '.99999999.', '.0.', '.-1.', '\u0000', '%00', '+', ';', '\\', '"', '<', '>', '&Action=', '.member.', '.1.1.1.1.1.1', 'é', '\uD800', '%ED%A0%80', 'DryRun=true&', 'Version=&', 'MaxItems=-1&', 'MinCount=1e309&', 'MaxCount=NaN&'];

function mutate(s: string, r: () => number): string {
  const n = 1 + Math.floor(r() * 4);
  let out = s;
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (out.length + 1));
    switch (Math.floor(r() * 7)) {
      case 0: out = out.slice(0, at) + JUNK[Math.floor(r() * JUNK.length)]! + out.slice(at); break;
      case 1: out = out.slice(0, at) + out.slice(at + 1 + Math.floor(r() * 8)); break;
      case 2: out = out.slice(0, at); break;
      case 3: out = out + '&' + out.split('&')[Math.floor(r() * out.split('&').length)]; break;
      case 4: out = out + `&Filter.${Math.floor(r() * 1e9)}.Name=x&Filter.${Math.floor(r() * 1e9)}.Value.1=y`; break;
      case 5: out = out.slice(0, at) + 'A'.repeat(Math.floor(r() * 5000)) + out.slice(at); break;
      default: out = out.slice(0, at) + String.fromCharCode(Math.floor(r() * 256)) + out.slice(at + 1); break;
    }
  }
  return out;
}

async function send(url: string, method: string, headers: Record<string, string>, body: string | undefined): Promise<number> {
  const res = await fetch(url, { method, headers, ...(body !== undefined && method !== 'GET' && method !== 'HEAD' ? { body } : {}) });
  await res.arrayBuffer();
  return res.status;
}

function rawHttp(port: number, payload: string): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let data = '';
    const done = () => { sock.destroy(); resolve(data); };
    sock.setTimeout(3000, done);
    sock.on('data', (d) => { data += d.toString('latin1'); });
    sock.on('end', done);
    sock.on('error', done);
    sock.write(payload);
    setTimeout(() => sock.end(), 50);
  });
}

test('1,200 mutated requests: no 500, no crash, still serving', async () => {
  const r = prng(20261127);
  const creds = { accessKeyId: cloud.admin.accessKeyId, secretAccessKey: cloud.admin.secretAccessKey };
  const base = cloud.endpoints.clc;
  const statuses = new Map<number, number>();
  const count = (s: number) => statuses.set(s, (statuses.get(s) ?? 0) + 1);
  for (let i = 0; i < 1200; i++) {
    const [path, service, body] = SEEDS[i % SEEDS.length]!;
    const kind = i % 6;
    let status: number;
    if (kind === 0 || kind === 1) {
      // mutated, then signed: reaches parsing and handlers
      const res = await signedFetch(base + path, service, creds, mutate(body, r));
      status = res.status;
      assert.ok(!res.body.includes(' at ') || !/\.ts:\d+/.test(res.body), 'no stack traces in bodies');
    } else if (kind === 2) {
      // signed, then mutated body or query: signature must fail cleanly
      const signer = new SignatureV4({ service, region: 'eucalyptus', credentials: creds, sha256: Sha256 });
      const u = new URL(base + path);
      const req = await signer.sign({ method: 'POST', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: u.pathname, query: {}, headers: { host: u.host, 'content-type': 'application/x-www-form-urlencoded' }, body });
      const h = { ...req.headers } as Record<string, string>;
      delete h.host;
      status = await send(base + path, 'POST', h, mutate(body, r));
    } else if (kind === 3) {
      // signed, then a header mangled
      const signer = new SignatureV4({ service, region: 'eucalyptus', credentials: creds, sha256: Sha256 });
      const u = new URL(base + path);
      const req = await signer.sign({ method: 'POST', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: u.pathname, query: {}, headers: { host: u.host, 'content-type': 'application/x-www-form-urlencoded' }, body });
      const h = { ...req.headers } as Record<string, string>;
      delete h.host;
      const names = Object.keys(h);
      const name = names[Math.floor(r() * names.length)]!;
      h[name] = mutate(h[name]!, r).replace(/[^\x20-\x7e]/g, '?');
      status = await send(base + path, 'POST', h, body);
    } else if (kind === 4) {
      // unsigned, odd methods, query-string requests and junk paths
      const methods = ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'POST'];
      const m = methods[Math.floor(r() * methods.length)]!;
      const q = encodeURI(mutate(body, r).replace(/[\uD800-\uDFFF]/g, '?')).replace(/#/g, '%23');
      const p = r() < 0.2 ? mutate(path, r).replace(/[^\x21-\x7e]/g, '') || '/' : path;
      status = await send(`${base}${p.startsWith('/') ? p : '/' + p}?${q}`, m, { 'content-type': r() < 0.5 ? 'application/x-www-form-urlencoded' : 'text/plain' }, m === 'GET' ? undefined : mutate(body, r));
    } else {
      // raw malformed HTTP
      const payloads = [
        `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nAction=`,
        `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n`,
        `POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nAction\r\n0\r\n\r\n`,
        `GARBAGE\r\n\r\n`,
        `GET /${'a'.repeat(20000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
        `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 Credential=\r\nContent-Length: 0\r\n\r\n`,
        `POST ${path} HTTP/1.1\r\nHost: x\r\nX-Amz-Date: 99999999T999999Z\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIA/20260101/x/ec2/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Length: 0\r\n\r\n`,
      ];
      const text = await rawHttp(cloud.ports.clc, payloads[i % payloads.length]!);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      status = m ? Number(m[1]) : 0;
    }
    count(status);
    assert.ok(status !== 500 && status < 600, `request ${i} (kind ${kind}) answered ${status}`);
  }
  const ok = await signedFetch(`${base}/services/compute`, 'ec2', creds, 'Action=DescribeRegions&Version=2016-11-15');
  assert.equal(ok.status, 200, 'still serving');
  assert.ok((statuses.get(400) ?? 0) + (statuses.get(403) ?? 0) + (statuses.get(401) ?? 0) > 500, `mostly client errors: ${JSON.stringify([...statuses])}`);
});
