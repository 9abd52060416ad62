import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../shared/index.js';
import { ClusterController } from './controller.js';
import { startCcServer } from './server.js';

test('CC health endpoint answers while serving, with its zone and node counts', async () => {
  const log = createLogger('cc-test', 'silent');
  const cc = new ClusterController({
    zone: 'zone-h', log,
    ncClient: () => { throw new Error('no node is contacted by this test'); },
  });
  const srv = await startCcServer(cc, { port: 0, pollIntervalMs: 0 }, log);
  try {
    const r = await fetch(`${srv.url}/healthz`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { zone: 'zone-h', nodes: 0, enabledNodes: 0 });
    const other = await fetch(`${srv.url}/nope`, { method: 'POST' });
    assert.equal(other.status, 404);
  } finally {
    await srv.close();
  }
});
