// Setup for bench/scale.ts (not measured): N TfeClusters that are already Ready, without
// migrating each one through the node simulator (on 2 cores, 99 migrations at once saturate
// it). Cluster 1, the seeded `tfe/tfe`, is migrated for real; readMigrated() then reads what
// that migration left in the AWS emulator, and writeClone() writes the same end state for
// clone i, as tfe-operator would have left it for namespace `scale-<i>`:
//   - the managed Secrets Manager secrets `tfe-operator/scale-<i>/tfe/*`, same values, owner
//     tag and salted value hash for the new name;
//   - replication group `scale-redis-<i>` like cluster 1's, owned by `scale-<i>/tfe`;
//   - launch template `scale-<i>` with every version of cluster 1's: the user data with the
//     secret ids and the Redis host of the clone, the description with the content hash of
//     the clone's install (how the operator recognises its versions);
//   - ASG `scale-<i>` on the same version and capacity, with cluster 1's tfe.operators.dev/* tags.
// The simulator then boots the clone's nodes from that user data like any other. Whether the
// clone really is what the operator would have made is checked by the benchmark: a setup
// operator must find every clone Ready without a single AWS write.

import { AutoScalingClient, CreateAutoScalingGroupCommand, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  CreateSubnetCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
  type RequestLaunchTemplateData,
} from '@aws-sdk/client-ec2';
import {
  CreateReplicationGroupCommand,
  DescribeReplicationGroupsCommand,
  ElastiCacheClient,
  ListTagsForResourceCommand,
  type ReplicationGroup,
} from '@aws-sdk/client-elasticache';
import { CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { TAG } from '../src/migration/observation.ts';
import { contentHash, legacyFingerprint, secretName } from '../src/migration/targets.ts';
import { parseUserData } from '../src/tfe/userdata.ts';
import { awsClientConfig } from '../test/sandbox/world.ts';

export interface Migrated {
  owner: string;
  secretPrefix: string;
  secrets: Array<{ purpose: string; value: string; tags: Record<string, string> }>;
  replicationGroup: ReplicationGroup & { tags: Record<string, string> };
  versions: Array<{ number: number; description?: string; data: RequestLaunchTemplateData }>;
  asg: { min: number; max: number; desired: number; version: string; subnets: string; tags: Record<string, string> };
}

export interface CloneNames {
  namespace: string;
  name: string;
  asg: string;
  launchTemplate: string;
  replicationGroupId: string;
  /** VPCZoneIdentifier of the clone's ASG (default: cluster 1's subnets). */
  subnets?: string;
}

/** AWS SDK clients for the sandbox's emulator (destroy them with destroyClients). */
export function cloneClients() {
  const cfg = { ...awsClientConfig(process.env.AWS_ENDPOINT_URL!), maxAttempts: 5 };
  return { asg: new AutoScalingClient(cfg), ec2: new EC2Client(cfg), ec: new ElastiCacheClient(cfg), sm: new SecretsManagerClient(cfg) };
}
type Clients = ReturnType<typeof cloneClients>;

const tagMap = (tags: Array<{ Key?: string; Value?: string }> | undefined) => Object.fromEntries((tags ?? []).map((t) => [t.Key!, t.Value ?? '']));
const tagList = (tags: Record<string, string>) => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

/**
 * Two /20 subnets (4091 addresses each) in the world's VPC and zones: the seeded /24s hold
 * about 500 instances, 1000 clusters have 2000. Returns them as a VPCZoneIdentifier.
 */
export async function createCloneSubnets(c: Clients, vpcId: string, zones: readonly string[]): Promise<string> {
  const ids = [];
  for (const [i, zone] of zones.entries()) {
    const out = await c.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.0.${(i + 1) * 16}.0/20`, AvailabilityZone: zone }));
    ids.push(out.Subnet!.SubnetId!);
  }
  return ids.join(',');
}

/** What the migration of `namespace/name` left in AWS (it must be Ready). */
export async function readMigrated(src: CloneNames): Promise<Migrated> {
  const c = cloneClients();
  try {
    const owner = `${src.namespace}/${src.name}`;
    const secretPrefix = secretName(src.namespace, src.name, '');
    const listed = await c.sm.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [secretPrefix] }], MaxResults: 100 }));
    const secrets = [];
    for (const s of listed.SecretList ?? []) {
      if (!s.Name!.startsWith(secretPrefix)) continue;
      const [value, described] = await Promise.all([
        c.sm.send(new GetSecretValueCommand({ SecretId: s.Name })),
        c.sm.send(new DescribeSecretCommand({ SecretId: s.Name })),
      ]);
      secrets.push({ purpose: s.Name!.slice(secretPrefix.length), value: value.SecretString!, tags: tagMap(described.Tags) });
    }
    const rg = (await c.ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: src.replicationGroupId }))).ReplicationGroups![0]!;
    const rgTags = tagMap((await c.ec.send(new ListTagsForResourceCommand({ ResourceName: rg.ARN }))).TagList);
    const lt = await c.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: src.launchTemplate }));
    const versions = (lt.LaunchTemplateVersions ?? [])
      .map((v) => ({ number: v.VersionNumber!, description: v.VersionDescription, data: v.LaunchTemplateData as RequestLaunchTemplateData }))
      .sort((a, b) => a.number - b.number);
    const g = (await c.asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [src.asg] }))).AutoScalingGroups![0]!;
    const asgTags = Object.fromEntries((g.Tags ?? []).filter((t) => t.Key!.startsWith('tfe.operators.dev/')).map((t) => [t.Key!, t.Value ?? '']));
    if (asgTags[TAG.rollout]) throw new Error(`${owner} is still rolling out (${TAG.rollout}=${asgTags[TAG.rollout]}): wait until it is Ready`);
    return {
      owner,
      secretPrefix,
      secrets,
      replicationGroup: { ...rg, tags: rgTags },
      versions,
      asg: {
        min: g.MinSize!,
        max: g.MaxSize!,
        desired: g.DesiredCapacity!,
        version: g.LaunchTemplate!.Version!,
        subnets: g.VPCZoneIdentifier!,
        tags: asgTags,
      },
    };
  } finally {
    destroyClients(c);
  }
}

export function destroyClients(c: Clients) {
  for (const x of Object.values(c)) x.destroy();
}

/** Writes the migrated state of `m` for the clone `to` (see the file's comment). */
export async function writeClone(c: Clients, m: Migrated, to: CloneNames): Promise<void> {
  const owner = `${to.namespace}/${to.name}`;
  const secretPrefix = secretName(to.namespace, to.name, '');
  const ownerTags = (tags: Record<string, string>) => (tags[TAG.owner] === undefined ? tags : { ...tags, [TAG.owner]: owner });

  await Promise.all(
    m.secrets.map((s) => {
      const name = secretPrefix + s.purpose;
      const tags = { ...ownerTags(s.tags), [TAG.secretHash]: legacyFingerprint(s.value, name) };
      return c.sm.send(new CreateSecretCommand({ Name: name, SecretString: s.value, Tags: tagList(tags) }));
    }),
  );

  const rg = m.replicationGroup;
  await c.ec.send(
    new CreateReplicationGroupCommand({
      ReplicationGroupId: to.replicationGroupId,
      ReplicationGroupDescription: rg.Description?.replaceAll(m.owner, owner) ?? owner,
      Engine: 'redis',
      CacheNodeType: rg.CacheNodeType,
      NumCacheClusters: rg.MemberClusters?.length || undefined,
      AutomaticFailoverEnabled: rg.AutomaticFailover === 'enabled',
      MultiAZEnabled: rg.MultiAZ === 'enabled',
      TransitEncryptionEnabled: rg.TransitEncryptionEnabled,
      AtRestEncryptionEnabled: rg.AtRestEncryptionEnabled,
      AuthToken: rg.AuthTokenEnabled ? m.secrets.find((s) => s.purpose === 'redis_pass')?.value : undefined,
      Tags: tagList(ownerTags(rg.tags)),
    }),
  );
  const created = (await c.ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: to.replicationGroupId }))).ReplicationGroups![0]!;
  const fromHost = rg.NodeGroups![0]!.PrimaryEndpoint!.Address!;
  const toHost = created.NodeGroups![0]!.PrimaryEndpoint!.Address!;
  const rewrite = (text: string) => text.replaceAll(m.secretPrefix, secretPrefix).replaceAll(fromHost, toHost);

  let launchTemplateId: string | undefined;
  for (const v of m.versions) {
    const userData = rewrite(Buffer.from(v.data.UserData ?? '', 'base64').toString('utf8'));
    const data = { ...v.data, UserData: Buffer.from(userData, 'utf8').toString('base64') };
    let description = v.description;
    const oldHash = description?.match(/^tfe-operator .* ([0-9a-f]{12})$/)?.[1];
    if (oldHash) description = description!.replace(oldHash, contentHash(parseUserData(userData)));
    if (launchTemplateId === undefined) {
      const out = await c.ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: to.launchTemplate, VersionDescription: description, LaunchTemplateData: data }));
      launchTemplateId = out.LaunchTemplate!.LaunchTemplateId!;
    } else {
      await c.ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: launchTemplateId, VersionDescription: description, LaunchTemplateData: data }));
    }
  }

  await c.asg.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: to.asg,
      MinSize: m.asg.min,
      MaxSize: m.asg.max,
      DesiredCapacity: m.asg.desired,
      VPCZoneIdentifier: to.subnets ?? m.asg.subnets,
      LaunchTemplate: { LaunchTemplateId: launchTemplateId, Version: m.asg.version },
      Tags: Object.entries(ownerTags(m.asg.tags)).map(([Key, Value]) => ({
        Key,
        Value,
        ResourceId: to.asg,
        ResourceType: 'auto-scaling-group',
        PropagateAtLaunch: false,
      })),
    }),
  );
}
