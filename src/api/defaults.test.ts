import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidDurationError, formatDuration, parseDuration, redisPort, redisSecurityGroupIds, redisUsesTls, specWithDefaults, withDefaults } from './defaults.ts';

const minimal = {
  aws: { region: 'us-east-1' },
  autoScalingGroupName: 'tfe',
  launchTemplate: { name: 'tfe' },
  release: { sequence: 528 },
  settings: { configMapRef: { name: 'tfe-settings' }, licenseSecretRef: { name: 'tfe-license', key: 'license.rli' } },
  encryptionPasswordSecretRef: { name: 'tfe-secrets', key: 'enc_password' },
  redis: { elastiCache: { replicationGroupId: 'tfe-redis', nodeType: 'cache.t3.medium', subnetGroupName: 'tfe-redis', securityGroupIds: ['sg-0a'] } },
};

test('parseDuration: Go-style durations to milliseconds', () => {
  const table: Array<[string, number]> = [
    ['15m', 900_000],
    ['10s', 10_000],
    ['500ms', 500],
    ['1h30m', 5_400_000],
    ['1h0m5s', 3_605_000],
    ['0s', 0],
    ['2h', 7_200_000],
    ['1m30s250ms', 90_250],
  ];
  for (const [text, ms] of table) assert.equal(parseDuration(text), ms, text);
});

test('parseDuration refuses what the CRD refuses', () => {
  for (const bad of ['', '15', 'm', '1.5h', '-1s', '1d', '1 h', '15M', ' 1s', '1s ', '1us']) {
    assert.throws(() => parseDuration(bad), InvalidDurationError, JSON.stringify(bad));
  }
});

test('formatDuration is the inverse of parseDuration', () => {
  for (const ms of [0, 1, 999, 1000, 90_000, 900_000, 5_400_000, 3_605_001]) {
    assert.equal(parseDuration(formatDuration(ms)), ms);
  }
  assert.equal(formatDuration(5_400_000), '1h30m');
  assert.throws(() => formatDuration(-1), RangeError);
});

test('withDefaults fills every documented default and keeps what is set', () => {
  const input = { metadata: { name: 'x' }, spec: structuredClone(minimal) };
  const before = structuredClone(input);
  const out = withDefaults(input);
  assert.deepEqual(input, before, 'input must not be mutated');
  assert.equal(out.spec.nodes, 2);
  assert.deepEqual(out.spec.health, { nodeUrlTemplate: 'https://{privateIp}/_health_check', insecureSkipTLSVerify: false, timeout: '15m', interval: '10s' });
  assert.deepEqual(out.spec.rollout, { paused: false, approval: 'Automatic', failurePolicy: 'Pause', driftPolicy: 'Correct', stepDeadline: '30m', drain: 'Required', drainTimeout: '30m' });
  assert.deepEqual(out.spec.network, { mode: 'Verify' });
  assert.equal(out.spec.deletionPolicy, 'Retain');
  assert.equal(out.spec.settings.replicatedConfKey, 'replicated.conf');
  assert.equal(out.spec.settings.settingsKey, 'ptfe-settings.json');
  const ec = out.spec.redis.elastiCache!;
  assert.deepEqual(
    [ec.port, ec.multiAz, ec.replicasPerNodeGroup, ec.transitEncryption, ec.atRestEncryption, ec.automaticFailover],
    [6379, true, 1, true, true, true],
  );
  assert.equal(out.spec.redis.external, undefined);
  assert.equal(out.status, undefined);

  const set = specWithDefaults({ ...minimal, nodes: 4, health: { timeout: '5m' }, rollout: { approval: 'Manual' } });
  assert.equal(set.nodes, 4);
  assert.equal(set.health.timeout, '5m');
  assert.equal(set.health.interval, '10s');
  assert.equal(set.rollout.approval, 'Manual');
  assert.equal(set.rollout.failurePolicy, 'Pause');
});

test('external Redis defaults and the derived helpers', () => {
  const spec = specWithDefaults({ ...minimal, redis: { external: { host: 'redis.example.com' } } });
  assert.deepEqual(spec.redis.external, { host: 'redis.example.com', port: 6379, tls: true });
  assert.equal(redisPort(spec), 6379);
  assert.equal(redisUsesTls(spec), true);
  assert.deepEqual(redisSecurityGroupIds(spec), []);
  const ec = specWithDefaults({ ...minimal, redis: { elastiCache: { ...minimal.redis.elastiCache, port: 6380, transitEncryption: false } } });
  assert.equal(redisPort(ec), 6380);
  assert.equal(redisUsesTls(ec), false);
  assert.deepEqual(redisSecurityGroupIds(ec), ['sg-0a']);
  const own = specWithDefaults({ ...minimal, network: { redisSecurityGroupIds: ['sg-0b'] } });
  assert.deepEqual(redisSecurityGroupIds(own), ['sg-0b']);
});
