// What every world's seeding does before its first resource: build the backends moto creates
// on first use (EC2's default VPC draws random IDs), refuse a moto that already holds the
// world, then seed moto's random generator, so the same calls in the same order give the same
// IDs on every run.
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CreateSecurityGroupCommand, DescribeLaunchTemplatesCommand, DescribeVpcsCommand, EC2Client, type ResourceType, type TagSpecification } from '@aws-sdk/client-ec2';
import { DescribeReplicationGroupsCommand, ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { DescribeLoadBalancersCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { IAMClient, ListRolesCommand } from '@aws-sdk/client-iam';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateBucketCommand, PutBucketEncryptionCommand, S3Client, type BucketLocationConstraint } from '@aws-sdk/client-s3';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateDBInstanceCommand, RDSClient } from '@aws-sdk/client-rds';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { V1ConfigMap, V1ObjectMeta } from '@kubernetes/client-node';
import { seedMoto } from '../moto.ts';

export interface SeedClients {
  ec2: EC2Client;
  asg: AutoScalingClient;
  ec: ElastiCacheClient;
  elb: ElasticLoadBalancingV2Client;
  iam: IAMClient;
  sm: SecretsManagerClient;
  destroy(): void;
}

export function seedClients(cfg: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } }): SeedClients {
  const c = {
    ec2: new EC2Client(cfg),
    asg: new AutoScalingClient(cfg),
    ec: new ElastiCacheClient(cfg),
    elb: new ElasticLoadBalancingV2Client(cfg),
    iam: new IAMClient(cfg),
    sm: new SecretsManagerClient(cfg),
  };
  return { ...c, destroy: () => Object.values(c).forEach((x) => x.destroy()) };
}

/** Touches every backend, refuses a moto that already has `launchTemplateName`, seeds moto. */
export async function startSeeding(c: SeedClients, endpoint: string, seed: number, launchTemplateName: string, world: string): Promise<void> {
  await c.ec2.send(new DescribeVpcsCommand({}));
  await c.asg.send(new DescribeAutoScalingGroupsCommand({}));
  await c.elb.send(new DescribeLoadBalancersCommand({}));
  await c.ec.send(new DescribeReplicationGroupsCommand({}));
  await c.iam.send(new ListRolesCommand({}));
  await c.sm.send(new ListSecretsCommand({}));
  const existing = await c.ec2.send(new DescribeLaunchTemplatesCommand({}));
  if (existing.LaunchTemplates?.some((t) => t.LaunchTemplateName === launchTemplateName)) {
    throw new Error(`moto at ${endpoint} already holds the sandbox world "${world}" (launch template "${launchTemplateName}"); reset it first (resetWorld)`);
  }
  await seedMoto(endpoint, seed);
}

export function tagSpec(resourceType: ResourceType, name: string): TagSpecification {
  return { ResourceType: resourceType, Tags: [{ Key: 'Name', Value: name }] };
}

/** A security group named and tagged `name`; returns its id. */
export async function createSecurityGroup(ec2: EC2Client, vpcId: string, name: string, description: string): Promise<string> {
  const out = await ec2.send(new CreateSecurityGroupCommand({ GroupName: name, Description: description, VpcId: vpcId, TagSpecifications: [tagSpec('security-group', name)] }));
  return out.GroupId!;
}

/** The settings ConfigMap a TfeCluster names: replicated.conf and ptfe-settings.json, no secret values. */
export function settingsConfigMap(
  metadata: V1ObjectMeta,
  replicatedConf: Record<string, unknown>,
  settings: Record<string, { value: string }>,
): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata,
    data: {
      'replicated.conf': `${JSON.stringify(replicatedConf, null, 2)}\n`,
      'ptfe-settings.json': `${JSON.stringify(settings, null, 2)}\n`,
    },
  };
}

/** Secret data for the sandbox Redis: its password as `token` and `password`, its CA as `ca.crt`. */
export function redisSecretData(redis: { password: string; caFile?: string }): Record<string, string> {
  const data: Record<string, string> = { token: redis.password, password: redis.password };
  if (redis.caFile) data['ca.crt'] = readFileSync(redis.caFile, 'utf8');
  return data;
}

/**
 * The install's object storage: a real bucket in moto in `region`, default encryption SSE-KMS
 * (with `kmsKeyId`, else S3's AWS managed key). Called after every other resource of a world,
 * so the seeded IDs before it stay as they were.
 */
export async function seedBucket(cfg: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } }, bucket: string, kmsKeyId?: string): Promise<void> {
  const s3 = new S3Client({ ...cfg, forcePathStyle: true });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket, ...(cfg.region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: cfg.region as BucketLocationConstraint } }) }));
    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: bucket,
        ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', ...(kmsKeyId ? { KMSMasterKeyID: kmsKeyId } : {}) } }] },
      }),
    );
  } finally {
    s3.destroy();
  }
}

/** A customer managed KMS key (enabled); returns its ARN. */
export async function seedKmsKey(cfg: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } }, description: string): Promise<string> {
  const kms = new KMSClient(cfg);
  try {
    return (await kms.send(new CreateKeyCommand({ Description: description }))).KeyMetadata!.Arn!;
  } finally {
    kms.destroy();
  }
}

/** An RDS for PostgreSQL instance (moto: `available` at once, endpoint `<id>.aaaaaaaaaa.<region>.rds.amazonaws.com`); returns its endpoint address. */
export async function seedRdsInstance(
  cfg: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } },
  db: { id: string; user: string; password: string; dbname: string; backupRetentionDays?: number },
): Promise<string> {
  const rds = new RDSClient(cfg);
  try {
    const out = await rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: db.id,
        DBInstanceClass: 'db.m5.xlarge',
        Engine: 'postgres',
        EngineVersion: '15.4',
        AllocatedStorage: 50,
        DBName: db.dbname,
        MasterUsername: db.user,
        MasterUserPassword: db.password,
        BackupRetentionPeriod: db.backupRetentionDays ?? 31,
        StorageEncrypted: true,
        PubliclyAccessible: false,
      }),
    );
    return out.DBInstance!.Endpoint!.Address!;
  } finally {
    rds.destroy();
  }
}

/** The ASG's HealthCheckGracePeriod: SANDBOX_ELB_GRACE_S, else the module's default. */
export function healthCheckGracePeriod(defaultS: number): number {
  const raw = process.env.SANDBOX_ELB_GRACE_S;
  if (raw === undefined || raw === '') return defaultS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`SANDBOX_ELB_GRACE_S must be a whole number of seconds (0 or more), got ${JSON.stringify(raw)}`);
  return n;
}

/** Hex digits drawn from a world's seed and a label: sandbox secret values that are the same on every run. */
export function seededHex(seed: number, label: string, bytes: number): string {
  return createHash('sha256').update(`${seed}:${label}`).digest('hex').slice(0, bytes * 2);
}
