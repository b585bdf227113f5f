// The TFE node simulator against a real moto (through our launcher) and a real
// redis-server (TLS only, with a password): right settings turn healthy after the install
// delay; each wrong setting never does, with the reason a real node would give; the admin
// console answers until disable-replicated-ui; nodes that leave their group are forgotten.
//
// Self-contained: starts its own moto (our launcher), redis-server (test/sandbox/redis.ts:
// TLS only, password required) and simulator on free loopback ports.
// Each case gets its own launch template (CreateLaunchTemplate) and Auto Scaling group.

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
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { renderUserData, type NodeInstall } from '../../src/tfe/userdata.ts';
import { startMoto, type Moto } from '../sandbox/moto.ts';
import { sleep, waitFor } from '../sandbox/procs.ts';
import { startRedis, type SandboxRedis } from '../sandbox/redis.ts';
import { startSimulator, type FleetState, type NodeView, type Simulator } from '../sandbox/simulator/index.ts';

const REGION = 'us-east-1';
const INSTALL_DELAY_MS = 600;
const REDIS_PASSWORD = 'sim-test-redis-password-NOT-A-SECRET-7f3a';
const ENC_PASSWORD = 'sim-test-enc-password-NOT-A-SECRET-91c2';
const PG_PASSWORD = 'sim-test-pg-password-NOT-A-SECRET-0b6d';
const LICENSE = 'sim-test-license-NOT-A-LICENSE';
const SECRET_VALUES = [REDIS_PASSWORD, ENC_PASSWORD, PG_PASSWORD, LICENSE, 'wrong-password-NOT-A-SECRET'];

let dir: string;
let moto: Moto;
let redis: SandboxRedis;
let sim: Simulator;
let ec2: EC2Client;
let asg: AutoScalingClient;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'simulator-test-'));
  [redis, moto] = await Promise.all([
    startRedis({ dir: join(dir, 'redis'), logDir: dir, password: REDIS_PASSWORD }),
    startMoto({ dir }),
  ]);

  const cfg = { endpoint: moto.endpoint, region: REGION, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
  ec2 = new EC2Client(cfg);
  asg = new AutoScalingClient(cfg);
  const sm = new SecretsManagerClient(cfg);
  for (const [name, value] of Object.entries({
    'sim/enc_password': ENC_PASSWORD,
    'sim/pg_password': PG_PASSWORD,
    'sim/license': LICENSE,
    'sim/redis_pass': REDIS_PASSWORD,
    'sim/redis_pass_wrong': 'wrong-password-NOT-A-SECRET',
  })) {
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: value }));
  }
  sm.destroy();

  sim = await startSimulator({
    port: 0,
    awsEndpoint: moto.endpoint,
    region: REGION,
    redisAlias: { host: redis.host, port: redis.port, caFile: redis.caFile },
    installDelayMs: INSTALL_DELAY_MS,
    recheckMs: 250,
    stateDir: dir,
    logger: process.env.SIM_DEBUG ? { info: (o, m) => console.error(new Date().toISOString(), m, JSON.stringify(o)), warn: (o, m) => console.error(new Date().toISOString(), 'WARN', m, JSON.stringify(o)) } : undefined,
  });
});

after(async () => {
  await sim?.stop();
  ec2?.destroy();
  asg?.destroy();
  await moto?.stop();
  await redis?.stop();
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
    hostname: { value: 'tfe.sim.example' },
    installation_type: { value: 'production' },
    production_type: { value: 'external' },
    pg_user: { value: 'tfe' },
    pg_netloc: { value: 'db.sim.internal:5432' },
    pg_dbname: { value: 'tfe' },
    placement: { value: 'placement_s3' },
    s3_bucket: { value: 'tfe-sim' },
    s3_region: { value: REGION },
    aws_instance_profile: { value: '1' },
  },
  secretSettings: { enc_password: 'sim/enc_password', pg_password: 'sim/pg_password' },
  licenseSecretId: 'sim/license',
  installArgs: ['no-proxy', 'private-address=${PRIVATE_IP}'],
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
      LaunchTemplateData: { ImageId: 'ami-12c6146b', InstanceType: 'm5.xlarge', UserData: Buffer.from(userData).toString('base64') },
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
    assert.deepEqual(n.installArgs, ['no-proxy', 'private-address=${PRIVATE_IP}', 'disable-replicated-ui']);
    assert.equal(n.consoleOpen, false);
    assert.equal(n.consolePort, null);
    assert.equal(n.settings!.enable_active_active, '1');
    assert.equal(n.settings!.redis_pass, '<redacted: secret sim/redis_pass>');
    assert.equal(n.settings!.enc_password, '<redacted: secret sim/enc_password>');
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

  test('foreign user data and a missing secret are refused at boot', async () => {
    await Promise.all([
      group('foreign', '#!/bin/bash\ncurl -o install.sh https://install.terraform.io/ptfe/stable\nbash install.sh no-proxy\n', 1),
      group('missing-secret', { ...standalone, licenseSecretId: 'sim/no-such-license' }, 1),
    ]);
    const [f] = await neverHealthy('foreign', 1, /user data \(launch template lt-\w+ version 1\) cannot be installed: user data was not written by tfe-operator/);
    assert.equal(f!.installArgs, null);
    await neverHealthy('missing-secret', 1, /boot script stopped before install\.sh: cannot read license secret "sim\/no-such-license" \(ResourceNotFoundException/);
  });
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
  assert.deepEqual(cfg, { installDelayMs: INSTALL_DELAY_MS, neverHealthy: false, pollMs: 100, recheckMs: 250 });
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
  await waitNodes('aa-good', 2, (n) => n.state === 'healthy');
});
