// Day 2 safety, end to end: deleting a TfeCluster. Retain (the default) changes nothing in
// AWS; a new TfeCluster adopts the running install without a roll. Delete removes only what
// the operator created (its replication group, its Secrets Manager secrets) and never scales
// TFE down; a replication group it did not create is kept.

import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateReplicationGroupCommand, DescribeReplicationGroupsCommand } from '@aws-sdk/client-elasticache';
import { ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import { GROUP, PLURAL, VERSION, type TfeCluster } from '../../src/api/types.ts';
import { SECRET_IDS } from '../sandbox/world.ts';
import { createCluster, describeAsg, exampleCluster, simState } from './support.ts';
import {
  asgMark,
  callMark,
  countCalls,
  freshWorld,
  handAws,
  k,
  migrate,
  mutationsSince,
  NAME,
  NS,
  scalesSince,
  sleep,
  startOperator,
  stopOperator,
  waitReady,
} from './day2.ts';

const REDIS_SG = 'sg-1de43a123e226e5e2'; // seeded security group tfe-redis (examples/tfecluster.yaml)
const hand = handAws();

afterEach(stopOperator);

async function deleteAndWaitGone(timeoutMs = 60_000): Promise<void> {
  await k.custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: NAME });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await k.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: NAME });
    } catch (err) {
      if ((err as { code?: number }).code === 404) return;
      throw err;
    }
    if (Date.now() > deadline) throw new Error('the TfeCluster was not deleted (finalizer still there?)');
    await sleep(200);
  }
}

async function redisGroup(): Promise<string | undefined> {
  try {
    const out = await hand.elasticache.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'tfe-redis' }));
    return out.ReplicationGroups?.[0]?.Status;
  } catch (err) {
    if ((err as Error).name === 'ReplicationGroupNotFoundFault') return undefined;
    throw err;
  }
}

async function secretNames(): Promise<string[]> {
  const out = await hand.secrets.send(new ListSecretsCommand({}));
  return (out.SecretList ?? []).map((s) => s.Name!).sort();
}

const operatorSecrets = (names: string[]) => names.filter((n) => n.startsWith(`tfe-operator/${NS}/${NAME}/`));

async function asgSnapshot() {
  const g = await describeAsg();
  return {
    size: [g.MinSize, g.MaxSize, g.DesiredCapacity],
    version: g.LaunchTemplate?.Version,
    instances: (g.Instances ?? []).map((i) => i.InstanceId).sort(),
  };
}

const withPolicy = (policy: 'Retain' | 'Delete') => (c: TfeCluster) => {
  c.spec.deletionPolicy = policy;
};

test('Retain: deleting the TfeCluster changes nothing in AWS; a new TfeCluster adopts the install without a roll; then Delete', async () => {
  await migrate('day2-retain', withPolicy('Retain'));
  const asg = await asgSnapshot();
  const secrets = await secretNames();
  assert.equal(operatorSecrets(secrets).length, 4, JSON.stringify(secrets));
  const calls = await callMark();
  const scales = await asgMark();

  await deleteAndWaitGone();
  await sleep(2_000); // anything the finalizer might still do
  assert.deepEqual((await mutationsSince(calls)).map((c) => c.action), [], 'deletionPolicy Retain changed AWS');
  assert.deepEqual(await asgSnapshot(), asg, 'the ASG and its instances are as they were');
  assert.equal(await redisGroup(), 'available');
  assert.deepEqual(await secretNames(), secrets);
  const sim = await simState();
  assert.equal(sim.nodes.filter((n) => n.state === 'healthy').length, 2, 'TFE still serves');

  // Adopt it again, this time with deletionPolicy Delete: Ready from the world as it is.
  await createCluster(k, exampleCluster(withPolicy('Delete')));
  await waitReady('Ready after adoption');
  assert.deepEqual(await scalesSince(scales), [], 'adoption rolled the nodes');
  for (const a of ['CreateReplicationGroup', 'CreateLaunchTemplateVersion', 'CreateSecret']) assert.equal(await countCalls(a, calls), 0, a);

  // Delete: only the operator's replication group and secrets go; TFE's nodes stay.
  const before = await callMark();
  await deleteAndWaitGone();
  const changes = (await mutationsSince(before)).map((c) => c.action).sort();
  assert.deepEqual(changes, ['DeleteReplicationGroup', 'DeleteSecret', 'DeleteSecret', 'DeleteSecret', 'DeleteSecret']);
  assert.equal(await redisGroup(), undefined, 'the replication group the operator created is gone');
  const left = await secretNames();
  assert.deepEqual(operatorSecrets(left), []);
  for (const id of Object.values(SECRET_IDS)) assert.ok(left.includes(id), `the install's own secret ${id} was deleted`);
  assert.deepEqual(await asgSnapshot(), asg, 'the ASG was changed');
  assert.deepEqual(await scalesSince(scales), [], 'TFE was scaled');
});

test('Delete: a replication group the operator did not create is kept', async () => {
  await freshWorld();
  // Someone created the Redis beforehand; the TfeCluster names it.
  await hand.elasticache.send(
    new CreateReplicationGroupCommand({
      ReplicationGroupId: 'tfe-redis',
      ReplicationGroupDescription: 'created by the platform team, not the operator',
      CacheNodeType: 'cache.t3.medium',
      Engine: 'redis',
      EngineVersion: '7.1',
      Port: 6379,
      CacheSubnetGroupName: 'tfe-redis',
      SecurityGroupIds: [REDIS_SG],
      ReplicasPerNodeGroup: 1,
      AutomaticFailoverEnabled: true,
      MultiAZEnabled: true,
      TransitEncryptionEnabled: true,
      AtRestEncryptionEnabled: true,
      AuthToken: process.env.REDIS_PASSWORD,
    }),
  );
  await startOperator('day2-delete-foreign');
  await createCluster(k, exampleCluster(withPolicy('Delete')));
  await waitReady('Ready on the existing Redis');
  assert.equal(await countCalls('CreateReplicationGroup'), 1, 'only the one made by hand');
  const asg = await asgSnapshot();
  const scales = await asgMark();
  const before = await callMark();

  await deleteAndWaitGone();
  const changes = (await mutationsSince(before)).map((c) => c.action).sort();
  assert.deepEqual(changes, ['DeleteSecret', 'DeleteSecret', 'DeleteSecret', 'DeleteSecret']);
  assert.equal(await redisGroup(), 'available', 'the replication group the operator did not create was deleted');
  assert.deepEqual(operatorSecrets(await secretNames()), []);
  assert.deepEqual(await asgSnapshot(), asg);
  assert.deepEqual(await scalesSince(scales), []);
});
