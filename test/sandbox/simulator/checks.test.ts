// Pure parts of the TFE node simulator: the node's checks, redaction, scale history, config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeInstall } from '../../../src/tfe/userdata.ts';
import { configProblems, effectiveSettings, multiNodeProblem, redactedReplicatedConf, redactedSettings, redisTarget } from './checks.ts';
import { capacitySequences } from './fleet.ts';
import { parseConfigPatch } from './http.ts';

const install: NodeInstall = {
  replicatedConf: { ImportSettingsFrom: '/etc/ptfe-settings.json', LicenseFileLocation: '/etc/tfe-license.rli', ReleaseSequence: 504 },
  settings: {
    production_type: { value: 'external' },
    pg_user: { value: 'tfe' },
    pg_netloc: { value: 'db:5432' },
    pg_dbname: { value: 'tfe' },
    placement: { value: 'placement_s3' },
    s3_bucket: { value: 'b' },
    s3_region: { value: 'us-east-1' },
    enable_active_active: { value: '1' },
    redis_host: { value: 'master.x.abc.use1.cache.amazonaws.com' },
    redis_port: { value: '6379' },
    redis_use_tls: { value: '1' },
    redis_use_password_auth: { value: '1' },
  },
  secretSettings: { enc_password: 'ids/enc', pg_password: 'ids/pg', redis_pass: 'ids/redis' },
  licenseSecretId: 'ids/license',
  installArgs: ['disable-replicated-ui'],
};
const secrets = { enc_password: 'E', pg_password: 'P', redis_pass: 'R' };

test('a complete Active/Active install has no config problem', () => {
  assert.deepEqual(configProblems(install, effectiveSettings(install, secrets)), []);
});

test('config problems name the setting', () => {
  const s = effectiveSettings(install, { pg_password: 'P', redis_pass: 'R' });
  assert.deepEqual(configProblems(install, s), ['enc_password is not set: the node cannot unseal its Vault (every node needs the same enc_password)']);
  const old = { ...install, replicatedConf: { ...install.replicatedConf, ReleaseSequence: '504' } };
  assert.match(configProblems(old, effectiveSettings(old, secrets))[0]!, /ReleaseSequence in replicated\.conf is "504", not an integer/);
  const noPin = { ...install, replicatedConf: { ImportSettingsFrom: '/etc/ptfe-settings.json', LicenseFileLocation: '/x' } };
  assert.match(configProblems(noPin, effectiveSettings(noPin, secrets))[0]!, /ReleaseSequence is not set/);
  const s2 = { ...effectiveSettings(install, secrets), redis_pass: '', redis_port: 'abc', placement: 'placement_ftp' };
  assert.deepEqual(configProblems(install, s2), [
    'placement is "placement_ftp": External Services mode needs object storage (placement_s3, placement_azure or placement_gcs)',
    'redis_port is "abc", not a port number',
    'redis_use_password_auth is "1" but redis_pass is not set',
  ]);
});

test('several nodes need enable_active_active "1"', () => {
  assert.equal(multiNodeProblem({ enable_active_active: '1' }, 'tfe', 3), undefined);
  assert.equal(multiNodeProblem({}, 'tfe', 1), undefined);
  assert.match(multiNodeProblem({ enable_active_active: '0' }, 'tfe', 2)!, /2 instances in Auto Scaling group tfe but enable_active_active is "0", not "1"/);
});

test('ElastiCache names lead to the sandbox Redis, other hosts are used as given', () => {
  const s = effectiveSettings(install, secrets);
  const alias = { host: '127.0.0.1', port: 16380 };
  assert.deepEqual(redisTarget(s, alias), {
    host: 'master.x.abc.use1.cache.amazonaws.com', port: 6379, connectHost: '127.0.0.1', connectPort: 16380, aliased: true, tls: true, password: 'R',
  });
  const direct = redisTarget({ ...s, redis_host: 'redis.internal', redis_use_password_auth: '0', redis_use_tls: '0' }, alias);
  assert.deepEqual(direct, { host: 'redis.internal', port: 6379, connectHost: 'redis.internal', connectPort: 6379, aliased: false, tls: false });
});

test('redaction never shows a secret value', () => {
  const shown = JSON.stringify([redactedSettings(install), redactedReplicatedConf({ ...install.replicatedConf, DaemonAuthenticationPassword: 'console-pw' })]);
  assert.match(shown, /"redis_pass":"<redacted: secret ids\/redis>"/);
  assert.doesNotMatch(shown, /console-pw/);
});

test('scale history: desired capacities in order per group', () => {
  assert.deepEqual(
    capacitySequences([
      { ts: '1', asg: 'tfe', from: null, to: 1 },
      { ts: '2', asg: 'other', from: 3, to: 2 },
      { ts: '3', asg: 'tfe', from: 1, to: 0 },
      { ts: '4', asg: 'tfe', from: 0, to: 1 },
      { ts: '5', asg: 'tfe', from: 1, to: 1 },
      { ts: '6', asg: 'tfe', from: 1, to: 0 },
      { ts: '7', asg: 'tfe', from: 0, to: 2 },
      { ts: '8', asg: 'other', from: 2, to: null },
    ]),
    { tfe: [1, 0, 1, 0, 2], other: [3, 2] },
  );
});

test('POST /sim/config bodies are checked', () => {
  assert.deepEqual(parseConfigPatch('{"installDelayMs": 0, "neverHealthy": true}'), { installDelayMs: 0, neverHealthy: true });
  assert.deepEqual(parseConfigPatch('{"pollMs": 5000, "recheckMs": 60000}'), { pollMs: 5000, recheckMs: 60000 });
  assert.throws(() => parseConfigPatch('{"pollMs": 0}'), /pollMs must be a number >= 10/);
  assert.deepEqual(parseConfigPatch(''), {});
  assert.throws(() => parseConfigPatch('{"neverHealthy": "yes"}'), /neverHealthy must be true or false/);
  assert.throws(() => parseConfigPatch('{"delay": 1}'), /unknown setting "delay"/);
  assert.throws(() => parseConfigPatch('[1]'), /JSON object/);
});
