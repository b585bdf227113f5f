// The "fdo" sandbox world: Terraform Enterprise on Docker (Flexible Deployment Options), one node in
// `external` operational mode (before Active/Active), shaped the way HashiCorp's HVD module
// hashicorp/terraform-aws-terraform-enterprise-hvd builds it on EC2. `SANDBOX_WORLD=fdo make
// sandbox-up` seeds it. Our own code and our own bash script, shaped like theirs (read, not copied):
//
//   templates/tfe_user_data.sh.tpl   the user data: IMDSv2 token and private IP; the license
//       (`--query SecretString --output text`, echoed to /etc/tfe/tfe-license.hclic), the TLS
//       certificate, key and CA bundle (base64 text in SecretString, decoded into /etc/tfe/tls)
//       and TFE_ENCRYPTION_PASSWORD read from Secrets Manager at boot; `docker login
//       images.releases.hashicorp.com --username terraform --password $TFE_LICENSE`; `docker pull`;
//       /etc/tfe/docker-compose.yaml written by a heredoc (project `tfe`, service `tfe`, the TFE_*
//       variables, /etc/tfe/tls bound to /etc/ssl/private/terraform-enterprise, ports 80/443 and
//       the admin port, 8201 only for active-active); `docker compose --file ... up --detach`
//   compute.tf   user_data_args: the database password is read from Secrets Manager by Terraform
//       at plan time (data.aws_secretsmanager_secret_version.tfe_database_password) and rendered
//       into the launch template IN CLEAR, as is the Redis password in active-active; TFE_DATABASE_USER
//       default "tfe"; TFE_OBJECT_STORAGE_TYPE s3 with the instance profile; launch template
//       "<prefix>-tfe-ec2-launch-template" (IMDSv2 required, hop limit 2); ASG "<prefix>-tfe-asg"
//       on $Latest, min 0, max 1 outside active-active, health check type ELB, grace 900 s;
//       security groups "<prefix>-tfe-ec2-allow-ingress" (443 from the load balancer; 8201 self only
//       in active-active) and "-ec2-allow-egress" (80, 443 out; 5432 to the database's group)
//   load_balancer.tf   ALB "<prefix>-tfe-alb-...", target group "<prefix>-tfe-alb-tg-443" (HTTPS,
//       /api/v1/health/readiness for tags >= 1.2, else /_health_check; matcher 200);
//       "<prefix>-tfe-lb-allow-ingress" (443 from CIDRs and from the nodes), "-lb-allow-egress"
//   iam.tf   instance role with secretsmanager:GetSecretValue on each secret the install names
//
// Where this world differs from what the module builds (each on purpose):
//   - The module gzips the user data (base64gzip); cloud-init unpacks it. The simulator runs only
//     a plain "#!" script part, so the script is stored plain.
//   - The module installs the AWS CLI and Docker when missing; the sandbox node has both (the
//     `docker` stand-in, as on an AMI with Docker preinstalled, which the module then skips).
//   - The module calls IMDS with `curl --noproxy -sS ...`, which takes "-sS" as the no-proxy list;
//     the sandbox node reaches IMDS through its proxy, so plain `curl -sS` here.
//   - The module sleeps 60 s after `docker compose up` and polls the health check on the node's
//     private IP until it answers; the sandbox node's HTTPS listener is on loopback and the
//     simulator reads the install once the script ended, so the script ends after `up`.
//   - No RDS here: the database host is an Aurora cluster endpoint name in the compose file (the
//     operator looks up RDS instances only). The bucket is a real one in moto, seeded last.
//     The ALB listener uses an IAM server certificate (no ACM in the sandbox).
//   - The TLS certificate also names localhost and 127.0.0.1 (the simulator serves on loopback).
// Kept as the module has it, although the operator will change it: the database password is in
// the launch template in clear, and every value sits unquoted in the compose file's YAML (a
// password with ": " or " #" in it would break the file; ours has neither).
//
// Secret values are distinctive sandbox strings, never real credentials.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateAutoScalingGroupCommand, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { AuthorizeSecurityGroupEgressCommand, AuthorizeSecurityGroupIngressCommand, CreateLaunchTemplateCommand, CreateSubnetCommand, CreateVpcCommand, RevokeSecurityGroupEgressCommand, type IpPermission } from '@aws-sdk/client-ec2';
import { CreateListenerCommand, CreateLoadBalancerCommand, CreateTargetGroupCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { AddRoleToInstanceProfileCommand, CreateInstanceProfileCommand, CreateRoleCommand, PutRolePolicyCommand, UploadServerCertificateCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { issueCert } from '../certs.ts';
import { FDO_IMAGE, FDO_REGISTRY, FDO_REGISTRY_USER, healthEndpoints, makeFdoLicense } from '../simulator/fdo.ts';
import { createSecurityGroup, seededHex, healthCheckGracePeriod, redisSecretData, seedBucket, seedClients, startSeeding, tagSpec } from './seeding.ts';
import type { RedisInfo, SeedContext, WorldDef, WorldInfo } from './types.ts';

export const WORLD_NAME = 'fdo';
export const WORLD_SEED = 20260421;
export const REGION = 'us-east-1';
export const NAMESPACE = 'tfe';
const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' } as const;
export const PREFIX = 'fdo';
export const HOSTNAME = 'tfe.fdo-world.example';
export const VPC_CIDR = '10.1.0.0/16';
export const SUBNET_CIDRS = ['10.1.32.0/20', '10.1.48.0/20'] as const;
export const AVAILABILITY_ZONES = [`${REGION}a`, `${REGION}b`] as const;
export const AMI_ID = 'ami-0f1d2c3b4a5968778';
export const INSTANCE_TYPE = 'm7i.xlarge';
/** The image tag the world runs: 1.2.x has the readiness endpoint and still answers /_health_check. */
export const IMAGE_TAG = '1.2.2';
export const DEFAULT_HEALTH_CHECK_GRACE_PERIOD_S = 900;

export const NAMES = {
  ec2Ingress: `${PREFIX}-tfe-ec2-allow-ingress`,
  ec2Egress: `${PREFIX}-tfe-ec2-allow-egress`,
  lbIngress: `${PREFIX}-tfe-lb-allow-ingress`,
  lbEgress: `${PREFIX}-tfe-lb-allow-egress`,
  rdsIngress: `${PREFIX}-tfe-rds-allow-ingress`,
  redisIngress: `${PREFIX}-tfe-redis-allow-ingress`,
  loadBalancer: `${PREFIX}-tfe-alb-internal`,
  targetGroup443: `${PREFIX}-tfe-alb-tg-443`,
  serverCertificate: `${PREFIX}-tfe-web`,
  role: `${PREFIX}-tfe-instance-role`,
  instanceProfile: `${PREFIX}-tfe-instance-profile`,
  secretsPolicy: `${PREFIX}-tfe-instance-role-policy`,
  operatorSecretsPolicy: `${PREFIX}-tfe-operator-secrets`,
  launchTemplate: `${PREFIX}-tfe-ec2-launch-template`,
  asg: `${PREFIX}-tfe-asg`,
} as const;

export const SECRET_NAMES = {
  license: `${PREFIX}-tfe-license`,
  encPassword: `${PREFIX}-tfe-encryption-password`,
  dbPassword: `${PREFIX}-tfe-database-password`,
  tlsCert: `${PREFIX}-tfe-tls-cert`,
  tlsKey: `${PREFIX}-tfe-tls-privkey`,
  tlsCa: `${PREFIX}-tfe-tls-ca-bundle`,
} as const;
export type SecretKey = keyof typeof SECRET_NAMES;

const hex = (label: string, bytes = 8): string => seededHex(WORLD_SEED, label, bytes);

/** YAML-plain and shell-plain on purpose: the module writes them unquoted into the compose file. */
export const SECRET_VALUES = {
  encPassword: `fdo-enc-NOT-A-REAL-SECRET-${hex('enc')}`,
  dbPassword: `fdo-db-password-NOT-A-REAL-SECRET-${hex('db')}`,
} as const;
export const LICENSE = makeFdoLicense({ license_id: 'tfe-fdo-world-0001', customer: 'FDO sandbox world (not a real license)' }, `${WORLD_NAME}:${WORLD_SEED}`);

/** The world's database in the sandbox PostgreSQL. */
export const DATABASE = { dbname: 'tfe_fdo', user: 'tfe_fdo', password: SECRET_VALUES.dbPassword };
export const DATABASE_HOST = `${PREFIX}-tfe.cluster-c1abcdefghij.${REGION}.rds.amazonaws.com:5432`;
export const S3_BUCKET = `${PREFIX}-tfe-app-data`;

// ---------------------------------------------------------------------------------------
// User data

export interface FdoUserDataParams {
  secretArns: Record<SecretKey, string>;
  imageTag: string;
  operationalMode: 'external' | 'active-active';
  /** The module renders the database password (and the Redis password) into the template in clear. */
  databasePassword: string;
  redis?: { host: string; useTls: boolean; useAuth: boolean; password: string };
  /** Variables left out (tests: a variable FDO requires). */
  omit?: readonly string[];
  /** Default images.releases.hashicorp.com. */
  registryUser?: string;
}

/** The non-secret TFE_* variables of the compose file (what a TfeCluster's settings would hold). */
export function plainVariables(p: Pick<FdoUserDataParams, 'operationalMode' | 'redis'>): Record<string, string> {
  return {
    TFE_HOSTNAME: HOSTNAME,
    TFE_OPERATIONAL_MODE: p.operationalMode,
    TFE_CAPACITY_CONCURRENCY: '10',
    TFE_HTTP_PORT: '8080',
    TFE_HTTPS_PORT: '8443',
    TFE_DATABASE_HOST: DATABASE_HOST,
    // Names of its own: the sandbox PostgreSQL holds every world's database, and the default world's user is tfe.
    TFE_DATABASE_NAME: DATABASE.dbname,
    TFE_DATABASE_USER: DATABASE.user,
    TFE_DATABASE_PARAMETERS: 'sslmode=require',
    TFE_OBJECT_STORAGE_TYPE: 's3',
    TFE_OBJECT_STORAGE_S3_BUCKET: S3_BUCKET,
    TFE_OBJECT_STORAGE_S3_REGION: REGION,
    TFE_OBJECT_STORAGE_S3_USE_INSTANCE_PROFILE: 'true',
    TFE_OBJECT_STORAGE_S3_SERVER_SIDE_ENCRYPTION: 'AES256',
    TFE_TLS_CERT_FILE: '/etc/ssl/private/terraform-enterprise/cert.pem',
    TFE_TLS_KEY_FILE: '/etc/ssl/private/terraform-enterprise/key.pem',
    TFE_TLS_CA_BUNDLE_FILE: '/etc/ssl/private/terraform-enterprise/bundle.pem',
    TFE_ADMIN_HTTPS_PORT: '9443',
  };
}

/** The launch template user data, shaped like the HVD module's tfe_user_data.sh.tpl. */
export function renderFdoUserData(p: FdoUserDataParams): string {
  const omit = new Set(p.omit ?? []);
  const v = plainVariables(p);
  const env: [string, string][] = Object.entries({
    ...v,
    TFE_LICENSE: '$TFE_LICENSE',
    TFE_LICENSE_PATH: '""',
    TFE_ENCRYPTION_PASSWORD: '$TFE_ENCRYPTION_PASSWORD',
    TFE_DATABASE_PASSWORD: p.databasePassword,
    ...(p.operationalMode === 'active-active' && p.redis
      ? {
          TFE_VAULT_CLUSTER_ADDRESS: 'https://$VM_PRIVATE_IP:8201',
          TFE_REDIS_HOST: p.redis.host,
          TFE_REDIS_USE_TLS: String(p.redis.useTls),
          TFE_REDIS_USE_AUTH: String(p.redis.useAuth),
          TFE_REDIS_PASSWORD: p.redis.password,
        }
      : {}),
  });
  const a = p.secretArns;
  const image = `${FDO_REGISTRY}/${FDO_IMAGE}:${p.imageTag}`;
  return [
    '#!/usr/bin/env bash',
    '# Terraform Enterprise on Docker, shaped like HashiCorp\'s tfe_user_data.sh.tpl',
    '# (terraform-aws-terraform-enterprise-hvd). Written by the sandbox\'s "fdo" world, not by tfe-operator.',
    'set -euo pipefail',
    '',
    'LOGFILE="/var/log/tfe-cloud-init.log"',
    'TFE_CONFIG_DIR="/etc/tfe"',
    'TFE_LICENSE_PATH="$TFE_CONFIG_DIR/tfe-license.hclic"',
    'TFE_TLS_CERTS_DIR="$TFE_CONFIG_DIR/tls"',
    `AWS_REGION="${REGION}"`,
    '',
    'log() {',
    '  echo "$(date +"%Y-%m-%d %H:%M:%S") [$1] - $2" | tee -a "$LOGFILE"',
    '}',
    '',
    'secret_string() {',
    '  aws secretsmanager get-secret-value --region "$AWS_REGION" --secret-id "$1" --query SecretString --output text',
    '}',
    '',
    'log INFO "Beginning TFE user_data script."',
    'EC2_TOKEN=$(curl -sS -X PUT "http://169.254.169.254/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 21600")',
    'VM_PRIVATE_IP=$(curl -sS -H "X-aws-ec2-metadata-token: $EC2_TOKEN" http://169.254.169.254/latest/meta-data/local-ipv4)',
    'log INFO "Detected EC2 instance private IP address is \'$VM_PRIVATE_IP\'."',
    'mkdir -p "$TFE_CONFIG_DIR" "$TFE_TLS_CERTS_DIR"',
    'command -v docker > /dev/null || { log ERROR "docker is not installed"; exit 1; }',
    '',
    'log INFO "Retrieving TFE license file..."',
    `TFE_LICENSE=$(secret_string ${a.license})`,
    'echo "$TFE_LICENSE" > "$TFE_LICENSE_PATH"',
    'for f in cert:' + a.tlsCert + ' key:' + a.tlsKey + ' bundle:' + a.tlsCa + '; do',
    '  log INFO "Retrieving TFE TLS ${f%%:*} from AWS Secrets Manager."',
    '  secret_string "${f#*:}" | base64 -d > "$TFE_TLS_CERTS_DIR/${f%%:*}.pem"',
    'done',
    `TFE_ENCRYPTION_PASSWORD=$(secret_string ${a.encPassword})`,
    '',
    `log INFO "Logging in to ${FDO_REGISTRY} and pulling ${image}."`,
    `docker login ${FDO_REGISTRY} --username ${p.registryUser ?? FDO_REGISTRY_USER} --password "$TFE_LICENSE"`,
    `docker pull ${image}`,
    '',
    'TFE_SETTINGS_PATH="$TFE_CONFIG_DIR/docker-compose.yaml"',
    'cat > "$TFE_SETTINGS_PATH" << EOF',
    '---',
    'name: tfe',
    'services:',
    '  tfe:',
    `    image: ${image}`,
    '    restart: unless-stopped',
    '    environment:',
    ...env.filter(([k]) => !omit.has(k)).map(([k, val]) => `      ${k}: ${val}`),
    '    cap_add:',
    '      - IPC_LOCK',
    '    ports:',
    '      - 80:8080',
    '      - 443:8443',
    '      - 9443:9443',
    ...(p.operationalMode === 'active-active' ? ['      - 8201:8201'] : []),
    '    volumes:',
    '      - type: bind',
    '        source: /var/run/docker.sock',
    '        target: /var/run/docker.sock',
    '      - type: bind',
    '        source: $TFE_TLS_CERTS_DIR',
    '        target: /etc/ssl/private/terraform-enterprise',
    'EOF',
    'log INFO "Starting TFE application using Docker Compose."',
    'docker compose --file "$TFE_SETTINGS_PATH" up --detach',
    'log INFO "tfe_user_data script finished successfully!"',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------
// AWS

export interface FdoWorldInfo extends WorldInfo {
  hostname: string;
  imageTag: string;
  ingressSecurityGroupId: string;
  egressSecurityGroupId: string;
  lbSecurityGroupId: string;
  redisSecurityGroupId: string;
  loadBalancerArn: string;
  targetGroupArn: string;
  roleName: string;
  instanceProfileName: string;
  secretArns: Record<SecretKey, string>;
  healthCheckGracePeriod: number;
  tls: { certFile: string; keyFile: string; caFile: string };
}

const ALL_OUT: IpPermission = { IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] };

async function seedAws(ctx: SeedContext): Promise<FdoWorldInfo> {
  const graceS = healthCheckGracePeriod(DEFAULT_HEALTH_CHECK_GRACE_PERIOD_S);
  const tls = await issueCert(ctx.ca, join(ctx.dir, WORLD_NAME), HOSTNAME, { dns: [HOSTNAME, 'localhost'], ips: ['127.0.0.1'] });
  const certPem = readFileSync(tls.certFile);
  const keyPem = readFileSync(tls.keyFile);
  const caPem = Buffer.from(ctx.ca.pem, 'utf8');
  const clients = seedClients({ endpoint: ctx.awsEndpoint, region: REGION, credentials: CREDENTIALS });
  const { ec2, asg, elb, iam, sm } = clients;
  try {
    await startSeeding(clients, ctx.awsEndpoint, WORLD_SEED, NAMES.launchTemplate, WORLD_NAME);
    const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: VPC_CIDR, TagSpecifications: [tagSpec('vpc', `${PREFIX}-vpc`)] }))).Vpc!.VpcId!;
    const subnetIds: string[] = [];
    for (const [i, az] of AVAILABILITY_ZONES.entries()) {
      const s = await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: SUBNET_CIDRS[i], AvailabilityZone: az, TagSpecifications: [tagSpec('subnet', `${PREFIX}-private-${az}`)] }));
      subnetIds.push(s.Subnet!.SubnetId!);
    }

    // --- secrets: the license as text, TLS files as base64 text (the module decodes them), the passwords
    const secretArns = {} as Record<SecretKey, string>;
    const secret = async (k: SecretKey, value: string) => {
      secretArns[k] = (await sm.send(new CreateSecretCommand({ Name: SECRET_NAMES[k], SecretString: value }))).ARN!;
    };
    await secret('license', LICENSE);
    await secret('encPassword', SECRET_VALUES.encPassword);
    await secret('dbPassword', SECRET_VALUES.dbPassword);
    await secret('tlsCert', certPem.toString('base64'));
    await secret('tlsKey', keyPem.toString('base64'));
    await secret('tlsCa', caPem.toString('base64'));
    const accountId = secretArns.license.split(':')[4]!;

    // --- security groups (compute.tf, load_balancer.tf): Terraform removes the default egress rule
    const sg = async (name: string) => {
      const id = await createSecurityGroup(ec2, vpcId, name, 'Managed by Terraform');
      await ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: id, IpPermissions: [ALL_OUT] }));
      return id;
    };
    const lbIn = await sg(NAMES.lbIngress);
    const lbOut = await sg(NAMES.lbEgress);
    const ec2In = await sg(NAMES.ec2Ingress);
    const ec2Out = await sg(NAMES.ec2Egress);
    const rdsIn = await sg(NAMES.rdsIngress);
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({
      GroupId: lbIn,
      IpPermissions: [
        { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: VPC_CIDR, Description: 'Allow TCP/443 (HTTPS) inbound to TFE load balancer from specified CIDR ranges.' }] },
        { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, UserIdGroupPairs: [{ GroupId: ec2In, Description: 'Allow TCP/443 (HTTPS) inbound to TFE load balancer from TFE EC2 instances.' }] },
      ],
    }));
    await ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: lbOut, IpPermissions: [ALL_OUT] }));
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({
      GroupId: ec2In,
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, UserIdGroupPairs: [{ GroupId: lbIn, Description: 'Allow TCP/443 (HTTPS) inbound to TFE EC2 instances from TFE load balancer.' }] }],
    }));
    await ec2.send(new AuthorizeSecurityGroupEgressCommand({
      GroupId: ec2Out,
      IpPermissions: [
        { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
        { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
        { IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, UserIdGroupPairs: [{ GroupId: rdsIn }] },
      ],
    }));
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: rdsIn, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, UserIdGroupPairs: [{ GroupId: ec2In }] }] }));

    // --- load balancer: internal ALB, HTTPS 443 to the target group on 443
    const lb = await elb.send(new CreateLoadBalancerCommand({ Name: NAMES.loadBalancer, Type: 'application', Scheme: 'internal', Subnets: subnetIds, SecurityGroups: [lbIn, lbOut] }));
    const lbArn = lb.LoadBalancers![0]!.LoadBalancerArn!;
    const certArn = (await iam.send(new UploadServerCertificateCommand({ ServerCertificateName: NAMES.serverCertificate, CertificateBody: certPem.toString('utf8'), PrivateKey: keyPem.toString('utf8'), CertificateChain: ctx.ca.pem }))).ServerCertificateMetadata!.Arn!;
    const healthPath = healthEndpoints(IMAGE_TAG).readiness ? '/api/v1/health/readiness' : '/_health_check';
    const tgArn = (await elb.send(new CreateTargetGroupCommand({ Name: NAMES.targetGroup443, Port: 443, Protocol: 'HTTPS', VpcId: vpcId, HealthCheckProtocol: 'HTTPS', HealthCheckPath: healthPath, Matcher: { HttpCode: '200' } }))).TargetGroups![0]!.TargetGroupArn!;
    await elb.send(new CreateListenerCommand({ LoadBalancerArn: lbArn, Port: 443, Protocol: 'HTTPS', SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06', Certificates: [{ CertificateArn: certArn }], DefaultActions: [{ Type: 'forward', TargetGroupArn: tgArn }] }));

    // --- IAM (iam.tf): GetSecretValue on each secret the install names
    await iam.send(new CreateRoleCommand({ RoleName: NAMES.role, AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'ec2.amazonaws.com' } }] }) }));
    await iam.send(new PutRolePolicyCommand({
      RoleName: NAMES.role,
      PolicyName: NAMES.secretsPolicy,
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: Object.values(secretArns) }] }),
    }));
    await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: NAMES.instanceProfile }));
    await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: NAMES.instanceProfile, RoleName: NAMES.role }));

    // --- launch template and ASG (compute.tf)
    const userData = renderFdoUserData({ secretArns, imageTag: IMAGE_TAG, operationalMode: 'external', databasePassword: SECRET_VALUES.dbPassword });
    const lt = await ec2.send(new CreateLaunchTemplateCommand({
      LaunchTemplateName: NAMES.launchTemplate,
      LaunchTemplateData: {
        ImageId: AMI_ID,
        InstanceType: INSTANCE_TYPE,
        UserData: Buffer.from(userData, 'utf8').toString('base64'),
        SecurityGroupIds: [ec2In, ec2Out],
        IamInstanceProfile: { Name: NAMES.instanceProfile },
        MetadataOptions: { HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 2, HttpTokens: 'required' },
        BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { Encrypted: true, VolumeType: 'gp3', VolumeSize: 50 } }],
        TagSpecifications: [tagSpec('instance', `${PREFIX}-tfe-ec2`)],
      },
    }));
    const launchTemplateId = lt.LaunchTemplate!.LaunchTemplateId!;
    await asg.send(new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: NAMES.asg,
      MinSize: 0,
      MaxSize: 1,
      DesiredCapacity: 1,
      VPCZoneIdentifier: subnetIds.join(','),
      TargetGroupARNs: [tgArn],
      HealthCheckGracePeriod: graceS,
      HealthCheckType: 'ELB',
      LaunchTemplate: { LaunchTemplateId: launchTemplateId, Version: '$Latest' },
      Tags: [{ Key: 'Name', Value: NAMES.asg, PropagateAtLaunch: false }],
    }));
    // Last, so the IDs above stay as they were: the security group the HVD module gives Redis in
    // active-active (redis.tf, "<prefix>-tfe-redis-allow-ingress": 6379 from the nodes' group;
    // the module creates it with its Redis, here it waits for the move to Active/Active), and the
    // object storage bucket (s3.tf) in moto.
    const redisIn = await sg(NAMES.redisIngress);
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({
      GroupId: redisIn,
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: 6379, ToPort: 6379, UserIdGroupPairs: [{ GroupId: ec2In, Description: 'Allow TCP/6379 (Redis) inbound from TFE EC2 instances.' }] }],
    }));
    await seedBucket({ endpoint: ctx.awsEndpoint, region: REGION, credentials: CREDENTIALS }, S3_BUCKET);
    // What docs/adoption.md asks of a person adopting an install: the nodes' role may read the
    // secrets the operator stores for them (tfe-operator/<namespace>/<name>/*).
    await iam.send(new PutRolePolicyCommand({
      RoleName: NAMES.role,
      PolicyName: NAMES.operatorSecretsPolicy,
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Sid: 'AllowTfeOperatorSecrets', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: `arn:aws:secretsmanager:${REGION}:${accountId}:secret:tfe-operator/${NAMESPACE}/tfe/*` }],
      }),
    }));
    const described = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [NAMES.asg] }));
    return {
      world: WORLD_NAME,
      seed: WORLD_SEED,
      region: REGION,
      accountId,
      vpcId,
      subnetIds,
      asgName: NAMES.asg,
      launchTemplateId,
      launchTemplateName: NAMES.launchTemplate,
      instanceIds: (described.AutoScalingGroups?.[0]?.Instances ?? []).map((i) => i.InstanceId!),
      namespace: NAMESPACE,
      hostname: HOSTNAME,
      imageTag: IMAGE_TAG,
      ingressSecurityGroupId: ec2In,
      egressSecurityGroupId: ec2Out,
      lbSecurityGroupId: lbIn,
      redisSecurityGroupId: redisIn,
      loadBalancerArn: lbArn,
      targetGroupArn: tgArn,
      roleName: NAMES.role,
      instanceProfileName: NAMES.instanceProfile,
      secretArns,
      healthCheckGracePeriod: graceS,
      tls: { certFile: tls.certFile, keyFile: tls.keyFile, caFile: ctx.ca.certFile },
    };
  } finally {
    clients.destroy();
  }
}

// ---------------------------------------------------------------------------------------
// Kubernetes: what examples/tfecluster-fdo.yaml names (names as in the other worlds)

export const KUBE_NAMES = {
  settings: 'tfe-settings', // tfe.env: the non-secret TFE_* variables; image.tag
  secrets: 'tfe-secrets', // enc_password (TFE_ENCRYPTION_PASSWORD), pg_password (TFE_DATABASE_PASSWORD)
  license: 'tfe-license', // license.hclic
  redis: 'tfe-redis',
  tls: 'tfe-tls', // tls.crt, tls.key, ca.crt
} as const;

function kubeObjects(redis: RedisInfo, info: WorldInfo): { configMaps: V1ConfigMap[]; secrets: V1Secret[] } {
  const w = info as FdoWorldInfo;
  const labels = { 'app.kubernetes.io/part-of': 'tfe-sandbox', 'tfe-sandbox/world': WORLD_NAME };
  const meta = (name: string) => ({ name, namespace: NAMESPACE, labels });
  // The Secrets opt in to every TfeCluster of the namespace (docs/security.md), as in the other worlds.
  const secretMeta = (name: string) => ({ ...meta(name), annotations: { 'tfe.operators.dev/allowed-tfeclusters': '*' } });
  const vars = plainVariables({ operationalMode: 'external' });
  return {
    configMaps: [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: meta(KUBE_NAMES.settings),
        data: { 'tfe.env': Object.entries(vars).map(([k, v]) => `${k}=${v}\n`).join(''), 'image.tag': IMAGE_TAG },
      },
    ],
    secrets: [
      { apiVersion: 'v1', kind: 'Secret', metadata: secretMeta(KUBE_NAMES.secrets), type: 'Opaque', stringData: { enc_password: SECRET_VALUES.encPassword, pg_password: SECRET_VALUES.dbPassword } },
      { apiVersion: 'v1', kind: 'Secret', metadata: secretMeta(KUBE_NAMES.license), type: 'Opaque', stringData: { 'license.hclic': LICENSE } },
      { apiVersion: 'v1', kind: 'Secret', metadata: secretMeta(KUBE_NAMES.redis), type: 'Opaque', stringData: redisSecretData(redis) },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: secretMeta(KUBE_NAMES.tls),
        type: 'kubernetes.io/tls',
        data: {
          'tls.crt': readFileSync(w.tls.certFile).toString('base64'),
          'tls.key': readFileSync(w.tls.keyFile).toString('base64'),
          'ca.crt': readFileSync(w.tls.caFile).toString('base64'),
        },
      },
    ],
  };
}

export const fdoWorld: WorldDef = {
  name: WORLD_NAME,
  database: DATABASE,
  summary: `TFE on Docker (FDO ${IMAGE_TAG}, external mode) as HashiCorp's HVD module builds it: ASG ${NAMES.asg} of 1 on $Latest behind an ALB on 443 with ELB health checks, secrets from Secrets Manager at boot, the database password in the launch template`,
  seedAws,
  kubeObjects,
};
