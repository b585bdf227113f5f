// What observe() reads from the world, in the shape the planner needs. Plain data only:
// the planner is a pure function of (spec, Observation).

import type { AnyInstall } from '../install/kind.ts';
import type { Release } from '../install/releases.ts';

/** Tags the operator keeps on the Auto Scaling Group: its memory across crashes. */
export const TAG = {
  owner: 'tfe.operators.dev/owner',
  baselineVersion: 'tfe.operators.dev/baseline-version',
  /** `<version>:<mode>`: the rollout in flight (mode single | direct | canary | rollback). */
  rollout: 'tfe.operators.dev/rollout',
  lastGoodVersion: 'tfe.operators.dev/last-good-version',
  lastGoodCapacity: 'tfe.operators.dev/last-good-capacity',
  /** `<target hash>:<retry key>`: a rollback happened away from this target under this spec; do not retry it until either changes. */
  rolledBackFrom: 'tfe.operators.dev/rolled-back-from',
  secretHash: 'tfe.operators.dev/value-sha256',
  /**
   * On the operator's Secrets Manager secrets, beside `owner` (<namespace>/<name>): the uid of the
   * Kubernetes cluster's kube-system namespace, so two clusters with the same namespace/name never
   * write or delete each other's secrets.
   */
  clusterId: 'tfe.operators.dev/cluster-id',
  /**
   * Fingerprint of the enc_password the install runs with (targets.ts encPasswordTagFingerprint):
   * on the group, so a deleted and re-created TfeCluster (its status gone) still knows it.
   */
  encPasswordFingerprint: 'tfe.operators.dev/enc-password-fingerprint',
  /** ASG processes the operator suspended for a rollout (comma-separated); it resumes exactly these. */
  suspended: 'tfe.operators.dev/suspended-processes',
  /** Instances the operator protected from scale-in to pick which ones a scale-in removes (comma-separated); it unprotects exactly these. */
  protected: 'tfe.operators.dev/scale-in-protected',
  /** Replicated -> FDO: the launch template version whose FDO node first served; past it there is no rollback to Replicated. */
  fdoServed: 'tfe.operators.dev/fdo-served',
} as const;

export type RolloutMode = 'single' | 'direct' | 'canary' | 'rollback';

export interface AsgInstance {
  id: string;
  lifecycleState: string;
  launchTemplateVersion?: string;
  privateIp?: string;
  protectedFromScaleIn?: boolean;
}

/**
 * An instance on its way out (Terminating, Terminating:Wait while a lifecycle hook holds it,
 * Terminating:Proceed): it still runs TFE until it is terminated, so it still counts as a
 * running instance, but never as a node of the version it was launched from.
 */
export const isLeaving = (i: AsgInstance): boolean => /^Terminating/.test(i.lifecycleState);

export interface ObservedAsg {
  name: string;
  min: number;
  max: number;
  desired: number;
  launchTemplateId?: string;
  launchTemplateName?: string;
  /** The version the ASG launches from, as a number ('$Latest'/'$Default' resolved). */
  launchTemplateVersion?: number;
  /** As the ASG names it: '3', or '$Latest' / '$Default' (which move when versions are added). */
  launchTemplateVersionSpec?: string;
  instances: AsgInstance[];
  tags: Record<string, string>;
  /** The subnets the group launches into (VPCZoneIdentifier). */
  subnetIds?: string[];
  /** EC2 or ELB (the target groups' health checks can make the ASG replace a node). */
  healthCheckType?: string;
  /** Seconds after launch before the ASG acts on health checks. */
  healthCheckGracePeriod?: number;
  /** Load balancer target groups attached to the group (HashiCorp's module: 443 and 8800). */
  targetGroupArns?: string[];
  suspendedProcesses?: string[];
  /**
   * A group with a MixedInstancesPolicy launches from the policy's launch template: its
   * instance type overrides and distribution are kept when the operator changes the version.
   */
  mixedInstances?: { overrides: Array<Record<string, unknown>>; distribution?: Record<string, unknown> };
}

export interface NodeAccess {
  profile: string;
  role?: string;
  /** The instance profile has no role. */
  noRole?: boolean;
  /** Names of the operator's secrets the role may not read. */
  denied: string[];
  /** AWS refused the check itself (e.g. the operator may not call iam:SimulatePrincipalPolicy). */
  error?: string;
}

export interface ObservedTargetGroup {
  arn: string;
  name: string;
  port?: number;
  /** "traffic-port" or a port number as text, as AWS gives it. */
  healthCheckPort?: string;
  /** Instance id -> the group's view of it (DescribeTargetHealth), for groups attached to the ASG. */
  targets?: Record<string, { state: string; reason?: string }>;
}

export interface ObservedTemplateVersion {
  number: number;
  description?: string;
  /** Parsed user data, or the reason it could not be parsed. */
  install?: AnyInstall;
  foreignReason?: string;
  /** For user data the operator did not write: the release it appears to install (a hint: src/install/index.ts scanRelease). */
  foreignRelease?: Release;
  /** The launch template's IamInstanceProfile: what the nodes' AWS CLI calls run as. */
  instanceProfile?: { arn?: string; name?: string };
  /** For user data the operator did not write: the arguments its install.sh line appears to pass (a hint, never used as is). */
  foreignInstallArgs?: string;
  securityGroupIds: string[];
}

export interface ObservedLaunchTemplate {
  id: string;
  name: string;
  latestVersion: number;
  versions: ObservedTemplateVersion[];
}

export interface ObservedReplicationGroup {
  id: string;
  status: string;
  endpoint?: string;
  port?: number;
  clusterEnabled: boolean;
  transitEncryption: boolean;
  atRestEncryption: boolean;
  authTokenEnabled: boolean;
  /** Undefined while the group is not "available": AWS answers no tagging call then. */
  ownedByUs: boolean | undefined;
}

export interface RedisProbeResult {
  ok: boolean;
  /** A short machine reason: Unreachable, AuthFailed, TlsTooOld, ClusterMode, VersionTooOld, NotRedis. */
  reason?: string;
  message: string;
  version?: string;
}

export interface SgRule {
  protocol: string;
  fromPort: number;
  toPort: number;
  /** Source security group ids. */
  groups: string[];
  /** Source CIDRs, IPv4 and IPv6. */
  cidrs: string[];
  /** Source managed prefix lists (pl-...). */
  prefixLists?: string[];
}

export interface ObservedSecurityGroup {
  id: string;
  ingress: SgRule[];
}

export interface NodeHealth {
  healthy: boolean;
  detail: string;
}

/** Values read from Kubernetes Secrets. Held in memory only; never written anywhere but AWS Secrets Manager. */
export interface SecretInputs {
  encPassword?: string;
  /** The license file's exact bytes (a Replicated .rli is binary). */
  license?: Uint8Array;
  redisPassword?: string;
  /** spec.settings.daemonAuthenticationPasswordSecretRef: replicated.conf's DaemonAuthenticationPassword. */
  daemonPassword?: string;
  settings: Record<string, string>;
  /** spec.node.files: path -> the file's exact bytes. */
  files: Record<string, Uint8Array>;
  /** spec.validation.tokenSecretRef's TFE API token. */
  validationToken?: string;
}

export interface Inputs {
  replicatedConfText?: string;
  settingsText?: string;
  /** Install Docker: the settings ConfigMap's TFE_* variables (spec.settings.envKey). */
  envText?: string;
  /** spec.node.preInstallScriptRef's text. */
  preInstallScript?: string;
  /** spec.validation.caSecretRef's PEM bundle (not a secret, but kept in a Secret). */
  validationCa?: string;
  /** spec.redis.external.caSecretRef's PEM bundle. */
  redisCa?: string;
  /** spec.health.caSecretRef's PEM bundle. */
  healthCa?: string;
  secrets: SecretInputs;
  /** References that could not be read: "Secret tfe/tfe-secrets key enc_password". */
  missing: string[];
  /**
   * Secrets the TfeCluster names that do not allow it (annotation tfe.operators.dev/allowed-tfeclusters):
   * nothing of theirs was read. `current`: what the annotation says now, if anything.
   */
  notAllowed?: Array<{ name: string; what: string; current?: string }>;
}

export interface ObservedSecret {
  name: string;
  arn?: string;
  /** The fingerprint tag on the secret, compared to the wanted value's fingerprint. */
  hash?: string;
  /** Its owner tags (TAG.owner, TAG.clusterId), checked before any write or delete. */
  owner?: string;
  clusterId?: string;
}

/** s3_bucket as S3 reports it (HeadBucket, GetBucketLocation, GetBucketEncryption, kms:DescribeKey). */
export interface ObservedBucket {
  name: string;
  exists: boolean;
  region?: string;
  /** The KMS key of the bucket's default encryption, when it names one. */
  kmsKey?: { id: string; state?: string; error?: string };
  /** AWS refused a check (e.g. AccessDenied). */
  error?: string;
}

/** The RDS instance whose endpoint is pg_netloc's host. */
export interface ObservedDbInstance {
  host: string;
  found: boolean;
  id?: string;
  status?: string;
  backupRetentionDays?: number;
  engine?: string;
}

/** A login to TFE's PostgreSQL with the configured settings. Never holds the password. */
export interface DatabaseProbeResult {
  /** ok; authFailed (SQLSTATE 28xxx); refused (connection refused); unreachable (timeout, unresolvable name: the operator cannot tell); unverified (TLS verification with the operator's CAs failed); failed (anything else). */
  outcome: 'ok' | 'authFailed' | 'refused' | 'unreachable' | 'unverified' | 'failed';
  message: string;
  version?: string;
}

/** Step 1's checks of the external services (only until Ready for the current generation). */
export interface ExternalServices {
  bucket?: ObservedBucket;
  dbInstance?: ObservedDbInstance;
  /** AWS refused the RDS lookup. */
  dbInstanceError?: string;
  database?: DatabaseProbeResult;
}

export interface Observation {
  now: number;
  inputs: Inputs;
  asg?: ObservedAsg;
  launchTemplate?: ObservedLaunchTemplate;
  replicationGroup?: ObservedReplicationGroup;
  externalRedis?: RedisProbeResult;
  securityGroups: ObservedSecurityGroup[];
  /** IPv4 CIDRs of the subnets the ASG launches nodes into (a Redis rule by CIDR must cover them). */
  nodeSubnetCidrs?: string[];
  /** The bucket, the RDS instance and a PostgreSQL login (checked until Ready). */
  externalServices?: ExternalServices;
  /** Whether the nodes' instance profile may read the operator's secrets (checked until Ready). */
  nodeAccess?: NodeAccess;
  /** The ASG's load balancer target groups. */
  targetGroups?: ObservedTargetGroup[];
  /** Secrets Manager secrets the operator manages, by name. */
  awsSecrets: Record<string, ObservedSecret>;
  /** Health per instance id, and of the load balancer URL when configured. */
  nodeHealth: Record<string, NodeHealth>;
  lbHealth?: NodeHealth;
  /** The operator's latest node drain per instance id (SSM Run Command), read until Ready. */
  drains?: Record<string, ObservedDrain>;
  /** AWS refused to list the drain commands (its words). */
  drainsError?: string;
  /**
   * The enc_password the running install uses (the version the ASG runs), read while the ASG
   * carries no enc_password fingerprint tag yet: from its user data in clear, or from the
   * Secrets Manager secret the user data names. `value` is a secret: in memory only, like inputs.
   * `unknown` says why it could not be found (then the operator goes on without the comparison).
   */
  encPasswordInUse?: { value?: string; source: string; unknown?: string };
  /** spec.validation's workspace and the operator's runs in it (read until Ready). */
  validation?: ObservedValidation;
  /** URLs of the spec the operator may not request (src/security/endpoints.ts); not asked. */
  endpointsRefused?: { field: string; url: string; host: string }[];
}

/** One instance's drain: the SSM command's invocation status (Pending, InProgress, Success, Failed, TimedOut, ...). */
export interface ObservedDrain {
  commandId: string;
  status: string;
  /** The end of the command's output. */
  output?: string;
}

/** A run the operator queued for validation (its message names the TfeCluster and the stage). */
export interface ObservedRun {
  id: string;
  status: string;
  /** The stage key the run's message carries. */
  stage: string;
}

export interface ObservedValidation {
  workspaceId?: string;
  /** The operator's validation runs for this TfeCluster, newest first. */
  runs: ObservedRun[];
  /** TFE could not be asked: HTTP status when it answered, and its words. */
  error?: { status?: number; detail: string };
  /** Runs the installation is working on (Admin Runs API); null when the token may not see them (not a site admin's). */
  runsInProgress?: number | null;
}
