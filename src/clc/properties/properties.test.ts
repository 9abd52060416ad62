import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestDatabase } from '../../db/index.js';
import { PropertyStore, propertiesMigrations } from './index.js';

test('properties: defaults, typed set, refusal of unknown names and wrong types', async () => {
  const d = await openTestDatabase(propertiesMigrations);
  try {
    const p = new PropertyStore(d.db);
    assert.equal(await p.getInt('cloud.vmstate.terminated_time'), 60);
    assert.deepEqual(await p.set('cloud.vmstate.terminated_time', ' 5 '), { old: '60', value: '5' });
    assert.equal(await p.getInt('cloud.vmstate.terminated_time'), 5);
    await assert.rejects(p.set('cloud.vmstate.terminated_time', 'soon'), /integer/);
    await assert.rejects(p.set('cloud.images.defaultvisibility', 'yes'), /true or false/);
    await assert.rejects(p.get('no.such.property'), (e: Error & { code?: string }) => e.code === 'InvalidParameterValue');
    await p.set('cloud.images.defaultvisibility', 'TRUE');
    assert.equal(await p.getBool('cloud.images.defaultvisibility'), true);
    const listed = await p.list('cloud.vmstate.');
    assert.ok(listed.length >= 3 && listed.every((x) => x.name.startsWith('cloud.vmstate.')));
  } finally {
    await d.close();
  }
});
