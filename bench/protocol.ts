/**
 * bench/protocol: the model-driven XML writer and the query parser on big EC2 messages, next to a reference measured
 * in the same run: fast-xml-parser's XMLBuilder (a project dependency) writing the same document from a pre-shaped
 * object (it gets the wire names for free; our writer looks them up in the model), and URLSearchParams alone for the
 * parser (the floor: decoding the form without building the typed input).
 *
 * Run: node --import tsx bench/protocol.ts [--instances 2000] [--rounds 30]
 */
import { XMLBuilder } from 'fast-xml-parser';
import { serializeQueryResponse, parseQueryRequest } from '../src/protocol/index.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg('--instances', 2000);
const ROUNDS = arg('--rounds', 30);

const instances = Array.from({ length: N }, (_, i) => ({
  InstanceId: `i-${i.toString(16).padStart(17, '0')}`, ImageId: 'emi-0123456789abcdef0', InstanceType: 'm1.small',
  State: { Code: 16, Name: 'running' }, PrivateIpAddress: `10.0.${i >> 8}.${i & 255}`, PublicIpAddress: `192.0.2.${i & 255}`,
  LaunchTime: new Date(Date.UTC(2026, 0, 1, 0, 0, i % 60)), KeyName: 'mykey', Placement: { AvailabilityZone: 'zone-1', Tenancy: 'default' },
  SecurityGroups: [{ GroupId: 'sg-1', GroupName: 'default' }], Tags: [{ Key: 'Name', Value: `web <${i}> & co` }, { Key: 'env', Value: 'prod' }],
  BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeId: `vol-${i}`, Status: 'attached', DeleteOnTermination: true, AttachTime: new Date(0) } }],
}));
const output = { Reservations: instances.map((inst, i) => ({ ReservationId: `r-${i}`, OwnerId: '000000000001', Instances: [inst] })) };

// the same document pre-shaped with wire names for fast-xml-parser (its best case)
const wire = {
  DescribeInstancesResponse: {
    '@_xmlns': 'http://ec2.amazonaws.com/doc/2016-11-15/', requestId: 'rid',
    reservationSet: { item: output.Reservations.map((r) => ({ reservationId: r.ReservationId, ownerId: r.OwnerId, instancesSet: { item: r.Instances.map((x) => ({
      instanceId: x.InstanceId, imageId: x.ImageId, instanceType: x.InstanceType, instanceState: { code: x.State.Code, name: x.State.Name },
      privateIpAddress: x.PrivateIpAddress, ipAddress: x.PublicIpAddress, launchTime: x.LaunchTime.toISOString(), keyName: x.KeyName,
      placement: { availabilityZone: x.Placement.AvailabilityZone, tenancy: x.Placement.Tenancy },
      groupSet: { item: x.SecurityGroups.map((g) => ({ groupId: g.GroupId, groupName: g.GroupName })) },
      tagSet: { item: x.Tags.map((t) => ({ key: t.Key, value: t.Value })) },
      blockDeviceMapping: { item: x.BlockDeviceMappings.map((b) => ({ deviceName: b.DeviceName, ebs: { volumeId: b.Ebs.VolumeId, status: b.Ebs.Status, deleteOnTermination: b.Ebs.DeleteOnTermination, attachTime: b.Ebs.AttachTime.toISOString() } })) },
    })) } })) },
  },
};
const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: true });

function time(label: string, fn: () => unknown): number {
  for (let i = 0; i < 3; i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) fn();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / ROUNDS;
  console.log(`${label.padEnd(58)} ${ms.toFixed(2).padStart(8)} ms/op`);
  return ms;
}

const ours = serializeQueryResponse('ec2', 'DescribeInstances', output, 'rid').body;
console.log(`DescribeInstances, ${N} instances: ${(ours.length / 1024).toFixed(0)} KiB of XML; ${ROUNDS} rounds`);
const a = time('protocol serializeQueryResponse (model-driven)', () => serializeQueryResponse('ec2', 'DescribeInstances', output, 'rid'));
const b = time('fast-xml-parser XMLBuilder (pre-shaped wire object)', () => builder.build(wire));
console.log(`ratio reference/ours: ${(b / a).toFixed(2)}x`);

const qs = new URLSearchParams();
qs.append('Action', 'DescribeInstances');
for (let i = 1; i <= N; i++) qs.append(`InstanceId.${i}`, `i-${i}`);
for (let f = 1; f <= 20; f++) {
  qs.append(`Filter.${f}.Name`, 'tag:Name');
  for (let v = 1; v <= 50; v++) qs.append(`Filter.${f}.Value.${v}`, `value-${v}`);
}
const body = qs.toString();
console.log(`\nDescribeInstances request: ${N} ids + 20 filters x 50 values, ${(body.length / 1024).toFixed(0)} KiB form`);
const c = time('protocol parseQueryRequest (decode + typed input + validation)', () => parseQueryRequest('ec2', new URLSearchParams(body)));
const d = time('URLSearchParams decode alone (floor)', () => [...new URLSearchParams(body)].length);
console.log(`parse overhead over the floor: ${(c / d).toFixed(2)}x`);
