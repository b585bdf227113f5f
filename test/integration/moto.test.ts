// The AWS emulator on its own: each runtime patch of test/sandbox/moto/server.py, the
// observability endpoints, and the seeded world's determinism. Starts its own moto on a
// free port, independent of the rest of the sandbox.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  SetDesiredCapacityCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  AddTagsToResourceCommand,
  CreateReplicationGroupCommand,
  DeleteReplicationGroupCommand,
  DescribeReplicationGroupsCommand,
  ElastiCacheClient,
  ListTagsForResourceCommand,
  ModifyReplicationGroupCommand,
  type CreateReplicationGroupCommandInput,
} from '@aws-sdk/client-elasticache';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateBucketCommand, GetBucketEncryptionCommand, GetBucketLocationCommand, HeadBucketCommand, PutBucketEncryptionCommand, S3Client } from '@aws-sdk/client-s3';
import { parseUserData } from '../../src/tfe/userdata.ts';
import { validateBaseSettings } from '../../src/tfe/settings.ts';
import { asgHistory, awsCalls, clearAsgHistory, clearAwsCalls, resetMoto, seedMoto, setMotoConfig, startMoto, type Moto } from '../sandbox/moto.ts';
import { ownMoto } from './own-moto.ts';
import {
  BASE_INSTALL,
  BASE_REPLICATED_CONF,
  BASE_SETTINGS,
  LICENSE,
  SECRET_VALUES,
  awsClientConfig,
  seedAws,
  type AwsWorld,
} from '../sandbox/world.ts';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

const own = ownMoto('tfe-moto-test-');
let dir: string;
let moto: Moto;
let ec2: EC2Client;
let asg: AutoScalingClient;
let ec: ElastiCacheClient;

before(async () => {
  ({ moto, dir } = await own.start());
  ec2 = own.client(EC2Client);
  asg = own.client(AutoScalingClient);
  ec = own.client(ElastiCacheClient);
});

async function subnet(): Promise<string> {
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.9.0.0/16' }));
  const s = await ec2.send(new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: '10.9.1.0/24', AvailabilityZone: 'us-east-1a' }));
  return s.Subnet!.SubnetId!;
}

async function group(name: string) {
  const out = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
  assert.equal(out.AutoScalingGroups?.length, 1, `ASG ${name} exists`);
  return out.AutoScalingGroups![0]!;
}

describe('EC2 launch template versions (CreateLaunchTemplateVersion patch)', () => {
  before(() => resetMoto(moto.endpoint));

  test('an ASG scales up from a version made by CreateLaunchTemplateVersion; instances carry their version', async () => {
    const subnetId = await subnet();
    const lt = await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'scale-test',
        LaunchTemplateData: { ImageId: 'ami-11111111', InstanceType: 'm5.large', UserData: b64('#!/bin/bash\necho v1\n') },
      }),
    );
    const ltId = lt.LaunchTemplate!.LaunchTemplateId!;
    const v2Script = '#!/bin/bash\necho v2 with redis\n';
    const v2 = await ec2.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateId: ltId,
        VersionDescription: 'v2',
        LaunchTemplateData: { ImageId: 'ami-11111111', InstanceType: 'm5.large', UserData: b64(v2Script) },
      }),
    );
    assert.equal(v2.LaunchTemplateVersion?.VersionNumber, 2);

    // DescribeLaunchTemplateVersions returns UserData base64-encoded, as AWS does.
    const versions = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: ltId, Versions: ['2'] }));
    assert.equal(versions.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.UserData, b64(v2Script));

    await asg.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'scale-test',
        MinSize: 0,
        MaxSize: 3,
        DesiredCapacity: 1,
        VPCZoneIdentifier: subnetId,
        LaunchTemplate: { LaunchTemplateId: ltId, Version: '1' },
      }),
    );
    const [old] = (await group('scale-test')).Instances!;
    await asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'scale-test', LaunchTemplate: { LaunchTemplateId: ltId, Version: '2' } }));
    // Unpatched moto 5.2.1 answers this with HTTP 500 (AssertionError on the str UserData).
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'scale-test', DesiredCapacity: 2 }));

    const g = await group('scale-test');
    assert.equal(g.Instances?.length, 2);
    const byId = new Map(g.Instances!.map((i) => [i.InstanceId!, i]));
    assert.deepEqual(byId.get(old!.InstanceId!)?.LaunchTemplate, { LaunchTemplateId: ltId, LaunchTemplateName: 'scale-test', Version: '1' });
    const fresh = g.Instances!.find((i) => i.InstanceId !== old!.InstanceId)!;
    assert.deepEqual(fresh.LaunchTemplate, { LaunchTemplateId: ltId, LaunchTemplateName: 'scale-test', Version: '2' });

    // The EC2 side agrees: AWS-managed tags and the user data come from version 2.
    const desc = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [fresh.InstanceId!] }));
    const tags = Object.fromEntries((desc.Reservations?.[0]?.Instances?.[0]?.Tags ?? []).map((t) => [t.Key, t.Value]));
    assert.equal(tags['aws:ec2launchtemplate:id'], ltId);
    assert.equal(tags['aws:ec2launchtemplate:version'], '2');
    const ud = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: fresh.InstanceId!, Attribute: 'userData' }));
    assert.equal(unb64(ud.UserData!.Value!), v2Script);

    // Scale to 0 and back to 1: the replacement runs version 2.
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'scale-test', DesiredCapacity: 0 }));
    assert.equal((await group('scale-test')).Instances?.length, 0);
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'scale-test', DesiredCapacity: 1 }));
    const after01 = (await group('scale-test')).Instances!;
    assert.equal(after01.length, 1);
    assert.equal(after01[0]!.LaunchTemplate?.Version, '2');
  });

  test('SourceVersion: the new version inherits what it does not set', async () => {
    const lt = await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'source-test',
        LaunchTemplateData: { ImageId: 'ami-22222222', InstanceType: 'm5.xlarge', SecurityGroupIds: ['sg-0123456789abcdef0'], UserData: b64('one') },
      }),
    );
    const ltId = lt.LaunchTemplate!.LaunchTemplateId!;
    await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: ltId, SourceVersion: '1', LaunchTemplateData: { UserData: b64('two') } }));
    const v = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: ltId, Versions: ['2'] }));
    const data = v.LaunchTemplateVersions![0]!.LaunchTemplateData!;
    assert.equal(data.ImageId, 'ami-22222222');
    assert.equal(data.InstanceType, 'm5.xlarge');
    assert.deepEqual(data.SecurityGroupIds, ['sg-0123456789abcdef0']);
    assert.equal(unb64(data.UserData!), 'two');
  });

  test('user data that is not base64 is refused like CreateLaunchTemplate does', async () => {
    const lt = await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'bad-ud', LaunchTemplateData: { ImageId: 'ami-33333333' } }));
    await assert.rejects(
      ec2.send(
        new CreateLaunchTemplateVersionCommand({
          LaunchTemplateId: lt.LaunchTemplate!.LaunchTemplateId!,
          LaunchTemplateData: { UserData: '#!/bin/bash\necho not base64' },
        }),
      ),
      (err: Error) => err.name === 'InvalidUserData.Malformed',
    );
  });
});

describe('ElastiCache replication groups', () => {
  before(() => resetMoto(moto.endpoint));

  const input = (id: string, extra: Partial<CreateReplicationGroupCommandInput> = {}): CreateReplicationGroupCommandInput => ({
    ReplicationGroupId: id,
    ReplicationGroupDescription: 'tfe redis',
    Engine: 'redis',
    EngineVersion: '7.1',
    CacheNodeType: 'cache.t3.medium',
    ReplicasPerNodeGroup: 1,
    AutomaticFailoverEnabled: true,
    MultiAZEnabled: true,
    TransitEncryptionEnabled: true,
    AtRestEncryptionEnabled: true,
    AuthToken: 'sandbox-auth-token-0123456789',
    Port: 6380,
    SecurityGroupIds: ['sg-0123456789abcdef0'],
    Tags: [{ Key: 'tfe.operators.dev/owner', Value: 'tfe/tfe' }],
    ...extra,
  });

  test('CreateReplicationGroup stores and returns the security settings, port and tags', async () => {
    const created = await ec.send(new CreateReplicationGroupCommand(input('rg-settings')));
    const rg = (await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'rg-settings' }))).ReplicationGroups![0]!;
    assert.equal(rg.Status, 'available');
    assert.equal(rg.TransitEncryptionEnabled, true);
    assert.equal(rg.AtRestEncryptionEnabled, true);
    assert.equal(rg.AuthTokenEnabled, true);
    assert.equal(rg.AutomaticFailover, 'enabled');
    assert.equal(rg.MultiAZ, 'enabled');
    assert.equal(rg.ClusterEnabled, false);
    assert.deepEqual(rg.MemberClusters, ['rg-settings-001', 'rg-settings-002']);
    const primary = rg.NodeGroups![0]!.PrimaryEndpoint!;
    assert.match(primary.Address!, /^master\.rg-settings\.[a-z0-9]{6}\.use1\.cache\.amazonaws\.com$/);
    assert.equal(primary.Port, 6380);
    assert.equal(created.ReplicationGroup?.ARN, rg.ARN);

    await ec.send(new AddTagsToResourceCommand({ ResourceName: rg.ARN!, Tags: [{ Key: 'extra', Value: 'yes' }] }));
    const tags = await ec.send(new ListTagsForResourceCommand({ ResourceName: rg.ARN! }));
    assert.deepEqual(
      Object.fromEntries(tags.TagList!.map((t) => [t.Key, t.Value])),
      { 'tfe.operators.dev/owner': 'tfe/tfe', extra: 'yes' },
    );
  });

  test('NumCacheClusters sets the node count when ReplicasPerNodeGroup is absent', async () => {
    await ec.send(new CreateReplicationGroupCommand(input('rg-count', { ReplicasPerNodeGroup: undefined, NumCacheClusters: 3 })));
    const rg = (await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'rg-count' }))).ReplicationGroups![0]!;
    assert.deepEqual(rg.MemberClusters, ['rg-count-001', 'rg-count-002', 'rg-count-003']);
  });

  test('an AuthToken without TLS in transit is refused, as AWS does', async () => {
    await assert.rejects(
      ec.send(new CreateReplicationGroupCommand(input('rg-notls', { TransitEncryptionEnabled: false }))),
      (err: Error) => err.name === 'InvalidParameterValue' || err.name === 'InvalidParameterValueException',
    );
  });

  test('DeleteReplicationGroup removes the group (and the id can be used again)', async () => {
    await ec.send(new CreateReplicationGroupCommand(input('rg-delete')));
    const del = await ec.send(new DeleteReplicationGroupCommand({ ReplicationGroupId: 'rg-delete' }));
    assert.equal(del.ReplicationGroup?.Status, 'deleting');
    await assert.rejects(
      ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'rg-delete' })),
      (err: Error) => err.name === 'ReplicationGroupNotFoundFault',
    );
    const all = await ec.send(new DescribeReplicationGroupsCommand({}));
    assert.ok(!all.ReplicationGroups!.some((g) => g.ReplicationGroupId === 'rg-delete'));
    await ec.send(new CreateReplicationGroupCommand(input('rg-delete')));
  });

  test('ModifyReplicationGroup applies auth token, failover and security group changes', async () => {
    await ec.send(new CreateReplicationGroupCommand(input('rg-modify', { AuthToken: undefined })));
    let rg = (await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'rg-modify' }))).ReplicationGroups![0]!;
    assert.equal(rg.AuthTokenEnabled, false);
    const out = await ec.send(
      new ModifyReplicationGroupCommand({
        ReplicationGroupId: 'rg-modify',
        AuthToken: 'sandbox-rotated-token-0123456789',
        AuthTokenUpdateStrategy: 'ROTATE',
        SecurityGroupIds: ['sg-0fedcba9876543210'],
        ApplyImmediately: true,
      }),
    );
    assert.equal(out.ReplicationGroup?.AuthTokenEnabled, true);
    rg = (await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'rg-modify' }))).ReplicationGroups![0]!;
    assert.equal(rg.AuthTokenEnabled, true);
    assert.ok(rg.AuthTokenLastModifiedDate instanceof Date);
    await ec.send(new ModifyReplicationGroupCommand({ ReplicationGroupId: 'rg-modify', AuthTokenUpdateStrategy: 'DELETE', ApplyImmediately: true }));
    await ec.send(new ModifyReplicationGroupCommand({ ReplicationGroupId: 'rg-modify', MultiAZEnabled: false, AutomaticFailoverEnabled: false, ApplyImmediately: true }));
    rg = (await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'rg-modify' }))).ReplicationGroups![0]!;
    assert.equal(rg.AuthTokenEnabled, false);
    assert.equal(rg.AutomaticFailover, 'disabled');
    assert.equal(rg.MultiAZ, 'disabled');
    await assert.rejects(
      ec.send(new ModifyReplicationGroupCommand({ ReplicationGroupId: 'rg-missing', ApplyImmediately: true })),
      (err: Error) => err.name === 'ReplicationGroupNotFoundFault',
    );
  });

  test('the endpoint name is deterministic under /moto-api/seed', async () => {
    const endpointAfterSeed = async () => {
      await resetMoto(moto.endpoint);
      await ec.send(new DescribeReplicationGroupsCommand({})); // backend built before the seed
      await seedMoto(moto.endpoint, 4242);
      await ec.send(new CreateReplicationGroupCommand(input('rg-seeded')));
      const rg = (await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'rg-seeded' }))).ReplicationGroups![0]!;
      return rg.NodeGroups![0]!.PrimaryEndpoint!.Address!;
    };
    const a = await endpointAfterSeed();
    assert.equal(await endpointAfterSeed(), a);
  });

  test('with a create delay, a new group reads "creating" first, then "available"', async () => {
    await setMotoConfig(moto.endpoint, { redisCreateDelayMs: 1500 });
    try {
      await ec.send(new CreateReplicationGroupCommand(input('rg-slow')));
      const status = async () => (await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'rg-slow' }))).ReplicationGroups![0]!.Status;
      assert.equal(await status(), 'creating');
      await new Promise((r) => setTimeout(r, 1700));
      assert.equal(await status(), 'available');
    } finally {
      await setMotoConfig(moto.endpoint, { redisCreateDelayMs: 0 });
    }
  });
});

describe('observability endpoints', () => {
  before(() => resetMoto(moto.endpoint));

  test('asg-history records every desired-capacity change, back-to-back 1 -> 0 -> 1 included', async () => {
    const subnetId = await subnet();
    const lt = await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'hist', LaunchTemplateData: { ImageId: 'ami-44444444' } }));
    const ltId = lt.LaunchTemplate!.LaunchTemplateId!;
    await clearAsgHistory(moto.endpoint);
    await asg.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'hist',
        MinSize: 0,
        MaxSize: 5,
        DesiredCapacity: 1,
        VPCZoneIdentifier: subnetId,
        LaunchTemplate: { LaunchTemplateId: ltId, Version: '1' },
      }),
    );
    // No waiting between them: a poller looking at DesiredCapacity would miss the 0.
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'hist', DesiredCapacity: 0 }));
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'hist', DesiredCapacity: 1 }));
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'hist', DesiredCapacity: 1 })); // no change: not recorded
    await asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'hist', MinSize: 2, MaxSize: 2, DesiredCapacity: 2 }));
    await asg.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'hist', ForceDelete: true }));

    const h = await asgHistory(moto.endpoint, 'hist');
    assert.deepEqual(
      h.map((c) => [c.from, c.to, c.action]),
      [
        [null, 1, 'CreateAutoScalingGroup'],
        [1, 0, 'SetDesiredCapacity'],
        [0, 1, 'SetDesiredCapacity'],
        [1, 2, 'UpdateAutoScalingGroup'],
        [2, 0, 'DeleteAutoScalingGroup'],
      ],
    );
    for (let i = 1; i < h.length; i++) {
      assert.ok(h[i]!.seq > h[i - 1]!.seq, 'seq increases');
      assert.ok(h[i]!.ts >= h[i - 1]!.ts, 'timestamps are in order');
    }
    assert.ok(!Number.isNaN(Date.parse(h[0]!.ts)));
    // ?since=<seq> returns only what came after.
    assert.deepEqual(await asgHistory(moto.endpoint, { asg: 'hist', since: h[2]!.seq }), h.slice(3));
  });

  test('calls lists every AWS call with service, action, user agent and status', async () => {
    await clearAwsCalls(moto.endpoint);
    const cfg = { ...awsClientConfig(moto.endpoint), customUserAgent: 'tfe-operator-test/9.9', maxAttempts: 1 };
    const myEc = new ElastiCacheClient(cfg);
    const mySm = new SecretsManagerClient(cfg);
    try {
      await myEc.send(new DescribeReplicationGroupsCommand({}));
      await assert.rejects(myEc.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'nope' })));
      await assert.rejects(mySm.send(new GetSecretValueCommand({ SecretId: 'nope' })));
    } finally {
      myEc.destroy();
      mySm.destroy();
    }
    const calls = await awsCalls(moto.endpoint);
    assert.deepEqual(
      calls.map((c) => [c.service, c.action]),
      [
        ['elasticache', 'DescribeReplicationGroups'],
        ['elasticache', 'DescribeReplicationGroups'],
        ['secretsmanager', 'GetSecretValue'],
      ],
    );
    assert.equal(calls[0]!.status, 200);
    assert.ok(calls[1]!.status! >= 400, `not-found answered ${calls[1]!.status}`);
    assert.ok(calls[2]!.status! >= 400, `missing secret answered ${calls[2]!.status}`);
    for (const c of calls) {
      assert.match(`${c.userAgent} ${c.amzUserAgent}`, /tfe-operator-test\/9\.9/);
      assert.ok(!Number.isNaN(Date.parse(c.ts)));
    }
    assert.deepEqual(await awsCalls(moto.endpoint, { since: calls[0]!.seq }), calls.slice(1));
    // Our own endpoints and moto-api are not AWS calls.
    await asgHistory(moto.endpoint);
    assert.equal((await awsCalls(moto.endpoint)).length, 3);

    await clearAwsCalls(moto.endpoint);
    assert.deepEqual(await awsCalls(moto.endpoint), []);
  });

  test('S3 REST calls are named in the call log as the SDK names them (reads tell apart from writes)', async () => {
    await clearAwsCalls(moto.endpoint);
    const s3 = new S3Client({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, forcePathStyle: true });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'call-log' }));
      await s3.send(new HeadBucketCommand({ Bucket: 'call-log' }));
      await assert.rejects(s3.send(new HeadBucketCommand({ Bucket: 'call-log-missing' })));
      await s3.send(new GetBucketLocationCommand({ Bucket: 'call-log' }));
      await s3.send(new PutBucketEncryptionCommand({ Bucket: 'call-log', ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' } }] } }));
      await s3.send(new GetBucketEncryptionCommand({ Bucket: 'call-log' }));
    } finally {
      s3.destroy();
    }
    assert.deepEqual(
      (await awsCalls(moto.endpoint)).map((c) => [c.service, c.action]),
      [
        ['s3', 'CreateBucket'],
        ['s3', 'HeadBucket'],
        ['s3', 'HeadBucket'],
        ['s3', 'GetBucketLocation'],
        ['s3', 'PutBucketEncryption'],
        ['s3', 'GetBucketEncryption'],
      ],
    );
  });

  test('POST /moto-api/reset clears both logs', async () => {
    await ec.send(new DescribeReplicationGroupsCommand({}));
    const subnetId = await subnet();
    const lt = await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'reset-me', LaunchTemplateData: { ImageId: 'ami-55555555' } }));
    await asg.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'reset-me',
        MinSize: 0,
        MaxSize: 1,
        DesiredCapacity: 1,
        VPCZoneIdentifier: subnetId,
        LaunchTemplate: { LaunchTemplateId: lt.LaunchTemplate!.LaunchTemplateId!, Version: '1' },
      }),
    );
    assert.ok((await awsCalls(moto.endpoint)).length > 0);
    assert.ok((await asgHistory(moto.endpoint)).length > 0);
    await resetMoto(moto.endpoint);
    assert.deepEqual(await awsCalls(moto.endpoint), []);
    assert.deepEqual(await asgHistory(moto.endpoint), []);
  });
});

describe('the seeded world', () => {
  let first: AwsWorld;

  before(async () => {
    await resetMoto(moto.endpoint);
    first = await seedAws(moto.endpoint);
  });

  test('seeding is deterministic: reset + reseed, and a fresh moto process, give the same IDs', async () => {
    await resetMoto(moto.endpoint);
    // A poller reading the ASG while we seed (as the simulator does) must not shift IDs.
    let polling = true;
    const poller = (async () => {
      while (polling) await asg.send(new DescribeAutoScalingGroupsCommand({})).catch(() => undefined);
    })();
    let again: AwsWorld;
    try {
      again = await seedAws(moto.endpoint);
    } finally {
      polling = false;
      await poller;
    }
    assert.deepEqual(again, first);

    const other = await startMoto({ dir: join(dir, 'second') });
    try {
      assert.deepEqual(await seedAws(other.endpoint), first);
    } finally {
      await other.stop();
    }
    // Seeding a world that is already there fails loudly instead of duplicating it.
    await assert.rejects(seedAws(moto.endpoint), /already holds the sandbox world/);
  });

  test('examples/tfecluster.yaml names the seeded IDs', () => {
    const doc = parse(readFileSync(new URL('../../examples/tfecluster.yaml', import.meta.url), 'utf8')) as {
      spec: { redis: { elastiCache: { securityGroupIds: string[]; subnetGroupName: string } }; network: { nodeSecurityGroupIds: string[] }; autoScalingGroupName: string; launchTemplate: { name: string } };
    };
    assert.deepEqual(doc.spec.redis.elastiCache.securityGroupIds, [first.redisSecurityGroupId]);
    assert.equal(doc.spec.redis.elastiCache.subnetGroupName, first.cacheSubnetGroupName);
    assert.deepEqual(doc.spec.network.nodeSecurityGroupIds, [first.nodeSecurityGroupId]);
    assert.equal(doc.spec.autoScalingGroupName, first.asgName);
    assert.equal(doc.spec.launchTemplate.name, first.launchTemplateName);
  });

  test('the world is the pre-migration install: one node on launch template tfe v1, rules in place', async () => {
    await resetMoto(moto.endpoint);
    const w = await seedAws(moto.endpoint);
    assert.match(w.vpcId, /^vpc-[0-9a-f]+$/);
    assert.equal(w.subnetIds.length, 2);
    assert.notEqual(w.nodeSecurityGroupId, w.redisSecurityGroupId);

    const g = await group('tfe');
    assert.deepEqual([g.MinSize, g.MaxSize, g.DesiredCapacity], [1, 1, 1]);
    assert.deepEqual(g.VPCZoneIdentifier!.split(',').sort(), [...w.subnetIds].sort());
    assert.deepEqual(g.LaunchTemplate, { LaunchTemplateId: w.launchTemplateId, LaunchTemplateName: 'tfe', Version: '1' });
    assert.equal(g.Instances?.length, 1);
    assert.equal(g.Instances![0]!.LaunchTemplate?.Version, '1');
    assert.deepEqual(w.instanceIds, [g.Instances![0]!.InstanceId]);

    const v = (await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: w.launchTemplateId }))).LaunchTemplateVersions!;
    assert.equal(v.length, 1);
    assert.deepEqual(v[0]!.LaunchTemplateData?.SecurityGroupIds, [w.nodeSecurityGroupId]);
    const script = unb64(v[0]!.LaunchTemplateData!.UserData!);
    const install = parseUserData(script);
    assert.deepEqual(install, BASE_INSTALL);
    assert.equal(install.replicatedConf.ReleaseSequence, 528);
    assert.deepEqual(install.installArgs, ['no-proxy']);
    assert.ok(!Object.keys(install.settings).some((k) => k.startsWith('redis_') || k === 'enable_active_active'));
    for (const secret of [SECRET_VALUES.encPassword, SECRET_VALUES.pgPassword, LICENSE.toString('base64'), LICENSE.toString('latin1')]) {
      assert.ok(!script.includes(secret), 'no secret value in the user data');
    }
    // The ConfigMap's base settings pass the operator's own checks (pg_password comes from a Secret).
    const problems = validateBaseSettings({
      replicatedConf: BASE_REPLICATED_CONF,
      settings: BASE_SETTINGS,
      secretSettingKeys: ['pg_password'],
      releaseSequence: 528,
    });
    assert.deepEqual(problems.filter((p) => p.severity === 'error'), []);

    const sgs = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [w.nodeSecurityGroupId, w.redisSecurityGroupId] }))).SecurityGroups!;
    const rules = (id: string) =>
      sgs
        .find((s) => s.GroupId === id)!
        .IpPermissions!.map((p) => `${p.IpProtocol}/${p.FromPort}-${p.ToPort} from ${[...(p.UserIdGroupPairs ?? []).map((u) => u.GroupId), ...(p.IpRanges ?? []).map((r) => r.CidrIp)].join(',')}`)
        .sort();
    assert.deepEqual(rules(w.nodeSecurityGroupId), [`tcp/443-443 from 0.0.0.0/0`, `tcp/8201-8201 from ${w.nodeSecurityGroupId}`]);
    assert.deepEqual(rules(w.redisSecurityGroupId), [`tcp/6379-6379 from ${w.nodeSecurityGroupId}`]);

    const sm = new SecretsManagerClient(awsClientConfig(moto.endpoint));
    try {
      for (const [id, value] of [
        [w.secretIds.encPassword, SECRET_VALUES.encPassword],
        [w.secretIds.pgPassword, SECRET_VALUES.pgPassword],
      ] as const) {
        assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: id }))).SecretString, value);
      }
      const license = await sm.send(new GetSecretValueCommand({ SecretId: w.secretIds.license }));
      assert.deepEqual(Buffer.from(license.SecretBinary!), LICENSE, 'the binary license, byte for byte');
    } finally {
      sm.destroy();
    }
  });
});
