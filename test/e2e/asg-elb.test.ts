// An ASG that checks health through its load balancer (HealthCheckType ELB, as HashiCorp's
// module makes it) would replace a node the target groups call unhealthy, and AZRebalance may
// terminate nodes: the operator suspends both before the first node is replaced and resumes
// them once Ready; a process the user suspended stays suspended. Judged from moto's log.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SuspendProcessesCommand, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { resetWorld } from '../harness.ts';
import { awsCalls } from '../sandbox/moto.ts';
import { aws, createCluster, describeAsg, exampleCluster, isReady, kube, operator, waitFor } from './support.ts';
import type { OperatorProcess } from '../operator-process.ts';

const k = kube();
let op: OperatorProcess | undefined;

before(async () => {
  await resetWorld();
  await aws().asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'tfe', HealthCheckType: 'ELB', HealthCheckGracePeriod: 900 }));
  await aws().asg.send(new SuspendProcessesCommand({ AutoScalingGroupName: 'tfe', ScalingProcesses: ['AlarmNotification'] }));
});
after(async () => {
  await op?.stop();
  await resetWorld();
});

test('ELB health checks: ReplaceUnhealthy and AZRebalance suspended for the rollout, resumed at Ready; the user\'s own suspension kept', async () => {
  op = await operator('asg-elb');
  await createCluster(k, exampleCluster());
  await waitFor(k, 'tfe', 'tfe', isReady, 240_000, 'Ready');
  const calls = (await awsCalls(process.env.AWS_ENDPOINT_URL!))
    .filter((c) => `${c.userAgent} ${c.amzUserAgent}`.includes('tfe-operator/'))
    .map((c) => c.action)
    .filter((a) => ['SuspendProcesses', 'ResumeProcesses', 'UpdateAutoScalingGroup'].includes(a ?? ''));
  assert.equal(calls[0], 'SuspendProcesses', calls.join(', '));
  assert.equal(calls.at(-1), 'ResumeProcesses', calls.join(', '));
  assert.equal(calls.filter((a) => a === 'SuspendProcesses').length, 1);
  const g = await describeAsg();
  assert.deepEqual((g.SuspendedProcesses ?? []).map((p) => p.ProcessName), ['AlarmNotification']);
  assert.equal(g.Tags?.find((t) => t.Key === 'tfe.operators.dev/suspended-processes'), undefined);
});
