// Runs the AWS IAM User Guide's policy evaluation examples (fixtures/aws-doc-examples.ts, each with its source).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorize } from './evaluate.js';
import { parsePolicy } from './parse.js';
import { env } from './testing.js';
import { docExamples } from './fixtures/aws-doc-examples.js';

for (const ex of docExamples) {
  test(`${ex.title} — ${ex.source}`, () => {
    const identity = ex.identity.map((d, i) => parsePolicy(JSON.stringify(d), { name: `policy${i}` }));
    const resourcePolicy = ex.resourcePolicy ? parsePolicy(JSON.stringify(ex.resourcePolicy), { kind: 'resource', name: 'resource' }) : null;
    for (const c of ex.cases) {
      const r = authorize({
        principal: c.principal ?? ex.principal,
        identityPolicies: identity,
        resourcePolicy,
        request: c.request,
        env: env(c.env),
      });
      assert.equal(r.decision, c.expect, `${c.what}: ${r.reason}`);
      if (c.sid) assert.equal(r.matchedStatement?.sid, c.sid, c.what);
    }
  });
}

test('the fixtures cover every documented example family', () => {
  const sources = new Set(docExamples.map((e) => e.source.split('#')[0]));
  assert.equal(sources.size, 4);
  assert.ok(docExamples.reduce((n, e) => n + e.cases.length, 0) >= 40);
});
