/**
 * Walrus driven by the real command-line clients: Debian's aws CLI (s3 mb/cp/ls/rm/sync/presign, s3api), boto3,
 * s3cmd and rclone. Keys with spaces, '+', unicode and nested directories round-trip.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { startWalrus, type StartedWalrus } from './s3-helpers.js';

const run = promisify(execFile);
let w: StartedWalrus;
let work: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  w = await startWalrus();
  work = mkdtempSync(join(tmpdir(), 'walrus-clients-'));
  env = {
    PATH: '/usr/bin:/bin', HOME: work, AWS_ACCESS_KEY_ID: w.alice.accessKeyId, AWS_SECRET_ACCESS_KEY: w.alice.secretAccessKey,
    AWS_DEFAULT_REGION: 'eucalyptus', AWS_CONFIG_FILE: join(work, 'aws-config'), AWS_SHARED_CREDENTIALS_FILE: join(work, 'aws-creds'),
  };
  writeFileSync(join(work, 'aws-config'), '[default]\ns3 =\n  addressing_style = path\n');
});
after(async () => {
  await w.close();
  rmSync(work, { recursive: true, force: true });
});

async function aws(...args: string[]): Promise<string> {
  const { stdout } = await run('/usr/bin/aws', ['--endpoint-url', w.endpoint, ...args], { env, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

test('aws CLI: mb, cp (multipart), ls, sync, presign, rm, s3api', async () => {
  await aws('s3', 'mb', 's3://cli-bucket');
  const big = randomBytes(20 * 1024 * 1024 + 3);
  writeFileSync(join(work, 'big.bin'), big);
  await aws('s3', 'cp', join(work, 'big.bin'), 's3://cli-bucket/dir/big file+1.bin');
  await aws('s3', 'cp', 's3://cli-bucket/dir/big file+1.bin', join(work, 'back.bin'));
  assert.equal(createHash('sha256').update(readFileSync(join(work, 'back.bin'))).digest('hex'), createHash('sha256').update(big).digest('hex'));
  const tree = join(work, 'tree');
  const names = ['a.txt', 'sp ace/b.txt', 'plus+sign/c.txt', 'ünï/cödé.txt', 'deep/er/d.txt'];
  for (const n of names) {
    mkdirSync(join(tree, n, '..'), { recursive: true });
    writeFileSync(join(tree, n), `content ${n}`);
  }
  await aws('s3', 'sync', tree, 's3://cli-bucket/tree/');
  const ls = await aws('s3', 'ls', '--recursive', 's3://cli-bucket/tree/');
  for (const n of names) assert.ok(ls.includes(`tree/${n}`), `${n} listed in ${ls}`);
  const down = join(work, 'down');
  await aws('s3', 'sync', 's3://cli-bucket/tree/', down);
  for (const n of names) assert.equal(readFileSync(join(down, n), 'utf8'), `content ${n}`);
  const top = await aws('s3', 'ls', 's3://cli-bucket/');
  assert.match(top, /PRE dir\//);
  assert.match(top, /PRE tree\//);
  const url = (await aws('s3', 'presign', 's3://cli-bucket/tree/sp ace/b.txt', '--expires-in', '60')).trim();
  assert.equal(await (await fetch(url)).text(), 'content sp ace/b.txt');
  const head = JSON.parse(await aws('s3api', 'head-object', '--bucket', 'cli-bucket', '--key', 'dir/big file+1.bin')) as { ContentLength: number; ETag: string };
  assert.equal(head.ContentLength, big.length);
  assert.match(head.ETag, /-\d+"$/);
  const lv = JSON.parse(await aws('s3api', 'list-objects-v2', '--bucket', 'cli-bucket', '--prefix', 'tree/', '--delimiter', '/')) as { CommonPrefixes: { Prefix: string }[] };
  assert.deepEqual(lv.CommonPrefixes.map((p) => p.Prefix).sort(), ['tree/deep/', 'tree/plus+sign/', 'tree/sp ace/', 'tree/ünï/'].sort());
  await aws('s3', 'rm', '--recursive', 's3://cli-bucket/');
  await aws('s3', 'rb', 's3://cli-bucket');
});

test('boto3: put/get/list with odd keys, multipart upload_file, paginator', async () => {
  const script = `
import boto3, hashlib, os, sys
from botocore.config import Config
s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='eucalyptus', config=Config(s3={'addressing_style': 'path'}))
s3.create_bucket(Bucket='boto-bucket')
keys = ['a b', 'c+d', 'ключ/é', 'x//y', 'trail/']
for k in keys:
    s3.put_object(Bucket='boto-bucket', Key=k, Body=k.encode())
for k in keys:
    assert s3.get_object(Bucket='boto-bucket', Key=k)['Body'].read() == k.encode(), k
got = [o['Key'] for p in s3.get_paginator('list_objects').paginate(Bucket='boto-bucket', PaginationConfig={'PageSize': 2}) for o in p.get('Contents', [])]
assert sorted(got) == sorted(keys), got
got2 = [o['Key'] for p in s3.get_paginator('list_objects_v2').paginate(Bucket='boto-bucket', PaginationConfig={'PageSize': 2}) for o in p.get('Contents', [])]
assert sorted(got2) == sorted(keys), got2
data = os.urandom(17 * 1024 * 1024)
open(sys.argv[2], 'wb').write(data)
from boto3.s3.transfer import TransferConfig
s3.upload_file(sys.argv[2], 'boto-bucket', 'big', Config=TransferConfig(multipart_threshold=5*1024*1024, multipart_chunksize=5*1024*1024))
assert hashlib.sha256(s3.get_object(Bucket='boto-bucket', Key='big')['Body'].read()).hexdigest() == hashlib.sha256(data).hexdigest()
assert s3.get_object(Bucket='boto-bucket', Key='big', Range='bytes=5-9')['Body'].read() == data[5:10]
try:
    s3.get_object(Bucket='boto-bucket', Key='nope')
    raise SystemExit('no error')
except s3.exceptions.NoSuchKey:
    pass
print('ok')
`;
  writeFileSync(join(work, 'b.py'), script);
  const { stdout } = await run('/usr/bin/python3', [join(work, 'b.py'), w.endpoint, join(work, 'boto.bin')], { env });
  assert.equal(stdout.trim(), 'ok');
});

test('s3cmd and rclone', async () => {
  const host = `127.0.0.1:${w.port}`;
  writeFileSync(join(work, 's3cfg'), `[default]\naccess_key = ${w.alice.accessKeyId}\nsecret_key = ${w.alice.secretAccessKey}\nhost_base = ${host}\nhost_bucket = ${host}\nuse_https = False\nbucket_location = eucalyptus\nsignature_v2 = False\n`);
  const s3cmd = (...a: string[]) => run('/usr/bin/s3cmd', ['-c', join(work, 's3cfg'), ...a], { env });
  await s3cmd('mb', 's3://cmd-bucket');
  writeFileSync(join(work, 'f 1.txt'), 'from s3cmd');
  await s3cmd('put', join(work, 'f 1.txt'), 's3://cmd-bucket/some dir/f 1.txt');
  const ls = (await s3cmd('ls', '-r', 's3://cmd-bucket')).stdout;
  assert.match(ls, /some dir\/f 1\.txt/);
  await s3cmd('get', 's3://cmd-bucket/some dir/f 1.txt', join(work, 'got.txt'));
  assert.equal(readFileSync(join(work, 'got.txt'), 'utf8'), 'from s3cmd');
  // the same with SigV2 signatures
  const v2ls = (await s3cmd('--signature-v2', 'ls', '-r', 's3://cmd-bucket')).stdout;
  assert.match(v2ls, /some dir\/f 1\.txt/);
  await s3cmd('--signature-v2', 'put', join(work, 'f 1.txt'), 's3://cmd-bucket/v2 key+1.txt');
  await s3cmd('--signature-v2', 'get', '--force', 's3://cmd-bucket/v2 key+1.txt', join(work, 'got2.txt'));
  assert.equal(readFileSync(join(work, 'got2.txt'), 'utf8'), 'from s3cmd');
  writeFileSync(join(work, 'rclone.conf'), `[w]\ntype = s3\nprovider = Other\naccess_key_id = ${w.alice.accessKeyId}\nsecret_access_key = ${w.alice.secretAccessKey}\nendpoint = ${w.endpoint}\nregion = eucalyptus\nforce_path_style = true\n`);
  const rclone = (...a: string[]) => run('/usr/bin/rclone', ['--config', join(work, 'rclone.conf'), ...a], { env });
  const src = join(work, 'rc');
  mkdirSync(join(src, 'sub dir'), { recursive: true });
  writeFileSync(join(src, 'sub dir', 'x+y.txt'), 'rclone data');
  writeFileSync(join(src, 'big'), randomBytes(3 * 1024 * 1024));
  await rclone('copy', src, 'w:cmd-bucket/rc');
  const out = join(work, 'rc-back');
  await rclone('copy', 'w:cmd-bucket/rc', out);
  assert.equal(readFileSync(join(out, 'sub dir', 'x+y.txt'), 'utf8'), 'rclone data');
  assert.ok(readFileSync(join(out, 'big')).equals(readFileSync(join(src, 'big'))));
  await rclone('check', src, 'w:cmd-bucket/rc');
  assert.ok(existsSync(out));
});
