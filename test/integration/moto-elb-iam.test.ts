// The AWS emulator's load balancer and IAM patches (test/sandbox/moto/patch_elb_health.py and
// patch_iam_sessions.py): target health driven by the TFE node simulator's reports, ASG
// instances registered with their target groups as they come and go, HealthCheckType ELB
// replacing unhealthy instances, and STS session credentials held to their role's policies (with
// the AWS SDK and with the real AWS CLI, which the simulated nodes run). Starts its own moto on a
// free port, independent of the rest of the sandbox.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';

import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  AttachLoadBalancerTargetGroupsCommand,
  AttachTrafficSourcesCommand,
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeLoadBalancerTargetGroupsCommand,
  DescribeScalingActivitiesCommand,
  DescribeTrafficSourcesCommand,
  DetachLoadBalancerTargetGroupsCommand,
  DetachTrafficSourcesCommand,
  EnterStandbyCommand,
  SetDesiredCapacityCommand,
  SetInstanceHealthCommand,
  SuspendProcessesCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  UpdateAutoScalingGroupCommand,
  type CreateAutoScalingGroupCommandInput,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeInstancesCommand,
  EC2Client,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateTargetGroupCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  type TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { AttachRolePolicyCommand, CreatePolicyCommand, CreateRoleCommand, IAMClient, PutRolePolicyCommand, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { asgReplacements, resetMoto, setMotoConfig, setTargetHealth, targetHealthReports, type Moto } from '../sandbox/moto.ts';
import { REGION, awsClientConfig } from '../sandbox/world.ts';
import { ownMoto } from './own-moto.ts';

const ACCOUNT = '123456789012';
const own = ownMoto('tfe-moto-elb-iam-test-');
let dir: string;
let moto: Moto;
let ec2: EC2Client;
let asg: AutoScalingClient;
let elb: ElasticLoadBalancingV2Client;

before(async () => {
  ({ moto, dir } = await own.start());
  ec2 = own.client(EC2Client);
  asg = own.client(AutoScalingClient);
  elb = own.client(ElasticLoadBalancingV2Client);
});

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Net {
  vpcId: string;
  subnetId: string;
  ltId: string;
  tg443: string; // HTTPS, like the module's application target group
  tg8800: string; // TCP, like the older module's Replicated console target group
}

async function network(): Promise<Net> {
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }));
  const vpcId = vpc.Vpc!.VpcId!;
  const s = await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.20.1.0/24', AvailabilityZone: `${REGION}a` }));
  const lt = await ec2.send(
    new CreateLaunchTemplateCommand({ LaunchTemplateName: 'elb-test', LaunchTemplateData: { ImageId: 'ami-11111111', InstanceType: 'm5.large' } }),
  );
  const tg443 = await elb.send(
    new CreateTargetGroupCommand({ Name: 'tfe-443', Protocol: 'HTTPS', Port: 443, VpcId: vpcId, HealthCheckPath: '/_health_check' }),
  );
  const tg8800 = await elb.send(new CreateTargetGroupCommand({ Name: 'tfe-8800', Protocol: 'TCP', Port: 8800, VpcId: vpcId }));
  return {
    vpcId,
    subnetId: s.Subnet!.SubnetId!,
    ltId: lt.LaunchTemplate!.LaunchTemplateId!,
    tg443: tg443.TargetGroups![0]!.TargetGroupArn!,
    tg8800: tg8800.TargetGroups![0]!.TargetGroupArn!,
  };
}

async function createGroup(net: Net, name: string, extra: Partial<CreateAutoScalingGroupCommandInput> = {}) {
  await asg.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      MinSize: 0,
      MaxSize: 5,
      DesiredCapacity: 1,
      VPCZoneIdentifier: net.subnetId,
      LaunchTemplate: { LaunchTemplateId: net.ltId, Version: '1' },
      ...extra,
    }),
  );
}

async function group(name: string) {
  const out = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
  assert.equal(out.AutoScalingGroups?.length, 1, `ASG ${name} exists`);
  return out.AutoScalingGroups![0]!;
}

async function instanceIds(name: string): Promise<string[]> {
  return ((await group(name)).Instances ?? []).map((i) => i.InstanceId!).sort();
}

async function health(tg: string, targets?: { Id: string; Port?: number }[]): Promise<TargetHealthDescription[]> {
  return (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg, Targets: targets }))).TargetHealthDescriptions ?? [];
}

async function registered(tg: string): Promise<string[]> {
  return (await health(tg)).map((d) => d.Target!.Id!).sort();
}

function stateOf(descriptions: TargetHealthDescription[], id: string) {
  const d = descriptions.find((x) => x.Target?.Id === id);
  assert.ok(d, `${id} is registered`);
  return d.TargetHealth!;
}

describe('ELBv2 target health follows the simulator (/_sandbox/target-health)', () => {
  let net: Net;
  before(async () => {
    await resetMoto(moto.endpoint);
    net = await network();
  });

  test('initial until reported; healthy on the reported ports; unhealthy with AWS reason codes; null forgets', async () => {
    await createGroup(net, 'th', { DesiredCapacity: 2, TargetGroupARNs: [net.tg443] });
    await asg.send(new AttachLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: 'th', TargetGroupARNs: [net.tg8800] }));
    const [a, b] = await instanceIds('th');
    assert.ok(a && b);
    assert.deepEqual(await registered(net.tg443), [a, b]);
    assert.deepEqual(await registered(net.tg8800), [a, b]);

    for (const tg of [net.tg443, net.tg8800]) {
      const d = (await health(tg)).find((x) => x.Target?.Id === a)!;
      assert.deepEqual(d.TargetHealth, { State: 'initial', Reason: 'Elb.RegistrationInProgress', Description: 'Target registration is in progress' });
    }
    assert.equal((await health(net.tg8800)).find((x) => x.Target?.Id === a)?.HealthCheckPort, '8800');

    // a: healthy on 443 only (disable-replicated-ui closed 8800); b: TFE answers 503.
    const map = await setTargetHealth(moto.endpoint, {
      [a]: { state: 'healthy', ports: [443], reason: 'ready' },
      [b]: { state: 'unhealthy', code: 503, reason: 'redis unreachable' },
    });
    assert.equal(map[a]?.state, 'healthy');
    assert.deepEqual(stateOf(await health(net.tg443), a), { State: 'healthy' });
    assert.deepEqual(stateOf(await health(net.tg8800), a), {
      State: 'unhealthy',
      Reason: 'Target.FailedHealthChecks',
      Description: 'Health checks failed',
    });
    assert.deepEqual(stateOf(await health(net.tg443), b), {
      State: 'unhealthy',
      Reason: 'Target.ResponseCodeMismatch',
      Description: 'Health checks failed with these codes: [503]',
    });
    // A TCP health check has no HTTP code: a failing node is Target.FailedHealthChecks there.
    assert.equal(stateOf(await health(net.tg8800), b).Reason, 'Target.FailedHealthChecks');
    // Asking for one target gives the same answer.
    assert.equal(stateOf(await health(net.tg443, [{ Id: a, Port: 443 }]), a).State, 'healthy');

    // Merged per instance: updating b leaves a as it was; null forgets a.
    await setTargetHealth(moto.endpoint, { [b]: { state: 'healthy' } });
    assert.deepEqual(stateOf(await health(net.tg8800), b), { State: 'healthy' }, 'no ports: healthy on every port');
    await setTargetHealth(moto.endpoint, { [a]: null });
    const reports = await targetHealthReports(moto.endpoint);
    assert.deepEqual(Object.keys(reports), [b]);
    assert.equal(stateOf(await health(net.tg443), a).Reason, 'Elb.RegistrationInProgress');
    await setTargetHealth(moto.endpoint, { [a]: { state: 'initial' } });
    assert.equal(stateOf(await health(net.tg443), a).State, 'initial');
  });

  test('a bad report is refused with 400 and changes nothing', async () => {
    const before = await targetHealthReports(moto.endpoint);
    for (const body of [{ 'i-1': { state: 'sick' } }, { 'i-1': { state: 'healthy', ports: ['443'] } }, ['i-1']]) {
      const res = await fetch(`${moto.endpoint}/_sandbox/target-health`, { method: 'POST', body: JSON.stringify(body) });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(((await res.json()) as { error: string }).error, /state|ports|object/);
    }
    assert.deepEqual(await targetHealthReports(moto.endpoint), before);
  });

  test('POST /moto-api/reset forgets the reports', async () => {
    await setTargetHealth(moto.endpoint, { 'i-0123456789abcdef0': { state: 'healthy' } });
    await resetMoto(moto.endpoint);
    assert.deepEqual(await targetHealthReports(moto.endpoint), {});
    assert.deepEqual(await asgReplacements(moto.endpoint), []);
  });
});

describe('ASG instances are registered with and deregistered from their target groups', () => {
  let net: Net;
  beforeEach(async () => {
    await resetMoto(moto.endpoint);
    net = await network();
  });

  test('scale out registers, scale in deregisters (TargetGroupARNs and AttachLoadBalancerTargetGroups)', async () => {
    await createGroup(net, 'reg', { TargetGroupARNs: [net.tg443] });
    assert.deepEqual(await registered(net.tg443), await instanceIds('reg'));
    await asg.send(new AttachLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: 'reg', TargetGroupARNs: [net.tg8800] }));
    assert.deepEqual(await registered(net.tg8800), await instanceIds('reg'));

    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'reg', DesiredCapacity: 3 }));
    const three = await instanceIds('reg');
    assert.equal(three.length, 3);
    assert.deepEqual(await registered(net.tg443), three);
    assert.deepEqual(await registered(net.tg8800), three);

    // Unpatched moto kept scaled-in instances registered, and "healthy".
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'reg', DesiredCapacity: 1 }));
    const one = await instanceIds('reg');
    assert.equal(one.length, 1);
    assert.deepEqual(await registered(net.tg443), one);
    assert.deepEqual(await registered(net.tg8800), one);
    const gone = three.find((i) => !one.includes(i))!;
    assert.equal(stateOf(await health(net.tg443, [{ Id: gone }]), gone).Reason, 'Target.NotRegistered');

    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'reg', DesiredCapacity: 0 }));
    assert.deepEqual(await registered(net.tg443), []);
  });

  test('TerminateInstanceInAutoScalingGroup and EC2 TerminateInstances: the replacement is registered, the old one not', async () => {
    await createGroup(net, 'term', { DesiredCapacity: 2, TargetGroupARNs: [net.tg443] });
    const [a, b] = await instanceIds('term');
    await asg.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: a!, ShouldDecrementDesiredCapacity: false }));
    const afterAsg = await instanceIds('term');
    assert.equal(afterAsg.length, 2);
    assert.ok(!afterAsg.includes(a!));
    assert.deepEqual(await registered(net.tg443), afterAsg);

    // moto launched a replacement for an EC2 TerminateInstances but never registered it.
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [b!] }));
    const afterEc2 = await instanceIds('term');
    assert.equal(afterEc2.length, 2);
    assert.ok(!afterEc2.includes(b!));
    assert.deepEqual(await registered(net.tg443), afterEc2);
  });

  test('Standby, DetachLoadBalancerTargetGroups and DeleteAutoScalingGroup deregister', async () => {
    await createGroup(net, 'det', { DesiredCapacity: 2, TargetGroupARNs: [net.tg443, net.tg8800] });
    const [a, b] = await instanceIds('det');
    await asg.send(new EnterStandbyCommand({ AutoScalingGroupName: 'det', InstanceIds: [a!], ShouldDecrementDesiredCapacity: true }));
    assert.deepEqual(await registered(net.tg443), [b]);
    // Unpatched moto failed this with InvalidTarget (the Standby instance is not registered).
    await asg.send(new DetachLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: 'det', TargetGroupARNs: [net.tg8800] }));
    assert.deepEqual(await registered(net.tg8800), []);
    const tgs = await asg.send(new DescribeLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: 'det' }));
    assert.deepEqual(tgs.LoadBalancerTargetGroups, [{ LoadBalancerTargetGroupARN: net.tg443, State: 'InService' }]);
    await asg.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'det', ForceDelete: true }));
    assert.deepEqual(await registered(net.tg443), []);
  });

  test('AttachTrafficSources / DescribeTrafficSources / DetachTrafficSources (not in moto 5.2.1)', async () => {
    await createGroup(net, 'ts', { DesiredCapacity: 2, TrafficSources: [{ Identifier: net.tg443, Type: 'elbv2' }] });
    const ids = await instanceIds('ts');
    assert.deepEqual(await registered(net.tg443), ids);
    await asg.send(new AttachTrafficSourcesCommand({ AutoScalingGroupName: 'ts', TrafficSources: [{ Identifier: net.tg8800, Type: 'elbv2' }] }));
    assert.deepEqual(await registered(net.tg8800), ids);

    const described = await asg.send(new DescribeTrafficSourcesCommand({ AutoScalingGroupName: 'ts' }));
    assert.deepEqual(
      described.TrafficSources?.map((s) => [s.Identifier, s.Type, s.State]),
      [
        [net.tg443, 'elbv2', 'InService'], // given at creation
        [net.tg8800, 'elbv2', 'Added'], // attached later, no instance has passed an ELB check
      ],
    );
    assert.deepEqual(
      (await group('ts')).TrafficSources?.map((s) => s.Identifier),
      [net.tg443, net.tg8800],
    );

    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'ts', DesiredCapacity: 3 }));
    assert.equal((await registered(net.tg8800)).length, 3);
    await asg.send(new DetachTrafficSourcesCommand({ AutoScalingGroupName: 'ts', TrafficSources: [{ Identifier: net.tg8800, Type: 'elbv2' }] }));
    assert.deepEqual(await registered(net.tg8800), []);
    assert.equal((await registered(net.tg443)).length, 3);
    const left = await asg.send(new DescribeTrafficSourcesCommand({ AutoScalingGroupName: 'ts' }));
    assert.deepEqual(left.TrafficSources?.map((s) => s.Identifier), [net.tg443]);
  });

  test('HealthCheckGracePeriod defaults to 0 and keeps an explicit 0 (moto made both 300)', async () => {
    await createGroup(net, 'g-default', { DesiredCapacity: 0 });
    await createGroup(net, 'g-zero', { DesiredCapacity: 0, HealthCheckGracePeriod: 0 });
    await createGroup(net, 'g-set', { DesiredCapacity: 0, HealthCheckGracePeriod: 900 });
    assert.equal((await group('g-default')).HealthCheckGracePeriod, 0);
    assert.equal((await group('g-zero')).HealthCheckGracePeriod, 0);
    assert.equal((await group('g-set')).HealthCheckGracePeriod, 900);
  });
});

describe('HealthCheckType ELB replaces instances a target group reports unhealthy', () => {
  let net: Net;
  before(() => setMotoConfig(moto.endpoint, { elbCheckMs: 100 }));
  after(() => setMotoConfig(moto.endpoint, { elbCheckMs: 500 }));
  beforeEach(async () => {
    await resetMoto(moto.endpoint);
    net = await network();
  });

  test('unhealthy after the grace period: terminated, replaced, recorded with AWS cause text', async () => {
    await createGroup(net, 'elb', { DesiredCapacity: 2, HealthCheckType: 'ELB', HealthCheckGracePeriod: 0, TargetGroupARNs: [net.tg443] });
    const [a, b] = await instanceIds('elb');
    await setTargetHealth(moto.endpoint, { [a!]: { state: 'healthy', ports: [443] }, [b!]: { state: 'unhealthy', code: 502, reason: 'no redis' } });

    const [entry] = await until('a replacement', async () => {
      const r = await asgReplacements(moto.endpoint);
      return r.length > 0 && r;
    });
    assert.equal(entry!.asg, 'elb');
    assert.equal(entry!.instanceId, b);
    assert.match(entry!.cause, /^At \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ an instance was taken out of service in response to an ELB system health check failure\.$/);
    assert.equal(entry!.description, `Terminating EC2 instance: ${b}`);
    assert.equal(entry!.targetGroupArn, net.tg443);
    assert.deepEqual(entry!.targetHealth, { State: 'unhealthy', Reason: 'Target.ResponseCodeMismatch', Description: 'Health checks failed with these codes: [502]' });
    assert.equal(entry!.nodeReason, 'no redis');
    assert.equal(entry!.replacedBy.length, 1);

    const now = await instanceIds('elb');
    assert.deepEqual(now, [a!, entry!.replacedBy[0]!].sort(), 'desired capacity met again');
    assert.equal((await group('elb')).DesiredCapacity, 2);
    assert.deepEqual(await registered(net.tg443), now);
    assert.equal(stateOf(await health(net.tg443), entry!.replacedBy[0]!).State, 'initial');
    const ec2State = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [b!] }));
    assert.equal(ec2State.Reservations?.[0]?.Instances?.[0]?.State?.Name, 'terminated');

    const activities = (await asg.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: 'elb' }))).Activities ?? [];
    const terminating = activities.find((x) => x.Description === `Terminating EC2 instance: ${b}`);
    assert.ok(terminating, JSON.stringify(activities));
    assert.equal(terminating.Cause, entry!.cause);
    assert.equal(terminating.StatusCode, 'Successful');
    assert.ok(activities.some((x) => x.Description === `Launching a new EC2 instance: ${entry!.replacedBy[0]}`));

    await sleep(400);
    assert.equal((await asgReplacements(moto.endpoint)).length, 1, 'the healthy one and the new one stay');
  });

  test('not within HealthCheckGracePeriod; EC2 groups never; suspended processes respected', async () => {
    await createGroup(net, 'grace', { HealthCheckType: 'ELB', HealthCheckGracePeriod: 2, TargetGroupARNs: [net.tg443] });
    await createGroup(net, 'ec2', { HealthCheckType: 'EC2', TargetGroupARNs: [net.tg443] });
    await createGroup(net, 'susp', { HealthCheckType: 'ELB', TargetGroupARNs: [net.tg443] });
    await asg.send(new SuspendProcessesCommand({ AutoScalingGroupName: 'susp', ScalingProcesses: ['ReplaceUnhealthy'] }));
    const [g] = await instanceIds('grace');
    const [e] = await instanceIds('ec2');
    const [s] = await instanceIds('susp');
    await setTargetHealth(moto.endpoint, { [g!]: { state: 'unhealthy' }, [e!]: { state: 'unhealthy' }, [s!]: { state: 'unhealthy' } });

    await sleep(1_000);
    assert.deepEqual(await asgReplacements(moto.endpoint), [], 'nothing within the grace period');
    // ReplaceUnhealthy suspended: marked Unhealthy, kept.
    assert.equal((await group('susp')).Instances?.[0]?.HealthStatus, 'Unhealthy');
    assert.equal((await group('ec2')).Instances?.[0]?.HealthStatus, 'Healthy');

    const replaced = await until('the grace period to end', async () => {
      const r = await asgReplacements(moto.endpoint);
      return r.length > 0 && r;
    });
    assert.deepEqual(replaced.map((r) => r.instanceId), [g]);
    await sleep(500);
    assert.deepEqual((await asgReplacements(moto.endpoint)).map((r) => r.asg), ['grace']);
    assert.deepEqual(await instanceIds('ec2'), [e]);
    assert.deepEqual(await instanceIds('susp'), [s]);
  });

  test('a target group attached later counts only once an instance has passed (Added -> InService)', async () => {
    await createGroup(net, 'late', { DesiredCapacity: 2, HealthCheckType: 'ELB' });
    await asg.send(new AttachLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: 'late', TargetGroupARNs: [net.tg443] }));
    const [a, b] = await instanceIds('late');
    await setTargetHealth(moto.endpoint, { [a!]: { state: 'unhealthy' }, [b!]: { state: 'initial' } });
    await sleep(500);
    assert.deepEqual(await asgReplacements(moto.endpoint), []);
    const tgs = await asg.send(new DescribeLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: 'late' }));
    assert.equal(tgs.LoadBalancerTargetGroups?.[0]?.State, 'Added');

    await setTargetHealth(moto.endpoint, { [b!]: { state: 'healthy' } });
    const [entry] = await until('the replacement of a', async () => {
      const r = await asgReplacements(moto.endpoint);
      return r.length > 0 && r;
    });
    assert.equal(entry!.instanceId, a);
    const later = await asg.send(new DescribeLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: 'late' }));
    assert.equal(later.LoadBalancerTargetGroups?.[0]?.State, 'InService');
  });

  test('any attached target group: unhealthy on 8800 alone is enough; SetInstanceHealth Unhealthy replaces too', async () => {
    await createGroup(net, 'any', { DesiredCapacity: 2, HealthCheckType: 'ELB', TargetGroupARNs: [net.tg443, net.tg8800] });
    const [a, b] = await instanceIds('any');
    await setTargetHealth(moto.endpoint, { [a!]: { state: 'healthy', ports: [443] }, [b!]: { state: 'healthy', ports: [443, 8800] } });
    const [first] = await until('a replacement', async () => {
      const r = await asgReplacements(moto.endpoint);
      return r.length > 0 && r;
    });
    assert.equal(first!.instanceId, a);
    assert.equal(first!.targetGroupArn, net.tg8800);
    assert.equal(first!.targetHealth?.Reason, 'Target.FailedHealthChecks');

    await asg.send(new SetInstanceHealthCommand({ InstanceId: b!, HealthStatus: 'Unhealthy' }));
    const second = await until('the user health-check replacement', async () => {
      const r = await asgReplacements(moto.endpoint, { since: first!.seq });
      return r.length > 0 && r[0];
    });
    assert.equal(second.instanceId, b);
    assert.match(second.cause, /an instance was taken out of service in response to a user health-check\.$/);
    assert.equal((await instanceIds('any')).length, 2);
  });

  test('with terminateDelayMs the unhealthy instance passes through Terminating (deregistered at once), then leaves', async () => {
    await setMotoConfig(moto.endpoint, { terminateDelayMs: 800 });
    try {
      await createGroup(net, 'slow', { HealthCheckType: 'ELB', TrafficSources: [{ Identifier: net.tg443, Type: 'elbv2' }] });
      const [a] = await instanceIds('slow');
      await setTargetHealth(moto.endpoint, { [a!]: { state: 'unhealthy' } });
      const [entry] = await until('a replacement', async () => {
        const r = await asgReplacements(moto.endpoint);
        return r.length > 0 && r;
      });
      const fresh = entry!.replacedBy[0]!;
      const states = Object.fromEntries(((await group('slow')).Instances ?? []).map((i) => [i.InstanceId, [i.LifecycleState, i.HealthStatus]]));
      assert.deepEqual(states, { [a!]: ['Terminating', 'Unhealthy'], [fresh]: ['InService', 'Healthy'] });
      assert.deepEqual(await registered(net.tg443), [fresh]);
      await until('the old instance to leave', async () => (await instanceIds('slow')).length === 1);
      assert.deepEqual(await instanceIds('slow'), [fresh]);
      assert.equal((await asgReplacements(moto.endpoint)).length, 1);
    } finally {
      await setMotoConfig(moto.endpoint, { terminateDelayMs: 0 });
    }
  });

  test('switching a group to HealthCheckType ELB later starts the checks', async () => {
    await createGroup(net, 'switch', { HealthCheckType: 'EC2', TargetGroupARNs: [net.tg443] });
    const [a] = await instanceIds('switch');
    await setTargetHealth(moto.endpoint, { [a!]: { state: 'unhealthy' } });
    await sleep(400);
    assert.deepEqual(await asgReplacements(moto.endpoint), []);
    await asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'switch', HealthCheckType: 'ELB' }));
    const [entry] = await until('a replacement', async () => {
      const r = await asgReplacements(moto.endpoint);
      return r.length > 0 && r;
    });
    assert.equal(entry!.instanceId, a);
  });
});

describe('IAM: STS session credentials are held to the role policies; root credentials are not', () => {
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/tfe-node`;
  let root: ReturnType<typeof awsClientConfig>;
  let session: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
  let secrets: { cert: string; license: string; other: string; denied: string };
  const asSession = () => ({ ...root, credentials: session });

  before(async () => {
    await resetMoto(moto.endpoint);
    root = awsClientConfig(moto.endpoint);
    const sm = new SecretsManagerClient(root);
    const iam = new IAMClient(root);
    const sts = new STSClient(root);
    try {
      const create = async (Name: string, SecretString: string) => (await sm.send(new CreateSecretCommand({ Name, SecretString }))).ARN!;
      secrets = {
        cert: await create('tfe/tls-cert', 'CERT-PEM'),
        license: await create('tfe/license-2024', 'LICENSE-RLI'),
        other: await create('tfe/enc-password', 'ENC'),
        denied: await create('tfe/denied', 'NOPE'),
      };
      await iam.send(
        new CreateRoleCommand({
          RoleName: 'tfe-node',
          AssumeRolePolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
          }),
        }),
      );
      // Inline: one secret by ARN, the licenses by wildcard; and an explicit Deny.
      await iam.send(
        new PutRolePolicyCommand({
          RoleName: 'tfe-node',
          PolicyName: 'tfe-secrets',
          PolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: ['secretsmanager:GetSecretValue'],
                Resource: [secrets.cert, `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:tfe/license-*`, secrets.denied],
              },
              { Effect: 'Deny', Action: 'secretsmanager:GetSecretValue', Resource: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:tfe/denied-*` },
            ],
          }),
        }),
      );
      // Attached managed policy: DescribeSecret anywhere.
      const policy = await iam.send(
        new CreatePolicyCommand({
          PolicyName: 'tfe-describe',
          PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'secretsmanager:DescribeSecret', Resource: '*' }] }),
        }),
      );
      await iam.send(new AttachRolePolicyCommand({ RoleName: 'tfe-node', PolicyArn: policy.Policy!.Arn! }));
      // What the simulator's instance metadata stand-in does for an instance profile.
      const assumed = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'i-0abc123' }));
      const c = assumed.Credentials!;
      assert.match(c.AccessKeyId!, /^ASIA/);
      session = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
    } finally {
      for (const c of [sm, iam, sts]) c.destroy();
    }
  });

  const user = `arn:aws:sts::${ACCOUNT}:assumed-role/tfe-node/i-0abc123`;
  const notAllowed = (action: string, resource?: string) =>
    `User: ${user} is not authorized to perform: ${action}${resource ? ` on resource: ${resource}` : ''} because no identity-based policy allows the ${action} action`;

  async function rejects(p: Promise<unknown>, name: string, status: number, message: string) {
    await assert.rejects(p, (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(err.name, name);
      assert.equal(err.message, message);
      assert.equal(err.$metadata?.httpStatusCode, status);
      return true;
    });
  }

  test('the session reads the secrets its role allows (by ARN, by name, by wildcard) and no others', async () => {
    const sm = new SecretsManagerClient(asSession());
    try {
      assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: secrets.cert }))).SecretString, 'CERT-PEM');
      assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: 'tfe/tls-cert' }))).SecretString, 'CERT-PEM');
      assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: 'tfe/license-2024' }))).SecretString, 'LICENSE-RLI');
      assert.equal((await sm.send(new DescribeSecretCommand({ SecretId: secrets.other }))).Name, 'tfe/enc-password', 'attached managed policy');

      await rejects(sm.send(new GetSecretValueCommand({ SecretId: 'tfe/enc-password' })), 'AccessDeniedException', 400,
        notAllowed('secretsmanager:GetSecretValue', secrets.other));
      // A missing secret is authorized against the ARN its name would have (AWS cannot know the
      // suffix): outside what the role may read, AccessDenied; inside it, ResourceNotFound.
      await rejects(sm.send(new GetSecretValueCommand({ SecretId: 'tfe/no-such' })), 'AccessDeniedException', 400,
        notAllowed('secretsmanager:GetSecretValue', `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:tfe/no-such`));
      await assert.rejects(sm.send(new GetSecretValueCommand({ SecretId: 'tfe/license-missing' })), { name: 'ResourceNotFoundException' });
      await rejects(sm.send(new ListSecretsCommand({})), 'AccessDeniedException', 400, notAllowed('secretsmanager:ListSecrets'));
      await rejects(sm.send(new GetSecretValueCommand({ SecretId: secrets.denied })), 'AccessDeniedException', 400,
        `User: ${user} is not authorized to perform: secretsmanager:GetSecretValue on resource: ${secrets.denied} with an explicit deny in an identity-based policy`);
    } finally {
      sm.destroy();
    }
  });

  test('the session is denied EC2 and Auto Scaling calls, in each protocol\'s shape; GetCallerIdentity always works', async () => {
    const e = new EC2Client(asSession());
    const a = new AutoScalingClient(asSession());
    const s = new STSClient(asSession());
    try {
      await rejects(e.send(new DescribeInstancesCommand({})), 'UnauthorizedOperation', 403,
        `You are not authorized to perform this operation. ${notAllowed('ec2:DescribeInstances')}`);
      await rejects(a.send(new DescribeAutoScalingGroupsCommand({})), 'AccessDenied', 403, notAllowed('autoscaling:DescribeAutoScalingGroups'));
      assert.equal((await s.send(new GetCallerIdentityCommand({}))).Arn, user);
    } finally {
      for (const c of [e, a, s]) c.destroy();
    }
  });

  test('a wrong session token is refused; the root credentials still do anything', async () => {
    const bad = new SecretsManagerClient({ ...root, credentials: { ...session, sessionToken: 'bogus' } });
    const sm = new SecretsManagerClient(root);
    const e = new EC2Client(root);
    try {
      await rejects(bad.send(new GetSecretValueCommand({ SecretId: secrets.cert })), 'UnrecognizedClientException', 400,
        'The security token included in the request is invalid.');
      assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: secrets.other }))).SecretString, 'ENC');
      assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: secrets.denied }))).SecretString, 'NOPE');
      assert.ok((await sm.send(new ListSecretsCommand({}))).SecretList!.length >= 4);
      await e.send(new DescribeInstancesCommand({}));
    } finally {
      for (const c of [bad, sm, e]) c.destroy();
    }
  });

  const hasCli = (() => {
    try {
      execFileSync('aws', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  test('the real AWS CLI with the session (as the nodes run it): allowed reads work, denials carry AWS\'s text', { skip: !hasCli && 'aws CLI not installed' }, async () => {
    const env = {
      PATH: process.env.PATH,
      HOME: dir,
      AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_ACCESS_KEY_ID: session.accessKeyId,
      AWS_SECRET_ACCESS_KEY: session.secretAccessKey,
      AWS_SESSION_TOKEN: session.sessionToken,
    };
    const run = promisify(execFile);
    const ok = await run('aws', ['secretsmanager', 'get-secret-value', '--secret-id', 'tfe/license-2024', '--query', 'SecretString', '--output', 'text'], { env });
    assert.equal(ok.stdout.trim(), 'LICENSE-RLI');

    const denied = await run('aws', ['secretsmanager', 'get-secret-value', '--secret-id', 'tfe/enc-password'], { env }).then(
      () => assert.fail('expected the CLI to fail'),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(denied.code, 255);
    assert.equal(
      denied.stderr.trim(),
      `An error occurred (AccessDeniedException) when calling the GetSecretValue operation: ${notAllowed('secretsmanager:GetSecretValue', secrets.other)}`,
    );

    const ec2Denied = await run('aws', ['ec2', 'describe-instances'], { env }).then(
      () => assert.fail('expected the CLI to fail'),
      (err: { code: number; stderr: string }) => err,
    );
    assert.match(ec2Denied.stderr, /An error occurred \(UnauthorizedOperation\) when calling the DescribeInstances operation: You are not authorized to perform this operation\. User: arn:aws:sts::123456789012:assumed-role\/tfe-node\/i-0abc123/);
  });

  test('iam:SimulatePrincipalPolicy (our moto patch) judges the role as the session is judged: allowed, implicitDeny, explicitDeny; NoSuchEntity for no such role', async () => {
    const iam = new IAMClient(root);
    const sm = new SecretsManagerClient(asSession());
    try {
      const resources = [secrets.cert, secrets.license, secrets.other, secrets.denied, `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:tfe/license-next-xxxxxx`];
      const res = await iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: roleArn, ActionNames: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], ResourceArns: resources }));
      const decision = (action: string, resource: string) => res.EvaluationResults!.find((r) => r.EvalActionName === action && r.EvalResourceName === resource)?.EvalDecision;
      assert.equal(res.EvaluationResults!.length, 10);
      assert.equal(decision('secretsmanager:GetSecretValue', secrets.cert), 'allowed');
      assert.equal(decision('secretsmanager:GetSecretValue', secrets.license), 'allowed');
      assert.equal(decision('secretsmanager:GetSecretValue', resources[4]!), 'allowed', 'a secret not created yet, by the ARN it will have');
      assert.equal(decision('secretsmanager:GetSecretValue', secrets.other), 'implicitDeny');
      assert.equal(decision('secretsmanager:GetSecretValue', secrets.denied), 'explicitDeny');
      assert.equal(decision('secretsmanager:DescribeSecret', secrets.other), 'allowed', 'the attached managed policy counts');
      // What the simulation says is what the role's session gets.
      for (const arn of [secrets.cert, secrets.license, secrets.other, secrets.denied]) {
        const got = await sm.send(new GetSecretValueCommand({ SecretId: arn })).then(() => 'allowed', (err: Error) => err.name);
        assert.equal(got === 'allowed' ? 'allowed' : 'denied', decision('secretsmanager:GetSecretValue', arn) === 'allowed' ? 'allowed' : 'denied', arn);
      }
      await assert.rejects(
        iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: `arn:aws:iam::${ACCOUNT}:role/no-such-role`, ActionNames: ['s3:GetObject'] })),
        (err: Error) => err.name === 'NoSuchEntityException' || err.name === 'NoSuchEntity',
      );
    } finally {
      iam.destroy();
      sm.destroy();
    }
  });
});

test('STS sessions do not shift the seeded ids of other services (the simulator assumes roles at any time)', async () => {
  const iam = new IAMClient(awsClientConfig(moto.endpoint));
  const sts = new STSClient(awsClientConfig(moto.endpoint));
  const seededVpc = async (sessions: number): Promise<string> => {
    await resetMoto(moto.endpoint);
    const role = await iam.send(new CreateRoleCommand({ RoleName: 'seed-check', AssumeRolePolicyDocument: '{}' }));
    await fetch(`${moto.endpoint}/moto-api/seed?a=42`, { method: 'POST' });
    for (let i = 0; i < sessions; i++) await sts.send(new AssumeRoleCommand({ RoleArn: role.Role!.Arn!, RoleSessionName: `s${i}` }));
    return (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.9.0.0/16' }))).Vpc!.VpcId!;
  };
  try {
    const without = await seededVpc(0);
    assert.equal(await seededVpc(3), without);
    assert.equal(await seededVpc(0), without);
  } finally {
    iam.destroy();
    sts.destroy();
  }
});
