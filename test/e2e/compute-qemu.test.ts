/**
 * Instances that really boot: the cloud-in-a-box (gateway, CLC, CC) with a real node controller running QEMU (TCG
 * here) in its own network namespace, the default guest image built from Debian packages, driven by Debian's aws CLI,
 * the SDK v3 and boto3. Runs as root, once (SQLite pass).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readdirSync, statSync, mkdirSync, copyFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, basename } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes, createHash } from 'node:crypto';
import { EC2Client, RunInstancesCommand, DescribeInstancesCommand, TerminateInstancesCommand, GetConsoleOutputCommand, type Instance } from '@aws-sdk/client-ec2';
import { startTestCloud, awsCliProfile, type TestCloud, type AwsCliProfile } from '../../src/main/testing.js';
import { internalSecret, registerDefaultImage } from '../../src/main/compute.js';
import { startNodeController, createHypervisorDriver, type NodeController } from '../../src/nc/index.js';
import { vmTestSkipReason, testGuestImage } from '../../src/nc/test-support.js';

const run = promisify(execFile);
const PY = '/usr/bin/python3';
const skip = vmTestSkipReason();

let cloud: TestCloud;
let nc: NodeController;
let dir: string;
let ncDir: string;
let env: NodeJS.ProcessEnv;
let runAws: AwsCliProfile['aws'];
let imageId: string;
let ec2: EC2Client;

before(async () => {
  if (skip) return;
  const built = await testGuestImage();
  cloud = await startTestCloud();
  dir = mkdtempSync(join(tmpdir(), 'euca-qemu-'));
  // Our own copy: the shared build cache may be rebuilt by another test while this one runs.
  mkdirSync(join(dir, 'img'));
  const copy = (f: string) => {
    const to = join(dir, 'img', basename(f));
    copyFileSync(f, to);
    return to;
  };
  const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
  const img = { ...built, kernel: copy(built.kernel), ramdisk: copy(built.ramdisk), rootfs: copy(built.rootfs) };
  delete (img as { disk?: string }).disk;
  img.sha256 = { kernel: sha(img.kernel), ramdisk: sha(img.ramdisk), rootfs: sha(img.rootfs) };
  ncDir = join(dir, 'node');
  const tag = randomBytes(3).toString('hex');
  nc = await startNodeController({
    dataDir: ncDir, port: 0, host: '127.0.0.1', nodeId: `qemu-${tag}`, secret: internalSecret(cloud.config.dataDir),
    driver: await createHypervisorDriver({ kind: 'qemu', dataDir: ncDir, probeKernel: img.kernel }),
    network: { netns: `euca-n-${tag}`, subnet: `10.${100 + (parseInt(tag, 16) % 100)}.${parseInt(tag.slice(2), 16) % 250}.0/24`, outsideNetns: false },
    resources: { cores: 4, memoryMiB: 2048, diskGiB: 40 }, zone: cloud.config.zones[0]!,
  });
  await cloud.compute.clusters.get(cloud.config.zones[0]!)!.controller.registerNode(nc.url);
  ({ imageId } = await registerDefaultImage(cloud.compute.service, cloud.admin.accountId, img));
  ec2 = new EC2Client(cloud.clientConfig('ec2'));

  ({ env, aws: runAws } = awsCliProfile(cloud, dir));
});

after(async () => {
  if (skip) return;
  ec2?.destroy();
  await nc?.destroy().catch(() => undefined);
  await cloud?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function aws(...args: string[]): Promise<any> {
  const r = await runAws(['--output', 'json', ...args], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`aws ${args.join(' ')}: ${r.err}`);
  return r.out.trim() ? JSON.parse(r.out) : {};
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 240_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      last = e;
    }
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const state = async (id: string): Promise<Instance> => (await aws('ec2', 'describe-instances', '--instance-ids', id)).Reservations[0].Instances[0] as Instance;
const waitState = (id: string, want: string) => until(`${id} ${want}`, async () => {
  const i = await state(id);
  if (i.State!.Name === 'terminated' && want !== 'terminated') assert.fail(`${id} terminated: ${JSON.stringify(i.StateReason)}`);
  return i.State!.Name === want ? i : undefined;
});
const consoleText = async (id: string): Promise<string> => ((await aws('ec2', 'get-console-output', '--instance-id', id)).Output as string | undefined) ?? '';
const count = (s: string, needle: string) => s.split(needle).length - 1;

function filesMentioning(root: string, id: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (e.includes(id)) out.push(p);
      if (statSync(p).isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

test('aws CLI: import a key, run with user-data, see it in the console with the metadata, reboot, stop/start, terminate and nothing is left', { skip }, async () => {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'e2e', '-f', join(dir, 'id')]);
  const kp = await aws('ec2', 'import-key-pair', '--key-name', 'e2e', '--public-key-material', `fileb://${join(dir, 'id.pub')}`);
  assert.ok(kp.KeyFingerprint);
  writeFileSync(join(dir, 'boot.sh'), '#!/bin/sh\necho "USERDATA-RAN on $(hostname) uid=$(id -u)"\n');
  const r = await aws('ec2', 'run-instances', '--image-id', imageId, '--instance-type', 'm1.small', '--key-name', 'e2e', '--user-data', `file://${join(dir, 'boot.sh')}`);
  const id = r.Instances[0].InstanceId as string;
  const running = await waitState(id, 'running');
  const ip = running.PrivateIpAddress!;
  assert.match(ip, /^10\./);

  const out = await until('the guest to finish booting', async () => {
    const c = await consoleText(id);
    return c.includes('CLOUD: ready') ? c : undefined;
  });
  assert.match(out, new RegExp(`USERDATA-RAN on ${id} uid=0`));
  assert.match(out, new RegExp(`metadata instance-id=${id}`));
  assert.match(out, new RegExp(`metadata local-ipv4=${ip.replace(/\./g, '\\.')}`));
  assert.match(out, /metadata instance-type=m1\.small/);
  assert.match(out, new RegExp(`metadata ami-id=${imageId}`));
  const pubKey = execFileSync('cat', [join(dir, 'id.pub')]).toString().split(' ').slice(0, 2).join(' ');
  assert.ok(out.includes(`ssh key installed: ${pubKey}`), 'the imported public key reached the guest');

  await aws('ec2', 'reboot-instances', '--instance-ids', id);
  await until('a second boot after reboot', async () => (count(await consoleText(id), 'CLOUD: ready') >= 2 ? true : undefined));
  assert.equal((await state(id)).State!.Name, 'running');

  await aws('ec2', 'stop-instances', '--instance-ids', id);
  await waitState(id, 'stopped');
  await aws('ec2', 'start-instances', '--instance-ids', id);
  await waitState(id, 'running');
  await until('a third boot after start', async () => (count(await consoleText(id), 'CLOUD: ready') >= 3 ? true : undefined));

  const t = await aws('ec2', 'terminate-instances', '--instance-ids', id);
  assert.equal(t.TerminatingInstances[0].CurrentState.Name, 'shutting-down');
  const gone = await waitState(id, 'terminated');
  assert.equal(gone.StateReason!.Code, 'Client.UserInitiatedShutdown');
  // QEMU process, tap and files are gone
  await until('the QEMU process to exit', async () => {
    try {
      execFileSync('pgrep', ['-f', `qemu-system.*${id}`]);
      return undefined;
    } catch {
      return true;
    }
  }, 90_000);
  const links = execFileSync('ip', ['-n', nc.netns!, '-o', 'link', 'show']).toString();
  assert.ok(!links.includes(`vn${id.slice(2).slice(-12)}`), 'the tap is gone');
  assert.deepEqual(filesMentioning(ncDir, id).filter((p) => !p.endsWith('.json')), [], 'no instance files left on the node');
});

test('SDK v3: three instances at once get distinct addresses and all boot; over capacity fails and leaves nothing', { skip }, async () => {
  const r = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 3, MaxCount: 3, InstanceType: 'm1.small' }));
  const ids = r.Instances!.map((i) => i.InstanceId!);
  const ips = await until('three running instances', async () => {
    const d = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
    const list = d.Reservations!.flatMap((x) => x.Instances!);
    if (list.some((i) => i.State!.Name === 'terminated')) assert.fail(JSON.stringify(list.map((i) => i.StateReason)));
    return list.every((i) => i.State!.Name === 'running') ? list.map((i) => i.PrivateIpAddress!) : undefined;
  });
  assert.equal(new Set(ips).size, 3);
  for (const id of ids) {
    await until(`${id} to boot`, async () => {
      const o = await ec2.send(new GetConsoleOutputCommand({ InstanceId: id }));
      return Buffer.from(o.Output ?? '', 'base64').toString().includes('CLOUD: ready') ? true : undefined;
    });
  }
  // 4 cores on the node, 3 in use: 2 more at minimum do not fit
  await assert.rejects(ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 2, MaxCount: 2 })), (e: Error) => e.name === 'InsufficientInstanceCapacity');
  const all = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['pending', 'running'] }] }));
  assert.equal(all.Reservations!.flatMap((x) => x.Instances!).length, 3);
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
  await until('three terminated', async () => {
    const d = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
    return d.Reservations!.flatMap((x) => x.Instances!).every((i) => i.State!.Name === 'terminated') ? true : undefined;
  });
});

test('boto3: run, wait for running with the waiter-free loop, read the console, terminate', { skip }, async () => {
  const script = `
import boto3, sys, time, json
c = boto3.client('ec2', endpoint_url=sys.argv[1], region_name='eucalyptus', aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
r = c.run_instances(ImageId=sys.argv[4], MinCount=1, MaxCount=1, InstanceType='m1.small', UserData='#!/bin/sh\\necho BOTO-USERDATA\\n')
iid = r['Instances'][0]['InstanceId']
out = ''
for _ in range(300):
    i = c.describe_instances(InstanceIds=[iid])['Reservations'][0]['Instances'][0]
    if i['State']['Name'] == 'terminated':
        out = 'terminated: ' + json.dumps(i.get('StateReason'))
        break
    if i['State']['Name'] == 'running':
        out = c.get_console_output(InstanceId=iid).get('Output', '')
        if 'CLOUD: ready' in out:
            break
    time.sleep(1)
c.terminate_instances(InstanceIds=[iid])
print(json.dumps({'id': iid, 'userdata': 'BOTO-USERDATA' in out, 'ready': 'CLOUD: ready' in out}))
`;
  writeFileSync(join(dir, 'b.py'), script);
  const { stdout } = await run(PY, [join(dir, 'b.py'), `${cloud.endpoints.clc}/services/compute`, cloud.admin.accessKeyId, cloud.admin.secretAccessKey, imageId], { env: { ...env, PYTHONPATH: '' }, timeout: 400_000 });
  const r = JSON.parse(stdout) as { id: string; userdata: boolean; ready: boolean };
  assert.ok(r.ready, `booted (${JSON.stringify(r)})`);
  assert.ok(r.userdata, 'boto3 user-data (encoded by boto3) ran');
});
