// Deletion. Retain (default): every AWS resource and the running TFE stay as they are.
// Delete: remove only what the operator created (the replication group it tagged as its own,
// the Secrets Manager secrets it wrote), and only once the Auto Scaling Group's current launch
// template version no longer uses them. Never scales TFE down.

import type { TfeCluster } from '../api/types.ts';
import type { AwsClients } from '../aws/clients.ts';
import { describeAsg } from '../aws/asg.ts';
import { describeReplicationGroup, deleteReplicationGroup } from '../aws/elasticache.ts';
import { describeLaunchTemplate, readUserData, resolveVersion } from '../aws/launchtemplates.ts';
import { deleteSecret, describeSecrets } from '../aws/secrets.ts';
import type { Logger } from '../log.ts';
import { deletionRefusal, resourcesInUse, type DeletionCandidate } from '../migration/deletion.ts';
import { TAG } from '../migration/observation.ts';
import { operatorSecretNames, secretOwnedBy } from '../migration/targets.ts';

/** done: the finalizer may go. Otherwise `refused` says what is still in use and the fix. */
export type FinalizeResult = { done: true } | { done: false; refused: string; inUse: DeletionCandidate[] };

export async function finalize(ctx: { aws: AwsClients; cluster: TfeCluster; log: Logger; fence: () => void; clusterId?: string }): Promise<FinalizeResult> {
  const { aws, cluster, log } = ctx;
  if ((cluster.spec.deletionPolicy ?? 'Retain') !== 'Delete') {
    log.info('deletionPolicy Retain: leaving the Auto Scaling Group, its instances, Redis and secrets as they are');
    return { done: true };
  }
  const ns = cluster.metadata.namespace!;
  const name = cluster.metadata.name!;
  const ec = cluster.spec.redis.elastiCache;
  const group = ec ? await describeReplicationGroup(aws, ec.replicationGroupId, `${ns}/${name}`) : undefined;
  if (group && !group.ownedByUs) log.info({ replicationGroupId: group.id }, 'deletionPolicy Delete: replication group was not created by the operator; kept');
  // One ListSecrets for all of them (src/aws/secrets.ts describeSecrets).
  const listed = new Map((await describeSecrets(aws, operatorSecretNames(cluster.spec, ns, name))).map((s) => [s.name, s]));
  const found = [...listed.values()].map((s) => ({ id: s.name, secret: s }));
  // Only this TfeCluster's own secrets (owner and cluster-id tags): one of the same name that
  // another Kubernetes cluster or tool owns is never deleted.
  const elsewhere = found.filter((s) => s.secret && !secretOwnedBy(s.secret, `${ns}/${name}`, ctx.clusterId));
  for (const s of elsewhere) log.warn({ secret: s.id, owner: s.secret?.owner, clusterId: s.secret?.clusterId }, 'deletionPolicy Delete: Secrets Manager secret is owned elsewhere (SecretOwnedElsewhere); kept');
  const secrets = found.filter((s) => s.secret && !elsewhere.includes(s)).map((s) => ({ id: s.id, arn: s.secret!.arn }));

  const candidates: DeletionCandidate[] = [
    ...(group?.ownedByUs ? [{ kind: 'ElastiCache replication group' as const, id: group.id, names: group.endpoint ? [group.endpoint] : [] }] : []),
    ...secrets.map((s) => ({ kind: 'Secrets Manager secret' as const, id: s.id, names: [s.id, ...(s.arn ? [s.arn] : [])] })),
  ];
  const refused = await refusal(aws, cluster, candidates);
  if (refused) {
    log.warn({ inUse: refused.inUse.map((c) => c.id) }, refused.refused);
    return refused;
  }

  if (group?.ownedByUs) {
    ctx.fence();
    await deleteReplicationGroup(aws, group.id);
    log.info({ replicationGroupId: group.id }, 'deletionPolicy Delete: deleted the replication group the operator created');
  }
  for (const s of secrets) {
    ctx.fence();
    await deleteSecret(aws, s.id, cluster.spec.secretsManager?.recoveryWindowInDays ?? 30);
  }
  log.info('deletionPolicy Delete: deleted the operator\'s Secrets Manager secrets; the Auto Scaling Group and TFE keep running');
  return { done: true };
}

/** The candidates the version the ASG runs ('$Latest'/'$Default' resolved) still names in its user data. */
async function refusal(aws: AwsClients, cluster: TfeCluster, candidates: DeletionCandidate[]): Promise<Extract<FinalizeResult, { done: false }> | undefined> {
  const asg = await describeAsg(aws, cluster.spec.autoScalingGroupName, false);
  if (!asg) return undefined; // no group, no node that could use them
  const lt = await describeLaunchTemplate(aws, asg.launchTemplateId ? { id: asg.launchTemplateId } : cluster.spec.launchTemplate);
  const version = resolveVersion(lt, asg.launchTemplateVersionSpec);
  if (!lt || version === undefined) return undefined;
  const inUse = resourcesInUse(await readUserData(aws, lt.id, version), candidates);
  if (inUse.length === 0) return undefined;
  const baseline = Number(asg.tags[TAG.baselineVersion]);
  return {
    done: false,
    inUse,
    refused: deletionRefusal(inUse, {
      namespace: cluster.metadata.namespace!,
      name: cluster.metadata.name!,
      asgName: asg.name,
      launchTemplateId: lt.id,
      version,
      ...(Number.isInteger(baseline) && baseline > 0 ? { baselineVersion: baseline } : {}),
    }),
  };
}
