import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AwsError } from '../shared/index.js';
import { handleRpcRequest, parse, SchemaError, NcOps, ncClient, NC_RPC_PREFIX, RunInstanceRequest, VolumeTarget, type RpcImplementation } from './index.js';

const run = {
  instanceId: 'i-0123456789abcdef0',
  reservationId: 'r-0123456789abcdef0',
  ownerId: '123456789012',
  instanceType: { name: 'm1.small', cores: 1, memoryMiB: 256, diskGiB: 5 },
  boot: { imageId: 'emi-0123abcd', kernel: { id: 'eki-0123abcd', path: '/var/x/vmlinuz' } },
  metadata: { availabilityZone: 'zone-1', userData: 'IyEvYmluL3NoCg==' },
};

test('RunInstance request: valid message passes, unknown keys are dropped', () => {
  const r = parse(RunInstanceRequest, { ...run, bogus: 1 });
  assert.equal(r.instanceId, run.instanceId);
  assert.equal('bogus' in r, false);
});

test('RunInstance request: bad fields are rejected with their path', () => {
  assert.throws(() => parse(RunInstanceRequest, { ...run, instanceId: 'x' }, 'RunInstance'), (e: unknown) => e instanceof SchemaError && /RunInstance.instanceId/.test(e.message));
  assert.throws(() => parse(RunInstanceRequest, { ...run, instanceType: { ...run.instanceType, cores: 0 } }), SchemaError);
  assert.throws(() => parse(RunInstanceRequest, { ...run, boot: { imageId: 'emi-0123abcd', kernel: { id: 'eki-0123abcd', url: 'ftp://x' } } }), SchemaError);
});

test('VolumeTarget union picks the variant by kind', () => {
  assert.deepEqual(parse(VolumeTarget, { kind: 'nbd', host: '10.0.0.1', port: 10809, exportName: 'vol-1' }), { kind: 'nbd', host: '10.0.0.1', port: 10809, exportName: 'vol-1' });
  assert.throws(() => parse(VolumeTarget, { kind: 'iscsi' }), SchemaError);
});

test('client and server round trip, errors come back as AwsError codes', async () => {
  const seen: string[] = [];
  const impl = {
    DescribeResource: async () => ({ nodeId: 'n1', hypervisor: 'fake', cores: 2, memoryMiB: 1024, diskGiB: 10, coresAvailable: 2, memoryMiBAvailable: 1024, diskGiBAvailable: 10, instanceCount: 0, subnet: '10.1.0.0/24', gateway: '10.1.0.1', capabilities: { stop: true } }),
    TerminateInstance: async (r: { instanceId: string }) => {
      seen.push(r.instanceId);
      throw new AwsError('InvalidInstanceID.NotFound', `no ${r.instanceId}`);
    },
  } as unknown as RpcImplementation<typeof NcOps>;
  const srv = createServer((req, res) => {
    void handleRpcRequest(req, res, NC_RPC_PREFIX, NcOps, impl, { secret: 's3cr3t' }).then((ok) => {
      if (!ok) { res.statusCode = 404; res.end(); }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  try {
    const c = ncClient(url, { secret: 's3cr3t' });
    const r = await c.describeResource({});
    assert.equal(r.cores, 2);
    await assert.rejects(c.terminateInstance({ instanceId: 'i-00000001' }), (e: unknown) => e instanceof AwsError && e.code === 'InvalidInstanceID.NotFound' && e.status === 400);
    assert.deepEqual(seen, ['i-00000001']);
    // wrong secret
    await assert.rejects(ncClient(url, { secret: 'nope' }).describeResource({}), (e: unknown) => e instanceof AwsError && e.code === 'AuthFailure');
    // invalid body straight over HTTP → InvalidParameterValue (server-side validation)
    const res = await fetch(`${url}${NC_RPC_PREFIX}/RunInstance`, { method: 'POST', body: '{"instanceId":"bad"}' });
    assert.equal(res.status, 401); // unsigned
    const c2 = ncClient(url, { secret: 's3cr3t' });
    await assert.rejects(c2.runInstance({ ...run, instanceId: 'bad' } as never), SchemaError); // client refuses to send
  } finally {
    srv.close();
  }
});
