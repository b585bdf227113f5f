// ElastiCache adapter: read a replication group (with whether the operator created it) and
// create one. A create is preceded by a read in the planner, and the id is the user's, so a
// retry never makes a second group.

import {
  CreateCacheSubnetGroupCommand,
  CreateReplicationGroupCommand,
  DeleteReplicationGroupCommand,
  DescribeReplicationGroupsCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-elasticache';
import type { AwsClients } from './clients.ts';
import type { ObservedReplicationGroup } from '../migration/observation.ts';
import type { ReplicationGroupParams } from '../migration/actions.ts';
import { TAG } from '../migration/observation.ts';

export async function describeReplicationGroup(aws: AwsClients, id: string, owner: string): Promise<ObservedReplicationGroup | undefined> {
  let g;
  try {
    const out = await aws.elasticache.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: id }));
    g = out.ReplicationGroups?.[0];
  } catch (err) {
    if ((err as Error).name === 'ReplicationGroupNotFoundFault') return undefined;
    throw err;
  }
  if (!g) return undefined;
  const primary = g.NodeGroups?.[0]?.PrimaryEndpoint;
  // AWS refuses tagging calls (InvalidReplicationGroupState) unless the group is "available":
  // while it is creating (10 to 20 minutes), modifying or snapshotting, its owner is unknown.
  let ownedByUs: boolean | undefined;
  if (g.ARN && g.Status === 'available') {
    const tags = await aws.elasticache.send(new ListTagsForResourceCommand({ ResourceName: g.ARN }));
    ownedByUs = (tags.TagList ?? []).some((t) => t.Key === TAG.owner && t.Value === owner);
  }
  return {
    id: g.ReplicationGroupId!,
    status: g.Status ?? 'unknown',
    endpoint: primary?.Address,
    port: primary?.Port,
    clusterEnabled: g.ClusterEnabled === true || !!g.ConfigurationEndpoint,
    transitEncryption: !!g.TransitEncryptionEnabled,
    atRestEncryption: !!g.AtRestEncryptionEnabled,
    authTokenEnabled: !!g.AuthTokenEnabled,
    ownedByUs,
  };
}

export async function createReplicationGroup(aws: AwsClients, p: ReplicationGroupParams, authToken: string | undefined) {
  let subnetGroup = p.subnetGroupName;
  if (!subnetGroup && p.subnetIds?.length) {
    // spec.redis.elastiCache.subnetIds: the operator makes a cache subnet group named after the group.
    subnetGroup = p.id;
    try {
      await aws.elasticache.send(
        new CreateCacheSubnetGroupCommand({
          CacheSubnetGroupName: subnetGroup,
          CacheSubnetGroupDescription: p.description,
          SubnetIds: p.subnetIds,
          Tags: Object.entries(p.tags).map(([Key, Value]) => ({ Key, Value })),
        }),
      );
    } catch (err) {
      if ((err as Error).name !== 'CacheSubnetGroupAlreadyExistsFault') throw err;
    }
  }
  try {
    await aws.elasticache.send(
      new CreateReplicationGroupCommand({
        ReplicationGroupId: p.id,
        ReplicationGroupDescription: p.description,
        Engine: 'redis',
        EngineVersion: p.engineVersion,
        CacheNodeType: p.nodeType,
        Port: p.port,
        CacheSubnetGroupName: subnetGroup,
        SecurityGroupIds: p.securityGroupIds,
        MultiAZEnabled: p.multiAz,
        AutomaticFailoverEnabled: p.automaticFailover,
        NumNodeGroups: 1,
        ReplicasPerNodeGroup: p.replicasPerNodeGroup,
        PreferredCacheClusterAZs: p.preferredAvailabilityZones,
        TransitEncryptionEnabled: p.transitEncryption,
        AtRestEncryptionEnabled: p.atRestEncryption,
        AuthToken: authToken,
        Tags: Object.entries(p.tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
  } catch (err) {
    // CreateReplicationGroup has no idempotency token: when the answer to a call that was
    // carried out is lost, the SDK's retry finds the group already there. The planner only
    // asks for a group it did not see, and the next observation says whose it is and how it
    // is set up; so this counts as done rather than as a failed reconcile.
    if ((err as Error).name !== 'ReplicationGroupAlreadyExistsFault') throw err;
  }
}

export async function deleteReplicationGroup(aws: AwsClients, id: string) {
  await aws.elasticache.send(new DeleteReplicationGroupCommand({ ReplicationGroupId: id }));
}
