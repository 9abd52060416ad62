/**
 * The README's first command, black-box: `bin/euca up` in a fresh data directory (its own ports and network
 * namespaces, an isolated HOME), then what the README's quick start does with Debian's aws CLI through the profile
 * `euca up` wrote, the `euca` subcommands, an instance reached with `euca ssh` (when this host can run VMs), and
 * `euca down`. Runs once (SQLite pass).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, existsSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { DEBIAN_AWS, freePort } from '../../src/main/testing.js';
import { vmTestSkipReason, testGuestImage } from '../../src/nc/test-support.js';

const EUCA = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'euca');
const skipAll = process.env.EUCA_TEST_DB === 'postgres' ? 'runs once, on the SQLite pass' : false;
const vmSkip = vmTestSkipReason();
const tag = randomBytes(3).toString('hex');
const netns = `euca-cn-${tag}`;
const outsideNetns = `euca-co-${tag}`;

let dir: string;
let data: string;
let env: NodeJS.ProcessEnv;

interface Out { code: number; stdout: string; stderr: string }
function sh(bin: string, args: string[], timeout = 180_000): Promise<Out> {
  return new Promise((res) => {
    execFile(bin, args, { env, timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      res({ code, stdout, stderr });
    });
  });
}
const euca = (...args: string[]) => sh(EUCA, [...args, '--data-dir', data], 600_000);
const aws = (...args: string[]) => sh(DEBIAN_AWS, ['--profile', 'euca', '--output', 'json', ...args]);
async function ok(p: Promise<Out>): Promise<string> {
  const r = await p;
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  if (skipAll) return;
  dir = mkdtempSync(join(tmpdir(), 'euca-cli-'));
  data = join(dir, 'data');
  mkdirSync(join(dir, 'home'), { recursive: true });
  mkdirSync(join(data, 'images'), { recursive: true });
  const ports = { clc: await freePort(), walrus: await freePort(), cc: await freePort(), sc: await freePort(), nc: await freePort() };
  const octet = 100 + (parseInt(tag, 16) % 120);
  writeFileSync(join(data, 'euca.json'), JSON.stringify({ ports, node: { netns, outsideNetns, subnet: `10.${octet}.0.0/24` } }));
  if (!vmSkip) {
    // The default image is built once per machine for the tests; `euca up` finds it current in its data directory.
    const img = await testGuestImage();
    symlinkSync(img.dir, join(data, 'images', 'default'));
  }
  env = {
    // a fresh Debian machine's PATH: `aws` is Debian's awscli, whatever else this machine has installed
    PATH: `${dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: join(dir, 'home'), LANG: 'C.UTF-8',
    // never any traffic off this machine, whatever a client is configured to do
    HTTP_PROXY: 'http://127.0.0.1:9', HTTPS_PROXY: 'http://127.0.0.1:9', NO_PROXY: '127.0.0.1,localhost',
  };
});

after(() => {
  if (skipAll || !dir) return;
  const pidFile = join(data, 'euca.pid');
  if (existsSync(pidFile)) {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
    } catch { /* already gone */ }
  }
  for (const ns of [netns, outsideNetns]) {
    try {
      const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean);
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch { /* gone */ }
      }
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch { /* the namespace was never made */ }
  }
  rmSync(dir, { recursive: true, force: true });
});

test('euca up starts the cloud-in-a-box and writes a working AWS CLI profile; euca down stops it', { skip: skipAll }, async (t) => {
  const up = await ok(euca('up'));
  assert.match(up, /Started the cloud-in-a-box \(pid \d+\)/);
  assert.match(up, /EC2 http:\/\/127\.0\.0\.1:\d+\/services\/compute/);
  assert.match(up, /AWS CLI profile: euca/);
  if (!vmSkip) assert.match(up, /Node controller \S+ registered; default image emi-[0-9a-f]+\./, up);
  assert.ok(existsSync(join(data, 'eucarc')), 'eucarc written');
  const awsConfig = readFileSync(join(dir, 'home', '.aws', 'config'), 'utf8');
  assert.match(awsConfig, /\[profile euca\]/);

  await t.test('the README quick start with the aws CLI', async () => {
    const regions = JSON.parse(await ok(aws('ec2', 'describe-regions'))) as { Regions: Array<{ RegionName: string }> };
    assert.deepEqual(regions.Regions.map((r) => r.RegionName), ['eucalyptus']);
    const zones = JSON.parse(await ok(aws('ec2', 'describe-availability-zones'))) as { AvailabilityZones: Array<{ ZoneName: string; State: string }> };
    assert.deepEqual(zones.AvailabilityZones.map((z) => [z.ZoneName, z.State]), [['euca-zone-1', 'available']]);
    await ok(aws('iam', 'create-user', '--user-name', 'alice'));
    const key = JSON.parse(await ok(aws('iam', 'create-access-key', '--user-name', 'alice'))) as { AccessKey: { AccessKeyId: string } };
    assert.match(key.AccessKey.AccessKeyId, /^AKIA/);
    const me = JSON.parse(await ok(aws('sts', 'get-caller-identity'))) as { Arn: string };
    assert.match(me.Arn, /^arn:aws:iam::\d{12}:user\/admin$/);
    await ok(aws('s3', 'mb', 's3://cli-bucket'));
    writeFileSync(join(dir, 'hello.txt'), 'hello\n');
    await ok(aws('s3', 'cp', join(dir, 'hello.txt'), 's3://cli-bucket/'));
    assert.match(await ok(aws('s3', 'ls', 's3://cli-bucket/')), /hello\.txt/);
    // the Eucalyptus-style environment variables of the eucarc work too
    const rc = readFileSync(join(data, 'eucarc'), 'utf8');
    assert.match(rc, /export AWS_ACCESS_KEY_ID=/);
  });

  await t.test('euca services, properties, accounts, nodes', async () => {
    const services = await ok(euca('services'));
    for (const c of ['CLC', 'Walrus', 'CC']) assert.match(services, new RegExp(`${c} .* ENABLED`), services);
    if (!vmSkip) assert.match(services, /NC .* ENABLED/, services);
    const set = await ok(euca('properties', 'set', 'cloud.vmstate.terminated_time', '120'));
    assert.match(set, /cloud\.vmstate\.terminated_time = 120/);
    assert.match(await ok(euca('properties', 'get', 'cloud.vmstate.terminated_time')), /terminated_time\s+120/);
    const bad = await euca('properties', 'set', 'cloud.vmstate.terminated_time', 'soon');
    assert.notEqual(bad.code, 0, 'a badly typed property value is refused');
    assert.match(await ok(euca('accounts', 'create', 'team1')), /Created account team1 \(\d{12}\)/);
    assert.match(await ok(euca('accounts', 'list')), /\d{12}\s+team1/);
    assert.match(await ok(euca('accounts', 'quota', 'team1', 'instances=2')), /instances/);
    const creds = await ok(euca('credentials', '--account', 'team1', '--profile', 'team1', '--out', join(dir, 'team1')));
    assert.match(creds, /team1/);
    const who = JSON.parse(await ok(sh(DEBIAN_AWS, ['--profile', 'team1', '--output', 'json', 'sts', 'get-caller-identity']))) as { Arn: string };
    assert.match(who.Arn, /:user\/admin$/);
    const nodes = await ok(euca('nodes', 'list'));
    if (!vmSkip) assert.match(nodes, /ENABLED/, nodes);
    const unknown = await euca('frobnicate');
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr + unknown.stdout, /Unknown command 'frobnicate'/);
  });

  await t.test('an instance of the default image, reached with euca ssh', { skip: vmSkip }, async () => {
    const keyFile = join(dir, 'mykey');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'cli-test', '-f', keyFile]);
    await ok(aws('ec2', 'import-key-pair', '--key-name', 'mykey', '--public-key-material', `fileb://${keyFile}.pub`));
    const images = JSON.parse(await ok(aws('ec2', 'describe-images', '--filters', 'Name=name,Values=euca-default-????????????'))) as { Images: Array<{ ImageId: string }> };
    const imageId = images.Images[0]?.ImageId;
    assert.ok(imageId, 'euca up registered the default image');
    writeFileSync(join(dir, 'boot.sh'), '#!/bin/sh\necho hello from user-data\n');
    const runOut = JSON.parse(await ok(aws('ec2', 'run-instances', '--image-id', imageId, '--instance-type', 'm1.small', '--key-name', 'mykey', '--user-data', `file://${join(dir, 'boot.sh')}`))) as { Instances: Array<{ InstanceId: string }> };
    const id = runOut.Instances[0]!.InstanceId;
    let state = '';
    for (let i = 0; i < 180 && state !== 'running'; i++) {
      const d = JSON.parse(await ok(aws('ec2', 'describe-instances', '--instance-ids', id))) as { Reservations: Array<{ Instances: Array<{ State: { Name: string } }> }> };
      state = d.Reservations[0]?.Instances[0]?.State.Name ?? '';
      assert.ok(!['terminated', 'shutting-down'].includes(state), `instance ended: ${state}`);
      if (state !== 'running') await new Promise((r) => setTimeout(r, 1000));
    }
    assert.equal(state, 'running');
    // The guest's SSH server starts after its network; retry until it answers (bounded).
    let ssh: Out = { code: -1, stdout: '', stderr: '' };
    for (let i = 0; i < 40; i++) {
      ssh = await sh(EUCA, ['ssh', id, '-i', keyFile, '--data-dir', data, '--', 'cat /proc/sys/kernel/hostname; echo from-ssh'], 60_000);
      if (ssh.code === 0) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    assert.equal(ssh.code, 0, ssh.stderr);
    assert.match(ssh.stdout, /from-ssh/);
    const consoleOut = JSON.parse(await ok(aws('ec2', 'get-console-output', '--instance-id', id))) as { Output?: string };
    assert.match(consoleOut.Output ?? '', /hello from user-data/);
    await ok(aws('ec2', 'terminate-instances', '--instance-ids', id));
  });

  const down = await ok(euca('down'));
  assert.match(down, /Stopped the cloud/);
  assert.match((await euca('services')).stdout, /CLC .* STOPPED/);
  const namespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (!vmSkip) {
    // a plain stop keeps the node's network for the instances it re-adopts on the next start
    assert.ok(namespaces().includes(netns), 'the node namespace stays after a plain euca down');
    const again = await ok(euca('up'));
    assert.match(again, /Node controller \S+ registered/, again);
    assert.match(await ok(euca('services')), /NC .* ENABLED/);
  }
  const destroyed = await ok(euca('down', '--destroy'));
  assert.match(destroyed, /Stopped the cloud .*terminated its node's instances and removed its network/);
  assert.ok(!namespaces().includes(netns) && !namespaces().includes(outsideNetns), 'euca down --destroy leaves no namespace');
  const leftovers = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(data));
  assert.deepEqual(leftovers, [], 'no process of the cloud is left');
});
