import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVerify, generateKeyPairSync } from 'node:crypto';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { MetadataService, serveMetadata, type InstanceMetadataRecord } from './index.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rec: InstanceMetadataRecord = {
  instanceId: 'i-0123456789abcdef0', reservationId: 'r-0123456789abcdef0', ownerId: '123456789012', imageId: 'emi-0a1b2c3d',
  instanceType: 'm1.small', privateIp: '10.9.0.10', publicIp: '198.51.100.10', mac: 'd0:0d:0a:09:00:0a', availabilityZone: 'zone-1',
  region: 'eucalyptus', launchIndex: 0, keyName: 'mykey', publicKey: 'ssh-ed25519 AAAAC3Nza test@host', userData: Buffer.from('#!/bin/sh\necho hi\n'),
  securityGroups: ['default', 'web'], hostname: 'euca-10-9-0-10.eucalyptus.internal', kernelId: 'eki-00000001', ramdiskId: 'eri-00000001',
  blockDeviceMapping: { ami: '/dev/sda1', root: '/dev/sda1' }, launchTime: Date.UTC(2026, 0, 1), subnetCidr: '10.9.0.0/24',
};
const svc = new MetadataService({ signingKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() });
svc.register(rec);
const get = (path: string, headers: Record<string, string> = {}, ip = rec.privateIp) => {
  const r = svc.handle(ip, 'GET', path, headers);
  return { status: r.status, body: r.body.toString() };
};

test('meta-data tree values', () => {
  const cases: [string, string][] = [
    ['/latest/meta-data/instance-id', rec.instanceId], ['/latest/meta-data/ami-id', rec.imageId], ['/latest/meta-data/instance-type', 'm1.small'],
    ['/latest/meta-data/local-ipv4', '10.9.0.10'], ['/latest/meta-data/public-ipv4', '198.51.100.10'], ['/latest/meta-data/hostname', rec.hostname],
    ['/latest/meta-data/local-hostname', rec.hostname], ['/latest/meta-data/placement/availability-zone', 'zone-1'],
    ['/latest/meta-data/public-keys/0/openssh-key', 'ssh-ed25519 AAAAC3Nza test@host\n'], ['/latest/meta-data/security-groups', 'default\nweb'],
    ['/latest/meta-data/reservation-id', rec.reservationId], ['/latest/meta-data/ami-launch-index', '0'], ['/latest/meta-data/kernel-id', 'eki-00000001'],
    ['/latest/meta-data/ramdisk-id', 'eri-00000001'], ['/latest/meta-data/block-device-mapping/root', '/dev/sda1'], ['/latest/user-data', '#!/bin/sh\necho hi\n'],
    ['/2009-04-04/meta-data/instance-id', rec.instanceId], ['/latest/meta-data/public-keys/', '0=mykey'], ['/latest/meta-data/public-keys/0', 'openssh-key'],
    ['/latest/meta-data/public-hostname', '198.51.100.10'],
  ];
  for (const [p, want] of cases) assert.deepEqual(get(p), { status: 200, body: want }, p);
  const listing = get('/latest/meta-data/').body.split('\n');
  for (const k of ['ami-id', 'block-device-mapping/', 'placement/', 'public-keys/', 'instance-id', 'local-ipv4']) assert.ok(listing.includes(k), k);
  assert.equal(get('/latest/meta-data/block-device-mapping/').body, 'ami\nroot');
});

test('unknown paths and unknown requesters get 404', () => {
  assert.equal(get('/latest/meta-data/nope').status, 404);
  assert.equal(get('/latest/meta-data/instance-id/extra').status, 404);
  assert.equal(get('/etc/passwd').status, 404);
  assert.equal(get('/latest/meta-data/instance-id', {}, '10.9.0.99').status, 404);
});

test('identity document is signed with the cloud key', () => {
  const doc = get('/latest/dynamic/instance-identity/document');
  const j = JSON.parse(doc.body) as Record<string, unknown>;
  assert.equal(j.instanceId, rec.instanceId);
  assert.equal(j.accountId, '123456789012');
  assert.equal(j.privateIp, '10.9.0.10');
  const sig = get('/latest/dynamic/instance-identity/signature').body;
  const v = createVerify('RSA-SHA256');
  v.update(doc.body);
  assert.ok(v.verify(publicKey, sig, 'base64'));
});

test('IMDSv2: token with TTL, wrong token 401, token bound to the requester', () => {
  assert.equal(svc.handle(rec.privateIp, 'PUT', '/latest/api/token', {}).status, 400);
  assert.equal(svc.handle(rec.privateIp, 'PUT', '/latest/api/token', { 'x-aws-ec2-metadata-token-ttl-seconds': '99999' }).status, 400);
  assert.equal(svc.handle(rec.privateIp, 'PUT', '/latest/api/token', { 'x-aws-ec2-metadata-token-ttl-seconds': '60', 'x-forwarded-for': '1.2.3.4' }).status, 403);
  const t = svc.handle(rec.privateIp, 'PUT', '/latest/api/token', { 'x-aws-ec2-metadata-token-ttl-seconds': '60' });
  assert.equal(t.status, 200);
  const token = t.body.toString();
  assert.equal(get('/latest/meta-data/instance-id', { 'x-aws-ec2-metadata-token': token }).body, rec.instanceId);
  assert.equal(get('/latest/meta-data/instance-id', { 'x-aws-ec2-metadata-token': token + 'x' }).status, 401);
  svc.register({ ...rec, instanceId: 'i-00000000000000002', privateIp: '10.9.0.11' });
  assert.equal(get('/latest/meta-data/instance-id', { 'x-aws-ec2-metadata-token': token }, '10.9.0.11').status, 401);
  // expiry
  let now = 1000;
  const s2 = new MetadataService({ signingKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), now: () => now });
  s2.register(rec);
  const tok = s2.handle(rec.privateIp, 'PUT', '/latest/api/token', { 'x-aws-ec2-metadata-token-ttl-seconds': '1' }).body.toString();
  assert.equal(s2.handle(rec.privateIp, 'GET', '/latest/meta-data/ami-id', { 'x-aws-ec2-metadata-token': tok }).status, 200);
  now += 1001;
  assert.equal(s2.handle(rec.privateIp, 'GET', '/latest/meta-data/ami-id', { 'x-aws-ec2-metadata-token': tok }).status, 401);
});

test('served over a unix socket with a PROXY line naming the guest', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'euca-md-'));
  const srv = await serveMetadata(svc, { unixPath: join(dir, 'md.sock') });
  try {
    const body = await new Promise<string>((resolve, reject) => {
      const s = connect(join(dir, 'md.sock'));
      let out = '';
      s.on('data', (d) => (out += d.toString()));
      s.on('end', () => resolve(out));
      s.on('error', reject);
      s.write(`PROXY TCP4 10.9.0.10 10.9.0.1 40000 8775\r\nGET /latest/meta-data/instance-id HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n`);
    });
    assert.match(body, /^HTTP\/1.1 200/);
    assert.ok(body.endsWith(rec.instanceId), body);
  } finally {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
