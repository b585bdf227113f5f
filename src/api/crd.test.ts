import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { Type } from '@sinclair/typebox';
import { buildCrd, renderCrdYaml, toStructural, PRINTER_COLUMNS } from './crd.ts';
import { CRD_FILE, TfeClusterSchema } from './schema.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

type Node = Record<string, any>;
function openAPI(): Node {
  return (buildCrd() as Node).spec.versions[0].schema.openAPIV3Schema;
}
function* nodes(n: Node, path = ''): Generator<[string, Node]> {
  yield [path, n];
  for (const [k, v] of Object.entries(n.properties ?? {})) yield* nodes(v as Node, `${path}.${k}`);
  if (n.items) yield* nodes(n.items, `${path}[]`);
}

test(`committed ${CRD_FILE} is what src/api/schema.ts generates`, () => {
  let committed = '';
  try {
    committed = readFileSync(join(root, CRD_FILE), 'utf8');
  } catch {
    assert.fail(`${CRD_FILE} is missing: run \`make crds\` (npm run gen:crd) and commit it`);
  }
  assert.ok(
    committed === renderCrdYaml(),
    `${CRD_FILE} differs from what src/api/schema.ts generates: run \`make crds\` (npm run gen:crd) and commit the result`,
  );
  assert.deepEqual(parse(committed), buildCrd());
});

test('schema is structural: only apiextensions keys, every node typed, no TypeBox leftovers', () => {
  const text = JSON.stringify(openAPI());
  for (const bad of ['"$id"', '"anyOf"', '"const"', '"additionalProperties"', '"errorMessage"', '"durationMin"', '"oneOf"']) {
    assert.ok(!text.includes(bad), `generated schema contains ${bad}`);
  }
  for (const [path, n] of nodes(openAPI())) {
    assert.ok(typeof n.type === 'string', `${path || '<root>'} has no type`);
    if (n.type === 'object' && path !== '.metadata') assert.ok(n.properties, `${path} is an object without properties`);
  }
});

test('every string and list under spec is bounded (CEL cost estimation needs it)', () => {
  const spec = openAPI().properties.spec;
  for (const [path, n] of nodes(spec, 'spec')) {
    if (n.type === 'string' && !n.enum) assert.ok(n.maxLength, `${path} has no maxLength`);
    if (n.type === 'array') assert.ok(n.maxItems, `${path} has no maxItems`);
  }
});

test('fields with a default are not listed as required', () => {
  for (const [path, n] of nodes(openAPI())) {
    for (const name of n.required ?? []) {
      assert.equal(n.properties[name].default, undefined, `${path}.${name} has a default and is required`);
    }
  }
});

test('errorMessage constraints become one CEL rule carrying the message', () => {
  const nodesField = openAPI().properties.spec.properties.nodes;
  assert.equal(nodesField.minimum, undefined);
  assert.deepEqual(nodesField['x-kubernetes-validations'][0].rule, 'self >= 2 && self <= 5');
  assert.match(nodesField['x-kubernetes-validations'][0].message, /spec\.nodes must be between 2 and 5/);
  const region = openAPI().properties.spec.properties.aws.properties.region;
  assert.equal(region.pattern, undefined);
  assert.match(region['x-kubernetes-validations'][0].rule, /^self\.matches\(r'/);
});

test('literal unions become enums; lists are list-maps where keyed', () => {
  const spec = openAPI().properties.spec.properties;
  assert.deepEqual(spec.rollout.properties.approval, {
    description: spec.rollout.properties.approval.description,
    type: 'string',
    enum: ['Automatic', 'Manual'],
    default: 'Automatic',
  });
  const conditions = openAPI().properties.status.properties.conditions;
  assert.equal(conditions['x-kubernetes-list-type'], 'map');
  assert.deepEqual(conditions['x-kubernetes-list-map-keys'], ['type']);
  assert.deepEqual(conditions.items.required, ['type', 'status', 'lastTransitionTime', 'reason', 'message']);
});

test('CRD names, status subresource and printer columns', () => {
  const crd = buildCrd() as Node;
  assert.equal(crd.metadata.name, 'tfeclusters.tfe.operators.dev');
  assert.deepEqual(crd.spec.names.shortNames, ['tfe']);
  assert.equal(crd.spec.names.categories, undefined);
  assert.deepEqual(crd.spec.versions[0].subresources, { status: {} });
  assert.deepEqual(
    crd.spec.versions[0].additionalPrinterColumns.filter((c: Node) => !c.priority).map((c: Node) => c.name),
    ['Phase', 'Step', 'Ready', 'Desired', 'Redis', 'Age'],
  );
  assert.equal(PRINTER_COLUMNS.length, crd.spec.versions[0].additionalPrinterColumns.length);
});

test('toStructural refuses what the API server would refuse', () => {
  assert.throws(() => toStructural(Type.Union([Type.String(), Type.Object({ a: Type.String() })])), /not structural/);
  assert.throws(() => toStructural(Type.String({ $comment: 'x' })), /not allowed in a CRD schema/);
  assert.throws(() => toStructural(Type.Object({}, { additionalProperties: Type.String() })), /additionalProperties/);
  assert.throws(() => toStructural(Type.String({ errorMessage: 'no constraint' })), /errorMessage without/);
  assert.throws(() => toStructural(Type.String({ pattern: "it's", errorMessage: 'quote' })), /single quote/);
  assert.doesNotThrow(() => toStructural(TfeClusterSchema));
});
