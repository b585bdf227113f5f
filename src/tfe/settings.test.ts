import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkExternalServices,
  checkReleaseSequence,
  checkReplicatedConf,
  checkSecretPlacement,
  formatProblems,
  hasErrors,
  loadBaseSettings,
  parsePtfeSettings,
  parseReplicatedConf,
  renderActiveActive,
  validateBaseSettings,
  type PtfeSettings,
  type SettingsProblem,
} from './settings.ts';

const conf = {
  DaemonAuthenticationType: 'anonymous',
  ImportSettingsFrom: '/etc/ptfe-settings.json',
  LicenseFileLocation: '/etc/tfe-license.rli',
  TlsBootstrapType: 'self-signed',
  BypassPreflightChecks: true,
  ReleaseSequence: 504,
};

const settings: PtfeSettings = {
  hostname: { value: 'tfe.example.com' },
  installation_type: { value: 'production' },
  production_type: { value: 'external' },
  pg_user: { value: 'tfe' },
  pg_netloc: { value: 'db.example.com:5432' },
  pg_dbname: { value: 'tfe' },
  placement: { value: 'placement_s3' },
  s3_bucket: { value: 'tfe-objects' },
  s3_region: { value: 'us-east-1' },
  aws_instance_profile: { value: '1' },
};
const secretKeys = ['pg_password'];

const codes = (ps: SettingsProblem[]) => ps.map((p) => `${p.code}:${p.key ?? ''}`);

test('good base settings have no problems', () => {
  assert.deepEqual(validateBaseSettings({ replicatedConf: conf, settings, secretSettingKeys: secretKeys, releaseSequence: 528 }), []);
  const loaded = loadBaseSettings(JSON.stringify(conf), JSON.stringify(settings), { secretSettingKeys: secretKeys, releaseSequence: 528 });
  assert.equal(loaded.ok, true);
});

test('parseReplicatedConf: invalid JSON and non-objects are problems, not throws', () => {
  const bad = parseReplicatedConf('{ "ReleaseSequence": 504, }');
  assert.equal(bad.ok, false);
  assert.equal(bad.problems[0]!.code, 'InvalidJson');
  assert.match(bad.problems[0]!.message, /replicated\.conf is not valid JSON/);
  const arr = parseReplicatedConf('[1]');
  assert.equal(arr.ok, false);
  assert.equal(arr.problems[0]!.code, 'NotAnObject');
});

test('parsePtfeSettings: every value must be {"value": "<string>"}, naming the key', () => {
  const r = parsePtfeSettings(
    JSON.stringify({ hostname: 'tfe.example.com', redis_port: { value: 6379 }, ok: { value: 'x' }, extra: { value: 'y', note: 'z' } }),
  );
  assert.equal(r.ok, false);
  assert.deepEqual(codes(r.problems), ['SettingNotValueObject:hostname', 'SettingValueNotString:redis_port', 'SettingExtraFields:extra']);
  assert.match(r.problems[0]!.message, /"hostname": \{"value": "tfe\.example\.com"\}/);
  assert.match(r.problems[1]!.message, /\{"value": "6379"\}/);
  assert.equal(r.problems[2]!.severity, 'warning');

  const ok = parsePtfeSettings(JSON.stringify({ a: { value: 'x', note: 1 } }));
  assert.equal(ok.ok, true);
  assert.deepEqual(ok.ok && ok.value, { a: { value: 'x' } });
});

test('ReleaseSequence must be an integer >= 528 (v202104-1)', () => {
  assert.deepEqual(codes(checkReleaseSequence({})), ['ReleaseSequenceMissing:ReleaseSequence']);
  const quoted = checkReleaseSequence({ ReleaseSequence: '504' });
  assert.deepEqual(codes(quoted), ['ReleaseSequenceNotInteger:ReleaseSequence']);
  assert.match(quoted[0]!.message, /without quotes/);
  assert.deepEqual(codes(checkReleaseSequence({ ReleaseSequence: 503.5 })), ['ReleaseSequenceNotInteger:ReleaseSequence']);
  assert.deepEqual(codes(checkReleaseSequence({ ReleaseSequence: 480 })), ['ReleaseSequenceTooLow:ReleaseSequence']);
  // The spec pins the release: an older base value is upgraded, a missing one is fine.
  assert.deepEqual(checkReleaseSequence({ ReleaseSequence: 480 }, 528), []);
  assert.deepEqual(checkReleaseSequence({}, 600), []);
  const low = checkReleaseSequence({ ReleaseSequence: 504 }, 527);
  assert.deepEqual(codes(low), ['ReleaseSequenceTooLow:ReleaseSequence']);
  assert.match(low[0]!.message, /v202104-1, the first release whose Active\/Active nodes need no shared install tokens/);
  // The base file alone (no pin): v202101-1 (504) runs several nodes but needs shared tokens.
  assert.deepEqual(codes(checkReleaseSequence({ ReleaseSequence: 504 })), ['ReleaseSequenceTooLow:ReleaseSequence']);
  assert.equal(low[0]!.file, 'spec');
});

test('replicated.conf must import the settings file and find the license; a console password in the ConfigMap is refused', () => {
  assert.deepEqual(codes(checkReplicatedConf({})), ['ImportSettingsFromMissing:ImportSettingsFrom', 'LicenseFileLocationMissing:LicenseFileLocation']);
  const other = checkReplicatedConf({ ...conf, ImportSettingsFrom: '/tmp/s.json' });
  assert.match(other[0]!.message, /\/etc\/ptfe-settings\.json/);
  const pw = checkReplicatedConf({ ...conf, DaemonAuthenticationPassword: 'x' });
  // Like any other secret in the ConfigMap: an error (the launch template would hold it in clear).
  assert.deepEqual(codes(pw), ['SecretInPlainSettings:DaemonAuthenticationPassword']);
  assert.notEqual(pw[0]!.severity, 'warning');
  assert.match(pw[0]!.message, /spec\.settings\.daemonAuthenticationPasswordSecretRef/);
  assert.doesNotMatch(pw[0]!.message, /\bx\b/);
});

test('external services: production_type, PostgreSQL and object storage', () => {
  const { production_type: _p, pg_netloc: _n, ...rest } = settings;
  assert.deepEqual(codes(checkExternalServices(rest, secretKeys)), ['NotExternalServices:production_type', 'PostgresSettingMissing:pg_netloc']);
  const disk = checkExternalServices({ ...settings, production_type: { value: 'disk' } }, secretKeys);
  assert.match(disk[0]!.message, /production_type is "disk".*"production_type": \{"value": "external"\}/);
  // pg_password must come from secretSettings.
  const noPw = checkExternalServices(settings, []);
  assert.deepEqual(codes(noPw), ['PostgresSettingMissing:pg_password']);
  assert.match(noPw[0]!.message, /secretSettings/);
  // An empty value counts as missing.
  assert.deepEqual(codes(checkExternalServices({ ...settings, pg_user: { value: ' ' } }, secretKeys)), ['PostgresSettingMissing:pg_user']);
  assert.deepEqual(codes(checkExternalServices({ ...settings, installation_type: { value: 'poc' } }, secretKeys)), ['NotProductionInstall:installation_type']);
  const { hostname: _h, ...noHost } = settings;
  assert.deepEqual(codes(checkExternalServices(noHost, secretKeys)), ['HostnameMissing:hostname']);
});

test('object storage placements and their keys', () => {
  const { placement: _p, ...noPlacement } = settings;
  assert.deepEqual(codes(checkExternalServices(noPlacement, secretKeys)), ['ObjectStoragePlacementMissing:placement']);
  assert.deepEqual(codes(checkExternalServices({ ...settings, placement: { value: 'placement_ftp' } }, secretKeys)), ['ObjectStoragePlacementUnknown:placement']);
  const { aws_instance_profile: _a, s3_bucket: _b, ...noCreds } = settings;
  assert.deepEqual(codes(checkExternalServices(noCreds, secretKeys)), ['ObjectStorageSettingMissing:s3_bucket', 'ObjectStorageSettingMissing:aws_instance_profile']);
  // Access keys instead of the instance profile: the secret half from secretSettings.
  assert.deepEqual(checkExternalServices({ ...noCreds, s3_bucket: { value: 'b' }, aws_access_key_id: { value: 'AKIA' } }, [...secretKeys, 'aws_secret_access_key']), []);
  const azure: PtfeSettings = { ...settings, placement: { value: 'placement_azure' }, azure_account_name: { value: 'acct' }, azure_container: { value: 'tfe' } };
  const az = checkExternalServices(azure, secretKeys);
  assert.deepEqual(codes(az), ['ObjectStorageSettingMissing:azure_account_key']);
  assert.match(az[0]!.message, /secretSettings/);
  assert.deepEqual(checkExternalServices(azure, [...secretKeys, 'azure_account_key']), []);
});

test('secret settings never in the ConfigMap', () => {
  const ps = checkSecretPlacement({ ...settings, pg_password: { value: 'hunter2' }, enc_password: { value: 'e' } }, []);
  assert.deepEqual(codes(ps), ['SecretInPlainSettings:pg_password', 'SecretInPlainSettings:enc_password']);
  for (const p of ps) assert.doesNotMatch(p.message, /hunter2/);
  assert.deepEqual(codes(checkSecretPlacement({ ...settings, s3_bucket: { value: 'b' } }, ['s3_bucket'])), ['SecretSettingConflict:s3_bucket']);
  const spec = checkSecretPlacement(settings, ['enc_password']);
  assert.deepEqual(codes(spec), ['SecretSettingConflict:enc_password']);
  assert.match(spec[0]!.message, /encryptionPasswordSecretRef/);
  const managed = checkSecretPlacement({ ...settings, redis_host: { value: 'old' } }, []);
  assert.deepEqual(codes(managed), ['OperatorManagedSetting:redis_host']);
  assert.equal(hasErrors(managed), false);
});

test('loadBaseSettings reports parse problems and check problems together', () => {
  const r = loadBaseSettings('{"ReleaseSequence": "504"}', JSON.stringify(settings), { secretSettingKeys: secretKeys });
  assert.equal(r.ok, false);
  assert.deepEqual(codes(r.problems), [
    'ReleaseSequenceNotInteger:ReleaseSequence',
    'ImportSettingsFromMissing:ImportSettingsFrom',
    'LicenseFileLocationMissing:LicenseFileLocation',
  ]);
  assert.match(formatProblems(r.problems), /^replicated\.conf: ReleaseSequence must be an integer/);
  const broken = loadBaseSettings('{', '{"a": 1}');
  assert.deepEqual(codes(broken.problems), ['InvalidJson:', 'SettingNotValueObject:a']);
});

test('renderActiveActive: the Active/Active keys, strings only, secrets by reference', () => {
  const base = { ...settings, redis_host: { value: 'old' }, redis_pass: { value: 'leaked' } };
  const out = renderActiveActive({
    replicatedConf: { ...conf, ReleaseSequence: 480 },
    settings: base,
    releaseSequence: 534,
    redis: { host: 'master.tfe.abc.use1.cache.amazonaws.com', port: 6379, useTls: true, usePassword: true },
    encPasswordSecretId: 'tfe/enc',
    redisPasswordSecretId: 'tfe/redis',
  });
  assert.equal(out.replicatedConf.ReleaseSequence, 534);
  assert.deepEqual(out.settings.enable_active_active, { value: '1' });
  assert.deepEqual(out.settings.redis_host, { value: 'master.tfe.abc.use1.cache.amazonaws.com' });
  assert.deepEqual(out.settings.redis_port, { value: '6379' });
  assert.deepEqual(out.settings.redis_use_password_auth, { value: '1' });
  assert.deepEqual(out.settings.redis_use_tls, { value: '1' });
  assert.equal(out.settings.redis_pass, undefined);
  assert.equal(out.settings.enc_password, undefined);
  assert.deepEqual(out.secretSettings, { enc_password: 'tfe/enc', redis_pass: 'tfe/redis' });
  assert.equal(out.settings.pg_user!.value, 'tfe');
  for (const [k, v] of Object.entries(out.settings)) assert.equal(typeof v.value, 'string', k);
  assert.doesNotMatch(JSON.stringify(out), /leaked/);
  // Inputs untouched.
  assert.equal(base.redis_host.value, 'old');
});

test('renderActiveActive without password or TLS', () => {
  const out = renderActiveActive({
    replicatedConf: conf,
    settings,
    releaseSequence: 528,
    redis: { host: 'redis.internal', port: 6380, useTls: false, usePassword: false },
    encPasswordSecretId: 'tfe/enc',
  });
  assert.deepEqual(out.settings.redis_use_password_auth, { value: '0' });
  assert.deepEqual(out.settings.redis_use_tls, { value: '0' });
  assert.deepEqual(out.settings.redis_port, { value: '6380' });
  assert.deepEqual(out.secretSettings, { enc_password: 'tfe/enc' });
});

test('renderActiveActive refuses caller errors', () => {
  const input = { replicatedConf: conf, settings, releaseSequence: 528, redis: { host: 'h', port: 6379, useTls: true, usePassword: true }, encPasswordSecretId: 'e' };
  assert.throws(() => renderActiveActive(input), /redisPasswordSecretId/);
  assert.throws(() => renderActiveActive({ ...input, redisPasswordSecretId: 'r', releaseSequence: 527 }), /528/);
  assert.throws(() => renderActiveActive({ ...input, redisPasswordSecretId: 'r', redis: { ...input.redis, port: 0 } }), /port/);
});

test('problem messages never quote a secret: broken JSON around it, a secret setting in the wrong shape', () => {
  const secret = 'hunter2-not-a-real-secret-0123456789';
  const texts = [
    `{"hostname": {"value": "tfe.example.com"}, "pg_password": {"value": ${secret}}}`,
    `{"pg_password": {"value": "${secret}"} "hostname": {"value": "x"}}`,
    `{"pg_password": "${secret}"}`,
    `{"redis_pass": {"value": ["${secret}"]}}`,
  ];
  for (const text of texts) {
    const r = loadBaseSettings(JSON.stringify({ ReleaseSequence: 528 }), text);
    assert.equal(r.ok, false, text);
    const message = formatProblems(r.problems);
    assert.ok(!message.includes(secret) && !message.includes(secret.slice(0, 12)), `the message quotes the secret: ${message}`);
  }
  // Non-secret values are still quoted in the hint, and JSON positions read as line/column.
  const r = loadBaseSettings(JSON.stringify({ ReleaseSequence: 528 }), '{"capacity_concurrency": {"value": 10}}');
  assert.match(formatProblems(r.problems), /write \{"value": "10"\}/);
  const broken = loadBaseSettings(JSON.stringify({ ReleaseSequence: 528 }), '{"a": {"value": "b"}\n "c": 1}');
  assert.match(formatProblems(broken.problems), /at line 2 column 2/);
});
