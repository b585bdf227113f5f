// The seeded world, both halves: seedWorld / resetWorld against a control plane and a moto
// of its own (independent of the shared sandbox), and the examples applied to the real API
// server (server-side dry run: the CRD's CEL rules run there).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, SetDesiredCapacityCommand } from '@aws-sdk/client-auto-scaling';
import { startControlPlane, type ControlPlane } from '../sandbox/controlplane.ts';
import { asgHistory, awsCalls, startMoto, type Moto } from '../sandbox/moto.ts';
import { repoRoot } from '../sandbox/controlplane-bin.ts';
import { run } from '../sandbox/procs.ts';
import { BASE_REPLICATED_CONF, BASE_SETTINGS, LICENSE, SECRET_VALUES, awsClientConfig, resetWorld, seedWorld, type World, type WorldContext } from '../sandbox/world.ts';

const crd = { group: 'tfe.operators.dev', version: 'v1alpha1', namespace: 'tfe', plural: 'tfeclusters' };
const FAKE_CA = '-----BEGIN CERTIFICATE-----\nTUlJQ0ZBS0VDQQ==\n-----END CERTIFICATE-----\n';

let dir: string;
let cp: ControlPlane;
let moto: Moto;
let ctx: WorldContext;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let world: World;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tfe-world-test-'));
  [cp, moto] = await Promise.all([startControlPlane({ dir: join(dir, 'cp'), log: () => {} }), startMoto({ dir })]);
  writeFileSync(join(dir, 'ca.crt'), FAKE_CA);
  ctx = {
    awsEndpoint: moto.endpoint,
    kubeconfigPath: cp.kubeconfigPath,
    redis: { host: '127.0.0.1', port: 6390, password: 'sandbox-redis-password-NOT-REAL-77', caFile: join(dir, 'ca.crt') },
  };
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  world = await seedWorld(ctx);
});

after(async () => {
  await moto?.stop();
  await cp?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const secretData = async (name: string) => {
  const s = await core.readNamespacedSecret({ name, namespace: 'tfe' });
  return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
};

test('seedWorld fills namespace tfe: settings ConfigMap without secrets, and the Secrets', async () => {
  const cm = await core.readNamespacedConfigMap({ name: 'tfe-settings', namespace: 'tfe' });
  assert.deepEqual(JSON.parse(cm.data!['replicated.conf']!), BASE_REPLICATED_CONF);
  assert.deepEqual(JSON.parse(cm.data!['ptfe-settings.json']!), BASE_SETTINGS);
  const text = JSON.stringify(cm.data);
  for (const v of [SECRET_VALUES.encPassword, SECRET_VALUES.pgPassword]) assert.ok(!text.includes(v));
  assert.ok(!('enc_password' in BASE_SETTINGS) && !('pg_password' in BASE_SETTINGS));

  assert.deepEqual(await secretData('tfe-secrets'), { enc_password: SECRET_VALUES.encPassword, pg_password: SECRET_VALUES.pgPassword });
  const license = await core.readNamespacedSecret({ name: 'tfe-license', namespace: 'tfe' });
  assert.deepEqual(Buffer.from(license.data!['license.rli']!, 'base64'), LICENSE, 'the binary license, byte for byte');
  assert.deepEqual(await secretData('tfe-redis'), { token: ctx.redis.password, password: ctx.redis.password, 'ca.crt': FAKE_CA });
  assert.equal(world.namespace, 'tfe');
  assert.equal(world.asgName, 'tfe');
});

test('the examples pass the API server, CEL rules included (server-side dry run)', async () => {
  await core.createNamespace({ body: { metadata: { name: 'tfe-prod' } } });
  for (const f of ['tfecluster.yaml', 'tfecluster-elasticache.yaml', 'tfecluster-external-redis.yaml']) {
    await run(cp.kubectl, ['--kubeconfig', cp.kubeconfigPath, 'apply', '--dry-run=server', '-f', join(repoRoot, 'examples', f)]);
  }
  // ... and the API server does refuse a broken one (so the dry run above means something).
  const broken = parse(readFileSync(join(repoRoot, 'examples', 'tfecluster.yaml'), 'utf8')) as { spec: { nodes: number } };
  broken.spec.nodes = 9;
  await assert.rejects(
    run(cp.kubectl, ['--kubeconfig', cp.kubeconfigPath, 'apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify(broken) }),
    /spec\.nodes must be between 2 and 5/,
  );
});

test('resetWorld: TfeClusters gone (finalizers or not), AWS back to the seeded state, namespace refilled', async () => {
  // A TfeCluster with a finalizer and nobody to remove it, and damage on both sides.
  await run(cp.kubectl, ['--kubeconfig', cp.kubeconfigPath, 'apply', '-f', join(repoRoot, 'examples', 'tfecluster.yaml')]);
  await custom.patchNamespacedCustomObject(
    { ...crd, name: 'tfe', body: [{ op: 'add', path: '/metadata/finalizers', value: ['tfe.operators.dev/finalizer'] }] },
  );
  await core.deleteNamespacedSecret({ name: 'tfe-secrets', namespace: 'tfe' });
  await core.createNamespacedConfigMap({ namespace: 'tfe', body: { metadata: { name: 'leftover' }, data: { a: 'b' } } });
  const asg = new AutoScalingClient(awsClientConfig(moto.endpoint));
  try {
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'tfe', DesiredCapacity: 0 }));

    const again = await resetWorld(ctx);
    assert.deepEqual(again, world, 'same IDs after the reset');

    const list = (await custom.listNamespacedCustomObject(crd)) as { items: unknown[] };
    assert.equal(list.items.length, 0);
    const cms = await core.listNamespacedConfigMap({ namespace: 'tfe' });
    assert.deepEqual(cms.items.map((c) => c.metadata!.name), ['tfe-settings']);
    assert.equal((await secretData('tfe-secrets')).enc_password, SECRET_VALUES.encPassword);

    const g = (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['tfe'] }))).AutoScalingGroups![0]!;
    assert.equal(g.DesiredCapacity, 1);
    assert.deepEqual(g.Instances?.map((i) => i.InstanceId), world.instanceIds);
    // The logs start over with the new world: its creation, nothing before.
    assert.deepEqual((await asgHistory(moto.endpoint)).map((h) => [h.asg, h.from, h.to]), [['tfe', null, 1]]);
    assert.ok(!(await awsCalls(moto.endpoint)).some((c) => c.action === 'SetDesiredCapacity'));
  } finally {
    asg.destroy();
  }
});
