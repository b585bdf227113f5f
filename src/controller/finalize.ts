// Deletion. Retain (default): every AWS resource and the running TFE stay as they are.
// Delete: remove only what the operator created (the replication group it tagged as its own,
// the Secrets Manager secrets it wrote). Never scales TFE down.

import type { TfeCluster } from '../api/types.ts';
import type { AwsClients } from '../aws/clients.ts';
import { describeReplicationGroup, deleteReplicationGroup } from '../aws/elasticache.ts';
import { deleteSecret } from '../aws/secrets.ts';
import type { Logger } from '../log.ts';
import { secretName } from '../migration/targets.ts';

export async function finalize(ctx: { aws: AwsClients; cluster: TfeCluster; log: Logger; fence: () => void }): Promise<void> {
  const { aws, cluster, log } = ctx;
  if ((cluster.spec.deletionPolicy ?? 'Retain') !== 'Delete') {
    log.info('deletionPolicy Retain: leaving the Auto Scaling Group, its instances, Redis and secrets as they are');
    return;
  }
  const ns = cluster.metadata.namespace!;
  const name = cluster.metadata.name!;
  const ec = cluster.spec.redis.elastiCache;
  if (ec) {
    const group = await describeReplicationGroup(aws, ec.replicationGroupId, `${ns}/${name}`);
    if (group?.ownedByUs) {
      ctx.fence();
      await deleteReplicationGroup(aws, group.id);
      log.info({ replicationGroupId: group.id }, 'deletionPolicy Delete: deleted the replication group the operator created');
    } else if (group) {
      log.info({ replicationGroupId: group.id }, 'deletionPolicy Delete: replication group was not created by the operator; kept');
    }
  }
  const purposes = ['enc_password', 'license', 'redis_pass', ...(cluster.spec.settings.secretSettings ?? []).map((s) => `setting-${s.setting}`)];
  for (const p of purposes) {
    ctx.fence();
    await deleteSecret(aws, secretName(ns, name, p));
  }
  log.info('deletionPolicy Delete: deleted the operator\'s Secrets Manager secrets; the Auto Scaling Group and TFE keep running');
}
