// An ASG with a MixedInstancesPolicy (instance type overrides, an on-demand/spot distribution)
// launches from the policy's launch template. The operator changes the version there, keeping
// the overrides and the distribution, instead of replacing the policy with a plain
// LaunchTemplate (which would silently drop them).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { resetWorld } from '../harness.ts';
import { asgHistory } from '../sandbox/moto.ts';
import { aws, createCluster, describeAsg, exampleCluster, isReady, kube, operator, simState, waitFor } from './support.ts';
import type { OperatorProcess } from '../operator-process.ts';

const k = kube();
let op: OperatorProcess | undefined;
const OVERRIDES = [{ InstanceType: 'm5.xlarge' }, { InstanceType: 'm5a.xlarge' }];

before(async () => {
  const world = await resetWorld();
  await aws().asg.send(
    new UpdateAutoScalingGroupCommand({
      AutoScalingGroupName: 'tfe',
      MixedInstancesPolicy: {
        LaunchTemplate: { LaunchTemplateSpecification: { LaunchTemplateId: world.launchTemplateId, Version: '1' }, Overrides: OVERRIDES },
        InstancesDistribution: { OnDemandBaseCapacity: 1, OnDemandPercentageAboveBaseCapacity: 100 },
      },
    }),
  );
});
after(async () => {
  await op?.stop();
  await resetWorld();
});

test('MixedInstancesPolicy: migrated to Ready on the policy\'s launch template, overrides and distribution kept', async () => {
  assert.ok((await describeAsg()).MixedInstancesPolicy, 'the group has a mixed instances policy');
  const since = (await asgHistory(process.env.AWS_ENDPOINT_URL!, 'tfe')).at(-1)?.seq ?? 0;
  op = await operator('asg-mixed');
  await createCluster(k, exampleCluster());
  await waitFor(k, 'tfe', 'tfe', isReady, 240_000, 'Ready');
  const g = await describeAsg();
  const policy = g.MixedInstancesPolicy;
  assert.ok(policy, 'the mixed instances policy is still there');
  assert.deepEqual(policy.LaunchTemplate?.Overrides?.map((o) => o.InstanceType), OVERRIDES.map((o) => o.InstanceType));
  assert.equal(policy.InstancesDistribution?.OnDemandBaseCapacity, 1);
  const version = policy.LaunchTemplate?.LaunchTemplateSpecification?.Version;
  assert.match(version ?? '', /^\d+$/);
  assert.ok(Number(version) > 1);
  assert.deepEqual((await asgHistory(process.env.AWS_ENDPOINT_URL!, { asg: 'tfe', since })).map((h) => h.to), [0, 1, 0, 2]);
  const nodes = (await simState()).nodes.filter((n) => n.asg === 'tfe');
  assert.equal(nodes.length, 2);
  for (const n of nodes) assert.equal(n.version, Number(version), `${n.id} ${n.state} ${n.reason}`);
});
