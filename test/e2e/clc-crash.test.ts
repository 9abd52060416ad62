/**
 * kill -9 of the CLC (with its CC) while it launches 5 instances, at several moments of the launch. The node controller
 * (fake hypervisor driver) runs in its own process and survives. After each restart every instance the node runs is
 * recorded by the CLC and reaches `running`, and nothing the CLC recorded is left pending: each instance is either
 * running and recorded, or was never started.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { EC2Client, RunInstancesCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { internalSecret } from '../../src/main/compute.js';
import { ccClient, ncClient } from '../../src/rpc/index.js';

const repo = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'euca-crash-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const clcScript = join(dir, 'clc.mts');
writeFileSync(clcScript, `
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCloud } from '${repo}/src/main/cloud.ts';
import { defaultConfig, silentLogger } from '${repo}/src/shared/index.ts';
const dataDir = process.argv[2];
const cfg = defaultConfig(dataDir);
const cloud = await startCloud(cfg, { log: silentLogger(), ephemeralPorts: true });
const { account, key } = await cloud.iam.bootstrap();
const imgs = await cloud.compute.service.images.describe(account.accountId, { owners: ['self'] });
let imageId = imgs.find((i) => i.name === 'crash-disk')?.imageId;
if (!imageId) {
  const disk = join(dataDir, 'disk.img');
  writeFileSync(disk, Buffer.alloc(1024 * 1024));
  imageId = (await cloud.compute.service.images.registerLocal(account.accountId, { name: 'crash-disk', kind: 'machine', path: disk, format: 'raw', size: 1024 * 1024 })).imageId;
}
console.log(JSON.stringify({ clc: cloud.endpoints.clc, cc: Object.values(cloud.endpoints.cc)[0], accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey, imageId }));
`);
const ncScript = join(dir, 'nc.mts');
writeFileSync(ncScript, `
import { startNodeController } from '${repo}/src/nc/index.ts';
import { FakeDriver } from '${repo}/src/nc/fake/index.ts';
import { silentLogger } from '${repo}/src/shared/index.ts';
const nc = await startNodeController({ dataDir: process.argv[2], port: 0, host: '127.0.0.1', nodeId: 'crash-node', secret: process.argv[3], network: false,
  driver: new FakeDriver(), resources: { cores: 64, memoryMiB: 64 * 1024, diskGiB: 1000 }, logger: silentLogger() });
console.log(JSON.stringify({ url: nc.url }));
`);

function start(script: string, args: string[]): Promise<{ child: ChildProcess; info: Record<string, string> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((res, rej) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (l) => res({ child, info: JSON.parse(l) as Record<string, string> }));
    child.once('exit', (code) => rej(new Error(`${script} exited ${code}`)));
  });
}

test('kill -9 of the CLC during a launch of 5: every instance ends running and recorded, or never started', async () => {
  const cloudDir = join(dir, 'cloud');
  const secret = internalSecret(cloudDir);
  const nc = await start(ncScript, [join(dir, 'node'), secret]);
  const ncc = ncClient(nc.info.url!, { secret });
  const rounds: string[] = [];
  let clc = await start(clcScript, [cloudDir]);
  await ccClient(clc.info.cc!, { secret }).registerNode({ url: nc.info.url! });
  // How long a launch takes here, so that the kills land inside one (they are spread over its duration).
  const warm = new EC2Client({ endpoint: `${clc.info.clc}/services/compute`, region: 'eucalyptus', maxAttempts: 1, credentials: { accessKeyId: clc.info.accessKeyId!, secretAccessKey: clc.info.secretAccessKey! } });
  await warm.send(new DescribeInstancesCommand({}));
  // The first launch pays for compiling its code paths; time the second, as warm as the launches that are cut.
  const first = await warm.send(new RunInstancesCommand({ ImageId: clc.info.imageId!, MinCount: 5, MaxCount: 5 }));
  const t0 = Date.now();
  const second = await warm.send(new RunInstancesCommand({ ImageId: clc.info.imageId!, MinCount: 5, MaxCount: 5 }));
  const took = Math.max(1, Date.now() - t0);
  warm.destroy();
  const total = first.Instances!.length + second.Instances!.length;
  rounds.push(`no kill (${took} ms warm): answered, ${total} new, ${total} total`);
  const delays = [0.1, 0.3, 0.5, 0.65, 0.8, 0.9, 1.0, 1.2].map((f) => Math.max(1, Math.round(f * took)));
  for (const delay of delays) {
    const ec2 = new EC2Client({ endpoint: `${clc.info.clc}/services/compute`, region: 'eucalyptus', maxAttempts: 1, credentials: { accessKeyId: clc.info.accessKeyId!, secretAccessKey: clc.info.secretAccessKey! } });
    await ec2.send(new DescribeInstancesCommand({})); // connection and signing warm, as in the measured launch
    const launch = ec2.send(new RunInstancesCommand({ ImageId: clc.info.imageId!, MinCount: 5, MaxCount: 5 })).then(() => 'answered', () => 'cut');
    await new Promise((r) => setTimeout(r, delay));
    clc.child.kill('SIGKILL');
    await new Promise((r) => clc.child.once('exit', r));
    const outcome = await launch;
    ec2.destroy();

    clc = await start(clcScript, [cloudDir]);
    const ec2b = new EC2Client({ endpoint: `${clc.info.clc}/services/compute`, region: 'eucalyptus', maxAttempts: 1, credentials: { accessKeyId: clc.info.accessKeyId!, secretAccessKey: clc.info.secretAccessKey! } });
    const deadline = Date.now() + 60_000;
    let recorded: Array<{ id: string; state: string; reason?: string }> = [];
    for (;;) {
      const r = await ec2b.send(new DescribeInstancesCommand({}));
      recorded = r.Reservations!.flatMap((x) => x.Instances!).map((i) => ({ id: i.InstanceId!, state: i.State!.Name!, ...(i.StateReason?.Message ? { reason: i.StateReason.Message } : {}) }));
      const nodeView = (await ncc.describeInstances({})).instances.filter((i) => i.state !== 'terminated');
      const onNode = nodeView.map((i) => i.instanceId);
      const settled = recorded.every((i) => i.state === 'running') && onNode.every((id) => recorded.some((x) => x.id === id));
      if (settled) {
        assert.deepEqual(onNode.sort(), recorded.map((x) => x.id).sort(), `after a kill at ${delay} ms: the node runs exactly what the CLC recorded`);
        break;
      }
      if (Date.now() > deadline) assert.fail(`after a kill at ${delay} ms the cloud did not settle: recorded ${JSON.stringify(recorded)}, on the node ${JSON.stringify(nodeView.map((i) => [i.instanceId, i.state, i.stateChangedAt]))}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(recorded.length % 5, 0, `launches are all or nothing (${recorded.length} instances after the kill at ${delay} ms)`);
    rounds.push(`${delay} ms: ${outcome}, ${recorded.length - (rounds.length ? Number(/(\d+) total/.exec(rounds[rounds.length - 1]!)![1]) : 0)} new, ${recorded.length} total`);
    ec2b.destroy();
  }
  clc.child.kill('SIGKILL');
  nc.child.kill('SIGKILL');
  console.log(`kill -9 rounds: ${rounds.join('; ')}`);
  // The kills must have hit the launch itself at least once (the call cut off), or the test proves nothing.
  assert.ok(rounds.some((r) => r.includes('cut')), rounds.join('; '));
});
