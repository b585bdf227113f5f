import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fdoEnvFromReplicated } from './fdo-env.ts';
import { docker, parseEnvFile } from './docker.ts';
import { isRefusal } from './kind.ts';
import type { TfeClusterSpec } from '../api/types.ts';

const SETTINGS = {
  hostname: { value: 'tfe.example.com' },
  installation_type: { value: 'production' },
  production_type: { value: 'external' },
  pg_netloc: { value: 'db.example.com:5432' },
  pg_dbname: { value: 'tfe' },
  pg_user: { value: 'tfe' },
  pg_extra_params: { value: 'sslmode=require' },
  placement: { value: 'placement_s3' },
  s3_bucket: { value: 'tfe-data' },
  s3_region: { value: 'us-east-1' },
  aws_instance_profile: { value: '1' },
  capacity_concurrency: { value: '10' },
  hairpin_addressing: { value: '0' },
};

test('a Replicated install\'s settings become TFE_* variables that the Docker kind accepts', () => {
  const d = fdoEnvFromReplicated(SETTINGS, ['pg_password', 'archivist_token'], { TlsBootstrapType: 'server-path', TlsBootstrapCert: '/var/lib/tfe/c.pem', TlsBootstrapKey: '/var/lib/tfe/k.pem' });
  const vars = parseEnvFile(d.env).vars;
  assert.deepEqual(vars, {
    TFE_CAPACITY_CONCURRENCY: '10',
    TFE_DATABASE_HOST: 'db.example.com:5432',
    TFE_DATABASE_NAME: 'tfe',
    TFE_DATABASE_PARAMETERS: 'sslmode=require',
    TFE_DATABASE_USER: 'tfe',
    TFE_HOSTNAME: 'tfe.example.com',
    TFE_OBJECT_STORAGE_S3_BUCKET: 'tfe-data',
    TFE_OBJECT_STORAGE_S3_REGION: 'us-east-1',
    TFE_OBJECT_STORAGE_S3_USE_INSTANCE_PROFILE: 'true',
    TFE_OBJECT_STORAGE_TYPE: 's3',
    TFE_TLS_CERT_FILE: '/etc/ssl/private/terraform-enterprise/cert.pem',
    TFE_TLS_KEY_FILE: '/etc/ssl/private/terraform-enterprise/key.pem',
  });
  assert.match(d.env, /replicated\.conf's \/var\/lib\/tfe\/c\.pem and \/var\/lib\/tfe\/k\.pem, in spec\.node\.files as \/etc\/tfe\/tls\/cert\.pem/);
  assert.deepEqual(d.secretSettings, [{ from: 'pg_password', to: 'TFE_DATABASE_PASSWORD' }]);
  assert.deepEqual(d.notCarried.map((n) => n.setting), ['hairpin_addressing', 'archivist_token']);
  // What it wrote passes the Docker kind's checks.
  const spec = {
    release: { tag: 'v202503-1' },
    settings: { configMapRef: { name: 'cm' }, licenseSecretRef: { name: 'l', key: 'k' }, secretSettings: [{ setting: 'TFE_DATABASE_PASSWORD', secretKeyRef: { name: 's', key: 'pg_password' } }] },
    node: { files: [{ path: '/etc/tfe/tls/cert.pem', mode: '0644' }, { path: '/etc/tfe/tls/key.pem', mode: '0600' }] },
  } as unknown as TfeClusterSpec;
  const prepared = docker.prepare({ spec, namespace: 'tfe', name: 'tfe', inputs: { envText: d.env, secrets: { license: Buffer.from('a.b.c'), settings: {}, files: {} }, missing: [] } });
  assert.ok(!isRefusal(prepared), JSON.stringify(prepared));
  assert.equal(prepared.nodeFilesProblem(), undefined);
});

test('a secret left in the ConfigMap is not printed', () => {
  const d = fdoEnvFromReplicated({ ...SETTINGS, pg_password: { value: 'pg-SECRET-value' }, aws_secret_access_key: { value: 'aws-SECRET' } }, [], {});
  assert.ok(!d.env.includes('SECRET'), d.env);
  assert.deepEqual(d.notCarried.filter((n) => /secret in the ConfigMap/.test(n.why)).map((n) => n.setting).sort(), ['aws_secret_access_key', 'pg_password']);
});
