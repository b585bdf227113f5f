// An ASG on "$Latest", as HashiCorp's module leaves it: the operator pins it to its numeric
// baseline before it adds a version (else "$Latest" would launch the new version at once and
// the 1 -> 0 -> 1 would never happen), then migrates as usual. Judged from moto's log and the
// simulator, whose nodes boot from the version AWS resolves.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { resetWorld } from '../harness.ts';
import { asgHistory, awsCalls } from '../sandbox/moto.ts';
import { aws, createCluster, describeAsg, exampleCluster, isReady, kube, operator, simState, waitFor } from './support.ts';
import type { OperatorProcess } from '../operator-process.ts';

const k = kube();
let op: OperatorProcess | undefined;

before(async () => {
  const world = await resetWorld();
  await aws().asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'tfe', LaunchTemplate: { LaunchTemplateId: world.launchTemplateId, Version: '$Latest' } }));
});
after(async () => {
  await op?.stop();
  await resetWorld();
});

test('$Latest: pinned to version 1 first, then 1 -> 0 -> 1 -> 0 -> 2 on numeric versions to Ready', async () => {
  assert.equal((await describeAsg()).LaunchTemplate?.Version, '$Latest');
  const since = (await asgHistory(process.env.AWS_ENDPOINT_URL!, 'tfe')).at(-1)?.seq ?? 0;
  op = await operator('asg-latest');
  await createCluster(k, exampleCluster());
  await waitFor(k, 'tfe', 'tfe', isReady, 240_000, 'Ready');

  const calls = (await awsCalls(process.env.AWS_ENDPOINT_URL!)).filter((c) => `${c.userAgent} ${c.amzUserAgent}`.includes('tfe-operator/'));
  const writes = calls.filter((c) => ['UpdateAutoScalingGroup', 'CreateLaunchTemplateVersion'].includes(c.action ?? '')).map((c) => c.action);
  assert.equal(writes[0], 'UpdateAutoScalingGroup', `the pin comes before the first new version: ${writes.join(', ')}`);
  assert.equal(writes[1], 'CreateLaunchTemplateVersion');
  const history = (await asgHistory(process.env.AWS_ENDPOINT_URL!, { asg: 'tfe', since })).map((h) => h.to);
  assert.deepEqual(history, [0, 1, 0, 2]);
  const g = await describeAsg();
  assert.match(g.LaunchTemplate?.Version ?? '', /^\d+$/);
  const nodes = (await simState()).nodes.filter((n) => n.asg === 'tfe');
  assert.equal(nodes.length, 2);
  for (const n of nodes) {
    assert.equal(n.state, 'healthy', n.reason);
    assert.equal(n.version, Number(g.LaunchTemplate!.Version));
  }
});
