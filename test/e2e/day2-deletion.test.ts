// Day 2 safety, end to end: deleting a TfeCluster. Retain (the default) changes nothing in
// AWS; a new TfeCluster adopts the running install without a roll. Delete removes only what
// the operator created (its replication group, its Secrets Manager secrets), never scales TFE
// down, and refuses (finalizer kept, condition Deleting/ResourcesInUse, a Warning Event) while
// the launch template version the ASG runs still uses them; a replication group it did not
// create is kept.
//
// Before issue 14 these tests deleted the replication group and the secrets right after Ready,
// while the nodes' user data still read them; now that is refused, and each test first rolls
// the ASG back to the baseline version (or sets Retain) to let the deletion finish.

import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CreateReplicationGroupCommand, DescribeReplicationGroupsCommand } from '@aws-sdk/client-elasticache';
import { ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import { FINALIZER, GROUP, PLURAL, VERSION, type TfeCluster } from '../../src/api/types.ts';
import { SECRET_IDS } from '../sandbox/world.ts';
import { createCluster, describeAsg, eventsOf, exampleCluster, simState } from './support.ts';
import {
  asgMark,
  callMark,
  condition,
  countCalls,
  freshWorld,
  handAws,
  k,
  migrate,
  mutationsSince,
  NAME,
  NS,
  patchSpec,
  scalesSince,
  sleep,
  startOperator,
  stopOperator,
  waitFor,
  waitReady,
} from './day2.ts';

const REDIS_SG = 'sg-1de43a123e226e5e2'; // seeded security group tfe-redis (examples/tfecluster.yaml)
const hand = handAws();

afterEach(stopOperator);

async function requestDelete(): Promise<void> {
  await k.custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: NAME });
}

async function deleteAndWaitGone(timeoutMs = 60_000): Promise<void> {
  await requestDelete();
  await waitGone(timeoutMs);
}

async function waitGone(timeoutMs = 60_000): Promise<void> {
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
/** With a node file too: its secret is the operator's as well, and Delete removes it. */
const withPolicyAndFile = (policy: 'Retain' | 'Delete') => (c: TfeCluster) => {
  withPolicy(policy)(c);
  c.spec.node = { ...c.spec.node, files: [{ path: '/var/lib/tfe/redis-ca.pem', mode: '0644', secretKeyRef: { name: 'tfe-redis', key: 'ca.crt' } }] } as TfeCluster['spec']['node'];
};

/**
 * Deletes the TfeCluster with deletionPolicy Delete while the ASG's version still uses `inUse`:
 * refused, finalizer kept, nothing deleted (for a few resyncs), the Event names each resource.
 */
async function deleteIsRefused(inUse: string[], notNamed: string[] = []): Promise<void> {
  const mark = await callMark();
  const secretsBefore = await secretNames();
  const redisBefore = await redisGroup();
  await requestDelete();
  const c = await waitFor((x) => condition(x, 'Deleting')?.reason === 'ResourcesInUse', 'the deletion refused (Deleting/ResourcesInUse)');
  assert.equal(c.status?.phase, 'Deleting');
  assert.ok(c.metadata.finalizers?.includes(FINALIZER), 'the finalizer was removed');
  const message = condition(c, 'Deleting')!.message;
  for (const id of inUse) assert.ok(message.includes(id), `the refusal does not name ${id}: ${message}`);
  for (const id of notNamed) assert.ok(!message.includes(id), `the refusal names ${id}, which is not the operator's to delete: ${message}`);
  assert.match(message, /Nothing was deleted/);
  assert.match(message, /--launch-template LaunchTemplateId=lt-[0-9a-f]+,Version=1\b/, 'the fix: roll back to the baseline');
  assert.match(message, /"deletionPolicy":"Retain"/, 'the fix: Retain');
  const events = await eventsOf(k, NS, NAME);
  const refused = events.filter((e) => e.reason === 'ResourcesInUse');
  assert.equal(refused.length >= 1 && refused.every((e) => e.type === 'Warning'), true, JSON.stringify(events.map((e) => e.reason)));
  for (const id of inUse) assert.ok(refused.at(-1)!.message!.includes(id));
  await sleep(3_000); // several resyncs (1 s) of the refusal
  assert.deepEqual((await mutationsSince(mark)).map((x) => x.action), [], 'a refused deletion changed AWS');
  assert.deepEqual(await secretNames(), secretsBefore);
  assert.equal(await redisGroup(), redisBefore);
  assert.equal(refusedEvents(await eventsOf(k, NS, NAME)), refusedEvents(events), 'the same refusal is announced once');
}

const refusedEvents = (events: Awaited<ReturnType<typeof eventsOf>>) => events.filter((e) => e.reason === 'ResourcesInUse').reduce((n, e) => n + (e.count ?? 1), 0);

/** What a person does to let the deletion go on: point the ASG back at the baseline version 1 (no scaling). */
async function rollBackToBaseline(): Promise<void> {
  const g = await describeAsg();
  await hand.asg.send(
    new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'tfe', LaunchTemplate: { LaunchTemplateId: g.LaunchTemplate!.LaunchTemplateId!, Version: '1' } }),
  );
}

test('Delete while the ASG\'s version uses Redis and the secrets is refused; Retain then deletes the TfeCluster and nothing in AWS; a new TfeCluster adopts without a roll; after a roll back to the baseline, Delete removes them', async () => {
  await migrate('day2-delete', withPolicyAndFile('Delete'));
  const asg = await asgSnapshot();
  const secrets = await secretNames();
  const ours = operatorSecrets(secrets);
  assert.equal(ours.length, 5, JSON.stringify(secrets));
  assert.ok(ours.includes(`tfe-operator/${NS}/${NAME}/file/var/lib/tfe/redis-ca.pem`), JSON.stringify(ours));
  const scales = await asgMark();

  await deleteIsRefused(['tfe-redis', ...ours]);

  // Retain: the finalizer goes, AWS is left as it is.
  const calls = await callMark();
  await patchSpec({ deletionPolicy: 'Retain' });
  await waitGone();
  await sleep(2_000); // anything the finalizer might still do
  assert.deepEqual((await mutationsSince(calls)).map((c) => c.action), [], 'deletionPolicy Retain changed AWS');
  assert.deepEqual(await asgSnapshot(), asg, 'the ASG and its instances are as they were');
  assert.equal(await redisGroup(), 'available');
  assert.deepEqual(await secretNames(), secrets);
  const sim = await simState();
  assert.equal(sim.nodes.filter((n) => n.state === 'healthy').length, 2, 'TFE still serves');

  // Adopt it again, this time with deletionPolicy Delete: Ready from the world as it is.
  await createCluster(k, exampleCluster(withPolicyAndFile('Delete')));
  await waitReady('Ready after adoption');
  assert.deepEqual(await scalesSince(scales), [], 'adoption rolled the nodes');
  for (const a of ['CreateReplicationGroup', 'CreateLaunchTemplateVersion', 'CreateSecret']) assert.equal(await countCalls(a, calls), 0, a);

  // Delete: refused while the version in use reads them; once the ASG runs the baseline again,
  // only the operator's replication group and secrets go; TFE's nodes stay.
  await deleteIsRefused(['tfe-redis', ...ours]);
  await rollBackToBaseline();
  const before = await callMark();
  await waitGone();
  const changes = (await mutationsSince(before)).map((c) => c.action).sort();
  // The node file's secret too (the finalizer once forgot spec.node.files).
  assert.deepEqual(changes, ['DeleteReplicationGroup', 'DeleteSecret', 'DeleteSecret', 'DeleteSecret', 'DeleteSecret', 'DeleteSecret']);
  assert.equal(await redisGroup(), undefined, 'the replication group the operator created is gone');
  const left = await secretNames();
  assert.deepEqual(operatorSecrets(left), []);
  for (const id of Object.values(SECRET_IDS)) assert.ok(left.includes(id), `the install's own secret ${id} was deleted`);
  const after = await asgSnapshot();
  assert.deepEqual([after.size, after.instances], [asg.size, asg.instances], 'the ASG was scaled or its nodes replaced');
  assert.equal(after.version, '1');
  assert.deepEqual(await scalesSince(scales), [], 'TFE was scaled');
});

test('Delete: a replication group the operator did not create is kept (and never named as in use)', async () => {
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

  await deleteIsRefused(operatorSecrets(await secretNames()), ['tfe-redis']);
  await rollBackToBaseline();
  const before = await callMark();
  await waitGone();
  const changes = (await mutationsSince(before)).map((c) => c.action).sort();
  assert.deepEqual(changes, ['DeleteSecret', 'DeleteSecret', 'DeleteSecret', 'DeleteSecret']);
  assert.equal(await redisGroup(), 'available', 'the replication group the operator did not create was deleted');
  assert.deepEqual(operatorSecrets(await secretNames()), []);
  const after = await asgSnapshot();
  assert.deepEqual([after.size, after.instances], [asg.size, asg.instances]);
  assert.deepEqual(await scalesSince(scales), []);
});
