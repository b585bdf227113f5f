// examples/*.yaml: each is a TfeCluster that passes the code-side spec checks (types,
// patterns, ranges, enums; the CEL rules run only on the API server).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { checkSpec } from '../../src/api/validate.ts';

const dir = new URL('../../examples/', import.meta.url).pathname;
const files = readdirSync(dir).filter((f) => /^tfecluster.*\.ya?ml$/.test(f));

test('there are the five example TfeClusters', () => {
  assert.deepEqual(files.sort(), ['tfecluster-elasticache.yaml', 'tfecluster-external-redis.yaml', 'tfecluster-fdo.yaml', 'tfecluster-hashicorp.yaml', 'tfecluster.yaml']);
});

for (const file of files) {
  test(`${file} is a valid TfeCluster`, () => {
    const docs = parseAllDocuments(readFileSync(join(dir, file), 'utf8'));
    assert.equal(docs.length, 1);
    assert.deepEqual(docs[0]!.errors, []);
    const obj = docs[0]!.toJS() as { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; spec: unknown };
    assert.equal(obj.apiVersion, 'tfe.operators.dev/v1alpha1');
    assert.equal(obj.kind, 'TfeCluster');
    assert.ok(obj.metadata.name && obj.metadata.namespace);
    assert.deepEqual(checkSpec(obj.spec), []);
  });
}
