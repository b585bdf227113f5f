// The "hashicorp" sandbox world: a Terraform Enterprise (Replicated, External Services) install
// shaped the way HashiCorp's Terraform modules build one on AWS, before any TfeCluster exists.
// `SANDBOX_WORLD=hashicorp make sandbox-up` seeds it. Our own code and our own bash script,
// shaped like theirs (read, not copied). Where each shape comes from:
//
//   hashicorp/terraform-random-tfe-utility
//     modules/tfe_init_replicated/templates/tfe_replicated.sh.tpl   the user data: settings and
//         replicated.conf embedded base64 and decoded to /etc; TLS cert/key and the license read
//         from Secrets Manager and base64-decoded to the paths replicated.conf names; install.sh
//         run with fast-timeouts bypass-firewalld-warning no-proxy private-address public-address
//         (disable-replicated-ui only when enable_active_active is "1"), output tee'd to
//         /var/log/ptfe.log
//     modules/tfe_init_replicated/templates/get_base64_secrets.func   `aws secretsmanager
//         get-secret-value` piped to jq '.SecretBinary,.SecretString | select(. != null)', then
//         base64 -d: license, cert and key are SecretBinary (or base64 text in SecretString)
//     modules/tfe_init_replicated/main.tf                             what the template is fed
//     modules/settings/replicated_config.tf   replicated.conf keys: BypassPreflightChecks,
//         DaemonAuthenticationType "password" + a random DaemonAuthenticationPassword,
//         ImportSettingsFrom /etc/ptfe-settings.json, LicenseFileLocation, TlsBootstrapHostname,
//         TlsBootstrapCert/Key, TlsBootstrapType "server-path" when a cert path is set,
//         ReleaseSequence
//     modules/settings/tfe_base_config.tf, tfe_base_external_config.tf, tfe_external_aws_config.tf,
//         tfe_redis_config.tf, main.tf   ptfe-settings keys (null and "" dropped, keys sorted as
//         jsonencode sorts them); enable_active_active "0" in External Services mode; random
//         archivist_token, cookie_hash, enc_password, install_id, internal_api_token,
//         registry_session_*, root_secret, user_token; redis_* only for active-active
//   hashicorp/terraform-aws-terraform-enterprise
//     main.tf, locals.tf, variables.tf   module wiring and defaults: fqdn = tfe_subdomain.domain_name,
//         LicenseFileLocation /etc/terraform-enterprise.rli, TLS paths
//         /var/lib/terraform-enterprise/{certificate,key}.pem, db_name/db_username "hashicorp",
//         private subnets 10.0.32.0/20 + 10.0.48.0/20 in 10.0.0.0/16, m5.xlarge, extra_no_proxy
//         list, trusted_proxies = the private subnet CIDRs, health_check_type "ELB"
//     modules/vm/main.tf, modules/vm/locals.tf   node security group "<prefix>-tfe-ec2-sg": 443
//         and 8800 from the load balancer's group, all protocols from itself (self), all out;
//         8201 only for active-active; launch template (name_prefix, IMDSv2 required with hop
//         limit 2, instance profile, encrypted 50 GiB gp2 root); ASG "<prefix>-tfe-asg" on
//         "$Latest", min = max = desired = node_count, target groups 8800 + 443 for a standalone
//         Replicated install, health_check_type ELB, grace period 900 s (default Ubuntu AMI)
//     modules/application_load_balancer/main.tf   "<prefix>-tfe-lb-allow" (80, 443 from anywhere,
//         8800 from admin_dashboard_ingress_ranges) + "<prefix>-tfe-outbound-allow"; internal ALB
//         "<prefix>-tfe-web-alb"; listeners 80 (301 to HTTPS), 443 and 8800 (HTTPS,
//         ELBSecurityPolicy-2016-08); target groups "<prefix>-tfe-alb-tg-443" (HTTPS,
//         /_health_check, 200-399) and "-tg-8800" (HTTPS, /, 200-399)
//     modules/service_accounts/main.tf, locals.tf   role + instance profile (name_prefix), ec2
//         trust; inline "<prefix>-tfe-secretsmanager" (secretsmanager:GetSecretValue on the
//         secret ARNs the install names, nothing else), inline "<prefix>-tfe-asg-discovery"
//         (autoscaling:Describe*), managed "<prefix>-key" (KMS on the module's key)
//     modules/redis/main.tf   Redis security group "<prefix>-tfe-redis" (the Redis port from the
//         node group AND from the private subnet CIDRs; egress to both), subnet group
//         "<prefix>-tfe-redis"; port 6380 with in-transit encryption, else 6379
//     fixtures/secrets/main.tf, examples/standalone-aurora/main.tf   license stored as
//         secret_binary (the raw .rli bytes), certificate and key as secret_binary (PEM bytes);
//         a standalone external install: node_count 1, bypass_preflight_checks true
//
// Where this world differs from what the modules build (each on purpose):
//   - No secret value in the launch template user data (our product rule). The module embeds
//     enc_password, pg_password, the random install tokens and DaemonAuthenticationPassword in
//     the base64 settings; here they live in Secrets Manager and the script adds them at boot:
//     enc_password and pg_password one secret each, the seven install tokens as one JSON secret
//     (the module makes them together and they never change apart), the console password one
//     secret. install_id stays a plain setting (an id, not a secret). Because the settings file
//     then holds secrets, the script makes it and replicated.conf 0600.
//   - The module's script installs jq and the AWS CLI v2 (/usr/local/bin/aws) and calls curl with
//     --noproxy '*'; the sandbox node already has jq and AWS CLI v1 on PATH, and reaches the
//     metadata service and the installer download through its http_proxy, so neither is done.
//   - The installer: the module downloads https://get.replicated.com/docker/terraformenterprise/
//     active-active to /etc/replicated/install.sh and takes the address from `hostname -i`; here
//     https://install.terraform.io/ptfe/stable to /tmp/install.sh (the sandbox's installer
//     stand-in) and the private IP from the instance metadata service (IMDSv2), with the region
//     for `aws --region` from there too.
//   - The module passes the ALB an ACM certificate; the sandbox has no ACM client, so the
//     listeners use an IAM server certificate (ALBs accept those too) made from the same cert.
//   - The module's TLS certificate is for the fqdn only; ours also names localhost and 127.0.0.1
//     so the simulator can serve it on loopback.
//   - Nothing is created for RDS, S3 or KMS (no clients here): pg_netloc, s3_bucket and the KMS
//     key ARN are strings in the settings and the KMS policy.
//   - The module creates the Redis security group and subnet group only for active-active; this
//     pre-migration world has them already (shaped as the module makes them, port 6380 for TLS),
//     so a TfeCluster has something to point at.
//   - ReleaseSequence is pinned (504); the module leaves it out unless release_sequence is set.
//   - The admin API port (FDO, added to the module in 2025) is not part of a Replicated install
//     and is left out, as the module before that change did.
//
// Secret values here are distinctive sandbox strings, never real credentials; tests grep logs,
// Events and user data for them to prove that no secret leaks.

import { ANNOTATION_ALLOWED_TFECLUSTERS } from '../../../src/security/secret-access.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateAutoScalingGroupCommand, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateLaunchTemplateCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  RevokeSecurityGroupEgressCommand,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import { CreateListenerCommand, CreateLoadBalancerCommand, CreateTargetGroupCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateCacheSubnetGroupCommand } from '@aws-sdk/client-elasticache';
import {
  AddRoleToInstanceProfileCommand,
  AttachRolePolicyCommand,
  CreateInstanceProfileCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  PutRolePolicyCommand,
  UploadServerCertificateCommand,
} from '@aws-sdk/client-iam';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { createSecurityGroup, seededHex, healthCheckGracePeriod, redisSecretData, seedBucket, seedClients, seedRdsInstance, settingsConfigMap, startSeeding, tagSpec } from './seeding.ts';
import { issueCert } from '../certs.ts';

import { makeLicense } from '../simulator/license.ts';
import type { RedisInfo, SeedContext, WorldDef, WorldInfo } from './types.ts';

// ---------------------------------------------------------------------------------------
// Names and values

export const WORLD_NAME = 'hashicorp';
export const WORLD_SEED = 20210114; // any fixed number; not the default world's
export const REGION = 'us-east-1';
export const NAMESPACE = 'tfe';
export const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' } as const;

/** The module's friendly_name_prefix: every AWS name below starts with it. */
export const PREFIX = 'hashicorp';
export const DOMAIN_NAME = 'hashicorp-world.example';
/** fqdn = "${tfe_subdomain}.${domain_name}" */
export const HOSTNAME = `tfe.${DOMAIN_NAME}`;

export const VPC_CIDR = '10.0.0.0/16';
export const PRIVATE_SUBNET_CIDRS = ['10.0.32.0/20', '10.0.48.0/20'] as const;
export const AVAILABILITY_ZONES = [`${REGION}a`, `${REGION}b`] as const;

export const AMI_ID = 'ami-0d5e6f7a8b9c0d1e2'; // stands for the module's latest Ubuntu AMI; moto does not check
export const INSTANCE_TYPE = 'm5.xlarge';

/**
 * Terraform's name_prefix appends a 26-character unique suffix (UTC timestamp to 1/10000 s,
 * then an 8-hex-digit counter). Fixed here, so names are the same on every run.
 */
const tfUnique = (prefix: string, counter: number): string => `${prefix}202101140900000000${counter.toString(16).padStart(8, '0')}`;

export const NAMES = {
  nodeSecurityGroup: `${PREFIX}-tfe-ec2-sg`,
  lbSecurityGroup: `${PREFIX}-tfe-lb-allow`,
  outboundSecurityGroup: `${PREFIX}-tfe-outbound-allow`,
  redisSecurityGroup: `${PREFIX}-tfe-redis`,
  cacheSubnetGroup: `${PREFIX}-tfe-redis`,
  loadBalancer: `${PREFIX}-tfe-web-alb`,
  targetGroup443: `${PREFIX}-tfe-alb-tg-443`,
  targetGroup8800: `${PREFIX}-tfe-alb-tg-8800`,
  serverCertificate: `${PREFIX}-tfe-web`,
  role: tfUnique(`${PREFIX}-tfe`, 1),
  instanceProfile: tfUnique(`${PREFIX}-tfe`, 2),
  secretsPolicy: `${PREFIX}-tfe-secretsmanager`,
  operatorSecretsPolicy: `${PREFIX}-tfe-operator-secrets`,
  asgDiscoveryPolicy: `${PREFIX}-tfe-asg-discovery`,
  kmsPolicy: `${PREFIX}-key`,
  launchTemplate: tfUnique(`${PREFIX}-tfe-ec2-asg-launch-template-`, 3),
  asg: `${PREFIX}-tfe-asg`,
  instanceName: `${PREFIX}-tfe`,
} as const;

/** ElastiCache port the module uses with in-transit encryption (6379 without). The sandbox Redis is TLS. */
export const REDIS_PORT = 6380;
export const NODE_COUNT = 1;
/** The module's default for its default (Ubuntu) AMI; SANDBOX_ELB_GRACE_S overrides it. */
export const DEFAULT_HEALTH_CHECK_GRACE_PERIOD_S = 900;
export const SSL_POLICY = 'ELBSecurityPolicy-2016-08';

/** Where the install puts its files (the module's defaults). */
export const PATHS = {
  replicatedConf: '/etc/replicated.conf',
  settings: '/etc/ptfe-settings.json',
  license: '/etc/terraform-enterprise.rli',
  tlsCert: '/var/lib/terraform-enterprise/certificate.pem',
  tlsKey: '/var/lib/terraform-enterprise/key.pem',
  log: '/var/log/ptfe.log',
  installer: '/tmp/install.sh',
} as const;

export const INSTALLER_URL = 'https://install.terraform.io/ptfe/stable';

/** install.sh arguments of a standalone install, as the module passes them. `${PRIVATE_IP}` is set from IMDS. */
export const DEFAULT_INSTALL_ARGS: readonly string[] = [
  'fast-timeouts',
  'bypass-firewalld-warning',
  'no-proxy',
  'private-address=${PRIVATE_IP}',
  'public-address=${PRIVATE_IP}',
];

/** Secrets Manager secret names (the script names them by ARN, as the module does). */
export const SECRET_NAMES = {
  license: `${PREFIX}-tfe-license`,
  certificate: `${PREFIX}-tfe-certificate-pem`,
  privateKey: `${PREFIX}-tfe-private-key-pem`,
  encPassword: `${PREFIX}-tfe-enc-password`,
  pgPassword: `${PREFIX}-tfe-pg-password`,
  installTokens: `${PREFIX}-tfe-install-tokens`,
  consolePassword: `${PREFIX}-tfe-replicated-console-password`,
} as const;
export type SecretKey = keyof typeof SECRET_NAMES;

const hex = (label: string, bytes = 16): string => seededHex(WORLD_SEED, label, bytes);
const token = (name: string): string => `hcw-${name.replace(/_/g, '-')}-NOT-A-REAL-SECRET-${hex(name, 8)}`;

/** The random settings the module generates (modules/settings/main.tf), secret ones only; install_id is plain. */
export const INSTALL_TOKEN_KEYS = [
  'archivist_token',
  'cookie_hash',
  'internal_api_token',
  'registry_session_encryption_key',
  'registry_session_secret_key',
  'root_secret',
  'user_token',
] as const;

/** Sandbox-only secret values: distinctive so a leak is easy to grep for, obviously not real. */
export const SECRET_VALUES = {
  // The module's enc_password: 32 characters with "!#$%&*()-_=+[]{}<>:?" allowed; ours uses them
  // too, so every consumer must pass it without the shell or a template touching it.
  encPassword: 'hcw-enc-NOT-A-REAL-SECRET-q7$Zr(4)!x#w%[k]{m}<n>:?&*=+_',
  pgPassword: `hcw-pg-password-NOT-A-REAL-SECRET-${hex('pg_password', 8)}`,
  consolePassword: `hcw-console-NOT-A-REAL-SECRET-${hex('console', 6)}`,
  installTokens: Object.fromEntries(INSTALL_TOKEN_KEYS.map((k) => [k, token(k)])) as Record<(typeof INSTALL_TOKEN_KEYS)[number], string>,
} as const;

/** The license file (binary .rli), the same bytes on every run. */
export const LICENSE_BYTES: Buffer = makeLicense(
  { license_id: 'tfe-hashicorp-world-0001', customer: 'HashiCorp module sandbox world (not a real license)', seats: 'unlimited' },
  `${WORLD_NAME}:${WORLD_SEED}`,
);

// The module's RDS instance, bucket and KMS key. The key is not created (moto draws its id at random): the bucket's default encryption uses S3's AWS managed key.
const KMS_KEY_ID = '3b0c6d1e-5f2a-4c8b-9d7e-0a1b2c3d4e5f';
const kmsKeyArn = (accountId: string) => `arn:aws:kms:${REGION}:${accountId}:key/${KMS_KEY_ID}`;
/** The module's aws_db_instance (identifier "<prefix>-tfe"); moto's endpoints read <id>.aaaaaaaaaa.<region>.rds.amazonaws.com. */
export const RDS_INSTANCE_ID = `${PREFIX}-tfe`;
export const PG_NETLOC = `${RDS_INSTANCE_ID}.aaaaaaaaaa.${REGION}.rds.amazonaws.com:5432`;
export const S3_BUCKET = `${PREFIX}-tfe-data`;
/** pg_dbname, pg_user, pg_password (the module's RDS master user and database). */
export const DATABASE = { dbname: 'hashicorp', user: 'hashicorp', password: SECRET_VALUES.pgPassword } as const;

// ---------------------------------------------------------------------------------------
// Settings (what the module's settings module makes, minus the secret values)

/** /etc/replicated.conf as embedded in the user data (DaemonAuthenticationPassword is added at boot). */
export const REPLICATED_CONF: Record<string, unknown> = sortKeys({
  BypassPreflightChecks: true,
  DaemonAuthenticationType: 'password',
  ImportSettingsFrom: PATHS.settings,
  LicenseFileLocation: PATHS.license,
  ReleaseSequence: 504,
  TlsBootstrapCert: PATHS.tlsCert,
  TlsBootstrapHostname: HOSTNAME,
  TlsBootstrapKey: PATHS.tlsKey,
  TlsBootstrapType: 'server-path',
});

const EXTRA_NO_PROXY = [
  '127.0.0.1',
  '169.254.169.254',
  `secretsmanager.${REGION}.amazonaws.com`,
  '.docker.com',
  '.docker.io',
  'localhost',
  's3.amazonaws.com',
  '.s3.amazonaws.com',
  `s3.${REGION}.amazonaws.com`,
  HOSTNAME,
  VPC_CIDR,
  '.replicated.com',
];

/** /etc/ptfe-settings.json as embedded in the user data: no secret value (those come from Secrets Manager). */
export function plainSettings(accountId: string): Record<string, { value: string }> {
  const v = (value: string) => ({ value });
  return sortKeys({
    aws_instance_profile: v('1'),
    enable_active_active: v('0'),
    extra_no_proxy: v(EXTRA_NO_PROXY.join(',')),
    hostname: v(HOSTNAME),
    iact_subnet_time_limit: v('60'),
    install_id: v(hex('install_id')),
    metrics_endpoint_enabled: v('0'),
    pg_dbname: v(DATABASE.dbname),
    pg_netloc: v(PG_NETLOC),
    pg_user: v(DATABASE.user),
    placement: v('placement_s3'),
    production_type: v('external'),
    run_pipeline_mode: v('agent'),
    s3_bucket: v(S3_BUCKET),
    s3_region: v(REGION),
    s3_sse: v('aws:kms'),
    s3_sse_kms_key_id: v(kmsKeyArn(accountId)),
    trusted_proxies: v(PRIVATE_SUBNET_CIDRS.join(',')),
  });
}

// ---------------------------------------------------------------------------------------
// User data

export interface HashicorpUserDataParams {
  /** /etc/replicated.conf, embedded base64. LicenseFileLocation and (for server-path) TlsBootstrapCert/Key say where files go. */
  replicatedConf: Record<string, unknown>;
  /** /etc/ptfe-settings.json without secret values, embedded base64. */
  settings: Record<string, { value: string }>;
  /** setting key -> Secrets Manager secret id whose SecretString is the value. */
  secretSettings: Record<string, string>;
  /** A secret whose SecretString is a JSON object {setting: value}; every pair becomes a setting. */
  settingsBundleSecretId?: string;
  /** A secret whose SecretString becomes DaemonAuthenticationPassword in replicated.conf. */
  consolePasswordSecretId?: string;
  /** SecretBinary (or base64 text in SecretString) written byte for byte to LicenseFileLocation. */
  licenseSecretId: string;
  /** SecretBinary PEM written to TlsBootstrapCert / TlsBootstrapKey. */
  certificateSecretId?: string;
  keySecretId?: string;
  /** Default INSTALLER_URL. */
  installerUrl?: string;
  /** Default DEFAULT_INSTALL_ARGS; `${PRIVATE_IP}` expands to the instance's private IP. */
  installArgs?: readonly string[];
}

/** One bash word that expands to exactly `s`. */
function shq(s: string): string {
  return /^[A-Za-z0-9_.,:=/+@%-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** An install.sh argument: literal text with `${PRIVATE_IP}` expanded at run time. */
function shArg(a: string): string {
  return a
    .split('${PRIVATE_IP}')
    .map((part) => (part === '' ? '' : shq(part)))
    .join('"${PRIVATE_IP}"');
}

const b64json = (v: unknown): string => Buffer.from(JSON.stringify(v), 'utf8').toString('base64');

/** The launch template user data: a bash script for a stock Linux node, no secret value in it. */
export function renderHashicorpUserData(p: HashicorpUserDataParams): string {
  const conf = p.replicatedConf;
  const str = (k: string): string | undefined => (typeof conf[k] === 'string' && conf[k] !== '' ? (conf[k] as string) : undefined);
  const licensePath = str('LicenseFileLocation') ?? PATHS.license;
  const args = p.installArgs ?? DEFAULT_INSTALL_ARGS;
  const lines: string[] = [];
  const section = (title: string) =>
    lines.push('', '# -----------------------------------------------------------------------------', `# ${title}`, '# -----------------------------------------------------------------------------');

  lines.push(
    '#!/usr/bin/env bash',
    '# Terraform Enterprise (Replicated) node install, shaped like HashiCorp\'s tfe_replicated.sh.tpl',
    '# (terraform-random-tfe-utility, modules/tfe_init_replicated). Written by the sandbox\'s',
    '# "hashicorp" world, not by tfe-operator. Unlike the module\'s script it holds no secret value:',
    '# secret settings, the console password, the license and the TLS files come from AWS Secrets',
    '# Manager at boot, with the instance profile.',
    'set -euo pipefail',
    '',
    `log_pathname=${shq(PATHS.log)}`,
    `replicated_conf_path=${shq(PATHS.replicatedConf)}`,
    `tfe_settings_path=${shq(str('ImportSettingsFrom') ?? PATHS.settings)}`,
    `tfe_license_file_location=${shq(licensePath)}`,
    '',
    'mkdir -p "$(dirname "$log_pathname")"',
    '',
    'log() {',
    '  echo "[$(date +"%FT%T")] [Terraform Enterprise] $*" | tee -a "$log_pathname"',
    '}',
    '',
    'fail() {',
    '  log "ERROR: $*" >&2',
    '  exit 1',
    '}',
    '',
    '# Instance metadata (IMDSv2, as the launch template requires).',
    'imds_token="$(curl -sSf -X PUT -H \'X-aws-ec2-metadata-token-ttl-seconds: 21600\' http://169.254.169.254/latest/api/token)" \\',
    '  || fail "cannot get a token from the instance metadata service"',
    'imds() {',
    '  curl -sSf -H "X-aws-ec2-metadata-token: ${imds_token}" "http://169.254.169.254/latest/meta-data/$1"',
    '}',
    'REGION="$(imds placement/region)" || fail "cannot read the region from the instance metadata service"',
    'PRIVATE_IP="$(imds local-ipv4)" || fail "cannot read the private IP from the instance metadata service"',
    '',
    '# get_base64_secrets SECRET_ID: the secret\'s SecretBinary (base64, as the CLI prints it) or,',
    '# when it has none, its SecretString (expected to be base64 text).',
    'get_base64_secrets() {',
    '  aws secretsmanager get-secret-value --secret-id "$1" --region "$REGION" --output json \\',
    '    | jq --raw-output \'.SecretBinary // .SecretString // empty\'',
    '}',
    '',
    '# get_secret_string SECRET_ID: the secret\'s SecretString.',
    'get_secret_string() {',
    '  aws secretsmanager get-secret-value --secret-id "$1" --region "$REGION" --output json \\',
    '    | jq --raw-output \'.SecretString // empty\'',
    '}',
    '',
    '# write_base64_secret SECRET_ID PATH [MODE]: decodes the secret into PATH (mode MODE, default 0644), byte for byte.',
    'write_base64_secret() {',
    '  local secret_id="$1" path="$2" mode="${3:-0644}" data',
    '  data="$(get_base64_secrets "$secret_id")" || fail "cannot read secret $secret_id from AWS Secrets Manager"',
    '  [ -n "$data" ] || fail "secret $secret_id is empty"',
    '  mkdir -p "$(dirname "$path")"',
    '  install -m "$mode" /dev/null "$path"',
    '  printf \'%s\' "$data" | base64 -d > "$path" || fail "secret $secret_id is not base64 (SecretBinary, or base64 text in SecretString)"',
    '}',
    '',
    '# set_secret_setting KEY SECRET_ID: adds {"KEY": {"value": <SecretString>}} to the settings.',
    '# The value goes through a pipe, never through a command line.',
    'set_secret_setting() {',
    '  local key="$1" secret_id="$2" value',
    '  value="$(get_secret_string "$secret_id")" || fail "cannot read secret $secret_id (setting $key) from AWS Secrets Manager"',
    '  [ -n "$value" ] || fail "secret $secret_id (setting $key) is empty"',
    '  (umask 077 && printf \'%s\' "$value" \\',
    '    | jq -Rs --arg key "$key" --slurpfile settings "$tfe_settings_path" \'$settings[0] + {($key): {value: .}}\' \\',
    '    > "$tfe_settings_path.new") || fail "cannot add setting $key to $tfe_settings_path"',
    '  mv "$tfe_settings_path.new" "$tfe_settings_path"',
    '}',
    '',
    '# merge_secret_settings SECRET_ID: the SecretString is a JSON object {"setting": "value", ...}.',
    'merge_secret_settings() {',
    '  local secret_id="$1" bundle',
    '  bundle="$(get_secret_string "$secret_id")" || fail "cannot read secret $secret_id from AWS Secrets Manager"',
    '  (umask 077 && printf \'%s\' "$bundle" \\',
    '    | jq -e --slurpfile settings "$tfe_settings_path" \\',
    '      \'if type == "object" and length > 0 then $settings[0] + map_values({value: tostring}) else error("not a JSON object") end\' \\',
    '    > "$tfe_settings_path.new" 2>/dev/null) || fail "secret $secret_id is not a JSON object of settings"',
    '  mv "$tfe_settings_path.new" "$tfe_settings_path"',
    '}',
    '',
    '# set_console_password SECRET_ID: DaemonAuthenticationPassword in replicated.conf.',
    'set_console_password() {',
    '  local secret_id="$1" value',
    '  value="$(get_secret_string "$secret_id")" || fail "cannot read secret $secret_id (DaemonAuthenticationPassword) from AWS Secrets Manager"',
    '  [ -n "$value" ] || fail "secret $secret_id (DaemonAuthenticationPassword) is empty"',
    '  (umask 077 && printf \'%s\' "$value" \\',
    '    | jq -Rs --slurpfile conf "$replicated_conf_path" \'$conf[0] + {DaemonAuthenticationPassword: .}\' \\',
    '    > "$replicated_conf_path.new") || fail "cannot add DaemonAuthenticationPassword to $replicated_conf_path"',
    '  mv "$replicated_conf_path.new" "$replicated_conf_path"',
    '}',
  );

  section('Create TFE & Replicated settings files');
  lines.push(
    'log "Create configuration files"',
    'mkdir -p "$(dirname "$tfe_settings_path")" "$(dirname "$replicated_conf_path")"',
    '# Both files get secrets below: only root reads them (0600; the edits below keep that).',
    'install -m 0600 /dev/null "$tfe_settings_path"',
    'install -m 0600 /dev/null "$replicated_conf_path"',
    `echo '${b64json(p.settings)}' | base64 -d > "$tfe_settings_path"`,
    `echo '${b64json(conf)}' | base64 -d > "$replicated_conf_path"`,
  );

  section('Secret settings (the module embeds these in the settings above; we do not)');
  const secretLines = Object.entries(p.secretSettings).map(([k, id]) => `set_secret_setting ${shq(k)} ${shq(id)}`);
  if (p.settingsBundleSecretId !== undefined) secretLines.push(`merge_secret_settings ${shq(p.settingsBundleSecretId)}`);
  if (p.consolePasswordSecretId !== undefined) secretLines.push(`set_console_password ${shq(p.consolePasswordSecretId)}`);
  if (secretLines.length) lines.push('log "Retrieve secret settings"', ...secretLines);
  else lines.push('log "Skipping secret settings"');

  section('Configure TLS');
  if (p.certificateSecretId !== undefined) {
    lines.push(
      'log "Configure TlsBootstrapCert"',
      `write_base64_secret ${shq(p.certificateSecretId)} ${shq(str('TlsBootstrapCert') ?? PATHS.tlsCert)}`,
    );
  } else lines.push('log "Skipping TlsBootstrapCert configuration"');
  if (p.keySecretId !== undefined) {
    const keyPath = shq(str('TlsBootstrapKey') ?? PATHS.tlsKey);
    lines.push('log "Configure TlsBootstrapKey"', `write_base64_secret ${shq(p.keySecretId)} ${keyPath} 0600`);
  } else lines.push('log "Skipping TlsBootstrapKey configuration"');

  section('Retrieve TFE license');
  lines.push('log "Retrieve TFE license"', `write_base64_secret ${shq(p.licenseSecretId)} "$tfe_license_file_location"`);

  section('Install Terraform Enterprise');
  lines.push(
    'log "Install TFE"',
    `curl -sSfL -o ${shq(PATHS.installer)} ${shq(p.installerUrl ?? INSTALLER_URL)} || fail "cannot download the installer"`,
    `bash ${shq(PATHS.installer)} \\`,
    ...args.map((a) => `  ${shArg(a)} \\`),
    '  | tee -a "$log_pathname"',
    '',
  );
  return lines.join('\n');
}

/** The user data this world's launch template holds, for the given secret ARNs. */
export function worldUserDataParams(accountId: string, secretIds: Record<SecretKey, string>): HashicorpUserDataParams {
  return {
    replicatedConf: REPLICATED_CONF,
    settings: plainSettings(accountId),
    secretSettings: { enc_password: secretIds.encPassword, pg_password: secretIds.pgPassword },
    settingsBundleSecretId: secretIds.installTokens,
    consolePasswordSecretId: secretIds.consolePassword,
    licenseSecretId: secretIds.license,
    certificateSecretId: secretIds.certificate,
    keySecretId: secretIds.privateKey,
  };
}

// ---------------------------------------------------------------------------------------
// AWS

export interface HashicorpWorldInfo extends WorldInfo {
  rdsInstanceId: string;
  rdsAddress: string;
  s3Bucket: string;
  availabilityZones: string[];
  hostname: string;
  nodeSecurityGroupId: string;
  lbSecurityGroupId: string;
  outboundSecurityGroupId: string;
  redisSecurityGroupId: string;
  redisPort: number;
  cacheSubnetGroupName: string;
  loadBalancerArn: string;
  loadBalancerDnsName: string;
  targetGroupArns: { https: string; console: string };
  listenerArns: string[];
  serverCertificateArn: string;
  roleName: string;
  roleArn: string;
  instanceProfileName: string;
  instanceProfileArn: string;
  launchTemplateVersion: '$Latest';
  healthCheckGracePeriod: number;
  secretNames: typeof SECRET_NAMES;
  secretArns: Record<SecretKey, string>;
  paths: typeof PATHS;
  tls: { certFile: string; keyFile: string };
}

export function awsClientConfig(endpoint: string) {
  return { endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 2 };
}

/** Terraform's aws_security_group: the default egress rule is removed, the module's rules added. */
const ALL_OUT: IpPermission = { IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] };

async function seedAws(ctx: SeedContext): Promise<HashicorpWorldInfo> {
  const grace = healthCheckGracePeriod(DEFAULT_HEALTH_CHECK_GRACE_PERIOD_S);
  // The TLS certificate is made before any AWS call (it draws no moto IDs).
  const tlsDir = join(ctx.dir, WORLD_NAME);
  const tls = await issueCert(ctx.ca, tlsDir, HOSTNAME, { dns: [HOSTNAME, 'localhost'], ips: ['127.0.0.1'] });
  const certPem = readFileSync(tls.certFile);
  const keyPem = readFileSync(tls.keyFile);

  const clients = seedClients(awsClientConfig(ctx.awsEndpoint));
  const { ec2, asg, elb, ec, iam, sm } = clients;
  try {
    await startSeeding(clients, ctx.awsEndpoint, WORLD_SEED, NAMES.launchTemplate, WORLD_NAME);

    // Every call below runs one after another: the seeded IDs depend on the order.
    // --- networking (modules/networking: VPC tagged tfe-vpc, private subnets tagged "private")
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: VPC_CIDR, TagSpecifications: [tagSpec('vpc', 'tfe-vpc')] }));
    const vpcId = vpc.Vpc!.VpcId!;
    const subnetIds: string[] = [];
    for (const [i, az] of AVAILABILITY_ZONES.entries()) {
      const s = await ec2.send(
        new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: PRIVATE_SUBNET_CIDRS[i], AvailabilityZone: az, TagSpecifications: [tagSpec('subnet', 'private')] }),
      );
      subnetIds.push(s.Subnet!.SubnetId!);
    }
    const privateCidrs = PRIVATE_SUBNET_CIDRS.map((c) => ({ CidrIp: c }));

    // --- secrets (fixtures/secrets: license, cert and key as SecretBinary)
    const secretArns = {} as Record<SecretKey, string>;
    const createSecret = async (key: SecretKey, description: string, value: { SecretString: string } | { SecretBinary: Uint8Array }) => {
      const out = await sm.send(new CreateSecretCommand({ Name: SECRET_NAMES[key], Description: description, ...value }));
      secretArns[key] = out.ARN!;
    };
    await createSecret('license', 'The TFE license', { SecretBinary: LICENSE_BYTES });
    await createSecret('certificate', 'The TFE TLS certificate (PEM)', { SecretBinary: certPem });
    await createSecret('privateKey', 'The TFE TLS private key (PEM)', { SecretBinary: keyPem });
    await createSecret('encPassword', 'TFE enc_password', { SecretString: SECRET_VALUES.encPassword });
    await createSecret('pgPassword', 'TFE pg_password', { SecretString: SECRET_VALUES.pgPassword });
    await createSecret('installTokens', 'TFE install tokens (settings key -> value)', { SecretString: JSON.stringify(SECRET_VALUES.installTokens) });
    await createSecret('consolePassword', 'Replicated admin console password', { SecretString: SECRET_VALUES.consolePassword });
    const accountId = secretArns.license.split(':')[4]!;

    // --- load balancer (modules/application_load_balancer)
    const lbSg = await createSecurityGroup(ec2, vpcId, NAMES.lbSecurityGroup, 'Managed by Terraform');
    await ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: lbSg, IpPermissions: [ALL_OUT] }));
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: lbSg,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'Allow HTTP (port 80) traffic inbound to TFE LB' }] },
          { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'Allow HTTPS (port 443) traffic inbound to TFE LB' }] },
          { IpProtocol: 'tcp', FromPort: 8800, ToPort: 8800, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'Allow dashboard traffic inbound to TFE LB' }] },
        ],
      }),
    );
    const outSg = await createSecurityGroup(ec2, vpcId, NAMES.outboundSecurityGroup, 'Managed by Terraform');
    await ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: outSg, IpPermissions: [ALL_OUT] }));
    await ec2.send(
      new AuthorizeSecurityGroupEgressCommand({
        GroupId: outSg,
        IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'Allow all traffic outbound from TFE' }] }],
      }),
    );
    const lb = await elb.send(
      new CreateLoadBalancerCommand({
        Name: NAMES.loadBalancer,
        Type: 'application',
        Scheme: 'internal',
        Subnets: subnetIds,
        SecurityGroups: [lbSg, outSg],
      }),
    );
    const lbArn = lb.LoadBalancers![0]!.LoadBalancerArn!;
    const serverCert = await iam.send(
      new UploadServerCertificateCommand({
        ServerCertificateName: NAMES.serverCertificate,
        CertificateBody: certPem.toString('utf8'),
        PrivateKey: keyPem.toString('utf8'),
        CertificateChain: ctx.ca.pem,
      }),
    );
    const certArn = serverCert.ServerCertificateMetadata!.Arn!;
    // HTTPS target groups with the module's health checks (matcher 200-399).
    const targetGroup = async (Name: string, Port: number, HealthCheckPath: string) =>
      (
        await elb.send(
          new CreateTargetGroupCommand({ Name, Port, Protocol: 'HTTPS', VpcId: vpcId, HealthCheckProtocol: 'HTTPS', HealthCheckPath, Matcher: { HttpCode: '200-399' } }),
        )
      ).TargetGroups![0]!.TargetGroupArn!;
    const tg443 = await targetGroup(NAMES.targetGroup443, 443, '/_health_check');
    const tg8800 = await targetGroup(NAMES.targetGroup8800, 8800, '/');
    const listenerArns: string[] = [];
    const listen = async (input: ConstructorParameters<typeof CreateListenerCommand>[0]) => {
      const out = await elb.send(new CreateListenerCommand(input));
      listenerArns.push(out.Listeners![0]!.ListenerArn!);
    };
    await listen({
      LoadBalancerArn: lbArn,
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [{ Type: 'redirect', RedirectConfig: { Port: '443', Protocol: 'HTTPS', StatusCode: 'HTTP_301' } }],
    });
    // HTTPS listeners forward 443 and 8800 to their target groups.
    for (const [Port, TargetGroupArn] of [[443, tg443], [8800, tg8800]] as const) {
      await listen({ LoadBalancerArn: lbArn, Port, Protocol: 'HTTPS', SslPolicy: SSL_POLICY, Certificates: [{ CertificateArn: certArn }], DefaultActions: [{ Type: 'forward', TargetGroupArn }] });
    }

    // --- node security group (modules/vm): 443 and 8800 from the LB, everything from itself
    const nodeSg = await createSecurityGroup(ec2, vpcId, NAMES.nodeSecurityGroup, 'Managed by Terraform');
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: nodeSg,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, UserIdGroupPairs: [{ GroupId: lbSg }] },
          { IpProtocol: 'tcp', FromPort: 8800, ToPort: 8800, UserIdGroupPairs: [{ GroupId: lbSg }] },
          { IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: nodeSg }] },
        ],
      }),
    );
    // (the default egress rule, all traffic to 0.0.0.0/0, is what the module's tfe_outbound adds)

    // --- Redis network (modules/redis, made for active-active: here ahead of the migration)
    const redisSg = await createSecurityGroup(ec2, vpcId, NAMES.redisSecurityGroup, 'The security group of the Redis deployment for TFE.');
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: redisSg,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: REDIS_PORT, ToPort: REDIS_PORT, UserIdGroupPairs: [{ GroupId: nodeSg }] },
          { IpProtocol: 'tcp', FromPort: REDIS_PORT, ToPort: REDIS_PORT, IpRanges: privateCidrs },
        ],
      }),
    );
    await ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: redisSg, IpPermissions: [ALL_OUT] }));
    await ec2.send(
      new AuthorizeSecurityGroupEgressCommand({
        GroupId: redisSg,
        IpPermissions: [
          { IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: nodeSg }] },
          { IpProtocol: 'tcp', FromPort: REDIS_PORT, ToPort: REDIS_PORT, IpRanges: privateCidrs },
        ],
      }),
    );
    await ec.send(
      new CreateCacheSubnetGroupCommand({
        CacheSubnetGroupName: NAMES.cacheSubnetGroup,
        CacheSubnetGroupDescription: 'Managed by Terraform',
        SubnetIds: subnetIds,
      }),
    );

    // --- IAM (modules/service_accounts)
    const role = await iam.send(
      new CreateRoleCommand({
        RoleName: NAMES.role,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'ec2.amazonaws.com' } }],
        }),
      }),
    );
    // Exactly the secrets the user data names; nothing else.
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: NAMES.role,
        PolicyName: NAMES.secretsPolicy,
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'AllowSecretsManagerSecretAccess',
              Effect: 'Allow',
              Action: 'secretsmanager:GetSecretValue',
              Resource: (Object.keys(SECRET_NAMES) as SecretKey[]).map((k) => secretArns[k]),
            },
          ],
        }),
      }),
    );
    // Not from the module: the one change docs/adoption.md asks of a user before applying a
    // TfeCluster, letting the nodes read the secrets the operator stores for TfeCluster tfe/tfe.
    // Tests that show the operator's check of node access delete this policy.
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: NAMES.role,
        PolicyName: NAMES.operatorSecretsPolicy,
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'AllowTfeOperatorSecrets',
              Effect: 'Allow',
              Action: 'secretsmanager:GetSecretValue',
              Resource: `arn:aws:secretsmanager:${REGION}:${accountId}:secret:tfe-operator/${NAMESPACE}/tfe/*`,
            },
          ],
        }),
      }),
    );
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: NAMES.role,
        PolicyName: NAMES.asgDiscoveryPolicy,
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'autoscaling:Describe*', Resource: '*' }],
        }),
      }),
    );
    const kmsPolicy = await iam.send(
      new CreatePolicyCommand({
        PolicyName: NAMES.kmsPolicy,
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: [
                'kms:Decrypt',
                'kms:DescribeKey',
                'kms:Encrypt',
                'kms:GenerateDataKey',
                'kms:GenerateDataKeyPair',
                'kms:GenerateDataKeyPairWithoutPlaintext',
                'kms:ReEncryptFrom',
                'kms:ReEncryptTo',
              ],
              Resource: kmsKeyArn(accountId),
            },
          ],
        }),
      }),
    );
    await iam.send(new AttachRolePolicyCommand({ RoleName: NAMES.role, PolicyArn: kmsPolicy.Policy!.Arn! }));
    const profile = await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: NAMES.instanceProfile }));
    await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: NAMES.instanceProfile, RoleName: NAMES.role }));

    // --- launch template and ASG (modules/vm)
    const userData = renderHashicorpUserData(worldUserDataParams(accountId, secretArns));
    const lt = await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: NAMES.launchTemplate,
        LaunchTemplateData: {
          ImageId: AMI_ID,
          InstanceType: INSTANCE_TYPE,
          UserData: Buffer.from(userData, 'utf8').toString('base64'),
          SecurityGroupIds: [nodeSg],
          IamInstanceProfile: { Name: NAMES.instanceProfile },
          MetadataOptions: { HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 2, HttpTokens: 'required' },
          BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { Encrypted: true, VolumeType: 'gp2', VolumeSize: 50, DeleteOnTermination: true } }],
        },
      }),
    );
    const launchTemplateId = lt.LaunchTemplate!.LaunchTemplateId!;
    await asg.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: NAMES.asg,
        MinSize: NODE_COUNT,
        MaxSize: NODE_COUNT,
        DesiredCapacity: NODE_COUNT,
        VPCZoneIdentifier: subnetIds.join(','),
        TargetGroupARNs: [tg8800, tg443],
        HealthCheckGracePeriod: grace,
        HealthCheckType: 'ELB',
        LaunchTemplate: { LaunchTemplateId: launchTemplateId, Version: '$Latest' },
        Tags: [{ Key: 'Name', Value: NAMES.instanceName, PropagateAtLaunch: true }],
      }),
    );
    const described = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [NAMES.asg] }));
    const instanceIds = (described.AutoScalingGroups?.[0]?.Instances ?? []).map((i) => i.InstanceId!);
    // --- database and object storage (modules/database, modules/object_storage), last
    const rdsAddress = await seedRdsInstance(awsClientConfig(ctx.awsEndpoint), { id: RDS_INSTANCE_ID, ...DATABASE });
    await seedBucket(awsClientConfig(ctx.awsEndpoint), S3_BUCKET);

    return {
      world: WORLD_NAME,
      seed: WORLD_SEED,
      region: REGION,
      accountId,
      vpcId,
      subnetIds,
      availabilityZones: [...AVAILABILITY_ZONES],
      hostname: HOSTNAME,
      asgName: NAMES.asg,
      launchTemplateId,
      launchTemplateName: NAMES.launchTemplate,
      launchTemplateVersion: '$Latest',
      instanceIds,
      namespace: NAMESPACE,
      nodeSecurityGroupId: nodeSg,
      lbSecurityGroupId: lbSg,
      outboundSecurityGroupId: outSg,
      redisSecurityGroupId: redisSg,
      redisPort: REDIS_PORT,
      cacheSubnetGroupName: NAMES.cacheSubnetGroup,
      loadBalancerArn: lbArn,
      loadBalancerDnsName: lb.LoadBalancers![0]!.DNSName ?? '',
      targetGroupArns: { https: tg443, console: tg8800 },
      listenerArns,
      serverCertificateArn: certArn,
      roleName: NAMES.role,
      roleArn: role.Role!.Arn!,
      instanceProfileName: NAMES.instanceProfile,
      instanceProfileArn: profile.InstanceProfile!.Arn!,
      healthCheckGracePeriod: grace,
      secretNames: SECRET_NAMES,
      secretArns,
      paths: PATHS,
      tls: { certFile: tls.certFile, keyFile: tls.keyFile },
      rdsInstanceId: RDS_INSTANCE_ID,
      rdsAddress,
      s3Bucket: S3_BUCKET,
    };
  } finally {
    clients.destroy();
  }
}

// ---------------------------------------------------------------------------------------
// Kubernetes

/** Kubernetes object names in namespace tfe (the same as the default world's where they exist). */
export const KUBE_NAMES = {
  settings: 'tfe-settings',
  secrets: 'tfe-secrets', // enc_password, pg_password and the install tokens, keyed by setting
  license: 'tfe-license', // license.rli
  redis: 'tfe-redis', // token, password, ca.crt
  tls: 'tfe-tls', // tls.crt, tls.key
  console: 'tfe-replicated-console', // password
} as const;

/** Settings whose values a TfeCluster for this world takes from Secret tfe-secrets (besides enc_password). */
export const SECRET_SETTING_KEYS: readonly string[] = ['pg_password', ...INSTALL_TOKEN_KEYS];

function kubeObjects(redis: RedisInfo, info: WorldInfo): { configMaps: V1ConfigMap[]; secrets: V1Secret[] } {
  const w = info as HashicorpWorldInfo;
  const labels = { 'app.kubernetes.io/part-of': 'tfe-sandbox', 'tfe-sandbox/world': WORLD_NAME };
  const meta = (name: string) => ({ name, namespace: NAMESPACE, labels });
  // Secrets opt in (docs/security.md): every TfeCluster in the namespace may use these.
  const secretMeta = (name: string) => ({ ...meta(name), annotations: { [ANNOTATION_ALLOWED_TFECLUSTERS]: '*' } });
  const redisData = redisSecretData(redis);
  return {
    configMaps: [settingsConfigMap(meta(KUBE_NAMES.settings), REPLICATED_CONF, plainSettings(info.accountId))],
    secrets: [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: secretMeta(KUBE_NAMES.secrets),
        type: 'Opaque',
        stringData: { enc_password: SECRET_VALUES.encPassword, pg_password: SECRET_VALUES.pgPassword, ...SECRET_VALUES.installTokens },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: secretMeta(KUBE_NAMES.license),
        type: 'Opaque',
        data: { 'license.rli': LICENSE_BYTES.toString('base64') },
      },
      { apiVersion: 'v1', kind: 'Secret', metadata: secretMeta(KUBE_NAMES.redis), type: 'Opaque', stringData: redisData },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: secretMeta(KUBE_NAMES.tls),
        type: 'kubernetes.io/tls',
        data: {
          'tls.crt': readFileSync(w.tls.certFile).toString('base64'),
          'tls.key': readFileSync(w.tls.keyFile).toString('base64'),
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: secretMeta(KUBE_NAMES.console),
        type: 'Opaque',
        stringData: { password: SECRET_VALUES.consolePassword },
      },
    ],
  };
}

export const hashicorpWorld: WorldDef = {
  name: WORLD_NAME,
  summary: `TFE as HashiCorp's modules build it: internal ALB (443 + 8800), ASG ${NAMES.asg} on $Latest with ELB health checks, files from Secrets Manager`,
  database: DATABASE,
  seedAws,
  kubeObjects,
};

// ---------------------------------------------------------------------------------------

function sortKeys<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]])) as T;
}
