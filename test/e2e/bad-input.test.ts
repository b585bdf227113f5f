// Bad input that CRD admission cannot see: references to Secrets and ConfigMaps that do not
// exist, settings that do not parse or break the rules, a launch template whose user data
// the operator did not write, an ASG that already runs several nodes, a "Redis" that is
// something else. Each TfeCluster must end Degraded with a reason of its own and a message
// that says what to fix; nothing may change in AWS (moto's call log shows no write by the
// operator); the operator must not crash and must keep serving a good TfeCluster alongside.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { resetWorld } from '../harness.ts';
import { awsCalls } from '../sandbox/moto.ts';
import { BASE_REPLICATED_CONF, BASE_SETTINGS, type World } from '../sandbox/world.ts';
import { byOperator } from '../faults/end-state.ts';
import { clearNamespace, copyWorldObjects, createExtraAsg } from '../faults/world-extra.ts';
import { isReadAction } from '../faults/aws-proxy.ts';
import { createCluster, degradedCondition, exampleCluster, getCluster, isReady, kube, operator, waitDegraded, waitFor, warningReasons } from './support.ts';
import type { OperatorProcess } from '../operator-process.ts';
import type { TfeCluster } from '../../src/api/types.ts';

const k = kube();
const NS = 'tfe';
const ALONGSIDE = 'tfe-alongside';
let op: OperatorProcess | undefined;
let world: World;
const servers: Array<HttpServer | TcpServer> = [];

const listen = async (s: HttpServer | TcpServer): Promise<number> => {
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return (s.address() as AddressInfo).port;
};

const FOREIGN_USER_DATA = `#!/bin/bash
# Terraform Enterprise, installed by hand (2020)
set -euo pipefail
cat > /etc/ptfe-settings.json <<'EOF'
{"hostname": {"value": "tfe.example.com"}, "production_type": {"value": "external"}}
EOF
curl -sfo /tmp/install.sh https://install.terraform.io/ptfe/stable
bash /tmp/install.sh no-proxy
`;

interface Case {
  name: string;
  /** The Degraded reason it must report. */
  reason: string;
  /** What the message must say (names the object or key, and the fix). */
  message: RegExp;
  mutate: (c: TfeCluster) => void;
  /** Kubernetes objects the case needs in namespace tfe. */
  setup?: () => Promise<unknown>;
}

function settingsConfigMap(name: string, data: { conf?: string; settings?: string }) {
  return k.core.createNamespacedConfigMap({
    namespace: NS,
    body: {
      metadata: { name },
      data: {
        'replicated.conf': data.conf ?? JSON.stringify(BASE_REPLICATED_CONF, null, 2),
        'ptfe-settings.json': data.settings ?? JSON.stringify(BASE_SETTINGS, null, 2),
      },
    },
  });
}

const cases: Case[] = [
  {
    name: 'missing-configmap',
    reason: 'InputMissing',
    message: /ConfigMap tfe\/no-such-settings/,
    mutate: (c) => (c.spec.settings.configMapRef = { name: 'no-such-settings' }),
  },
  {
    name: 'missing-secret',
    reason: 'InputMissing',
    message: /Secret tfe\/no-such-secret key enc_password/,
    mutate: (c) => (c.spec.encryptionPasswordSecretRef = { name: 'no-such-secret', key: 'enc_password' }),
  },
  {
    name: 'missing-secret-key',
    reason: 'InputMissing',
    message: /Secret tfe\/tfe-license key license-typo/,
    mutate: (c) => (c.spec.settings.licenseSecretRef = { name: 'tfe-license', key: 'license-typo' }),
  },
  {
    name: 'broken-json',
    reason: 'InvalidJson',
    message: /ptfe-settings\.json is not valid JSON/,
    setup: () => settingsConfigMap('settings-broken-json', { settings: '{"hostname": {"value": "tfe.sandbox.example"},\n  "pg_dbname": {"value": "tfe"\n' }),
    mutate: (c) => (c.spec.settings.configMapRef = { name: 'settings-broken-json' }),
  },
  {
    name: 'release-not-integer',
    reason: 'ReleaseSequenceNotInteger',
    message: /ReleaseSequence must be an integer, found "504"/,
    setup: () => settingsConfigMap('settings-release-string', { conf: JSON.stringify({ ...BASE_REPLICATED_CONF, ReleaseSequence: '504' }) }),
    mutate: (c) => (c.spec.settings.configMapRef = { name: 'settings-release-string' }),
  },
  {
    name: 'value-not-string',
    reason: 'SettingValueNotString',
    message: /setting capacity_concurrency has a number \(10\) as its value; every value must be a string/,
    setup: () => settingsConfigMap('settings-number', { settings: JSON.stringify({ ...BASE_SETTINGS, capacity_concurrency: { value: 10 } }) }),
    mutate: (c) => (c.spec.settings.configMapRef = { name: 'settings-number' }),
  },
  {
    name: 'foreign-user-data',
    reason: 'InstallArgsRequired',
    message: /not written by tfe-operator \(the script appears to run install\.sh no-proxy\): to adopt it, set spec\.node\.installArgs/,
    setup: async () => void (await createExtraAsg(world, 'tfe-foreign', { userData: FOREIGN_USER_DATA })),
    mutate: (c) => {
      c.spec.autoScalingGroupName = 'tfe-foreign';
      c.spec.launchTemplate = { name: 'tfe-foreign' };
      c.spec.redis.elastiCache!.replicationGroupId = 'tfe-redis-foreign';
    },
  },
  {
    name: 'several-nodes',
    reason: 'NotStandalone',
    message: /runs 2 nodes without Active\/Active settings.*scale it to 1/,
    setup: async () => void (await createExtraAsg(world, 'tfe-two', { capacity: 2 })),
    mutate: (c) => {
      c.spec.autoScalingGroupName = 'tfe-two';
      c.spec.launchTemplate = { name: 'tfe-two' };
      c.spec.redis.elastiCache!.replicationGroupId = 'tfe-redis-two';
    },
  },
];

/** spec.redis.external at something that answers, but not as Redis. */
function notRedis(name: string, port: () => number, message: RegExp): Case {
  return {
    name,
    reason: 'RedisNotRedis',
    message,
    mutate: (c) => {
      // Its own ASG: the good TfeCluster below takes ASG tfe, and this one must get as far as Redis.
      c.spec.autoScalingGroupName = 'tfe-ext';
      c.spec.launchTemplate = { name: 'tfe-ext' };
      c.spec.redis = { external: { host: '127.0.0.1', port: port(), tls: false } } as TfeCluster['spec']['redis'];
    },
  };
}

let httpPort = 0;
let sshPort = 0;
cases.push(
  notRedis('redis-is-http', () => httpPort, /127\.0\.0\.1:\d+.*(does not speak the Redis protocol|did not answer INFO like Redis|does not look like Redis)/),
  notRedis('redis-is-ssh', () => sshPort, /127\.0\.0\.1:\d+.*(does not speak the Redis protocol|did not answer INFO like Redis|does not look like Redis)/),
);

const degraded = degradedCondition;

before(async () => {
  world = await resetWorld();
  await createExtraAsg(world, 'tfe-ext');
  httpPort = await listen(createHttpServer((_req, res) => res.writeHead(404).end('not found\n')));
  sshPort = await listen(createTcpServer((s) => {
    s.on('error', () => {});
    s.end('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n');
  }));
});
after(async () => {
  await op?.stop();
  for (const s of servers) s.close();
  await clearNamespace(k, ALONGSIDE);
  await resetWorld();
});

test('bad input: each TfeCluster Degraded with its own reason, nothing changed in AWS, a good TfeCluster alongside still migrates', async () => {
  for (const c of cases) await c.setup?.();
  op = await operator('bad-input', {}, ['--resync', '2000']);
  const names = cases.map((c) => `bad-${c.name}`);
  for (const c of cases) {
    await createCluster(k, exampleCluster((x) => {
      x.metadata.name = `bad-${c.name}`;
      c.mutate(x);
    }));
  }

  // Phase 1: only bad TfeClusters. Each settles on Degraded with its reason.
  for (const c of cases) {
    const got = await waitDegraded(k, NS, `bad-${c.name}`, op);
    const d = degraded(got)!;
    assert.equal(d.reason, c.reason, `${c.name}: Degraded reason ${d.reason} (${d.message}), expected ${c.reason}`);
    assert.match(d.message, c.message, `${c.name}: Degraded message does not say what is wrong`);
    assert.equal(got.status?.phase, 'Degraded', `${c.name}: phase`);
    assert.equal(got.status?.conditions?.find((x) => x.type === 'Ready')?.status, 'False', `${c.name}: Ready`);
    const warnings = await warningReasons(k, NS, `bad-${c.name}`, c.reason);
    assert.ok(warnings.includes(c.reason), `${c.name}: no Warning Event with reason ${c.reason}: ${JSON.stringify(warnings)}`);
  }
  // A few more reconciles (resync every 2 s): still no write, no crash, no error loop.
  await new Promise((r) => setTimeout(r, 7_000));
  const writes = (await awsCalls(process.env.AWS_ENDPOINT_URL!)).filter((x) => byOperator(x) && x.action && !isReadAction(x.action));
  assert.deepEqual(writes.map((w) => w.action), [], `the operator changed AWS for bad input: ${JSON.stringify(writes)}`);
  assert.equal(op.proc.exitCode, null, 'the operator exited');
  const failures = op.logs().filter((l) => l.msg === 'reconcile failed' || l.level === 'fatal');
  assert.deepEqual(failures, [], 'bad input made reconciles fail (an error loop) instead of a condition');

  // Phase 2: a good TfeCluster in another namespace migrates while the bad ones stay.
  await copyWorldObjects(k, ALONGSIDE);
  const good = exampleCluster((x) => {
    x.metadata.namespace = ALONGSIDE;
    x.metadata.name = 'good';
  });
  await createCluster(k, good);
  const done = await waitFor(k, ALONGSIDE, 'good', isReady, 180_000, 'the good TfeCluster Ready').catch((err) => {
    throw new Error(`${(err as Error).message}\noperator log tail:\n${op?.lines.slice(-15).join('\n')}`);
  });
  assert.equal(done.status?.nodes?.ready, 2);
  for (const [i, c] of cases.entries()) {
    const now = await getCluster(k, NS, names[i]!);
    assert.equal(degraded(now)?.reason, c.reason, `${c.name}: after the good migration: ${now.status?.message}`);
  }
  assert.equal(op.proc.exitCode, null, 'the operator exited');
});
