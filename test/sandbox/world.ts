// The pre-migration world of the sandbox: a standalone Terraform Enterprise install in
// External Services mode, one node in an Auto Scaling Group, as a platform team has it
// before the TfeCluster is applied. AWS side in moto (seeded: the same IDs on every run,
// so examples/tfecluster.yaml can name them), Kubernetes side in namespace `tfe`.
//
// Secret values here are distinctive sandbox strings, never real credentials; tests grep
// logs, Events and user data for them to prove that no secret leaks.
import { ANNOTATION_ALLOWED_TFECLUSTERS } from '../../src/security/secret-access.ts';
import { CreateAutoScalingGroupCommand, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateLaunchTemplateCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
} from '@aws-sdk/client-ec2';
import { CreateCacheSubnetGroupCommand } from '@aws-sdk/client-elasticache';
import { AddRoleToInstanceProfileCommand, CreateInstanceProfileCommand, CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions, type V1ConfigMap, type V1Secret } from '@kubernetes/client-node';
import { renderUserData, type NodeInstall } from '../../src/tfe/userdata.ts';
import { resetMoto } from './moto.ts';
import { redisSecretData, seedBucket, seedClients, seedKmsKey, settingsConfigMap, startSeeding, tagSpec } from './worlds/seeding.ts';
import { makeLicense } from './simulator/license.ts';

export const WORLD_SEED = 20210107; // v202101-1's month: any fixed number works
export const REGION = 'us-east-1';
export const NAMESPACE = 'tfe';
export const ASG_NAME = 'tfe';
export const LAUNCH_TEMPLATE_NAME = 'tfe';
export const CACHE_SUBNET_GROUP = 'tfe-redis';
export const AMI_ID = 'ami-0a1b2c3d4e5f60718'; // moto does not validate AMIs by default
export const INSTANCE_TYPE = 'm5.xlarge';
export const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' } as const;

/** Sandbox-only secret values: distinctive so a leak is easy to grep for, obviously not real. */
export const SECRET_VALUES = {
  encPassword: 'sandbox-enc-password-NOT-A-REAL-SECRET-5d8e1f',
  pgPassword: 'sandbox-pg-password-NOT-A-REAL-SECRET-a41c07',
} as const;

/**
 * The license: binary, as a real .rli is (test/sandbox/simulator/license.ts), so a node that
 * gets it one byte off (a newline from `aws --output text`, a UTF-8 round trip) refuses it.
 */
export const LICENSE = makeLicense({ license_id: 'tfe-sandbox-0001', customer: 'sandbox (not a real license)', seats: 'unlimited' }, 'default-world');

/** The nodes' instance profile: its role may read the world's secrets and the operator's. */
export const NODE_ROLE = 'tfe-node';

/** Secrets Manager secret ids the baseline user data points at. */
export const SECRET_IDS = {
  license: 'tfe/license',
  encPassword: 'tfe/enc_password',
  pgPassword: 'tfe/pg_password',
} as const;

/** /etc/replicated.conf of the baseline install (no secret in it). */
export const BASE_REPLICATED_CONF: Record<string, unknown> = {
  DaemonAuthenticationType: 'anonymous',
  TlsBootstrapType: 'self-signed',
  TlsBootstrapHostname: 'tfe.sandbox.example',
  BypassPreflightChecks: true,
  ImportSettingsFrom: '/etc/ptfe-settings.json',
  LicenseFileLocation: '/etc/tfe-license.rli',
  ReleaseSequence: 528, // v202104-1, the operator's minimum: the default migration is not also an upgrade
};

/** /etc/ptfe-settings.json of the baseline install, WITHOUT secret values (External Services, no Redis keys). */
export const BASE_SETTINGS: Record<string, { value: string }> = {
  hostname: { value: 'tfe.sandbox.example' },
  installation_type: { value: 'production' },
  production_type: { value: 'external' },
  pg_dbname: { value: 'tfe' },
  pg_netloc: { value: 'tfe-postgres.sandbox.internal:5432' }, // a private zone name: the sandbox PostgreSQL (simulator, operator tests' TFE_OPERATOR_CONNECT_TO)
  pg_user: { value: 'tfe' },
  pg_extra_params: { value: 'sslmode=require' },
  placement: { value: 'placement_s3' },
  s3_bucket: { value: 'tfe-sandbox-objects' },
  s3_region: { value: REGION },
  s3_sse: { value: 'aws:kms' },
  aws_instance_profile: { value: '1' },
  capacity_concurrency: { value: '10' },
};

export const BASE_INSTALL_ARGS = ['no-proxy'];

/** The baseline node install, exactly what launch template `tfe` version 1 says. */
export const BASE_INSTALL: NodeInstall = {
  replicatedConf: BASE_REPLICATED_CONF,
  settings: BASE_SETTINGS,
  secretSettings: { enc_password: SECRET_IDS.encPassword, pg_password: SECRET_IDS.pgPassword },
  licenseSecretId: SECRET_IDS.license,
  installArgs: BASE_INSTALL_ARGS,
  files: [],
};

export interface WorldContext {
  awsEndpoint: string;
  kubeconfigPath: string;
  redis: { host: string; port: number; password: string; caFile?: string };
  /** TFE node simulator; resetWorld resets it too when given. */
  simUrl?: string;
}

export interface AwsWorld {
  seed: number;
  region: string;
  accountId: string;
  vpcId: string;
  subnetIds: [string, string];
  availabilityZones: [string, string];
  nodeSecurityGroupId: string; // tfe-nodes
  redisSecurityGroupId: string; // tfe-redis
  cacheSubnetGroupName: string;
  launchTemplateId: string;
  launchTemplateName: string;
  launchTemplateVersion: number;
  asgName: string;
  instanceIds: string[];
  secretArns: { license: string; encPassword: string; pgPassword: string };
  secretIds: typeof SECRET_IDS;
  instanceProfileArn: string;
  /** The settings' s3_bucket and the KMS key of its default encryption. */
  bucket: { name: string; kmsKeyArn: string };
}

export interface World extends AwsWorld {
  namespace: string;
  configMapName: string;
  secretNames: { settings: string; license: string; redis: string };
}

export function awsClientConfig(endpoint: string) {
  return { endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 2 };
}

/** The AWS half: VPC, subnets, security groups, subnet group, secrets, launch template v1, ASG. */
export async function seedAws(awsEndpoint: string): Promise<AwsWorld> {
  const clients = seedClients(awsClientConfig(awsEndpoint));
  const { ec2, asg, ec, sm, iam } = clients;
  try {
    await startSeeding(clients, awsEndpoint, WORLD_SEED, LAUNCH_TEMPLATE_NAME, 'default');

    // Every call below runs one after another: the seeded IDs depend on the order.
    const vpc = await ec2.send(
      new CreateVpcCommand({ CidrBlock: '10.0.0.0/16', TagSpecifications: [tagSpec('vpc', 'tfe')] }),
    );
    const vpcId = vpc.Vpc!.VpcId!;
    const azs: [string, string] = [`${REGION}a`, `${REGION}b`];
    const subnetIds: string[] = [];
    for (const [i, az] of azs.entries()) {
      const s = await ec2.send(
        new CreateSubnetCommand({
          VpcId: vpcId,
          CidrBlock: `10.0.${i + 1}.0/24`,
          AvailabilityZone: az,
          TagSpecifications: [tagSpec('subnet', `tfe-private-${az}`)],
        }),
      );
      subnetIds.push(s.Subnet!.SubnetId!);
    }

    const nodes = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: 'tfe-nodes',
        Description: 'Terraform Enterprise nodes',
        VpcId: vpcId,
        TagSpecifications: [tagSpec('security-group', 'tfe-nodes')],
      }),
    );
    const nodeSg = nodes.GroupId!;
    const redis = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: 'tfe-redis',
        Description: 'Redis for Terraform Enterprise',
        VpcId: vpcId,
        TagSpecifications: [tagSpec('security-group', 'tfe-redis')],
      }),
    );
    const redisSg = redis.GroupId!;
    // tfe-nodes: HTTPS in (load balancer / users), Vault HA 8201 between nodes; no 8800.
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: nodeSg,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'HTTPS' }] },
          { IpProtocol: 'tcp', FromPort: 8201, ToPort: 8201, UserIdGroupPairs: [{ GroupId: nodeSg, Description: 'Vault HA between TFE nodes' }] },
        ],
      }),
    );
    // tfe-redis: the Redis port from the TFE nodes.
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: redisSg,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 6379, ToPort: 6379, UserIdGroupPairs: [{ GroupId: nodeSg, Description: 'Redis from TFE nodes' }] },
        ],
      }),
    );

    await ec.send(
      new CreateCacheSubnetGroupCommand({
        CacheSubnetGroupName: CACHE_SUBNET_GROUP,
        CacheSubnetGroupDescription: 'Redis for Terraform Enterprise',
        SubnetIds: subnetIds,
      }),
    );

    const license = await sm.send(new CreateSecretCommand({ Name: SECRET_IDS.license, SecretBinary: LICENSE }));
    const enc = await sm.send(new CreateSecretCommand({ Name: SECRET_IDS.encPassword, SecretString: SECRET_VALUES.encPassword }));
    const pg = await sm.send(new CreateSecretCommand({ Name: SECRET_IDS.pgPassword, SecretString: SECRET_VALUES.pgPassword }));

    // The nodes' instance profile (created after every resource above, so their seeded IDs
    // stay as they were): GetSecretValue on the world's secrets and on the operator's
    // (tfe-operator/<namespace>/<name>/..., any namespace: tests migrate TfeClusters of other
    // namespaces onto this group), nothing else.
    const arnPrefix = `arn:aws:secretsmanager:${REGION}:${license.ARN!.split(':')[4]}:secret:`;
    await iam.send(
      new CreateRoleCommand({
        RoleName: NODE_ROLE,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        }),
      }),
    );
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: NODE_ROLE,
        PolicyName: 'tfe-node-secrets',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: 'secretsmanager:GetSecretValue',
              Resource: [`${arnPrefix}tfe/*`, `${arnPrefix}tfe-operator/*`],
            },
          ],
        }),
      }),
    );
    const profile = await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: NODE_ROLE }));
    await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: NODE_ROLE, RoleName: NODE_ROLE }));
    const instanceProfileArn = profile.InstanceProfile!.Arn!;

    const lt = await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: LAUNCH_TEMPLATE_NAME,
        VersionDescription: 'standalone external-services install',
        LaunchTemplateData: {
          IamInstanceProfile: { Arn: instanceProfileArn },
          ImageId: AMI_ID,
          InstanceType: INSTANCE_TYPE,
          SecurityGroupIds: [nodeSg],
          UserData: Buffer.from(renderUserData(BASE_INSTALL), 'utf8').toString('base64'),
          TagSpecifications: [tagSpec('instance', 'tfe')],
        },
      }),
    );
    const launchTemplateId = lt.LaunchTemplate!.LaunchTemplateId!;

    await asg.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: ASG_NAME,
        MinSize: 1,
        MaxSize: 1,
        DesiredCapacity: 1,
        VPCZoneIdentifier: subnetIds.join(','),
        LaunchTemplate: { LaunchTemplateId: launchTemplateId, Version: '1' },
        HealthCheckType: 'EC2',
        HealthCheckGracePeriod: 300,
        Tags: [{ Key: 'Name', Value: 'tfe', PropagateAtLaunch: true }],
      }),
    );
    const described = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [ASG_NAME] }));
    const instanceIds = (described.AutoScalingGroups?.[0]?.Instances ?? []).map((i) => i.InstanceId!);
    const accountId = license.ARN!.split(':')[4]!;
    // Object storage last (the IDs above stay as they were): the settings' bucket in s3_region,
    // encrypted by default with a customer managed KMS key (s3_sse aws:kms).
    const bucketKeyArn = await seedKmsKey(awsClientConfig(awsEndpoint), 'tfe-sandbox-objects default encryption');
    await seedBucket(awsClientConfig(awsEndpoint), BASE_SETTINGS.s3_bucket!.value, bucketKeyArn);

    return {
      seed: WORLD_SEED,
      region: REGION,
      accountId,
      vpcId,
      subnetIds: [subnetIds[0]!, subnetIds[1]!],
      availabilityZones: azs,
      nodeSecurityGroupId: nodeSg,
      redisSecurityGroupId: redisSg,
      cacheSubnetGroupName: CACHE_SUBNET_GROUP,
      launchTemplateId,
      launchTemplateName: LAUNCH_TEMPLATE_NAME,
      launchTemplateVersion: 1,
      asgName: ASG_NAME,
      instanceIds,
      secretArns: { license: license.ARN!, encPassword: enc.ARN!, pgPassword: pg.ARN! },
      secretIds: SECRET_IDS,
      instanceProfileArn,
      bucket: { name: BASE_SETTINGS.s3_bucket!.value, kmsKeyArn: bucketKeyArn },
    };
  } finally {
    clients.destroy();
  }
}

// ---------------------------------------------------------------------------------------
// Kubernetes

const TFE_GROUP = 'tfe.operators.dev';
const TFE_VERSION = 'v1alpha1';
const TFE_PLURAL = 'tfeclusters';

function kubeApis(kubeconfigPath: string): { core: CoreV1Api; custom: CustomObjectsApi } {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return { core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi) };
}

function statusOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown };
  return typeof e?.code === 'number' ? e.code : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
}

/** The Kubernetes objects of the world (namespace tfe): settings ConfigMap and Secrets. */
export function kubeObjects(redis: WorldContext['redis']): { configMaps: V1ConfigMap[]; secrets: V1Secret[] } {
  const labels = { 'app.kubernetes.io/part-of': 'tfe-sandbox' };
  const meta = (name: string) => ({ name, namespace: NAMESPACE, labels });
  // Secrets opt in (docs/security.md): every TfeCluster in the namespace may use these.
  const secretMeta = (name: string) => ({ ...meta(name), annotations: { [ANNOTATION_ALLOWED_TFECLUSTERS]: '*' } });
  const redisData = redisSecretData(redis);
  return {
    configMaps: [settingsConfigMap(meta('tfe-settings'), BASE_REPLICATED_CONF, BASE_SETTINGS)],
    secrets: [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: secretMeta('tfe-secrets'),
        type: 'Opaque',
        stringData: { enc_password: SECRET_VALUES.encPassword, pg_password: SECRET_VALUES.pgPassword },
      },
      { apiVersion: 'v1', kind: 'Secret', metadata: secretMeta('tfe-license'), type: 'Opaque', data: { 'license.rli': LICENSE.toString('base64') } },
      { apiVersion: 'v1', kind: 'Secret', metadata: secretMeta('tfe-redis'), type: 'Opaque', stringData: redisData },
    ],
  };
}

/** Creates namespace tfe (if missing) and creates or replaces the world's objects in it. */
export async function seedKube(kubeconfigPath: string, redis: WorldContext['redis']): Promise<void> {
  await applyKubeObjects(kubeconfigPath, kubeObjects(redis));
}

/** Creates namespace tfe (if missing) and creates or replaces these objects in it (any world's). */
export async function applyKubeObjects(kubeconfigPath: string, { configMaps, secrets }: { configMaps: V1ConfigMap[]; secrets: V1Secret[] }): Promise<void> {
  const { core } = kubeApis(kubeconfigPath);
  try {
    await core.createNamespace({ body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } } });
  } catch (err) {
    if (statusOf(err) !== 409) throw err;
  }
  for (const body of configMaps) {
    const name = body.metadata!.name!;
    try {
      await core.createNamespacedConfigMap({ namespace: NAMESPACE, body });
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
      await core.replaceNamespacedConfigMap({ name, namespace: NAMESPACE, body });
    }
  }
  for (const body of secrets) {
    const name = body.metadata!.name!;
    try {
      await core.createNamespacedSecret({ namespace: NAMESPACE, body });
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
      await core.replaceNamespacedSecret({ name, namespace: NAMESPACE, body });
    }
  }
}

/**
 * Empties namespace tfe: TfeClusters (finalizers removed first, so nothing waits for an
 * operator), ConfigMaps, Secrets and Events. The namespace itself stays: the sandbox has no
 * kube-controller-manager, so a deleted namespace would stay Terminating for good.
 */
export async function clearKube(kubeconfigPath: string, timeoutMs = 30_000): Promise<void> {
  const { core, custom } = kubeApis(kubeconfigPath);
  try {
    await core.readNamespace({ name: NAMESPACE });
  } catch (err) {
    if (statusOf(err) === 404) return;
    throw err;
  }
  const crd = { group: TFE_GROUP, version: TFE_VERSION, namespace: NAMESPACE, plural: TFE_PLURAL };
  const listClusters = async (): Promise<Array<{ metadata: { name: string; finalizers?: string[] } }>> => {
    try {
      const list = (await custom.listNamespacedCustomObject(crd)) as { items?: Array<{ metadata: { name: string; finalizers?: string[] } }> };
      return list.items ?? [];
    } catch (err) {
      if (statusOf(err) === 404) return []; // CRD not installed
      throw err;
    }
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const clusters = await listClusters();
    if (clusters.length === 0) break;
    if (Date.now() > deadline) {
      throw new Error(`clearKube: TfeClusters still present in ${NAMESPACE} after ${timeoutMs} ms: ${clusters.map((c) => c.metadata.name).join(', ')}`);
    }
    for (const c of clusters) {
      const name = c.metadata.name;
      try {
        if (c.metadata.finalizers?.length) {
          await custom.patchNamespacedCustomObject(
            { ...crd, name, body: { metadata: { finalizers: null } } },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          );
        }
        await custom.deleteNamespacedCustomObject({ ...crd, name });
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await core.deleteCollectionNamespacedConfigMap({ namespace: NAMESPACE });
  await core.deleteCollectionNamespacedSecret({ namespace: NAMESPACE });
  await core.deleteCollectionNamespacedEvent({ namespace: NAMESPACE });
}

// ---------------------------------------------------------------------------------------
// The whole world

/** Seeds a fresh moto and namespace tfe. Fails if moto already holds the world (use resetWorld). */
export async function seedWorld(ctx: WorldContext): Promise<World> {
  const aws = await seedAws(ctx.awsEndpoint);
  await seedKube(ctx.kubeconfigPath, ctx.redis);
  return {
    ...aws,
    namespace: NAMESPACE,
    configMapName: 'tfe-settings',
    secretNames: { settings: 'tfe-secrets', license: 'tfe-license', redis: 'tfe-redis' },
  };
}

/**
 * Back to the pre-migration world: TfeClusters gone, moto reset and reseeded, namespace tfe
 * refilled, simulator reset, and (as after sandbox-up) the seeded node booted and serving.
 */
export async function resetWorld(ctx: WorldContext): Promise<World> {
  await clearKube(ctx.kubeconfigPath);
  await resetMoto(ctx.awsEndpoint);
  const world = await seedWorld(ctx);
  if (ctx.simUrl) await resetSimulator(ctx.simUrl);
  return world;
}

/** Forgets the simulator's nodes, then waits until a node of the new world serves (it boots from its user data). */
export async function resetSimulator(simUrl: string, timeoutMs = 90_000): Promise<void> {
  const res = await fetch(`${simUrl}/sim/reset`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`POST ${simUrl}/sim/reset answered HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lb = await fetch(`${simUrl}/_health_check`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
    if (lb?.ok) return;
    if (Date.now() > deadline) {
      const state = await fetch(`${simUrl}/sim/state`).then((r) => r.json() as Promise<{ nodes: Array<{ id: string; state: string; reason: string }> }>, () => ({ nodes: [] }));
      throw new Error(`the seeded node did not turn healthy within ${timeoutMs} ms after the reset: ${state.nodes.map((n) => `${n.id} ${n.state}: ${n.reason}`).join('; ') || 'no node'}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
