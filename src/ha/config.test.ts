import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HaConfigError, normalizeAddress, parseDurationMs, resolveHaConfig, timingProblems } from './config.ts';

test('parseDurationMs: Go-style durations and plain milliseconds', () => {
  assert.equal(parseDurationMs('15s', 'x'), 15_000);
  assert.equal(parseDurationMs('500ms', 'x'), 500);
  assert.equal(parseDurationMs('1m30s', 'x'), 90_000);
  assert.equal(parseDurationMs('2s500ms', 'x'), 2_500);
  assert.equal(parseDurationMs('750', 'x'), 750);
  assert.equal(parseDurationMs(3000, 'x'), 3000);
  for (const bad of ['', 's', '10 s', '10x', '1s2', '-1s']) assert.throws(() => parseDurationMs(bad, 'leaseDuration'), HaConfigError, bad);
});

test('timing rules: lease > renew > 1.2 x retry, all positive, lease >= 1s', () => {
  assert.deepEqual(timingProblems(15_000, 10_000, 2_000), []);
  assert.deepEqual(timingProblems(3_000, 2_000, 500), []);
  assert.equal(timingProblems(10_000, 10_000, 2_000).length, 1);
  assert.equal(timingProblems(9_000, 10_000, 2_000).length, 1);
  assert.equal(timingProblems(15_000, 2_400, 2_000).length, 1);
  assert.equal(timingProblems(10_000, 10_000, 9_000).length, 2);
  assert.match(timingProblems(0, 10_000, 2_000).join(), /leaseDuration must be greater than 0/);
  assert.match(timingProblems(900, 500, 100).join(), /at least 1s/);
});

test('address: host:port becomes an http base URL; paths are refused', () => {
  assert.equal(normalizeAddress('10.0.0.5:8080'), 'http://10.0.0.5:8080');
  assert.equal(normalizeAddress('https://op.example.com/'), 'https://op.example.com');
  assert.throws(() => normalizeAddress('http://x:1/v1/status'), /without a path/);
  const c = resolveHaConfig({ identity: 'p', namespace: 'n', statusPort: 9090 }, { POD_IP: '10.1.2.3' });
  assert.equal(c.address, 'http://10.1.2.3:9090');
});

test('namespace from POD_NAMESPACE; config is frozen', () => {
  const c = resolveHaConfig({ identity: 'p' }, { POD_NAMESPACE: 'tfe-system' });
  assert.equal(c.namespace, 'tfe-system');
  assert.equal(c.leasePrefix, 'tfe-operator');
  assert.ok(Object.isFrozen(c));
  assert.throws(() => resolveHaConfig({ identity: 'p', namespace: 'n', leasePrefix: 'Bad_Prefix' }), /leasePrefix/);
});
