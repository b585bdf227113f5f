// The AWS rules moto 5.2 does not enforce and test/sandbox/moto/patch_*.py add: tagging a
// replication group that is not available, AuthToken format, the 16 KB user data limit, Auto
// Scaling instances passing through Terminating (and Terminating:Wait with a lifecycle hook),
// and the ClientToken idempotency the operator relies on. Each test fails without its patch.
// Starts its own moto on a free port, independent of the rest of the sandbox.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  PutLifecycleHookCommand,
  RecordLifecycleActionHeartbeatCommand,
  SetDesiredCapacityCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  UpdateAutoScalingGroupCommand,
  type Instance as AsgInstance,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  AddTagsToResourceCommand,
  CreateReplicationGroupCommand,
  DeleteReplicationGroupCommand,
  ElastiCacheClient,
  ListTagsForResourceCommand,
  ModifyReplicationGroupCommand,
  RemoveTagsFromResourceCommand,
  type CreateReplicationGroupCommandInput,
} from '@aws-sdk/client-elasticache';
import { CreateSecretCommand, ListSecretVersionIdsCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { asgHistory, resetMoto, setMotoConfig, type Moto } from '../sandbox/moto.ts';
import { ownMoto } from './own-moto.ts';

const b64 = (s: string | Buffer) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s).toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const own = ownMoto('tfe-moto-rules-');
let moto: Moto;
let ec2: EC2Client;
let asg: AutoScalingClient;
let ec: ElastiCacheClient;
let sm: SecretsManagerClient;

before(async () => {
  ({ moto } = await own.start());
  ec2 = own.client(EC2Client);
  asg = own.client(AutoScalingClient);
  ec = own.client(ElastiCacheClient);
  sm = own.client(SecretsManagerClient);
});

/** An AWS error with this name (the SDK's exception name), message and HTTP status. */
function awsError(name: string | string[], message?: string | RegExp, status = 400) {
  return (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
    const names = Array.isArray(name) ? name : [name];
    assert.ok(names.includes(err.name), `error ${err.name}: ${err.message}, want ${names.join(' or ')}`);
    if (typeof message === 'string') assert.equal(err.message, message);
    else if (message) assert.match(err.message, message);
    assert.equal(err.$metadata?.httpStatusCode, status);
    return true;
  };
}

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('ElastiCache: tagging needs an available replication group', () => {
  before(() => resetMoto(moto.endpoint));

  const input = (id: string, extra: Partial<CreateReplicationGroupCommandInput> = {}): CreateReplicationGroupCommandInput => ({
    ReplicationGroupId: id,
    ReplicationGroupDescription: 'tfe redis',
    Engine: 'redis',
    CacheNodeType: 'cache.t3.medium',
    ReplicasPerNodeGroup: 1,
    TransitEncryptionEnabled: true,
    AuthToken: 'sandbox-auth-token-0123456789',
    Tags: [{ Key: 'tfe.operators.dev/owner', Value: 'tfe/tfe' }],
    ...extra,
  });

  test('ListTagsForResource (and Add/RemoveTags) answer InvalidReplicationGroupState while "creating", then work', async () => {
    await setMotoConfig(moto.endpoint, { redisCreateDelayMs: 1200 });
    try {
      const rg = (await ec.send(new CreateReplicationGroupCommand(input('rg-tags-slow')))).ReplicationGroup!;
      assert.equal(rg.Status, 'creating');
      const notAvailable = awsError('InvalidReplicationGroupStateFault', 'Cluster not in available state to perform tagging operations.');
      await assert.rejects(ec.send(new ListTagsForResourceCommand({ ResourceName: rg.ARN! })), notAvailable);
      await assert.rejects(ec.send(new AddTagsToResourceCommand({ ResourceName: rg.ARN!, Tags: [{ Key: 'k', Value: 'v' }] })), notAvailable);
      await assert.rejects(ec.send(new RemoveTagsFromResourceCommand({ ResourceName: rg.ARN!, TagKeys: ['k'] })), notAvailable);
      await sleep(1400);
      const tags = await ec.send(new ListTagsForResourceCommand({ ResourceName: rg.ARN! }));
      assert.deepEqual(tags.TagList, [{ Key: 'tfe.operators.dev/owner', Value: 'tfe/tfe' }]);
    } finally {
      await setMotoConfig(moto.endpoint, { redisCreateDelayMs: 0 });
    }
  });

  test('a deleted group has no tags to list, and a new group of the same id does not inherit them', async () => {
    const rg = (await ec.send(new CreateReplicationGroupCommand(input('rg-tags-gone')))).ReplicationGroup!;
    await ec.send(new DeleteReplicationGroupCommand({ ReplicationGroupId: 'rg-tags-gone' }));
    await assert.rejects(ec.send(new ListTagsForResourceCommand({ ResourceName: rg.ARN! })), awsError('ReplicationGroupNotFoundFault', undefined, 404));
    await ec.send(new CreateReplicationGroupCommand(input('rg-tags-gone', { Tags: undefined })));
    assert.deepEqual((await ec.send(new ListTagsForResourceCommand({ ResourceName: rg.ARN! }))).TagList ?? [], []);
  });
});

describe('ElastiCache: AuthToken rules on CreateReplicationGroup and ModifyReplicationGroup', () => {
  before(() => resetMoto(moto.endpoint));

  const invalid = awsError(['InvalidParameterValueException', 'InvalidParameterValue'], 'Invalid AuthToken provided.');
  const create = (id: string, AuthToken: string) =>
    ec.send(
      new CreateReplicationGroupCommand({
        ReplicationGroupId: id,
        ReplicationGroupDescription: 'auth token rules',
        Engine: 'redis',
        CacheNodeType: 'cache.t3.micro',
        TransitEncryptionEnabled: true,
        AuthToken,
      }),
    );
  const modify = (AuthToken: string) =>
    ec.send(new ModifyReplicationGroupCommand({ ReplicationGroupId: 'rg-auth-modify', AuthToken, AuthTokenUpdateStrategy: 'ROTATE', ApplyImmediately: true }));

  const good = ['Abc123!&#$^<>-xyz', 'a'.repeat(16), 'Z9'.repeat(64)];
  const bad: [string, string][] = [
    ['15 characters', 'a'.repeat(15)],
    ['129 characters', 'a'.repeat(129)],
    ['an @', 'sandbox-token@0123456789'],
    ['a space', 'sandbox token 0123456789'],
    ['a double quote', 'sandbox-token"0123456789'],
    ['a slash', 'sandbox-token/0123456789'],
    ['a percent sign', 'sandbox-token%0123456789'],
    ['a non-ASCII letter', 'sandbox-tokén-0123456789'],
    ['a trailing newline', 'sandbox-token-0123456789\n'],
  ];

  test('good tokens are accepted: 16 to 128 characters, letters, digits and ! & # $ ^ < > -', async () => {
    for (const [i, token] of good.entries()) {
      const rg = (await create(`rg-auth-good-${i}`, token)).ReplicationGroup!;
      assert.equal(rg.AuthTokenEnabled, true);
    }
  });

  for (const [what, token] of bad) {
    test(`CreateReplicationGroup refuses a token with ${what}`, async () => {
      await assert.rejects(create('rg-auth-bad', token), invalid);
    });
  }

  test('ModifyReplicationGroup applies the same rules', async () => {
    await create('rg-auth-modify', 'sandbox-auth-token-0123456789');
    for (const [, token] of bad) await assert.rejects(modify(token), invalid);
    for (const token of good) assert.equal((await modify(token)).ReplicationGroup?.AuthTokenEnabled, true);
  });
});

describe('EC2: user data is limited to 16 KB raw (before base64)', () => {
  before(() => resetMoto(moto.endpoint));

  const LIMIT = 16384;
  // Counted in bytes, not characters: 8192 two-byte letters are exactly the limit.
  const atLimit = [Buffer.alloc(LIMIT, 'a'), Buffer.from('é'.repeat(LIMIT / 2), 'utf8')];
  const overLimit = [Buffer.alloc(LIMIT + 1, 'a'), Buffer.from(`${'é'.repeat(LIMIT / 2)}a`, 'utf8')];
  const templateError = awsError('InvalidUserData.Malformed', 'User data is limited to 16384 bytes.');

  test('CreateLaunchTemplate: 16384 raw bytes accepted, 16385 refused', async () => {
    for (const [i, raw] of atLimit.entries()) {
      assert.equal(raw.length, LIMIT);
      const lt = await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: `ud-ok-${i}`, LaunchTemplateData: { ImageId: 'ami-11111111', UserData: b64(raw) } }));
      const v = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: lt.LaunchTemplate!.LaunchTemplateId!, Versions: ['1'] }));
      assert.equal(v.LaunchTemplateVersions![0]!.LaunchTemplateData!.UserData, b64(raw));
    }
    for (const [i, raw] of overLimit.entries()) {
      assert.equal(raw.length, LIMIT + 1);
      await assert.rejects(
        ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: `ud-big-${i}`, LaunchTemplateData: { ImageId: 'ami-11111111', UserData: b64(raw) } })),
        templateError,
      );
    }
  });

  test('CreateLaunchTemplateVersion: 16384 raw bytes accepted, 16385 refused (base64 errors unchanged)', async () => {
    const lt = await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'ud-versions', LaunchTemplateData: { ImageId: 'ami-11111111' } }));
    const LaunchTemplateId = lt.LaunchTemplate!.LaunchTemplateId!;
    for (const raw of atLimit) {
      const out = await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId, LaunchTemplateData: { UserData: b64(raw) } }));
      assert.ok(out.LaunchTemplateVersion?.VersionNumber! > 1);
    }
    for (const raw of overLimit) {
      await assert.rejects(ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId, LaunchTemplateData: { UserData: b64(raw) } })), templateError);
    }
    await assert.rejects(
      ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId, LaunchTemplateData: { UserData: 'not base64 at all!' } })),
      awsError('InvalidUserData.Malformed', 'Invalid BASE64 encoding of user data.'),
    );
  });

  test('RunInstances: 16384 raw bytes accepted, 16385 refused with InvalidParameterValue', async () => {
    for (const raw of atLimit) {
      const out = await ec2.send(new RunInstancesCommand({ ImageId: 'ami-11111111', MinCount: 1, MaxCount: 1, UserData: b64(raw) }));
      assert.equal(out.Instances?.length, 1);
    }
    for (const raw of overLimit) {
      await assert.rejects(
        ec2.send(new RunInstancesCommand({ ImageId: 'ami-11111111', MinCount: 1, MaxCount: 1, UserData: b64(raw) })),
        awsError('InvalidParameterValue', 'User data is limited to 16384 bytes'),
      );
    }
  });
});

describe('Auto Scaling: instances pass through Terminating (terminateDelayMs)', () => {
  const DELAY = 700;
  let subnetId: string;
  let ltId: string;

  before(async () => {
    await resetMoto(moto.endpoint);
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.9.0.0/16' }));
    subnetId = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: '10.9.1.0/24', AvailabilityZone: 'us-east-1a' }))).Subnet!.SubnetId!;
    const lt = await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'term', LaunchTemplateData: { ImageId: 'ami-11111111', UserData: b64('v1') } }));
    ltId = lt.LaunchTemplate!.LaunchTemplateId!;
    await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: ltId, LaunchTemplateData: { ImageId: 'ami-11111111', UserData: b64('v2') } }));
    await setMotoConfig(moto.endpoint, { terminateDelayMs: DELAY });
  });

  after(() => setMotoConfig(moto.endpoint, { terminateDelayMs: 0 }));

  async function makeGroup(name: string, desired: number) {
    await asg.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: name,
        MinSize: 0,
        MaxSize: 5,
        DesiredCapacity: desired,
        VPCZoneIdentifier: subnetId,
        LaunchTemplate: { LaunchTemplateId: ltId, Version: '1' },
      }),
    );
    return (await group(name)).Instances!.map((i) => i.InstanceId!);
  }

  async function group(name: string) {
    const out = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
    assert.equal(out.AutoScalingGroups?.length, 1, `ASG ${name} exists`);
    return out.AutoScalingGroups![0]!;
  }

  /** instance id -> LifecycleState, as DescribeAutoScalingGroups lists them. */
  async function states(name: string): Promise<Record<string, string>> {
    return Object.fromEntries(((await group(name)).Instances ?? []).map((i: AsgInstance) => [i.InstanceId!, i.LifecycleState!]));
  }

  async function ec2State(id: string): Promise<string> {
    const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    return out.Reservations![0]!.Instances![0]!.State!.Name!;
  }

  async function asgInstanceState(id: string): Promise<string | undefined> {
    const out = await asg.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [id] }));
    return out.AutoScalingInstances?.[0]?.LifecycleState;
  }

  const gone = (name: string, id: string) => waitUntil(`${id} to leave ${name}`, async () => !(id in (await states(name))));

  test('GET /_sandbox/config shows terminateDelayMs', async () => {
    const cfg = await setMotoConfig(moto.endpoint, {});
    assert.equal(cfg.terminateDelayMs, DELAY);
    assert.equal(typeof cfg.redisCreateDelayMs, 'number');
  });

  test('SetDesiredCapacity 2 -> 1: the victim stays listed as Terminating (EC2 shutting-down), then leaves', async () => {
    const ids = await makeGroup('sdc', 2);
    const t0 = Date.now();
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'sdc', DesiredCapacity: 1 }));
    const g = await group('sdc');
    assert.equal(g.DesiredCapacity, 1);
    const s = await states('sdc');
    assert.deepEqual(Object.keys(s).sort(), [...ids].sort(), 'no replacement, nobody gone yet');
    const victim = ids.find((id) => s[id] === 'Terminating')!;
    const keeper = ids.find((id) => id !== victim)!;
    assert.ok(victim, `one instance Terminating: ${JSON.stringify(s)}`);
    assert.equal(s[keeper], 'InService');
    assert.equal(await asgInstanceState(victim), 'Terminating');
    assert.equal(await ec2State(victim), 'shutting-down');
    assert.equal(await ec2State(keeper), 'running');

    // A second scale-in does not pick the terminating instance again.
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'sdc', DesiredCapacity: 0 }));
    assert.deepEqual(await states('sdc'), { [victim]: 'Terminating', [keeper]: 'Terminating' });

    await gone('sdc', victim);
    assert.ok(Date.now() - t0 >= DELAY - 50, 'terminating lasted terminateDelayMs');
    assert.equal(await ec2State(victim), 'terminated');
    assert.equal(await asgInstanceState(victim), undefined);
    await gone('sdc', keeper);
    assert.deepEqual((await group('sdc')).Instances, []);
    assert.equal(await ec2State(keeper), 'terminated');
  });

  test('UpdateAutoScalingGroup to 0: every instance Terminating, no replacement, then none', async () => {
    const ids = await makeGroup('upd', 2);
    await asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'upd', MinSize: 0, MaxSize: 0, DesiredCapacity: 0 }));
    assert.deepEqual(await states('upd'), Object.fromEntries(ids.map((id) => [id, 'Terminating'])));
    // Scaling back up while they terminate launches new instances; the old ones do not count.
    await asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'upd', MinSize: 1, MaxSize: 1, DesiredCapacity: 1 }));
    const s = await states('upd');
    assert.equal(Object.keys(s).length, 3);
    const fresh = Object.keys(s).find((id) => !ids.includes(id))!;
    assert.equal(s[fresh], 'InService');
    for (const id of ids) await gone('upd', id);
    assert.deepEqual(await states('upd'), { [fresh]: 'InService' });
    assert.deepEqual(
      (await asgHistory(moto.endpoint, 'upd')).map((c) => [c.from, c.to]),
      [[null, 2], [2, 0], [0, 1]],
    );
  });

  test('TerminateInstanceInAutoScalingGroup without decrement: Terminating, and a replacement from the current version at once', async () => {
    const [old] = await makeGroup('tia', 1);
    await asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'tia', LaunchTemplate: { LaunchTemplateId: ltId, Version: '2' } }));
    const out = await asg.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: old!, ShouldDecrementDesiredCapacity: false }));
    assert.match(out.Activity?.Description ?? '', new RegExp(`Terminating EC2 instance: ${old}`));
    const g = await group('tia');
    assert.equal(g.DesiredCapacity, 1);
    assert.equal(g.Instances?.length, 2);
    const replacement = g.Instances!.find((i) => i.InstanceId !== old)!;
    assert.equal(replacement.LifecycleState, 'InService');
    assert.equal(replacement.LaunchTemplate?.Version, '2');
    assert.equal(g.Instances!.find((i) => i.InstanceId === old)!.LifecycleState, 'Terminating');
    assert.equal(g.Instances!.find((i) => i.InstanceId === old)!.LaunchTemplate?.Version, '1');
    assert.equal(await ec2State(old!), 'shutting-down');
    await gone('tia', old!);
    assert.deepEqual(await states('tia'), { [replacement.InstanceId!]: 'InService' });
    assert.equal(await ec2State(old!), 'terminated');
  });

  test('TerminateInstanceInAutoScalingGroup with decrement: Terminating, no replacement, desired - 1', async () => {
    const ids = await makeGroup('tid', 2);
    await asg.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: ids[0]!, ShouldDecrementDesiredCapacity: true }));
    const g = await group('tid');
    assert.equal(g.DesiredCapacity, 1);
    assert.deepEqual(await states('tid'), { [ids[0]!]: 'Terminating', [ids[1]!]: 'InService' });
    await gone('tid', ids[0]!);
    assert.deepEqual(await states('tid'), { [ids[1]!]: 'InService' });
    assert.deepEqual((await asgHistory(moto.endpoint, 'tid')).map((c) => [c.from, c.to, c.action]).slice(1), [[2, 1, 'TerminateInstanceInAutoScalingGroup']]);
  });

  test('a termination lifecycle hook holds the instance in Terminating:Wait (still running) until CompleteLifecycleAction', async () => {
    const [id] = await makeGroup('hook', 1);
    await asg.send(
      new PutLifecycleHookCommand({
        AutoScalingGroupName: 'hook',
        LifecycleHookName: 'drain',
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        HeartbeatTimeout: 300,
        DefaultResult: 'CONTINUE',
      }),
    );
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'hook', DesiredCapacity: 0 }));
    assert.equal(await asgInstanceState(id!), 'Terminating:Wait');
    assert.equal(await ec2State(id!), 'running');
    await sleep(DELAY + 300);
    assert.deepEqual(await states('hook'), { [id!]: 'Terminating:Wait' }, 'waits past terminateDelayMs');

    await assert.rejects(
      asg.send(new CompleteLifecycleActionCommand({ AutoScalingGroupName: 'hook', LifecycleHookName: 'drain', InstanceId: 'i-00000000000000000', LifecycleActionResult: 'CONTINUE' })),
      awsError('ValidationError', 'No active Lifecycle Action found with instance ID i-00000000000000000'),
    );
    await assert.rejects(
      asg.send(new CompleteLifecycleActionCommand({ AutoScalingGroupName: 'hook', LifecycleHookName: 'drain', LifecycleActionToken: 'bcd2f1b8-9a78-44d3-8a7a-4dd07d7cf635', LifecycleActionResult: 'CONTINUE' })),
      awsError('ValidationError', 'No active Lifecycle Action found with token bcd2f1b8-9a78-44d3-8a7a-4dd07d7cf635'),
    );
    await assert.rejects(
      asg.send(new CompleteLifecycleActionCommand({ AutoScalingGroupName: 'hook', LifecycleHookName: 'other', InstanceId: id!, LifecycleActionResult: 'CONTINUE' })),
      awsError('ValidationError', `No active Lifecycle Action found with instance ID ${id}`),
    );

    await asg.send(new CompleteLifecycleActionCommand({ AutoScalingGroupName: 'hook', LifecycleHookName: 'drain', InstanceId: id!, LifecycleActionResult: 'CONTINUE' }));
    assert.equal(await asgInstanceState(id!), 'Terminating:Proceed');
    assert.equal(await ec2State(id!), 'shutting-down');
    // Completing it twice: no action is waiting any more.
    await assert.rejects(
      asg.send(new CompleteLifecycleActionCommand({ AutoScalingGroupName: 'hook', LifecycleHookName: 'drain', InstanceId: id!, LifecycleActionResult: 'CONTINUE' })),
      awsError('ValidationError', `No active Lifecycle Action found with instance ID ${id}`),
    );
    await gone('hook', id!);
    assert.equal(await ec2State(id!), 'terminated');
  });

  test('the HeartbeatTimeout ends the wait (RecordLifecycleActionHeartbeat restarts it); ABANDON terminates too', async () => {
    const ids = await makeGroup('beat', 2);
    await asg.send(
      new PutLifecycleHookCommand({
        AutoScalingGroupName: 'beat',
        LifecycleHookName: 'short',
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        HeartbeatTimeout: 1, // AWS's minimum is 30 s; moto takes any value, and so do we
        DefaultResult: 'ABANDON',
      }),
    );
    const t0 = Date.now();
    await asg.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: ids[0]!, ShouldDecrementDesiredCapacity: true }));
    await asg.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: ids[1]!, ShouldDecrementDesiredCapacity: true }));
    await sleep(600);
    await asg.send(new RecordLifecycleActionHeartbeatCommand({ AutoScalingGroupName: 'beat', LifecycleHookName: 'short', InstanceId: ids[1]! }));
    await sleep(Math.max(0, 1_300 - (Date.now() - t0)));
    assert.deepEqual(await states('beat'), { [ids[0]!]: 'Terminating:Proceed', [ids[1]!]: 'Terminating:Wait' });
    await asg.send(new CompleteLifecycleActionCommand({ AutoScalingGroupName: 'beat', LifecycleHookName: 'short', InstanceId: ids[1]!, LifecycleActionResult: 'ABANDON' }));
    assert.equal(await asgInstanceState(ids[1]!), 'Terminating:Proceed');
    for (const id of ids) await gone('beat', id);
    for (const id of ids) assert.equal(await ec2State(id), 'terminated');
  });

  test('DeleteAutoScalingGroup drops outstanding lifecycle actions and the group\'s hooks', async () => {
    const [id] = await makeGroup('del', 1);
    await asg.send(
      new PutLifecycleHookCommand({ AutoScalingGroupName: 'del', LifecycleHookName: 'drain', LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', HeartbeatTimeout: 300 }),
    );
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'del', DesiredCapacity: 0 }));
    assert.equal(await asgInstanceState(id!), 'Terminating:Wait');
    await asg.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'del', ForceDelete: true }));
    await waitUntil(`${id} terminated`, async () => (await ec2State(id!)) === 'terminated');
    // A new group of the same name has no hook: its scale-in goes straight to Terminating.
    const [again] = await makeGroup('del', 1);
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'del', DesiredCapacity: 0 }));
    assert.equal(await asgInstanceState(again!), 'Terminating');
    await gone('del', again!);
  });

  test('POST /moto-api/reset forgets pending terminations; the timer keeps working afterwards', async () => {
    const [id] = await makeGroup('reset', 1);
    await asg.send(
      new PutLifecycleHookCommand({ AutoScalingGroupName: 'reset', LifecycleHookName: 'drain', LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', HeartbeatTimeout: 300 }),
    );
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'reset', DesiredCapacity: 0 }));
    assert.equal(await asgInstanceState(id!), 'Terminating:Wait');
    await resetMoto(moto.endpoint);
    await assert.rejects(
      asg.send(new CompleteLifecycleActionCommand({ AutoScalingGroupName: 'reset', LifecycleHookName: 'drain', InstanceId: id!, LifecycleActionResult: 'CONTINUE' })),
      awsError('ValidationError'),
    );
    // A fresh world after the reset: terminations still run to the end.
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.9.0.0/16' }));
    subnetId = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: '10.9.1.0/24', AvailabilityZone: 'us-east-1a' }))).Subnet!.SubnetId!;
    ltId = (await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'term', LaunchTemplateData: { ImageId: 'ami-11111111' } }))).LaunchTemplate!.LaunchTemplateId!;
    const [fresh] = await makeGroup('reset', 1);
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'reset', DesiredCapacity: 0 }));
    assert.equal(await asgInstanceState(fresh!), 'Terminating');
    await gone('reset', fresh!);
  });

  test('terminateDelayMs 0 keeps moto\'s instant scale-in (hooks included)', async () => {
    await setMotoConfig(moto.endpoint, { terminateDelayMs: 0 });
    try {
      const ids = await makeGroup('instant', 2);
      await asg.send(
        new PutLifecycleHookCommand({ AutoScalingGroupName: 'instant', LifecycleHookName: 'drain', LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', HeartbeatTimeout: 300 }),
      );
      await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'instant', DesiredCapacity: 1 }));
      const left = Object.keys(await states('instant'));
      assert.equal(left.length, 1);
      const victim = ids.find((id) => !left.includes(id))!;
      assert.equal(await ec2State(victim), 'terminated');
    } finally {
      await setMotoConfig(moto.endpoint, { terminateDelayMs: DELAY });
    }
  });
});

describe('ClientToken idempotency the operator relies on', () => {
  // The operator's calls whose SDK input has an idempotency token the SDK fills in (and keeps
  // across its retries): EC2 CreateLaunchTemplateVersion (ClientToken; patched in server.py)
  // and Secrets Manager CreateSecret / PutSecretValue (ClientRequestToken; moto honours it).
  // Auto Scaling and ElastiCache calls have none. Replays the same request, as a retry after a
  // lost answer does.
  before(() => resetMoto(moto.endpoint));

  test('CreateLaunchTemplateVersion: the same ClientToken returns the version it created', async () => {
    const lt = await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'idem', LaunchTemplateData: { ImageId: 'ami-11111111' } }));
    const LaunchTemplateId = lt.LaunchTemplate!.LaunchTemplateId!;
    const req = { LaunchTemplateId, ClientToken: 'retry-token-1', LaunchTemplateData: { UserData: b64('v2') } };
    const first = await ec2.send(new CreateLaunchTemplateVersionCommand(req));
    const again = await ec2.send(new CreateLaunchTemplateVersionCommand(req));
    assert.equal(first.LaunchTemplateVersion?.VersionNumber, 2);
    assert.equal(again.LaunchTemplateVersion?.VersionNumber, 2);
    const other = await ec2.send(new CreateLaunchTemplateVersionCommand({ ...req, ClientToken: 'retry-token-2' }));
    assert.equal(other.LaunchTemplateVersion?.VersionNumber, 3);
    const all = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId }));
    assert.equal(all.LaunchTemplateVersions?.length, 3);
  });

  test('Secrets Manager CreateSecret / PutSecretValue: the same ClientRequestToken makes no second secret or version', async () => {
    const token = '11111111-2222-3333-4444-555555555555';
    const first = await sm.send(new CreateSecretCommand({ Name: 'idem/secret', SecretString: 'one', ClientRequestToken: token }));
    const again = await sm.send(new CreateSecretCommand({ Name: 'idem/secret', SecretString: 'one', ClientRequestToken: token }));
    assert.equal(again.ARN, first.ARN);
    assert.equal(again.VersionId, token);
    const put = { SecretId: 'idem/secret', SecretString: 'two', ClientRequestToken: '66666666-7777-8888-9999-000000000000' };
    await sm.send(new PutSecretValueCommand(put));
    await sm.send(new PutSecretValueCommand(put));
    const versions = await sm.send(new ListSecretVersionIdsCommand({ SecretId: 'idem/secret' }));
    assert.equal(versions.Versions?.length, 2);
    // Without a token match, creating it again is refused, as in AWS.
    await assert.rejects(sm.send(new CreateSecretCommand({ Name: 'idem/secret', SecretString: 'one' })), (err: Error) => err.name === 'ResourceExistsException');
  });
});

test('Auto Scaling: an update that names no launch source keeps the MixedInstancesPolicy (moto erased it)', async () => {
  const lt = await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'mip-keep', LaunchTemplateData: { ImageId: 'ami-12c6146b', InstanceType: 'm5.xlarge' } }));
  const id = lt.LaunchTemplate!.LaunchTemplateId!;
  const policy = {
    LaunchTemplate: { LaunchTemplateSpecification: { LaunchTemplateId: id, Version: '1' }, Overrides: [{ InstanceType: 'm5.xlarge' }, { InstanceType: 'm5a.xlarge' }] },
    InstancesDistribution: { OnDemandBaseCapacity: 1, OnDemandPercentageAboveBaseCapacity: 100 },
  };
  await asg.send(new CreateAutoScalingGroupCommand({ AutoScalingGroupName: 'mip-keep', MinSize: 1, MaxSize: 1, DesiredCapacity: 1, AvailabilityZones: ['us-east-1a'], MixedInstancesPolicy: policy }));
  try {
    await asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'mip-keep', MinSize: 0, MaxSize: 2, DesiredCapacity: 2 }));
    const g = (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['mip-keep'] }))).AutoScalingGroups![0]!;
    assert.deepEqual(g.MixedInstancesPolicy?.LaunchTemplate?.Overrides?.map((o) => o.InstanceType), ['m5.xlarge', 'm5a.xlarge']);
    assert.equal(g.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification?.Version, '1');
    assert.equal(g.DesiredCapacity, 2);
  } finally {
    await asg.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'mip-keep', ForceDelete: true }));
  }
});
