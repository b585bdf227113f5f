// The install's RDS instance, found by its endpoint address (pg_netloc's host): the first label
// of an RDS instance endpoint is the instance identifier, so one DescribeDBInstances call finds it.

import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import type { AwsClients } from './clients.ts';
import type { ObservedDbInstance } from '../migration/observation.ts';

/** An RDS instance endpoint: `<id>.<random>.<region>.rds.amazonaws.com` (cluster endpoints have `cluster-` in the second label). */
export function rdsInstanceId(host: string): string | undefined {
  const m = /^([a-z][a-z0-9-]*)\.(?!cluster-)[a-z0-9]+\.[a-z0-9-]+\.rds\.amazonaws\.com\.?$/i.exec(host);
  return m?.[1]?.toLowerCase();
}

export async function findDbInstance(aws: AwsClients, host: string): Promise<ObservedDbInstance | undefined> {
  const id = rdsInstanceId(host);
  if (!id) return undefined;
  try {
    const res = await aws.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
    const db = res.DBInstances?.find((d) => d.Endpoint?.Address?.toLowerCase() === host.toLowerCase().replace(/\.$/, ''));
    if (!db) return { host, found: false };
    return {
      host,
      found: true,
      id: db.DBInstanceIdentifier ?? id,
      status: db.DBInstanceStatus ?? 'unknown',
      backupRetentionDays: db.BackupRetentionPeriod ?? 0,
      engine: db.Engine,
    };
  } catch (err) {
    if ((err as Error).name === 'DBInstanceNotFoundFault' || (err as Error).name === 'DBInstanceNotFound') return { host, found: false };
    throw err;
  }
}
