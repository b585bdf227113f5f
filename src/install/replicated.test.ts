import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replicated, REPLICATED_DRAIN_COMMAND } from './replicated.ts';
import { isRefusal, type KindContext } from './kind.ts';
import { docker } from './docker.ts';
import { imageFor } from './docker-userdata.ts';
import type { TfeClusterSpec } from '../api/types.ts';
import type { NodeInstall } from '../tfe/userdata.ts';

const base: NodeInstall = {
  replicatedConf: { ReleaseSequence: 811 },
  settings: { enable_active_active: { value: '1' } },
  secretSettings: { enc_password: 'tfe/enc' },
  licenseSecretId: 'tfe/license',
  installArgs: ['no-proxy'],
  files: [],
};
const spec = (over: Partial<TfeClusterSpec> = {}) =>
  ({ release: { sequence: 811 }, settings: { configMapRef: { name: 'cm' }, licenseSecretRef: { name: 's', key: 'k' }, secretSettings: [{ setting: 'pg_password', secretKeyRef: { name: 's', key: 'pg' } }] }, node: {}, ...over }) as TfeClusterSpec;
const ctx = (settings: Record<string, unknown>, conf: Record<string, unknown>, over: Partial<TfeClusterSpec> = {}): KindContext => ({
  spec: spec(over),
  namespace: 'tfe',
  name: 'tfe',
  inputs: { replicatedConfText: JSON.stringify(conf), settingsText: JSON.stringify(settings), secrets: { settings: { pg_password: 'pw' }, files: {} }, missing: [] },
});
const SETTINGS = {
  hostname: { value: 'tfe.example.com' },
  installation_type: { value: 'production' },
  production_type: { value: 'external' },
  pg_netloc: { value: 'db.example.com' },
  pg_dbname: { value: 'tfe' },
  pg_user: { value: 'tfe' },
  pg_extra_params: { value: 'sslmode=verify-full' },
  placement: { value: 'placement_s3' },
  s3_bucket: { value: 'b' },
  s3_region: { value: 'eu-west-1' },
  aws_instance_profile: { value: '1' },
};

test('on an install: the drain of an Active/Active node, none for a standalone one; its release; its enc_password secret', () => {
  assert.equal(replicated.drainCommand(base), REPLICATED_DRAIN_COMMAND);
  assert.equal(replicated.drainCommand({ ...base, settings: {} }), undefined);
  assert.deepEqual(replicated.releaseOf(base), { kind: 'Replicated', sequence: 811 });
  assert.equal(replicated.encPasswordSecretId(base), 'tfe/enc');
  assert.equal(replicated.isActiveActive(base), false); // the UI is still on: the single-node stage
  assert.equal(replicated.isActiveActive({ ...base, installArgs: ['disable-replicated-ui'] }), true);
  assert.equal(replicated.owns(base) && !docker.owns(base), true);
  const fdo = { runtime: 'docker' as const, image: imageFor('1.2.2'), env: {}, secretEnv: { TFE_LICENSE: 'l' }, files: [] };
  assert.equal(replicated.owns(fdo), false);
  assert.equal(replicated.drainCommand(fdo), undefined);
});

test('adoption: a script the operator did not write needs spec.node.installArgs (a Docker baseline of its own does not count)', () => {
  const foreign = { number: 1, securityGroupIds: [], foreignReason: 'x', foreignInstallArgs: 'no-proxy' };
  assert.equal(replicated.adoptionProblem(foreign, spec())?.reason, 'InstallArgsRequired');
  assert.equal(replicated.adoptionProblem(foreign, spec({ node: { installArgs: ['no-proxy'] } as TfeClusterSpec['node'] })), undefined);
  assert.equal(replicated.adoptionProblem({ number: 1, securityGroupIds: [], install: base }, spec()), undefined);
  assert.equal(docker.adoptionProblem(foreign, spec()), undefined);
});

test('settings: the external services as TFE reads them; TLS files replicated.conf names must be node files', () => {
  const view = replicated.settingsView(ctx(SETTINGS, {}));
  assert.equal(view.hostname, 'tfe.example.com');
  assert.deepEqual(view.external?.bucket, { name: 'b', region: 'eu-west-1' });
  assert.deepEqual(view.external?.database, { host: 'db.example.com', port: 5432, user: 'tfe', password: 'pw', database: 'tfe', sslmode: 'verify-full' });
  const prepared = replicated.prepare(ctx(SETTINGS, { ReleaseSequence: 811, ImportSettingsFrom: '/etc/ptfe-settings.json', LicenseFileLocation: '/etc/tfe-license.rli', TlsBootstrapType: 'server-path', TlsBootstrapCert: '/etc/tfe/c.pem', TlsBootstrapKey: '/etc/tfe/k.pem' }));
  assert.ok(!isRefusal(prepared), JSON.stringify(prepared));
  assert.deepEqual(prepared.baseRelease, { kind: 'Replicated', sequence: 811 });
  assert.equal(prepared.nodeFilesProblem()?.reason, 'TlsFilesMissing');
  assert.equal(isRefusal(replicated.prepare(ctx({ hostname: { value: 1 } }, {}))), true);
});
