// The TFE node simulator against a real moto (through our launcher) and a real
// redis-server (TLS only, with a password). Every node runs its user data with bash, the real
// AWS CLI (credentials from its instance profile through IMDS) and jq: right settings turn
// healthy after the install delay; a broken script or a refused install shows the script's or
// the install.sh stand-in's own line; each wrong setting never turns healthy, with the reason
// a real node would give; the admin console answers until disable-replicated-ui; the node
// serves /_health_check over HTTPS for the TFE hostname; nodes that leave are forgotten.
//
// Self-contained: starts its own moto (our launcher), redis-server (test/sandbox/redis.ts:
// TLS only, password required) and simulator on free loopback ports.
// Each case gets its own launch template (CreateLaunchTemplate) and Auto Scaling group.
// The user data comes from the operator's renderer (what the operator ships) or is written
// here by hand; the simulator itself never reads it (test/integration/simulator-independence.test.ts).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand, CreateLaunchTemplateVersionCommand, EC2Client } from '@aws-sdk/client-ec2';
import { AddRoleToInstanceProfileCommand, CreateInstanceProfileCommand, CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { request } from 'node:https';
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { renderUserData, type NodeInstall } from '../../src/tfe/userdata.ts';
import { startMoto, type Moto } from '../sandbox/moto.ts';
import { sleep, waitFor } from '../sandbox/procs.ts';
import { startRedis, type SandboxRedis } from '../sandbox/redis.ts';
import { startPostgres, type SandboxPostgres } from '../sandbox/postgres.ts';
import { seedBucket } from '../sandbox/worlds/seeding.ts';
import { createCA, type CA } from '../sandbox/certs.ts';
import { startSimulator, type FleetState, type NodeView, type Simulator } from '../sandbox/simulator/index.ts';
import { makeLicense } from '../sandbox/simulator/license.ts';

const REGION = 'us-east-1';
const INSTALL_DELAY_MS = 600;
const REDIS_PASSWORD = 'sim-test-redis-password-NOT-A-SECRET-7f3a';
const ENC_PASSWORD = 'sim-test-enc-password-NOT-A-SECRET-91c2';
const PG_PASSWORD = 'sim-test-pg-password-NOT-A-SECRET-0b6d';
const LICENSE = makeLicense({ license_id: 'sim-test-NOT-A-LICENSE', customer: 'simulator test', seats: '1' }, 'sim-test');
/** Valid UTF-8, so it can be a SecretString: for the "--output text adds a newline" case. */
const TEXT_LICENSE = makeLicense({ license_id: 'sim-test-text', customer: 'simulator test', seats: '1' }, 'sim-text', true);
const SECRET_VALUES = [REDIS_PASSWORD, ENC_PASSWORD, PG_PASSWORD, 'sim-test-NOT-A-LICENSE', 'wrong-password-NOT-A-SECRET', 'wrong-pg-password-NOT-A-SECRET'];
const HOSTNAME = 'tfe.sim.example';

let dir: string;
let moto: Moto;
let redis: SandboxRedis;
let postgres: SandboxPostgres;
let sim: Simulator;
let ec2: EC2Client;
let asg: AutoScalingClient;
let ca: CA;
let profileArn: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'simulator-test-'));
  ca = await createCA(join(dir, 'pki'));
  [redis, moto, postgres] = await Promise.all([
    startRedis({ dir: join(dir, 'redis'), logDir: dir, password: REDIS_PASSWORD, ca }),
    startMoto({ dir }),
    startPostgres({ dir: join(dir, 'postgres'), logDir: dir, ca }),
  ]);
  // The nodes' database (db.sim.internal leads to the sandbox PostgreSQL) and bucket.
  await postgres.ensureDatabase({ dbname: 'tfe', user: 'tfe', password: PG_PASSWORD });

  const cfg = { endpoint: moto.endpoint, region: REGION, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
  ec2 = new EC2Client(cfg);
  asg = new AutoScalingClient(cfg);
  await seedBucket({ ...cfg, endpoint: moto.endpoint }, 'tfe-sim');
  const sm = new SecretsManagerClient(cfg);
  for (const [name, value] of Object.entries({
    'sim/enc_password': ENC_PASSWORD,
    'sim/pg_password': PG_PASSWORD,
    'sim/redis_pass': REDIS_PASSWORD,
    'sim/redis_pass_wrong': 'wrong-password-NOT-A-SECRET',
    'sim/pg_password_wrong': 'wrong-pg-password-NOT-A-SECRET',
    'sim/text-license': TEXT_LICENSE.toString('utf8'),
    'forbidden/pg_password': PG_PASSWORD,
  })) {
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: value }));
  }
  await sm.send(new CreateSecretCommand({ Name: 'sim/license', SecretBinary: LICENSE }));
  await sm.send(new CreateSecretCommand({ Name: 'sim/license-one-byte-more', SecretBinary: Buffer.concat([LICENSE, Buffer.from('\n')]) }));
  sm.destroy();
  // The nodes' instance profile: its role may read sim/* and nothing else.
  const iam = new IAMClient(cfg);
  await iam.send(new CreateRoleCommand({ RoleName: 'sim-node', AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] }) }));
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: 'sim-node',
      PolicyName: 'secrets',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: 'arn:aws:secretsmanager:*:*:secret:sim/*' }] }),
    }),
  );
  profileArn = (await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: 'sim-node' }))).InstanceProfile!.Arn!;
  await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: 'sim-node', RoleName: 'sim-node' }));
  iam.destroy();

  sim = await startSimulator({
    port: 0,
    awsEndpoint: moto.endpoint,
    region: REGION,
    redisAlias: { host: redis.host, port: redis.port, caFile: redis.caFile },
    postgresAlias: { host: postgres.host, port: postgres.port, caFile: postgres.caFile },
    installDelayMs: INSTALL_DELAY_MS,
    recheckMs: 250,
    stateDir: dir,
    ca,
    logger: process.env.SIM_DEBUG ? { info: (o, m) => console.error(new Date().toISOString(), m, JSON.stringify(o)), warn: (o, m) => console.error(new Date().toISOString(), 'WARN', m, JSON.stringify(o)) } : undefined,
  });
});

after(async () => {
  await sim?.stop();
  ec2?.destroy();
  asg?.destroy();
  await moto?.stop();
  await redis?.stop();
  await postgres?.stop();
  if (dir && !process.exitCode) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------
// The installs under test

const standalone: NodeInstall = {
  replicatedConf: {
    DaemonAuthenticationType: 'anonymous',
    TlsBootstrapType: 'self-signed',
    BypassPreflightChecks: true,
    ImportSettingsFrom: '/etc/ptfe-settings.json',
    LicenseFileLocation: '/etc/tfe-license.rli',
    ReleaseSequence: 504,
  },
  settings: {
    hostname: { value: HOSTNAME },
    installation_type: { value: 'production' },
    production_type: { value: 'external' },
    pg_user: { value: 'tfe' },
    pg_netloc: { value: 'db.sim.internal:5432' },
    pg_dbname: { value: 'tfe' },
    pg_extra_params: { value: 'sslmode=verify-full' },
    placement: { value: 'placement_s3' },
    s3_bucket: { value: 'tfe-sim' },
    s3_region: { value: REGION },
    aws_instance_profile: { value: '1' },
  },
  secretSettings: { enc_password: 'sim/enc_password', pg_password: 'sim/pg_password' },
  licenseSecretId: 'sim/license',
  installArgs: ['no-proxy', 'private-address=${PRIVATE_IP}'],
  files: [],
};

function activeActive(redis: Partial<Record<'redis_host' | 'redis_port' | 'redis_use_tls' | 'redis_use_password_auth', string>> = {}, pass = 'sim/redis_pass'): NodeInstall {
  const r = { redis_host: 'master.tfe-redis.abc123.use1.cache.amazonaws.com', redis_port: '6379', redis_use_tls: '1', redis_use_password_auth: '1', ...redis };
  return {
    ...standalone,
    settings: {
      ...standalone.settings,
      enable_active_active: { value: '1' },
      ...Object.fromEntries(Object.entries(r).map(([k, v]) => [k, { value: v }])),
    },
    secretSettings: { ...standalone.secretSettings, ...(r.redis_use_password_auth === '1' ? { redis_pass: pass } : {}) },
    installArgs: [...standalone.installArgs, 'disable-replicated-ui'],
  };
}

// ---------------------------------------------------------------------------------------
// Helpers

async function createTemplate(name: string, userData: string): Promise<string> {
  const lt = await ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: name,
      LaunchTemplateData: {
        ImageId: 'ami-12c6146b',
        InstanceType: 'm5.xlarge',
        IamInstanceProfile: { Arn: profileArn },
        UserData: Buffer.from(userData).toString('base64'),
      },
    }),
  );
  return lt.LaunchTemplate!.LaunchTemplateId!;
}

/** A launch template with this install and an ASG of `nodes` instances from it. */
async function group(name: string, install: NodeInstall | string, nodes: number): Promise<{ ltId: string; ids: string[] }> {
  const ltId = await createTemplate(name, typeof install === 'string' ? install : renderUserData(install));
  await asg.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      MinSize: nodes,
      MaxSize: nodes,
      DesiredCapacity: nodes,
      AvailabilityZones: [`${REGION}a`],
      LaunchTemplate: { LaunchTemplateId: ltId, Version: '1' },
    }),
  );
  return { ltId, ids: await instanceIds(name) };
}

async function instanceIds(name: string): Promise<string[]> {
  const res = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
  return (res.AutoScalingGroups?.[0]?.Instances ?? []).map((i) => i.InstanceId!);
}

async function scale(name: string, n: number, ltId?: string): Promise<void> {
  await asg.send(
    new UpdateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      MinSize: n,
      MaxSize: n,
      DesiredCapacity: n,
      ...(ltId ? { LaunchTemplate: { LaunchTemplateId: ltId, Version: '1' } } : {}),
    }),
  );
}

/**
 * The TFE API stand-in places runs on any serving node of the simulator (one installation behind
 * one load balancer): a test that follows runs on its own group first takes every other group's
 * nodes away (this file's earlier tests leave theirs running).
 */
async function onlyGroupServes(name: string): Promise<void> {
  const others = [...new Set((await simState()).nodes.map((n) => n.asg).filter((g) => g !== name))];
  for (const g of others) await scale(g, 0);
  await waitFor('the other groups gone', async () => ((await simState()).nodes.every((n) => n.asg === name) ? true : undefined), { timeoutMs: 30_000, intervalMs: 100 });
}

async function simState(): Promise<FleetState> {
  const res = await fetch(`${sim.url}/sim/state`);
  assert.equal(res.status, 200);
  return (await res.json()) as FleetState;
}

async function nodesOf(asgName: string): Promise<NodeView[]> {
  return (await simState()).nodes.filter((n) => n.asg === asgName);
}

/** Waits until the group has `count` nodes and every one satisfies `ok`. */
async function waitNodes(asgName: string, count: number, ok: (n: NodeView) => boolean, timeoutMs = 30_000): Promise<NodeView[]> {
  return waitFor(
    `${count} node(s) of ${asgName}`,
    async () => {
      const nodes = await nodesOf(asgName);
      return nodes.length === count && nodes.every(ok) ? nodes : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/** The group's nodes stay unhealthy through the install and several re-checks; returns them. */
async function neverHealthy(asgName: string, count: number, reason: RegExp): Promise<NodeView[]> {
  const nodes = await waitNodes(asgName, count, (n) => n.state === 'unhealthy');
  const until = Date.now() + INSTALL_DELAY_MS + 1_000;
  while (Date.now() < until) {
    for (const n of await nodesOf(asgName)) {
      assert.notEqual(n.state, 'healthy', `${asgName} ${n.id} turned healthy: ${n.reason}`);
    }
    await sleep(100);
  }
  for (const n of nodes) {
    assert.match(n.reason, reason);
    const res = await fetch(`${sim.url}/nodes/${n.id}/_health_check`);
    assert.equal(res.status, 503);
    const body = (await res.json()) as { status: string; reason: string };
    assert.equal(body.status, 'unhealthy');
    assert.match(body.reason, reason);
  }
  return nodes;
}

function consoleAnswers(port: number): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2_000) }).then(
    (r) => r.status === 200,
    () => false,
  );
}

function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

// ---------------------------------------------------------------------------------------
// Cases

test('right Active/Active settings: installing, then healthy after the delay (ElastiCache host -> sandbox Redis, TLS + password)', async () => {
  const started = Date.now();
  const { ltId, ids } = await group('aa-good', activeActive(), 2);
  assert.equal(ids.length, 2);
  const first = await waitNodes('aa-good', 2, () => true, 5_000);
  for (const n of first) {
    if (Date.now() - started < INSTALL_DELAY_MS - 100) assert.equal(n.state, 'installing', n.reason);
  }
  const nodes = await waitNodes('aa-good', 2, (n) => n.state === 'healthy');
  assert.ok(Date.now() - started >= INSTALL_DELAY_MS, 'healthy before the install delay');
  for (const n of nodes) {
    assert.equal(n.launchTemplateId, ltId);
    assert.equal(n.version, 1);
    assert.match(n.reason, /master\.tfe-redis\.abc123\.use1\.cache\.amazonaws\.com:6379 \(sandbox Redis 127\.0\.0\.1:\d+\) answered PING \(TLS, password auth\)/);
    // What install.sh really received: the script expanded ${PRIVATE_IP} from IMDS.
    assert.equal(n.installArgs!.length, 3);
    assert.equal(n.installArgs![0], 'no-proxy');
    assert.match(n.installArgs![1]!, /^private-address=\d+\.\d+\.\d+\.\d+$/);
    assert.equal(n.installArgs![2], 'disable-replicated-ui');
    assert.equal(n.exitCode, 0);
    assert.equal(n.installKind, 'replicated');
    assert.ok(n.requests.includes('CONNECT install.terraform.io:443 200'), n.requests.join('\n'));
    assert.ok(n.requests.some((r) => /^GET http:\/\/169\.254\.169\.254\/latest\/meta-data\/iam\/security-credentials\/sim-node 200$/.test(r)));
    assert.equal(n.consoleOpen, false);
    assert.equal(n.consolePort, null);
    assert.equal(n.settings!.enable_active_active, '1');
    assert.equal(n.settings!.redis_pass, '<redacted>');
    assert.equal(n.settings!.enc_password, '<redacted>');
    const res = await fetch(`${sim.url}/nodes/${n.id}/_health_check`);
    assert.equal(res.status, 200);
  }
  const lb = await fetch(`${sim.url}/_health_check`);
  assert.equal(lb.status, 200);
});

test('Redis by address (not an ElastiCache name) is used as given', async () => {
  await group('aa-direct', activeActive({ redis_host: 'localhost', redis_port: String(redis.port) }), 2);
  const nodes = await waitNodes('aa-direct', 2, (n) => n.state === 'healthy');
  assert.match(nodes[0]!.reason, new RegExp(`Redis at localhost:${redis.port} answered PING`));
});

describe('wrong settings never turn healthy, with the reason a real node would give', { concurrency: true }, () => {
  test('several standalone nodes (no Redis settings) never turn healthy', async () => {
    await group('multi-standalone', standalone, 2);
    await neverHealthy('multi-standalone', 2, /2 instances in Auto Scaling group multi-standalone but enable_active_active is not set, not "1"/);
  });

  test('enable_active_active "1" without redis_host never turns healthy', async () => {
    const install = activeActive();
    delete install.settings.redis_host;
    await group('aa-no-redis', install, 2);
    await neverHealthy('aa-no-redis', 2, /enable_active_active is "1" but redis_host is not set/);
  });

  test('enable_active_active not "1" with several nodes never turns healthy', async () => {
    const install = activeActive();
    install.settings.enable_active_active = { value: '0' };
    await group('aa-flag-off', install, 2);
    await neverHealthy('aa-flag-off', 2, /enable_active_active is "0", not "1"/);
  });

  test('wrong Redis password never turns healthy (checked by the real redis-server)', async () => {
    await group('aa-wrong-pass', activeActive({}, 'sim/redis_pass_wrong'), 2);
    await neverHealthy('aa-wrong-pass', 2, /AUTH failed: WRONGPASS .*redis_pass is wrong/);
  });

  test('password auth off against a Redis that requires one never turns healthy', async () => {
    await group('aa-no-pass', activeActive({ redis_use_password_auth: '0' }), 2);
    await neverHealthy('aa-no-pass', 2, /NOAUTH Authentication required.*set redis_use_password_auth "1"/);
  });

  test('TLS off against a TLS-only Redis never turns healthy', async () => {
    await group('aa-no-tls', activeActive({ redis_use_tls: '0' }), 2);
    await neverHealthy('aa-no-tls', 2, /\(plain TCP, password auth\).*it probably requires TLS, set redis_use_tls "1"/);
  });

  test('ReleaseSequence below 504 never turns healthy', async () => {
    const install = activeActive();
    install.replicatedConf = { ...install.replicatedConf, ReleaseSequence: 480 };
    await group('aa-old-release', install, 1);
    await neverHealthy('aa-old-release', 1, /ReleaseSequence 480 is below 504/);
  });

  test('settings that are not External Services, or lack enc_password, never turn healthy', async () => {
    const disk = structuredClone(standalone);
    disk.settings.production_type = { value: 'disk' };
    const { enc_password: _e, ...noEnc } = standalone.secretSettings;
    await Promise.all([group('not-external', disk, 1), group('no-enc', { ...standalone, secretSettings: noEnc }, 1)]);
    await neverHealthy('not-external', 1, /production_type is "disk", not "external"/);
    await neverHealthy('no-enc', 1, /enc_password is not set/);
  });

  test('user data that is not a script, a script that never writes replicated.conf, and a missing secret fail at boot', async () => {
    await Promise.all([
      group('not-a-script', '#cloud-config\nruncmd: []\n', 1),
      group('no-conf', '#!/bin/bash\nset -e\ncurl -sSfo /tmp/install.sh https://install.terraform.io/ptfe/stable\nbash /tmp/install.sh no-proxy\n', 1),
      group('missing-secret', { ...standalone, licenseSecretId: 'sim/no-such-license' }, 1),
    ]);
    const [f] = await neverHealthy('not-a-script', 1, /user data \(launch template lt-\w+ version 1\) is not a script cloud-init runs: it starts with "#cloud-config"/);
    assert.equal(f!.installArgs, null);
    await neverHealthy('no-conf', 1, /user data failed \(exit code 1\): install\.sh: \/etc\/replicated\.conf does not exist/);
    await neverHealthy('missing-secret', 1, /ResourceNotFoundException.*\| tfe-operator user-data: ERROR: cannot read license secret sim\/no-such-license/);
  });
});

describe('external services: a node whose database or bucket is wrong never turns healthy, with TFE\'s database check line', { concurrency: true }, () => {
  test('wrong pg_password never turns healthy (checked by the real PostgreSQL), with TFE\'s database check failure', async () => {
    await group('pg-wrong-pass', { ...standalone, secretSettings: { ...standalone.secretSettings, pg_password: 'sim/pg_password_wrong' } }, 1);
    await neverHealthy('pg-wrong-pass', 1, /check failed: name=database err="failed to connect to `host=db\.sim\.internal port=5432 user=tfe database=tfe \(sandbox PostgreSQL 127\.0\.0\.1:\d+\)`: password authentication failed for user "tfe" \(SQLSTATE 28P01\)"/);
  });

  test('a database that refuses connections never turns healthy', async () => {
    const install = { ...standalone, settings: { ...standalone.settings, pg_netloc: { value: '127.0.0.1:1' } } };
    await group('pg-refused', install, 1);
    await neverHealthy('pg-refused', 1, /check failed: name=database err="failed to connect to `host=127\.0\.0\.1 port=1 user=tfe database=tfe`: ECONNREFUSED/);
  });

  test('sslmode=disable against a PostgreSQL that requires TLS never turns healthy', async () => {
    const install = { ...standalone, settings: { ...standalone.settings, pg_extra_params: { value: 'sslmode=disable' } } };
    await group('pg-no-tls', install, 1);
    await neverHealthy('pg-no-tls', 1, /check failed: name=database .*no pg_hba\.conf entry for host "127\.0\.0\.1", user "tfe", database "tfe", no encryption/);
  });

  test('a missing s3_bucket never turns healthy', async () => {
    const install = { ...standalone, settings: { ...standalone.settings, s3_bucket: { value: 'tfe-sim-gone' } } };
    await group('s3-missing', install, 1);
    await neverHealthy('s3-missing', 1, /check failed: name=object-storage err="s3 bucket tfe-sim-gone: NoSuchBucket/);
  });
});

/** The operator's rendered script with one line changed (a defect, or another script's way). */
function edited(install: NodeInstall, from: string | RegExp, to: string): string {
  const script = renderUserData(install);
  const out = script.replace(from, to);
  assert.notEqual(out, script, `the rendered script has no ${from}`);
  return out;
}

describe('the install.sh stand-in and the AWS CLI refuse what a real node would, with their own words', { concurrency: true }, () => {
  test('a license one byte off', async () => {
    await group('lic-long', { ...standalone, licenseSecretId: 'sim/license-one-byte-more' }, 1);
    await neverHealthy('lic-long', 1, new RegExp(`install\\.sh: license file /etc/tfe-license\\.rli is ${LICENSE.length + 1} bytes, its header says ${LICENSE.length}`));
  });

  test('AWS CLI output with an extra newline (--output text), the defect the operator once had', async () => {
    const script = edited({ ...standalone, licenseSecretId: 'sim/text-license' }, /^fetch_license (.*)$/m, 'aws secretsmanager get-secret-value --secret-id $1 --query SecretString --output text > "$LICENSE_FILE"');
    await group('lic-newline', script, 1);
    await neverHealthy('lic-newline', 1, new RegExp(`install\\.sh: license file /etc/tfe-license\\.rli is ${TEXT_LICENSE.length + 1} bytes, its header says ${TEXT_LICENSE.length}`));
  });

  test('a missing TLS file', async () => {
    const install = { ...standalone, replicatedConf: { ...standalone.replicatedConf, TlsBootstrapType: 'server-path', TlsBootstrapCert: '/etc/tfe/tls.crt', TlsBootstrapKey: '/etc/tfe/tls.key' } };
    await group('tls-missing', install, 1);
    await neverHealthy('tls-missing', 1, /install\.sh: TlsBootstrapCert names \/etc\/tfe\/tls\.crt, which does not exist or is empty/);
  });

  test('an unknown install.sh argument', async () => {
    await group('bad-arg', { ...standalone, installArgs: ['no-proxy', 'disable-replicated-console'] }, 1);
    await neverHealthy('bad-arg', 1, /install\.sh: unknown argument: disable-replicated-console/);
  });

  test('a settings value that is not a string', async () => {
    await group('not-a-string', edited(standalone, '"value": "production"', '"value": 1'), 1);
    await neverHealthy('not-a-string', 1, /install\.sh: \/etc\/ptfe-settings\.json: setting\(s\) installation_type are not \{"value": "<string>"\}/);
  });

  test('install.sh under umask 077, the defect the operator once had', async () => {
    await group('umask', edited(standalone, /^umask 022$/m, 'umask 077'), 1);
    await neverHealthy('umask', 1, /install\.sh: umask is 0077/);
  });

  test('an installer whose sha256 is not spec.node.installerSha256: the boot stops before install.sh runs', async () => {
    await group('installer-sha', { ...standalone, installerSha256: '0'.repeat(64) }, 1);
    await neverHealthy('installer-sha', 1, /tfe-operator user-data: ERROR: the installer downloaded from https:\/\/install\.terraform\.io\/ptfe\/stable has sha256 [0-9a-f]{64}, not 0{64} \(spec\.node\.installerSha256\): not running it/);
  });

  test('a secret the node may not read (its instance profile allows sim/* only)', async () => {
    await group('forbidden', { ...standalone, secretSettings: { ...standalone.secretSettings, pg_password: 'forbidden/pg_password' } }, 1);
    await neverHealthy('forbidden', 1, /AccessDeniedException.*not authorized to perform: secretsmanager:GetSecretValue.*\| tfe-operator user-data: ERROR: cannot read secret forbidden\/pg_password/);
  });
});

/** GET https://127.0.0.1:port/_health_check, verifying the certificate against `servername` (or the IP). */
function httpsHealth(port: number, servername?: string): Promise<{ status: number } | { error: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/_health_check', ca: ca.pem, ...(servername ? { servername } : {}), timeout: 5_000 }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: `${err.code}: ${err.message}` }));
    req.end();
  });
}

test('the node serves /_health_check over HTTPS with a certificate for the TFE hostname, not for its IP', async () => {
  await group('https', standalone, 1);
  const [n] = await waitNodes('https', 1, (x) => x.state === 'healthy');
  assert.equal(n!.hostname, HOSTNAME);
  assert.ok(n!.httpsPort);
  assert.deepEqual(await httpsHealth(n!.httpsPort!, HOSTNAME), { status: 200 });
  const byIp = await httpsHealth(n!.httpsPort!);
  assert.ok('error' in byIp && /ERR_TLS_CERT_ALTNAME_INVALID/.test(byIp.error), JSON.stringify(byIp));
});


test('the admin console answers until disable-replicated-ui; nodes that leave are forgotten; scale history', async () => {
  await group('console', standalone, 1);
  const [before] = await waitNodes('console', 1, (n) => n.state === 'healthy');
  assert.equal(before!.reason, 'standalone node (internal Redis)');
  assert.equal(before!.consoleOpen, true);
  assert.ok(await consoleAnswers(before!.consolePort!), 'admin console answers');

  // The guide's step 4: disable-replicated-ui in a new template; scale to 0, then back.
  const ltNoUi = await createTemplate('console-no-ui', renderUserData({ ...standalone, installArgs: [...standalone.installArgs, 'disable-replicated-ui'] }));
  await scale('console', 0, ltNoUi);
  await waitNodes('console', 0, () => true);
  assert.ok(await portRefuses(before!.consolePort!), 'the old console port still answers after its instance left');
  await scale('console', 1);
  const [after] = await waitNodes('console', 1, (n) => n.state === 'healthy');
  assert.notEqual(after!.id, before!.id);
  assert.equal(after!.launchTemplateId, ltNoUi);
  assert.equal(after!.consoleOpen, false);
  assert.equal(after!.consolePort, null);

  const state = await simState();
  assert.equal(state.scaleHistorySource, 'moto');
  assert.deepEqual(state.scaleHistory.console, [1, 0, 1]);
  const gone = await fetch(`${sim.url}/nodes/${before!.id}/_health_check`);
  assert.equal(gone.status, 404);
});

// Relies on our moto launcher's fix for CreateLaunchTemplateVersion (moto 5.2.1 stores its
// UserData unconverted) and for the version it reports per instance.
test('new instances install the launch template version they were launched from ($Latest resolved)', async () => {
  const { ltId } = await group('versions', standalone, 1);
  const [v1] = await waitNodes('versions', 1, (n) => n.state === 'healthy');
  assert.equal(v1!.version, 1);
  const v2 = activeActive();
  await ec2.send(
    new CreateLaunchTemplateVersionCommand({
      LaunchTemplateId: ltId,
      SourceVersion: '1',
      LaunchTemplateData: { UserData: Buffer.from(renderUserData(v2)).toString('base64') },
    }),
  );
  await asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'versions', LaunchTemplate: { LaunchTemplateId: ltId, Version: '$Latest' } }));
  await scale('versions', 0);
  await waitNodes('versions', 0, () => true);
  await scale('versions', 2);
  const nodes = await waitNodes('versions', 2, (n) => n.state === 'healthy');
  for (const n of nodes) {
    assert.equal(n.version, 2);
    assert.equal(n.settings!.enable_active_active, '1');
    assert.equal(n.consoleOpen, false);
    assert.equal(n.note, undefined);
  }
  assert.deepEqual((await simState()).scaleHistory.versions, [1, 0, 2]);
});

test('neverHealthy keeps healthy nodes unhealthy until switched off; installDelayMs is configurable', async () => {
  await group('switch', standalone, 1);
  await waitNodes('switch', 1, (n) => n.state === 'healthy');
  const set = (body: unknown) => fetch(`${sim.url}/sim/config`, { method: 'POST', body: JSON.stringify(body) });
  try {
    assert.equal((await set({ neverHealthy: true })).status, 200);
    const [n] = await waitNodes('switch', 1, (x) => x.state === 'unhealthy');
    assert.match(n!.reason, /neverHealthy is set on the simulator \(otherwise: standalone node/);
  } finally {
    await set({ neverHealthy: false });
  }
  await waitNodes('switch', 1, (n) => n.state === 'healthy');
  const bad = await set({ installDelayMs: -1 });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /installDelayMs/);
  assert.equal((await set({ bogus: 1 })).status, 400);
  assert.equal((await set({ recheckMs: 5 })).status, 400);
  assert.equal((await set({ recheckMs: 300, pollMs: 150 })).status, 200);
  await set({ recheckMs: 250, pollMs: 100 });
  const cfg = (await (await set({ installDelayMs: INSTALL_DELAY_MS })).json()) as Record<string, unknown>;
  assert.deepEqual(cfg, { installDelayMs: INSTALL_DELAY_MS, neverHealthy: false, pollMs: 100, recheckMs: 250, runStepMs: 250, runsHang: false, runsRefused: false, runPlanMs: 0, ssmAgent: true });
});

test('no secret value in the simulator state or its state file', async () => {
  const state = JSON.stringify(await simState());
  const { readFile } = await import('node:fs/promises');
  await sleep(300); // state file writes are debounced
  const file = await readFile(join(dir, 'simulator-state.json'), 'utf8');
  for (const secret of SECRET_VALUES) {
    assert.ok(!state.includes(secret), 'secret value in /sim/state');
    assert.ok(!file.includes(secret), 'secret value in simulator-state.json');
  }
});

test('POST /sim/reset forgets every node; they boot and install again', async () => {
  const before = (await simState()).nodes.filter((n) => n.asg === 'aa-good');
  assert.equal(before.length, 2);
  const res = await fetch(`${sim.url}/sim/reset`, { method: 'POST' });
  assert.equal(res.status, 200);
  const again = await waitNodes('aa-good', 2, () => true, 5_000);
  assert.deepEqual(again.map((n) => n.id).sort(), before.map((n) => n.id).sort());
  // Every node of every group of this file boots again at once (bash, curl and the AWS CLI each).
  await waitNodes('aa-good', 2, (n) => n.state === 'healthy', 120_000);
});

// ---------------------------------------------------------------------------------------
// SSM Run Command on the nodes, and TFE's node drain (ssm.ts, the install.sh stand-in's CLI)

async function queueRun(message: string): Promise<string> {
  const auth = { authorization: `Bearer ${sim.tfeApi.token}`, 'content-type': 'application/vnd.api+json' };
  const ws = (await (await fetch(`${sim.url}/api/v2/organizations/${sim.tfeApi.organization}/workspaces/${sim.tfeApi.workspace}`, { headers: auth })).json()) as { data: { id: string } };
  const res = await fetch(`${sim.url}/api/v2/runs`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ data: { type: 'runs', attributes: { message, 'plan-only': true }, relationships: { workspace: { data: { type: 'workspaces', id: ws.data.id } } } } }),
  });
  assert.equal(res.status, 201);
  return ((await res.json()) as { data: { id: string } }).data.id;
}

async function runOf(id: string): Promise<{ status: string; node: string | null; error: string | null }> {
  const all = (await (await fetch(`${sim.url}/sim/runs`)).json()) as { runs: { id: string; status: string; node: string | null; error: string | null }[] };
  return all.runs.find((r) => r.id === id)!;
}

const setConfig = (patch: Record<string, unknown>) =>
  fetch(`${sim.url}/sim/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(patch) }).then((r) => assert.equal(r.status, 200));

test('SSM: node-drain on an Active/Active node waits for its run in flight, and the node takes no new run', async () => {
  const ssm = new SSMClient({ endpoint: moto.endpoint, region: REGION, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  try {
    await setConfig({ runStepMs: 100, runPlanMs: 4_000 });
    await onlyGroupServes('drain');
    const { ids } = await group('drain', activeActive(), 1);
    const id = ids[0]!;
    await waitNodes('drain', 1, (n) => n.state === 'healthy', 60_000);

    // A command runs as root in the node's own namespace with its files; a failing one is Failed.
    const cmd = async (commands: string[], timeout?: string) =>
      (await ssm.send(new SendCommandCommand({ InstanceIds: [id], DocumentName: 'AWS-RunShellScript', Parameters: { commands, ...(timeout ? { executionTimeout: [timeout] } : {}) } }))).Command!.CommandId!;
    const finished = (commandId: string) =>
      waitFor(`command ${commandId}`, async () => {
        const inv = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: id }));
        return ['Success', 'Failed', 'TimedOut'].includes(inv.Status!) ? inv : undefined;
      }, { timeoutMs: 20_000, intervalMs: 100 });
    const who = await finished(await cmd(['id -u', 'test -f /etc/ptfe-settings.json && echo settings', 'command -v tfe-admin']));
    assert.equal(who.Status, 'Success');
    assert.equal(who.StandardOutputContent, '0\nsettings\n/usr/local/bin/tfe-admin\n');
    const bad = await finished(await cmd(['echo before', 'false', 'exit 7']));
    assert.deepEqual([bad.Status, bad.ResponseCode, bad.StandardOutputContent], ['Failed', 7, 'before\n'], 'no set -e: the script goes on after false');
    const slow = await finished(await cmd(['sleep 30'], '1'));
    assert.equal(slow.Status, 'TimedOut');
    const usage = await finished(await cmd(['replicated admin support-bundle']));
    assert.equal(usage.Status, 'Failed');
    assert.match(usage.StandardErrorContent!, /usage: replicated admin node-drain/);

    const first = await queueRun('in flight during the drain');
    await waitFor('run planning', async () => ((await runOf(first)).status === 'planning' ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 });
    assert.equal((await runOf(first)).node, id);

    const drain = await cmd(['replicated admin node-drain']);
    await waitNodes('drain', 1, (n) => n.draining, 5_000);
    const second = await queueRun('queued while the only node drains');
    await sleep(1_000);
    const during = await ssm.send(new GetCommandInvocationCommand({ CommandId: drain, InstanceId: id }));
    assert.equal(during.Status, 'InProgress', 'the drain waits for the run in flight');
    assert.equal((await runOf(first)).status, 'planning');
    assert.deepEqual(await runOf(second), { ...(await runOf(second)), status: 'pending', node: null }, 'the draining node takes no new run');

    const done = await finished(drain);
    assert.equal(done.Status, 'Success');
    assert.match(done.StandardOutputContent!, /Node drained/);
    assert.equal((await runOf(first)).status, 'planned_and_finished');
    assert.equal((await runOf(second)).node, null, 'still no node for the new run');
    const [node] = await nodesOf('drain');
    assert.ok(node!.draining && node!.drainedAt, 'drainedAt set');
    assert.equal(node!.state, 'healthy', 'a draining node still answers its health check');

    // The simulator's log of SSM commands.
    const log = (await simState()).ssm.filter((e) => e.instanceId === id);
    assert.deepEqual(log.map((e) => e.status), ['Success', 'Failed', 'TimedOut', 'Failed', 'Success']);
    assert.deepEqual(log[4]!.commands, ['replicated admin node-drain']);

    // Without the agent: InvalidInstanceId.
    await setConfig({ ssmAgent: false });
    await sleep(500);
    await assert.rejects(cmd(['true']), (err: Error) => err.name === 'InvalidInstanceId' && /not in a valid state/.test(err.message));
    await setConfig({ ssmAgent: true });

    // The node leaves: a departure, drained first, no run killed.
    await scale('drain', 0);
    const dep = await waitFor('departure', async () => (await simState()).departures.find((d) => d.id === id), { timeoutMs: 10_000, intervalMs: 100 });
    assert.deepEqual({ ...dep, at: '', bootedAt: '' }, { id, at: '', bootedAt: '', installKind: 'replicated', release: 'sequence 504', drainRequested: true, drained: true, unfinishedRuns: [] });
    assert.ok(Date.parse(dep.bootedAt) < Date.parse(dep.at), 'it ran from its boot until it left');
    assert.equal((await runOf(first)).status, 'planned_and_finished');
  } finally {
    ssm.destroy();
    await setConfig({ runStepMs: 250, runPlanMs: 0, ssmAgent: true });
  }
});

test('SSM: a run whose node leaves before it finished is killed, and the departure names it', async () => {
  await setConfig({ runStepMs: 100, runsHang: true });
  try {
    await onlyGroupServes('killed');
    const { ids } = await group('killed', activeActive(), 1);
    const id = ids[0]!;
    await waitNodes('killed', 1, (n) => n.state === 'healthy', 60_000);
    const run = await queueRun('never ends');
    await waitFor('run planning', async () => ((await runOf(run)).status === 'planning' ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 });
    await scale('killed', 0);
    const dep = await waitFor('departure', async () => (await simState()).departures.find((d) => d.id === id), { timeoutMs: 10_000, intervalMs: 100 });
    assert.deepEqual([dep.drainRequested, dep.drained], [false, false]);
    assert.ok(dep.unfinishedRuns.includes(run), 'the run in flight (the one the last test left pending may have landed here too)');
    assert.deepEqual([(await runOf(run)).status, (await runOf(run)).error], ['errored', `killed: node ${id} was terminated during the run`]);
  } finally {
    await setConfig({ runStepMs: 250, runsHang: false });
  }
});
