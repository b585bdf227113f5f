// Finding where a running install takes enc_password from, and whether user data names a resource.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encPasswordFromSecretString, findEncPasswordSource, userDataNames } from '../../src/tfe/userdata-scan.ts';
import { renderUserData } from '../../src/tfe/userdata.ts';
import { BASE_INSTALL } from './planner-fixture.ts';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:tfe-enc-AbC123';

test('the operator\'s own user data: the secret id it fetches enc_password from', () => {
  assert.deepEqual(findEncPasswordSource(renderUserData(BASE_INSTALL), BASE_INSTALL.secretSettings.enc_password), { kind: 'secret', secretId: 'tfe/enc' });
});

test('a hand-built install with the settings JSON in clear', () => {
  const script = `#!/bin/bash\ncat > /etc/ptfe-settings.json <<'EOF'\n{\n  "hostname": {"value": "tfe.example.com"},\n  "enc_password": {\n    "value": "in \\"clear\\" text"\n  }\n}\nEOF\n`;
  assert.deepEqual(findEncPasswordSource(script), { kind: 'clear', value: 'in "clear" text' });
});

test('HashiCorp\'s module: the settings embedded as base64', () => {
  const settings = Buffer.from(JSON.stringify({ hostname: { value: 'tfe' }, enc_password: { value: 'from-base64' } })).toString('base64');
  assert.deepEqual(findEncPasswordSource(`echo '${settings}' | base64 -d > "$tfe_settings_path"\n`), { kind: 'clear', value: 'from-base64' });
});

test('a line that names enc_password and a secret ARN (the hashicorp sandbox world)', () => {
  assert.deepEqual(findEncPasswordSource(`set_secret_setting 'enc_password' '${ARN}'\nset_secret_setting 'pg_password' 'arn:aws:secretsmanager:us-east-1:123456789012:secret:pg-x'\n`), { kind: 'secret', secretId: ARN });
});

test('get-secret-value --secret-id with a variable, and jq picking a key', () => {
  const script = 'ENC_SECRET="tfe/settings"\nENC=$(aws secretsmanager get-secret-value --secret-id "$ENC_SECRET" --query SecretString --output text | jq -r .enc_password)\n';
  assert.deepEqual(findEncPasswordSource(script), { kind: 'secret', secretId: 'tfe/settings' });
  assert.equal(encPasswordFromSecretString('{"enc_password":"k","pg_password":"p"}'), 'k');
  assert.equal(encPasswordFromSecretString('plain'), 'plain');
});

test('an unknown shape: the reason, no guess', () => {
  const found = findEncPasswordSource('#!/bin/bash\n/opt/bootstrap.sh\n');
  assert.equal(found.kind, 'unknown');
});

test('userDataNames matches whole names only, in the script and in base64 it decodes', () => {
  const script = `set_secret_setting 'pg_password' 'tfe-operator/tfe/tfe/setting-pg_password'\n"redis_host": {"value": "master.r.cache.amazonaws.com"}\necho '${Buffer.from('tfe-operator/tfe/tfe/license in base64').toString('base64')}'`;
  assert.ok(userDataNames(script, 'tfe-operator/tfe/tfe/setting-pg_password'));
  assert.ok(!userDataNames(script, 'tfe-operator/tfe/tfe/setting-pg'));
  assert.ok(userDataNames(script, 'master.r.cache.amazonaws.com'));
  assert.ok(!userDataNames(script, 'r.cache.amazonaws.com'));
  assert.ok(userDataNames(script, 'tfe-operator/tfe/tfe/license'));
  assert.ok(!userDataNames(script, 'tfe-operator/tfe/tfe/enc_password'));
});
