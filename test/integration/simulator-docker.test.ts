// The simulator's Docker (FDO) install kind: nodes run user data shaped like HashiCorp's HVD
// module (test/sandbox/worlds/fdo.ts renders it) with the `docker` stand-in on the node image and
// HashiCorp's registry stand-in behind the node's network. TFE's startup checks refuse a missing
// variable, the registry refuses a license one character off and a tag that does not exist, an
// active-active node needs a real Redis with the right password, 2.0 refuses to start while a node
// of another version ran in the last 10 seconds, readiness answers in TFE's JSON, and
// `docker exec ... tfectl node drain` drains through SSM.
//
// Self-contained: its own moto, redis-server and simulator on free loopback ports.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoScalingClient, CreateAutoScalingGroupCommand, DeleteAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand, EC2Client } from '@aws-sdk/client-ec2';
import { AddRoleToInstanceProfileCommand, CreateInstanceProfileCommand, CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { createCA, issueCert, type CA } from '../sandbox/certs.ts';
import { startMoto, type Moto } from '../sandbox/moto.ts';
import { sleep, waitFor } from '../sandbox/procs.ts';
import { startRedis, type SandboxRedis } from '../sandbox/redis.ts';
import { startSimulator, type NodeView, type Simulator } from '../sandbox/simulator/index.ts';
import { fdoLicenseProblem, makeFdoLicense } from '../sandbox/simulator/fdo.ts';
import { HOSTNAME, plainVariables, renderFdoUserData, type FdoUserDataParams, type SecretKey } from '../sandbox/worlds/fdo.ts';
import { composeInterpolate } from '../sandbox/simulator/standins.ts';
import { imageFor, renderDockerUserData, type DockerInstall } from '../../src/install/docker-userdata.ts';

const REGION = 'us-east-1';
const REDIS_PASSWORD = 'fdo-test-redis-password-NOT-A-SECRET-5e1c';
const LICENSE = makeFdoLicense({ license_id: 'fdo-test', customer: 'simulator docker test' }, 'fdo-test');
const REDIS_HOST = 'master.fdo-test.abc123.use1.cache.amazonaws.com:6379';
/** Compose reads "$" as its own variables: the operator's user data must double it. */
const OP_DB_PASSWORD = 'op-db $HOME ${PATH} $$ "quoted" \\ end-NOT-A-SECRET';

let dir: string;
let moto: Moto;
let redis: SandboxRedis;
let sim: Simulator;
let ec2: EC2Client;
let asg: AutoScalingClient;
let ssm: SSMClient;
let ca: CA;
let profileArn: string;

const SECRETS: Record<SecretKey, string> = {
  license: 'fdo/license',
  encPassword: 'fdo/enc',
  dbPassword: 'fdo/db',
  tlsCert: 'fdo/cert',
  tlsKey: 'fdo/key',
  tlsCa: 'fdo/ca',
};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'simulator-docker-test-'));
  ca = await createCA(join(dir, 'pki'));
  [redis, moto] = await Promise.all([startRedis({ dir: join(dir, 'redis'), logDir: dir, password: REDIS_PASSWORD, ca }), startMoto({ dir })]);
  const cfg = { endpoint: moto.endpoint, region: REGION, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
  ec2 = new EC2Client(cfg);
  asg = new AutoScalingClient(cfg);
  ssm = new SSMClient(cfg);
  const tls = await issueCert(ca, join(dir, 'tls'), HOSTNAME, { dns: [HOSTNAME, 'localhost'], ips: ['127.0.0.1'] });
  const sm = new SecretsManagerClient(cfg);
  const bad = `${LICENSE.slice(0, 10)}${LICENSE[10] === 'A' ? 'B' : 'A'}${LICENSE.slice(11)}`;
  for (const [Name, SecretString] of Object.entries({
    'fdo/license': LICENSE,
    'fdo/license-one-char-off': bad,
    'fdo/enc': 'fdo-test-enc-NOT-A-SECRET',
    'fdo/db': 'fdo-test-db-NOT-A-SECRET',
    'fdo/cert': readFileSync(tls.certFile).toString('base64'),
    'fdo/key': readFileSync(tls.keyFile).toString('base64'),
    'fdo/ca': Buffer.from(ca.pem).toString('base64'),
    // The operator's own secrets: PEM text as is, and values docker compose would mangle.
    'op/cert': readFileSync(tls.certFile, 'utf8'),
    'op/key': readFileSync(tls.keyFile, 'utf8'),
    'op/ca': ca.pem,
    'op/db': OP_DB_PASSWORD,
    'op/redis': REDIS_PASSWORD,
  })) {
    await sm.send(new CreateSecretCommand({ Name, SecretString }));
  }
  sm.destroy();
  const iam = new IAMClient(cfg);
  await iam.send(new CreateRoleCommand({ RoleName: 'fdo-node', AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] }) }));
  await iam.send(new PutRolePolicyCommand({ RoleName: 'fdo-node', PolicyName: 'secrets', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: ['arn:aws:secretsmanager:*:*:secret:fdo/*', 'arn:aws:secretsmanager:*:*:secret:op/*'] }] }) }));
  profileArn = (await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: 'fdo-node' }))).InstanceProfile!.Arn!;
  await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: 'fdo-node', RoleName: 'fdo-node' }));
  iam.destroy();
  sim = await startSimulator({ port: 0, awsEndpoint: moto.endpoint, region: REGION, redisAlias: { host: redis.host, port: redis.port, caFile: redis.caFile }, installDelayMs: 300, recheckMs: 250, stateDir: dir, ca });
});

after(async () => {
  await sim?.stop();
  for (const c of [ec2, asg, ssm]) c?.destroy();
  await moto?.stop();
  await redis?.stop();
  if (dir && !process.exitCode) rmSync(dir, { recursive: true, force: true });
});

const external = (over: Partial<FdoUserDataParams> = {}): FdoUserDataParams => ({
  secretArns: SECRETS,
  imageTag: '1.2.2',
  operationalMode: 'external',
  databasePassword: 'fdo-test-db-NOT-A-SECRET',
  ...over,
});
const activeActive = (password = REDIS_PASSWORD, over: Partial<FdoUserDataParams> = {}): FdoUserDataParams =>
  external({ operationalMode: 'active-active', redis: { host: REDIS_HOST, useTls: true, useAuth: true, password }, ...over });

async function group(name: string, p: FdoUserDataParams | string): Promise<void> {
  const script = typeof p === 'string' ? p : renderFdoUserData(p);
  const lt = await ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: name,
      LaunchTemplateData: { ImageId: 'ami-12c6146b', InstanceType: 'm5.xlarge', IamInstanceProfile: { Arn: profileArn }, UserData: Buffer.from(script).toString('base64') },
    }),
  );
  await asg.send(new CreateAutoScalingGroupCommand({ AutoScalingGroupName: name, MinSize: 1, MaxSize: 1, DesiredCapacity: 1, AvailabilityZones: [`${REGION}a`], LaunchTemplate: { LaunchTemplateId: lt.LaunchTemplate!.LaunchTemplateId!, Version: '1' } }));
}

async function nodeOf(name: string, ok: (n: NodeView) => boolean, timeoutMs = 40_000): Promise<NodeView> {
  return waitFor(
    `the node of ${name}`,
    async () => {
      const nodes = ((await (await fetch(`${sim.url}/sim/state`)).json()) as { nodes: NodeView[] }).nodes.filter((n) => n.asg === name);
      return nodes.length === 1 && ok(nodes[0]!) ? nodes[0] : undefined;
    },
    { timeoutMs, intervalMs: 150 },
  );
}

function https(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca: ca.pem, servername: HOSTNAME, headers: { host: HOSTNAME } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function runOnNode(id: string, command: string): Promise<{ status: string; stdout: string }> {
  const sent = await ssm.send(new SendCommandCommand({ InstanceIds: [id], DocumentName: 'AWS-RunShellScript', Parameters: { commands: [command] } }));
  const commandId = sent.Command!.CommandId!;
  return waitFor(
    `SSM command on ${id}`,
    async () => {
      const inv = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: id })).catch(() => undefined);
      return inv && !['Pending', 'InProgress', 'Delayed'].includes(inv.Status!) ? { status: inv.Status!, stdout: inv.StandardOutputContent ?? '' } : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 200 },
  );
}

test('the sandbox FDO license: valid as made; one character off, a trailing newline or another shape is refused', () => {
  assert.equal(fdoLicenseProblem(LICENSE), undefined);
  assert.match(fdoLicenseProblem(`${LICENSE}\n`)!, /whitespace/);
  assert.match(fdoLicenseProblem(LICENSE.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a')))!, /signature/);
  assert.match(fdoLicenseProblem('eyJhbGciOi.J9')!, /format/);
});

test('an external-mode node shaped like the HVD module turns healthy: logged in with the license, image pulled, readiness in TFE\'s JSON', async () => {
  await group('fdo-ok', external());
  const n = await nodeOf('fdo-ok', (x) => x.state !== 'installing');
  assert.equal(n.state, 'healthy', n.reason);
  assert.equal(n.installKind, 'docker');
  assert.equal(n.release, '1.2.2');
  assert.deepEqual(n.fdo && { mode: n.fdo.mode, container: n.fdo.container, started: n.fdo.started }, { mode: 'external', container: 'tfe-tfe-1', started: true });
  assert.equal(n.settings!.TFE_LICENSE, '<redacted>');
  assert.equal(n.settings!.TFE_ENCRYPTION_PASSWORD, '<redacted>');
  assert.equal(n.settings!.TFE_DATABASE_PASSWORD, '<redacted>');
  assert.ok(n.requests.includes('CONNECT images.releases.hashicorp.com:443 200'), n.requests.join('\n'));
  const ready = await https(n.httpsPort!, '/api/v1/health/readiness');
  assert.equal(ready.status, 200);
  const doc = JSON.parse(ready.body) as { node: string; status: string; checks: { check: string; status: string }[] };
  assert.equal(doc.status, 'OK');
  assert.equal(doc.node, 'tfe-tfe-1');
  assert.deepEqual(doc.checks.map((c) => c.check), ['archivist', 'atlas', 'database', 'redis', 'task-worker', 'vault']);
  assert.equal((await https(n.httpsPort!, '/_health_check')).status, 200, '/_health_check is deprecated in 1.2 but still answers');
  const face = await fetch(`${sim.url}/nodes/${n.id}/api/v1/health/readiness`);
  assert.equal(face.status, 200);
  assert.equal(((await face.json()) as { status: string }).status, 'OK');
});

test('a variable FDO requires is missing: the configuration startup check fails and names it', async () => {
  await group('fdo-no-db-password', external({ omit: ['TFE_DATABASE_PASSWORD'] }));
  const n = await nodeOf('fdo-no-db-password', (x) => x.state === 'unhealthy');
  assert.match(n.reason, /startup check failed: name=configuration: TFE_DATABASE_PASSWORD is required in external operational mode/);
  const ready = await fetch(`${sim.url}/nodes/${n.id}/api/v1/health/readiness`);
  assert.equal(ready.status, 503);
});

test('a license one character off: the registry refuses the login and the user data fails with Docker\'s words', async () => {
  await group('fdo-bad-license', external({ secretArns: { ...SECRETS, license: 'fdo/license-one-char-off' } }));
  const n = await nodeOf('fdo-bad-license', (x) => x.state === 'unhealthy');
  assert.match(n.reason, /user data failed .*unauthorized: the password is not a valid Terraform Enterprise license: the license signature does not match/);
});

test('an image tag that does not exist: docker pull fails with manifest unknown', async () => {
  await group('fdo-bad-tag', external({ imageTag: 'v202313-1' }));
  const n = await nodeOf('fdo-bad-tag', (x) => x.state === 'unhealthy');
  assert.match(n.reason, /manifest for images\.releases\.hashicorp\.com\/hashicorp\/terraform-enterprise:v202313-1 not found: manifest unknown/);
});

test('active-active: the right Redis password turns healthy; a wrong one stays unhealthy with Redis\'s answer', async () => {
  await group('fdo-aa-wrong', activeActive('wrong-password-NOT-A-SECRET'));
  await group('fdo-aa', activeActive());
  const good = await nodeOf('fdo-aa', (x) => x.state !== 'installing');
  assert.equal(good.state, 'healthy', good.reason);
  assert.ok(good.fdo!.ports.includes('8201:8201'));
  const wrong = await nodeOf('fdo-aa-wrong', (x) => x.state === 'unhealthy' && /WRONGPASS|invalid password/i.test(x.reason));
  assert.match(wrong.reason, /AUTH failed/);
  const ready = await fetch(`${sim.url}/nodes/${wrong.id}/api/v1/health/readiness`);
  assert.equal(ready.status, 503);
  const checks = ((await ready.json()) as { checks: { check: string; status: string }[] }).checks;
  assert.equal(checks.find((c) => c.check === 'redis')!.status, 'ERROR');
});

test('tfectl node drain through SSM: drains an active-active node; refused on an external one', async () => {
  const aa = await nodeOf('fdo-aa', (x) => x.state === 'healthy');
  const r = await runOnNode(aa.id, 'docker exec tfe-tfe-1 tfectl node drain');
  assert.equal(r.status, 'Success', r.stdout);
  assert.match(r.stdout, /Node drained/);
  const drained = await nodeOf('fdo-aa', (x) => x.draining && x.drainedAt !== null);
  assert.ok(drained);
  const ready = await fetch(`${sim.url}/nodes/${aa.id}/api/v1/health/readiness`);
  assert.equal(((await ready.json()) as { status: string }).status, 'DRAINING');
  const ext = await nodeOf('fdo-ok', (x) => x.state === 'healthy');
  const refused = await runOnNode(ext.id, 'docker exec tfe-tfe-1 tfectl node drain');
  assert.equal(refused.status, 'Failed');
});

test('2.0 refuses to start while a node of another version of the same database ran in the last 10 seconds; starts once it is gone; /_health_check answers 410', async () => {
  // fdo-ok, fdo-aa and fdo-aa-wrong (1.2.2, the same database) run: a 2.0.0 node must wait.
  await group('fdo-v2', activeActive(REDIS_PASSWORD, { imageTag: '2.0.0' }));
  const refused = await nodeOf('fdo-v2', (x) => x.state === 'unhealthy' && /name=version/.test(x.reason));
  assert.match(refused.reason, /node\(s\) of another version ran in the last 10 seconds: (i-\w+ \(1\.2\.2\)(, )?)+; this node runs 2\.0\.0/);
  for (const name of ['fdo-ok', 'fdo-aa', 'fdo-aa-wrong']) await asg.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: name, ForceDelete: true }));
  await sleep(3_000);
  const stillRefused = await nodeOf('fdo-v2', () => true);
  assert.equal(stillRefused.state, 'unhealthy', 'within 10 seconds of the old node, 2.0 still refuses');
  const started = await nodeOf('fdo-v2', (x) => x.state === 'healthy', 20_000);
  assert.equal(started.fdo!.started, true);
  assert.equal((await https(started.httpsPort!, '/_health_check')).status, 410);
  assert.equal((await https(started.httpsPort!, '/api/v1/health/readiness')).status, 200);
});

test('the operator\'s own Docker user data: an active-active node turns healthy, and every secret reaches TFE byte for byte through docker compose ("$" doubled)', async () => {
  const vars = plainVariables({ operationalMode: 'external' });
  delete vars.TFE_OPERATIONAL_MODE;
  const install: DockerInstall = {
    runtime: 'docker',
    image: imageFor('1.2.2'),
    env: { ...vars, TFE_OPERATIONAL_MODE: 'active-active', TFE_REDIS_HOST: REDIS_HOST, TFE_REDIS_USE_TLS: 'true', TFE_REDIS_USE_AUTH: 'true' },
    secretEnv: { TFE_LICENSE: 'fdo/license', TFE_ENCRYPTION_PASSWORD: 'fdo/enc', TFE_DATABASE_PASSWORD: 'op/db', TFE_REDIS_PASSWORD: 'op/redis' },
    files: [
      { path: '/etc/tfe/tls/cert.pem', mode: '0644', secretId: 'op/cert' },
      { path: '/etc/tfe/tls/key.pem', mode: '0600', secretId: 'op/key' },
      { path: '/etc/tfe/tls/bundle.pem', mode: '0644', secretId: 'op/ca' },
    ],
  };
  const script = renderDockerUserData(install);
  for (const secret of [OP_DB_PASSWORD, REDIS_PASSWORD, LICENSE]) assert.ok(!script.includes(secret), 'a secret in the user data');
  await group('fdo-operator', script);
  const n = await nodeOf('fdo-operator', (x) => x.state !== 'installing');
  assert.equal(n.state, 'healthy', `${n.reason}\n${n.console.join('\n')}`);
  assert.deepEqual(n.fdo && { mode: n.fdo.mode, ports: n.fdo.ports }, { mode: 'active-active', ports: ['80:8080', '443:8443', '8201:8201'] });
  // What compose hands the container: the compose file's value, interpolated as compose does.
  const raw = await runOnNode(n.id, "jq -j '.services.tfe.environment.TFE_DATABASE_PASSWORD' /etc/tfe/docker-compose.yaml");
  assert.equal(raw.status, 'Success');
  assert.equal(composeInterpolate(raw.stdout), OP_DB_PASSWORD);
  const key = await runOnNode(n.id, 'stat -c %a /etc/tfe/tls/key.pem /etc/tfe/docker-compose.yaml');
  assert.equal(key.stdout.trim(), '600\n600');
});
