import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { docker, DOCKER_DRAIN_COMMAND, fdoLicenseProblem, parseEnvFile } from './docker.ts';
import { composeDocument, imageFor, parseDockerUserData, renderDockerUserData, type DockerInstall } from './docker-userdata.ts';
import { parseInstall, renderInstall, scanRelease } from './index.ts';
import { ForeignUserDataError } from '../tfe/userdata.ts';

const install = (over: Partial<DockerInstall> = {}): DockerInstall => ({
  runtime: 'docker',
  image: imageFor('1.2.2'),
  env: { TFE_HOSTNAME: 'tfe.example.com', TFE_OPERATIONAL_MODE: 'active-active', TFE_REDIS_HOST: 'r:6379', TFE_DATABASE_PARAMETERS: 'sslmode=require', TFE_ODD: 'a $dollar and $$ two' },
  secretEnv: { TFE_LICENSE: 'tfe-operator/tfe/tfe/license', TFE_ENCRYPTION_PASSWORD: 'tfe-operator/tfe/tfe/enc_password' },
  files: [
    { path: '/etc/tfe/tls/cert.pem', mode: '0644', secretId: 'tfe-operator/tfe/tfe/file/etc/tfe/tls/cert.pem' },
    { path: '/var/lib/tfe/extra.pem', mode: '0600', secretId: 'tfe-operator/tfe/tfe/file/var/lib/tfe/extra.pem' },
  ],
  ...over,
});

test('parse(render(x)) is x: variables ("$" included), secret ids, files, a pre-install script', () => {
  for (const x of [install(), install({ preInstallScript: 'echo hi\n' }), install({ env: { TFE_OPERATIONAL_MODE: 'external' }, files: [] })]) {
    assert.deepEqual(parseDockerUserData(renderDockerUserData(x)), x);
    assert.deepEqual(parseInstall(renderInstall(x)), x);
  }
});

test('the script: no secret value, "$" doubled for compose, 8201 published only in active-active, TLS folder bound as HashiCorp\'s module binds it', () => {
  const script = renderDockerUserData(install());
  assert.ok(script.startsWith('#!/bin/bash\n# tfe-operator:docker-user-data v1\n'));
  execFileSync('bash', ['-n'], { input: script });
  assert.match(script, /\nset_secret_env 'TFE_ENCRYPTION_PASSWORD' 'tfe-operator\/tfe\/tfe\/enc_password'\nset_secret_env 'TFE_LICENSE' 'tfe-operator\/tfe\/tfe\/license'\n/);
  assert.match(script, /docker login images\.releases\.hashicorp\.com --username terraform --password-stdin/);
  const doc = composeDocument(install()) as { services: { tfe: { environment: Record<string, string>; ports: string[]; volumes: Array<{ source: string; target: string }> } } };
  assert.equal(doc.services.tfe.environment.TFE_ODD, 'a $$dollar and $$$$ two');
  assert.deepEqual(doc.services.tfe.ports, ['80:8080', '443:8443', '8201:8201']);
  assert.ok(doc.services.tfe.volumes.some((v) => v.source === '/etc/tfe/tls' && v.target === '/etc/ssl/private/terraform-enterprise'));
  assert.ok(doc.services.tfe.volumes.some((v) => v.source === '/var/lib/tfe/extra.pem' && v.target === '/var/lib/tfe/extra.pem'));
  const external = composeDocument(install({ env: { TFE_OPERATIONAL_MODE: 'external' } })) as { services: { tfe: { ports: string[] } } };
  assert.deepEqual(external.services.tfe.ports, ['80:8080', '443:8443']);
  assert.doesNotMatch(renderDockerUserData(install({ env: { TFE_OPERATIONAL_MODE: 'external' } })), /PRIVATE_IP|TFE_VAULT_CLUSTER_ADDRESS/);
  assert.match(script, /TFE_VAULT_CLUSTER_ADDRESS = \$addr/);
});

test('a script edited by hand, or someone else\'s, is not read as the operator\'s', () => {
  const script = renderDockerUserData(install());
  assert.throws(() => parseDockerUserData(script.replace('docker compose --file "$COMPOSE" up --detach', 'true')), (e: unknown) => e instanceof ForeignUserDataError && /never starts the container/.test((e as Error).message));
  assert.throws(() => parseDockerUserData(script.replace("set_secret_env 'TFE_LICENSE'", "set_secret_env 'TFE_ENCRYPTION_PASSWORD'")), /set twice/);
  assert.throws(() => parseInstall('#!/bin/bash\ndocker run hashicorp/terraform-enterprise:1.2.2\n'), ForeignUserDataError);
  assert.throws(() => renderDockerUserData(install({ secretEnv: {} })), /TFE_LICENSE must come from Secrets Manager/);
  assert.throws(() => renderDockerUserData(install({ env: { TFE_LICENSE: 'x' }, secretEnv: { TFE_LICENSE: 'id' } })), /both plain and secret/);
});

test('scanRelease finds what a foreign script installs: a Replicated sequence (also in base64) or an FDO image tag', () => {
  assert.deepEqual(scanRelease(['... images.releases.hashicorp.com/hashicorp/terraform-enterprise:v202503-1 ...']), { kind: 'Docker', tag: 'v202503-1' });
  assert.deepEqual(scanRelease(['{"ReleaseSequence": 504}']), { kind: 'Replicated', sequence: 504 });
  assert.equal(scanRelease(['#!/bin/bash\necho hi']), undefined);
});

test('TFE_* variables file: NAME=value lines, comments; what is not a line, or set twice, is named', () => {
  assert.deepEqual(parseEnvFile('# c\n\nA=1\nB=x=y # not a comment\r\n'), { vars: { A: '1', B: 'x=y # not a comment' }, problems: [] });
  assert.deepEqual(parseEnvFile('A=1\nexport B=2\nA=3\n').problems, ['line 2 is not NAME=value', 'line 3 sets A a second time']);
});

test('the FDO license: one line of text; a binary .rli, a trailing newline or nothing is refused', () => {
  assert.equal(fdoLicenseProblem(Buffer.from('abc.def.0123')), undefined);
  assert.match(fdoLicenseProblem(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0xff]))!, /binary/);
  assert.match(fdoLicenseProblem(Buffer.from('abc.def\n'))!, /whitespace/);
  assert.match(fdoLicenseProblem(undefined)!, /empty/);
});

test('the kind on an install: active-active, drain with tfectl, the enc_password secret, the release', () => {
  const aa = install();
  assert.equal(docker.isActiveActive(aa), true);
  assert.equal(docker.drainCommand(aa), DOCKER_DRAIN_COMMAND);
  assert.equal(DOCKER_DRAIN_COMMAND, 'docker exec tfe-tfe-1 tfectl node drain');
  assert.equal(docker.encPasswordSecretId(aa), 'tfe-operator/tfe/tfe/enc_password');
  assert.deepEqual(docker.releaseOf(aa), { kind: 'Docker', tag: '1.2.2' });
  const ext = install({ env: { TFE_OPERATIONAL_MODE: 'external' } });
  assert.equal(docker.isActiveActive(ext), false);
  assert.equal(docker.drainCommand(ext), undefined);
});
