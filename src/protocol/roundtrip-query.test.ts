/**
 * Round trips for every IAM and STS operation through the real AWS SDK v3 clients (see roundtrip.testutil.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { roundTripAll, errorsAll, report } from './roundtrip.testutil.js';

for (const service of ['iam', 'sts'] as const) {
  test(`${service}: every operation's request and response round-trips through the SDK v3`, async () => {
    const { failures, ops } = await roundTripAll(service);
    assert.ok(ops > 10);
    assert.equal(failures.length, 0, report(failures));
  });
  test(`${service}: every modelled error of every operation is mapped by the SDK v3`, async () => {
    const { failures, cases } = await errorsAll(service);
    assert.ok(cases > 10);
    assert.equal(failures.length, 0, report(failures));
  });
}
