// Pure parts of the TFE node simulator: the node's checks, redaction, scale history, config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configProblems, multiNodeProblem, redactedReplicatedConf, redactedSettings, redisTarget } from './checks.ts';
import { capacitySequences } from './fleet.ts';
import { parseConfigPatch } from './http.ts';
import { licenseProblem, makeLicense } from './license.ts';

const conf = { ImportSettingsFrom: '/etc/ptfe-settings.json', LicenseFileLocation: '/etc/tfe-license.rli', ReleaseSequence: 504 };
const settings: Record<string, string> = {
  production_type: 'external',
  pg_user: 'tfe',
  pg_netloc: 'db:5432',
  pg_dbname: 'tfe',
  pg_password: 'P',
  placement: 'placement_s3',
  s3_bucket: 'b',
  s3_region: 'us-east-1',
  enc_password: 'E',
  enable_active_active: '1',
  redis_host: 'master.x.abc.use1.cache.amazonaws.com',
  redis_port: '6379',
  redis_use_tls: '1',
  redis_use_password_auth: '1',
  redis_pass: 'R',
};

test('a complete Active/Active install has no config problem', () => {
  assert.deepEqual(configProblems(conf, settings), []);
});

test('config problems name the setting', () => {
  const { enc_password: _e, ...noEnc } = settings;
  assert.deepEqual(configProblems(conf, noEnc), ['enc_password is not set: the node cannot unseal its Vault (every node needs the same enc_password)']);
  assert.match(configProblems({ ...conf, ReleaseSequence: '504' }, settings)[0]!, /ReleaseSequence in replicated\.conf is "504", not an integer/);
  const noPin = { ImportSettingsFrom: '/etc/ptfe-settings.json', LicenseFileLocation: '/x' };
  assert.match(configProblems(noPin, settings)[0]!, /ReleaseSequence is not set/);
  const s2 = { ...settings, redis_pass: '', redis_port: 'abc', placement: 'placement_ftp' };
  assert.deepEqual(configProblems(conf, s2), [
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
  const s = settings;
  const alias = { host: '127.0.0.1', port: 16380 };
  assert.deepEqual(redisTarget(s, alias), {
    host: 'master.x.abc.use1.cache.amazonaws.com', port: 6379, connectHost: '127.0.0.1', connectPort: 16380, aliased: true, tls: true, password: 'R',
  });
  const direct = redisTarget({ ...s, redis_host: 'redis.internal', redis_use_password_auth: '0', redis_use_tls: '0' }, alias);
  assert.deepEqual(direct, { host: 'redis.internal', port: 6379, connectHost: 'redis.internal', connectPort: 6379, aliased: false, tls: false });
});

test('redaction never shows a secret value', () => {
  const shown = JSON.stringify([redactedSettings(settings), redactedReplicatedConf({ ...conf, DaemonAuthenticationPassword: 'console-pw' })]);
  assert.match(shown, /"redis_pass":"<redacted>"/);
  assert.match(shown, /"pg_user":"tfe"/);
  for (const secret of ['console-pw', '"P"', '"E"', '"R"']) assert.ok(!shown.includes(secret), secret);
});

test('sandbox license: valid as made, refused one byte off', () => {
  const lic = makeLicense({ license_id: 'x', customer: 'c', seats: '1' }, 'seed');
  assert.equal(licenseProblem(lic), undefined);
  assert.deepEqual(makeLicense({ license_id: 'x', customer: 'c', seats: '1' }, 'seed'), lic, 'seeded licenses repeat');
  assert.match(licenseProblem(Buffer.concat([lic, Buffer.from('\n')]))!, /its header says/);
  assert.match(licenseProblem(lic.subarray(0, lic.length - 1))!, /its header says/);
  const flipped = Buffer.from(lic);
  flipped[20] ^= 1;
  assert.equal(licenseProblem(flipped), 'license checksum does not match');
  // A UTF-8 round trip (reading the license as text) corrupts it: it holds a 0xff byte.
  assert.equal(licenseProblem(makeLicense({ license_id: "x", customer: "c", seats: "1" }, "seed", true)), undefined);
  assert.ok(licenseProblem(Buffer.from(lic.toString('utf8'), 'utf8')));
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
  assert.deepEqual(parseConfigPatch('{"runPlanMs": 0, "ssmAgent": false}'), { runPlanMs: 0, ssmAgent: false });
  assert.deepEqual(parseConfigPatch('{"runPlanMs": 30000}'), { runPlanMs: 30000 });
  assert.throws(() => parseConfigPatch('{"runPlanMs": -1}'), /runPlanMs must be a number >= 0/);
  assert.throws(() => parseConfigPatch('{"ssmAgent": 1}'), /ssmAgent must be true or false/);
});
