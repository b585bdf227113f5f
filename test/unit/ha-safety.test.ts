// The safety check of the HA end-to-end test must be able to fail: synthetic histories with
// a follower acting, a deposed leader acting late, and overlapping terms are all reported.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instanceOf, mutatingCalls, safetyViolations, type MutatingCall, type Term } from '../e2e/ha-support.ts';
import type { AwsCall } from '../sandbox/moto.ts';

const terms: Term[] = [
  { id: 'a', start: 1000, end: 5000, how: 'SIGKILL' },
  { id: 'b', start: 8000, end: 12000, how: 'stopped' },
  { id: 'a', start: 12500 },
];
const call = (id: string, at: number, action = 'UpdateAutoScalingGroup', seq = at): MutatingCall => ({ id, at, seq, action });

test('a clean history passes, including an instance that leads again in a later term', () => {
  assert.deepEqual(safetyViolations(terms, [call('a', 1200), call('a', 4900), call('b', 8100), call('b', 11000), call('a', 13000)]), []);
});

test('a follower acting is a violation', () => {
  const v = safetyViolations(terms, [call('a', 1200), call('c', 2000)]);
  assert.equal(v.length, 1);
  assert.match(v[0]!, /by c .* during the term of a/);
});

test('a deposed leader whose call lands after its successor took over is a violation (interleaving)', () => {
  const v = safetyViolations(terms, [call('a', 1200), call('b', 8100), call('a', 8200), call('b', 8300)]);
  assert.equal(v.length, 1);
  assert.match(v[0]!, /by a .* during the term of b/);
});

test('a call before anyone led, and overlapping terms, are violations', () => {
  assert.equal(safetyViolations(terms, [call('a', 500)]).length, 1);
  const overlapping: Term[] = [
    { id: 'a', start: 1000, end: 9000, how: 'lost: renew deadline' },
    { id: 'b', start: 8000 },
  ];
  assert.match(safetyViolations(overlapping, [])[0]!, /began .* while a's term/);
  assert.match(safetyViolations([{ id: 'a', start: 1 }, { id: 'b', start: 2 }], [])[0]!, /had not ended/);
});

test('calls are attributed by the tfe-operator/<id> user agent; reads and other clients are ignored', () => {
  const base = { seq: 1, ts: '2026-01-01T00:00:01.000Z', service: 'autoscaling', status: 200 } as const;
  const calls: AwsCall[] = [
    { ...base, action: 'UpdateAutoScalingGroup', userAgent: 'aws-sdk-js/3 tfe-operator/ha-a', amzUserAgent: null },
    { ...base, seq: 2, action: 'DescribeAutoScalingGroups', userAgent: 'aws-sdk-js/3 tfe-operator/ha-a', amzUserAgent: null },
    { ...base, seq: 3, action: 'CreateSecret', userAgent: 'day2-test/hand-edit', amzUserAgent: null },
    { ...base, seq: 4, action: 'CreateSecret', userAgent: 'x', amzUserAgent: 'aws-sdk-js/3 md/x tfe-operator/ha-b.1' },
  ];
  assert.deepEqual(mutatingCalls(calls).map((c) => [c.id, c.action]), [['ha-a', 'UpdateAutoScalingGroup'], ['ha-b.1', 'CreateSecret']]);
  assert.equal(instanceOf({ userAgent: 'no operator here', amzUserAgent: null }), undefined);
});
