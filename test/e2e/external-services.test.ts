// Step 1 checks TFE's external services for real, against the sandbox's PostgreSQL (TLS, the
// world's database and user) and the world's bucket in moto: a wrong pg_password, a missing
// bucket and a database that refuses connections are each refused with a reason of their
// own, before any write (moto's call log shows no write by the operator; the ASG and its
// launch template are as seeded). The database password appears nowhere.

import { ANNOTATION_ALLOWED_TFECLUSTERS } from '../../src/security/secret-access.ts';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { DescribeLaunchTemplatesCommand } from '@aws-sdk/client-ec2';
import { resetWorld } from '../harness.ts';
import { awsCalls } from '../sandbox/moto.ts';
import { BASE_REPLICATED_CONF, BASE_SETTINGS, SECRET_VALUES, type World } from '../sandbox/world.ts';
import { byOperator } from '../faults/end-state.ts';
import { isReadAction } from '../faults/aws-proxy.ts';
import { aws, createCluster, degradedCondition, describeAsg, eventsOf, exampleCluster, kube, operator, waitDegraded, warningReasons } from './support.ts';
import type { OperatorProcess } from '../operator-process.ts';
import type { TfeCluster } from '../../src/api/types.ts';

const k = kube();
const NS = 'tfe';
const WRONG_PG_PASSWORD = 'wrong-pg-password-NOT-A-SECRET-e2e-3c1f';
let op: OperatorProcess | undefined;
let world: World;
let closed: Server | undefined;
let closedPort = 0;

async function settings(name: string, patch: Record<string, { value: string }>) {
  await k.core.createNamespacedConfigMap({
    namespace: NS,
    body: {
      metadata: { name },
      data: {
        'replicated.conf': JSON.stringify(BASE_REPLICATED_CONF, null, 2),
        'ptfe-settings.json': JSON.stringify({ ...BASE_SETTINGS, ...patch }, null, 2),
      },
    },
  });
}

interface Case {
  name: string;
  reason: string;
  message: RegExp;
  mutate: (c: TfeCluster) => void;
  setup: () => Promise<unknown>;
}

const cases: Case[] = [
  {
    name: 'wrong-pg-password',
    reason: 'DatabaseAuthFailed',
    message: /PostgreSQL at tfe-postgres\.sandbox\.internal:5432 refused pg_user tfe on pg_dbname tfe: password authentication failed for user "tfe".*Correct pg_password \(Secret tfe\/tfe-secrets-wrong-pg key pg_password\)/,
    setup: () =>
      k.core.createNamespacedSecret({
        namespace: NS,
        body: { metadata: { name: 'tfe-secrets-wrong-pg', annotations: { [ANNOTATION_ALLOWED_TFECLUSTERS]: '*' } }, stringData: { pg_password: WRONG_PG_PASSWORD } },
      }),
    mutate: (c) => {
      c.spec.settings.secretSettings = (c.spec.settings.secretSettings ?? []).map((s) =>
        s.setting === 'pg_password' ? { ...s, secretKeyRef: { name: 'tfe-secrets-wrong-pg', key: 'pg_password' } } : s,
      );
    },
  },
  {
    name: 'missing-bucket',
    reason: 'BucketNotFound',
    message: /s3_bucket tfe-sandbox-objects-gone in ptfe-settings.json \(ConfigMap tfe\/tfe-settings-no-bucket\) does not exist.*Create the bucket, or set s3_bucket/,
    setup: () => settings('tfe-settings-no-bucket', { s3_bucket: { value: 'tfe-sandbox-objects-gone' } }),
    mutate: (c) => (c.spec.settings.configMapRef = { name: 'tfe-settings-no-bucket' }),
  },
  {
    name: 'database-refuses',
    reason: 'DatabaseUnreachable',
    message: /PostgreSQL at 127\.0\.0\.1:\d+ refused the connection.*Correct pg_netloc/,
    setup: () => settings('tfe-settings-no-db', { pg_netloc: { value: `127.0.0.1:${closedPort}` } }),
    mutate: (c) => (c.spec.settings.configMapRef = { name: 'tfe-settings-no-db' }),
  },
];

before(async () => {
  world = await resetWorld();
  // A port nothing listens on: taken, then released.
  closed = createServer();
  await new Promise<void>((r) => closed!.listen(0, '127.0.0.1', r));
  closedPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed!.close(() => r()));
});

after(async () => {
  await op?.stop();
  await resetWorld();
});

test('external services: a wrong pg_password, a missing bucket, a database that refuses connections: each Degraded with its own reason in step 1, nothing written', async () => {
  assert.ok(process.env.PG_PORT, 'the sandbox runs PostgreSQL (PG_PORT in its env)');
  for (const c of cases) await c.setup();
  const a = aws();
  const asgBefore = await describeAsg();
  const ltBefore = await a.ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [world.launchTemplateId] }));
  op = await operator('external-services', {}, ['--resync', '2000']);
  for (const c of cases) {
    await createCluster(k, exampleCluster((x) => {
      x.metadata.name = `ext-${c.name}`;
      c.mutate(x);
    }));
  }
  for (const c of cases) {
    const got = await waitDegraded(k, NS, `ext-${c.name}`, op);
    const d = degradedCondition(got)!;
    assert.equal(d.reason, c.reason, `${c.name}: Degraded reason ${d.reason} (${d.message}), expected ${c.reason}`);
    assert.match(d.message, c.message, `${c.name}: the message does not name the setting and the fix`);
    assert.equal(got.status?.conditions?.find((x) => x.type === 'Validated')?.status, 'False', `${c.name}: refused in step 1 (Validated False)`);
    const warnings = await warningReasons(k, NS, `ext-${c.name}`, c.reason);
    assert.ok(warnings.includes(c.reason), `${c.name}: no Warning Event with reason ${c.reason}: ${JSON.stringify(warnings)}`);
  }
  // A few more reconciles: still nothing written.
  await new Promise((r) => setTimeout(r, 5_000));
  const writes = (await awsCalls(process.env.AWS_ENDPOINT_URL!)).filter((x) => byOperator(x) && x.action && !isReadAction(x.action));
  assert.deepEqual(writes.map((w) => w.action), [], `the operator changed AWS: ${JSON.stringify(writes)}`);
  const reads = new Set((await awsCalls(process.env.AWS_ENDPOINT_URL!)).filter(byOperator).map((x) => x.action));
  for (const action of ['HeadBucket', 'GetBucketLocation', 'GetBucketEncryption', 'DescribeKey']) assert.ok(reads.has(action), `the operator never called ${action}: ${[...reads].join(', ')}`);
  const asgAfter = await describeAsg();
  assert.equal(asgAfter?.DesiredCapacity, asgBefore?.DesiredCapacity, 'ASG capacity unchanged');
  assert.deepEqual(asgAfter?.LaunchTemplate, asgBefore?.LaunchTemplate, 'ASG launch template unchanged');
  assert.deepEqual(asgAfter?.Tags, asgBefore?.Tags, 'ASG tags unchanged');
  const ltAfter = await a.ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [world.launchTemplateId] }));
  assert.equal(ltAfter.LaunchTemplates?.[0]?.LatestVersionNumber, ltBefore.LaunchTemplates?.[0]?.LatestVersionNumber, 'no new launch template version');
  // The database passwords appear in no log line, status or Event.
  const text = [...op.lines, JSON.stringify(await Promise.all(cases.map((c) => eventsOf(k, NS, `ext-${c.name}`))))].join('\n');
  for (const secret of [WRONG_PG_PASSWORD, SECRET_VALUES.pgPassword]) assert.ok(!text.includes(secret), 'a database password leaked');
  assert.equal(op.proc.exitCode, null, 'the operator exited');
});
