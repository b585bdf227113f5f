import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conditionsByType, conditionsEqual, findCondition, isConditionFalse, isConditionTrue, removeCondition, rfc3339, setCondition, setConditions } from './conditions.ts';

const t0 = new Date('2025-01-01T00:00:00.123Z');
const t1 = new Date('2025-01-01T00:05:00Z');

test('setCondition appends a new condition with lastTransitionTime = now (second precision)', () => {
  const list = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Migrating', message: 'step 1', observedGeneration: 1 }, t0);
  assert.deepEqual(list, [
    { type: 'Ready', status: 'False', reason: 'Migrating', message: 'step 1', lastTransitionTime: '2025-01-01T00:00:00Z', observedGeneration: 1 },
  ]);
});

test('same status keeps lastTransitionTime, updates reason/message/observedGeneration', () => {
  const a = setCondition([], { type: 'Ready', status: 'False', reason: 'Migrating', message: 'step 1', observedGeneration: 1 }, t0);
  const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'Waiting', message: 'step 2', observedGeneration: 2 }, t1);
  assert.equal(b[0].lastTransitionTime, '2025-01-01T00:00:00Z');
  assert.equal(b[0].reason, 'Waiting');
  assert.equal(b[0].message, 'step 2');
  assert.equal(b[0].observedGeneration, 2);
  assert.equal(a[0].reason, 'Migrating', 'input not mutated');
});

test('status change moves lastTransitionTime; position in the list is kept', () => {
  let list = setConditions([], [
    { type: 'Ready', status: 'False', reason: 'Migrating', message: '' },
    { type: 'Progressing', status: 'True', reason: 'Migrating', message: '' },
  ], t0);
  list = setCondition(list, { type: 'Ready', status: 'True', reason: 'Ready', message: 'all nodes healthy' }, t1);
  assert.deepEqual(list.map((c) => c.type), ['Ready', 'Progressing']);
  assert.equal(findCondition(list, 'Ready')!.lastTransitionTime, rfc3339(t1));
  assert.equal(findCondition(list, 'Progressing')!.lastTransitionTime, rfc3339(t0));
  assert.ok(isConditionTrue(list, 'Ready'));
  assert.ok(!isConditionFalse(list, 'Ready'));
  assert.ok(!isConditionTrue(list, 'Degraded'));
});

test('observedGeneration is kept when not given', () => {
  const a = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: '', observedGeneration: 3 }, t0);
  const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'B', message: '' }, t1);
  assert.equal(b[0].observedGeneration, 3);
  const c = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: '' }, t0);
  assert.ok(!('observedGeneration' in c[0]));
});

test('remove, map view and equality', () => {
  const list = setConditions([], [
    { type: 'Ready', status: 'False', reason: 'A', message: '' },
    { type: 'Paused', status: 'True', reason: 'B', message: '' },
  ], t0);
  assert.deepEqual(removeCondition(list, 'Paused').map((c) => c.type), ['Ready']);
  assert.deepEqual([...conditionsByType(list).keys()], ['Ready', 'Paused']);
  assert.ok(conditionsEqual(list, [...list].reverse()));
  assert.ok(!conditionsEqual(list, setCondition(list, { type: 'Ready', status: 'False', reason: 'A', message: 'changed' }, t0)));
  assert.ok(!conditionsEqual(list, removeCondition(list, 'Paused')));
  assert.ok(conditionsEqual(undefined, []));
});
