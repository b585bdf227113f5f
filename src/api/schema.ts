// The TfeCluster API, defined once.
//
// This TypeBox schema is the single source of truth for
//   - the TypeScript types (`Static<>`, exported from ./types.ts),
//   - the CRD's OpenAPI schema, defaults and CEL rules (./crd.ts writes crds/*.yaml),
//   - defaulting in code (./defaults.ts, for objects stored before a default existed),
//   - structural checks in code (./validate.ts).
//
// Conventions used here (./crd.ts translates them for the API server):
//   - `errorMessage` on a string/integer schema: its `pattern`, `minLength`, `minimum` and
//     `maximum` become ONE CEL rule carrying that message, so the API server answers with a
//     sentence that names the field and the fix instead of a bare regular expression.
//     Code-side checks (TypeBox) use the same keywords and the same message.
//   - `x-kubernetes-validations` hold cross-field rules and transition rules (oldSelf);
//     they exist only on the API server.
//   - A property with a `default` is required in the TS type (it is always present once
//     defaults are applied) and optional in the CRD (the API server fills it in).
//   - Every string has `maxLength` and every list `maxItems`: the API server estimates
//     the cost of CEL rules from them.

import { Type, type TLiteral, type TUnion, type SchemaOptions, type TSchema } from '@sinclair/typebox';

// ---------------------------------------------------------------------------------------
// Names

export const GROUP = 'tfe.operators.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'TfeCluster';
export const LIST_KIND = 'TfeClusterList';
export const PLURAL = 'tfeclusters';
export const SINGULAR = 'tfecluster';
export const SHORT_NAMES = ['tfe'] as const;
export const CRD_NAME = `${PLURAL}.${GROUP}`;
export const CRD_FILE = `crds/${GROUP}_${PLURAL}.yaml`;

/** Annotation whose value is the approval id shown in `status.approval.waitingFor`. */
export const ANNOTATION_APPROVE = `${GROUP}/approve`;
/** Annotation `"true"`: stop the current step and roll back / pause per failurePolicy. */
export const ANNOTATION_ABORT = `${GROUP}/abort`;
export const FINALIZER = `${GROUP}/finalizer`;

/** Settings the operator renders itself; users may not supply them through secretSettings. */
export const OPERATOR_OWNED_SETTINGS = [
  'enc_password',
  'enable_active_active',
  'redis_host',
  'redis_port',
  'redis_use_password_auth',
  'redis_pass',
  'redis_use_tls',
] as const;

/** The TFE_* variables the operator renders itself for install Docker (docs/fdo.md). */
export const OPERATOR_OWNED_VARIABLES = [
  'TFE_ENCRYPTION_PASSWORD',
  'TFE_OPERATIONAL_MODE',
  'TFE_REDIS_HOST',
  'TFE_REDIS_USE_AUTH',
  'TFE_REDIS_PASSWORD',
  'TFE_REDIS_USE_TLS',
  'TFE_VAULT_CLUSTER_ADDRESS',
  'TFE_LICENSE',
  'TFE_LICENSE_PATH',
] as const;

export const PHASES = [
  'Pending',
  'Migrating',
  'Ready',
  'Paused',
  'WaitingForApproval',
  'Degraded',
  'RollingBack',
  'RolledBack',
  'Deleting',
] as const;
export const STEPS = ['Validate', 'Redis', 'SingleNode', 'ScaleOut', 'Done', 'Upgrade', 'Scale', 'Rollback'] as const;
export const CONDITION_TYPES = [
  'Ready',
  'Progressing',
  'Degraded',
  'Validated',
  'RedisReady',
  'SingleNodeHealthy',
  'ReplicatedUIDisabled',
  'ScaledOut',
  'Paused',
  'Drifted',
  'EncryptionPasswordVerified',
  'Deleting',
] as const;
export const NETWORK_MODES = ['Verify', 'Manage'] as const;
export const APPROVAL_MODES = ['Automatic', 'Manual'] as const;
export const FAILURE_POLICIES = ['Pause', 'Rollback'] as const;
export const DRIFT_POLICIES = ['Correct', 'Report'] as const;
export const DRAIN_MODES = ['Required', 'Skip'] as const;
export const DELETION_POLICIES = ['Retain', 'Delete'] as const;

/** The node health URL unless spec.health.nodeUrlTemplate says otherwise; install Docker asks FDO's readiness endpoint where the release has it. */
export const DEFAULT_NODE_URL = 'https://{privateIp}/_health_check';

export const MIN_NODES = 2;
export const MAX_NODES = 5;
/**
 * v202104-1 (release sequence 528; HashiCorp's release table for 2021). Active/Active came
 * with v202101-1 (504), but below v202104-1 every node also needs the same internal tokens
 * (install_id, root_secret, user_token, cookie_hash, archivist_token, internal_api_token,
 * registry_session_*; HashiCorp's Active/Active guide), values a running install made at
 * random and the operator cannot read back. So the operator installs v202104-1 or later: the
 * migration's first new version upgrades an older standalone install to it.
 */
export const MIN_RELEASE_SEQUENCE = 528;
export const MIN_RELEASE_NAME = 'v202104-1';

// ---------------------------------------------------------------------------------------
// Helpers

export interface CelRule {
  rule: string;
  message: string;
  /** JSON path (from the schema node carrying the rule) of the field to blame, e.g. `.timeout`. */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

const cel = (...rules: CelRule[]) => ({ 'x-kubernetes-validations': rules });

/** A string enum (OpenAPI `enum`); the API server answers "Unsupported value ... supported values: ...". */
function StringEnum<T extends string>(values: readonly T[], options: SchemaOptions = {}): TUnion<TLiteral<T>[]> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  );
}

/** A CEL string literal holding a regular expression (raw string: no escaping needed). */
export function celRegex(pattern: string): string {
  if (pattern.includes("'")) throw new Error(`pattern must not contain a single quote: ${pattern}`);
  return `r'${pattern}'`;
}

const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const DATA_KEY = '^[-._a-zA-Z0-9]+$';
const SG_ID = '^sg-[0-9a-f]+$';
const SUBNET_ID = '^subnet-[0-9a-f]+$';
/** Go-style duration as the operator accepts it: 90s, 15m, 1h30m, 500ms. */
export const DURATION_PATTERN = '^([0-9]+(ms|s|m|h))+$';
const HTTP_URL = '^https?://[^\\s/?#]+[^\\s]*$';

function ObjectName(path: string, what: string, description: string) {
  return Type.String({
    description,
    minLength: 1,
    maxLength: 253,
    pattern: DNS_SUBDOMAIN,
    errorMessage: `${path} must be the name of a ${what} in the TfeCluster's namespace: lowercase letters, digits, '-' and '.', e.g. tfe-secrets`,
  });
}

function SecretKeyRef(path: string, description: string, options: SchemaOptions = {}) {
  return Type.Object(
    {
      name: ObjectName(`${path}.name`, 'Secret', 'Name of a Secret in the TfeCluster\'s namespace.'),
      key: Type.String({
        description: 'Key inside the Secret.',
        minLength: 1,
        maxLength: 253,
        pattern: DATA_KEY,
        errorMessage: `${path}.key must be a key of that Secret: letters, digits, '-', '_' and '.', e.g. enc_password`,
      }),
    },
    { description, ...options },
  );
}

function Port(path: string, def: number | undefined, description: string) {
  return Type.Integer({
    description,
    ...(def === undefined ? {} : { default: def }),
    minimum: 1,
    maximum: 65535,
    errorMessage: `${path} must be a TCP port between 1 and 65535 (Redis usually listens on 6379)`,
  });
}

function SecurityGroupIds(path: string, description: string, minItems = 0) {
  return Type.Array(
    Type.String({
      maxLength: 32,
      pattern: SG_ID,
      errorMessage: `every entry of ${path} must be a security group id such as sg-0123456789abcdef0 (not a name)`,
    }),
    { description, ...(minItems ? { minItems } : {}), maxItems: 16, 'x-kubernetes-list-type': 'set' },
  );
}

/**
 * A Go-style duration. The pattern becomes a CEL rule with `errorMessage`; the bounds are a
 * second CEL rule guarded by the pattern, so a malformed value yields one clear message.
 */
function Duration(path: string, def: string, min: string, max: string, description: string) {
  const re = celRegex(DURATION_PATTERN);
  return Type.String({
    description: `${description} A duration such as 90s, 15m or 1h30m (units ms, s, m, h), between ${min} and ${max}.`,
    default: def,
    maxLength: 16,
    pattern: DURATION_PATTERN,
    errorMessage: `${path} must be a duration such as 90s, 15m or 1h30m (a number and a unit ms, s, m or h, repeated)`,
    durationMin: min,
    durationMax: max,
    ...cel({
      rule: `!self.matches(${re}) || (duration(self) >= duration('${min}') && duration(self) <= duration('${max}'))`,
      message: `${path} must be between ${min} and ${max}`,
    }),
  });
}

// ---------------------------------------------------------------------------------------
// Spec

const S = 'spec';

export const AwsSchema = Type.Object(
  {
    region: Type.String({
      description: 'AWS region of the TFE installation and the Redis, e.g. us-east-1.',
      maxLength: 32,
      pattern: '^[a-z]{2}(-[a-z]+)+-[0-9]+$',
      errorMessage: `${S}.aws.region must be an AWS region code such as us-east-1, eu-west-2 or us-gov-west-1 (lowercase, no availability-zone letter)`,
    }),
    roleArn: Type.Optional(
      Type.String({
        description: 'IAM role the operator assumes for every AWS call. Omit it to use the operator\'s own credentials.',
        maxLength: 2048,
        pattern: '^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$',
        errorMessage: `${S}.aws.roleArn must be an IAM role ARN such as arn:aws:iam::123456789012:role/tfe-operator (12-digit account id); remove it to use the operator's own credentials`,
      }),
    ),
  },
  { description: 'Where the installation lives in AWS and how the operator reaches it.' },
);

export const LaunchTemplateRefSchema = Type.Object(
  {
    name: Type.Optional(
      Type.String({
        description: 'Launch template name.',
        maxLength: 128,
        minLength: 3,
        pattern: '^[a-zA-Z0-9()./_-]+$',
        errorMessage: `${S}.launchTemplate.name must be a launch template name of 3 to 128 characters: letters, digits and ( ) . / _ -`,
      }),
    ),
    id: Type.Optional(
      Type.String({
        description: 'Launch template id, e.g. lt-0123456789abcdef0.',
        maxLength: 64,
        pattern: '^lt-[0-9a-f]+$',
        errorMessage: `${S}.launchTemplate.id must be a launch template id such as lt-0123456789abcdef0; to name the template, use ${S}.launchTemplate.name instead`,
      }),
    ),
  },
  {
    description:
      'The launch template the Auto Scaling Group launches TFE nodes from. The operator owns its user data and publishes new versions of it. Exactly one of name or id.',
    ...cel({
      rule: 'has(self.name) != has(self.id)',
      message: `${S}.launchTemplate must set exactly one of name (e.g. tfe) or id (e.g. lt-0123456789abcdef0), not both and not neither`,
    }),
  },
);

export const INSTALL_KINDS = ['Replicated', 'Docker'] as const;

/**
 * FDO image tags: monthly releases vYYYYMM-N, then semantic versions from 1.0.0 (HashiCorp's
 * Terraform Enterprise release notes; docs/fdo.md).
 */
export const FDO_TAG_PATTERN = '^(v[0-9]{6}-[0-9]+|[0-9]+\\.[0-9]+\\.[0-9]+)$';

export const ReleaseSchema = Type.Object(
  {
    sequence: Type.Optional(
      Type.Integer({
        description: `Replicated release sequence of TFE to install (ReleaseSequence), at least ${MIN_RELEASE_SEQUENCE} (${MIN_RELEASE_NAME}). An older running install is upgraded to it by the migration. For install Replicated.`,
        minimum: MIN_RELEASE_SEQUENCE,
        errorMessage: `${S}.release.sequence must be at least ${MIN_RELEASE_SEQUENCE}: ${MIN_RELEASE_NAME} (sequence ${MIN_RELEASE_SEQUENCE}) is the first TFE release whose Active/Active nodes need no shared install tokens; set ${S}.release.sequence to ${MIN_RELEASE_SEQUENCE} or a later sequence (the migration upgrades an older install)`,
      }),
    ),
    tag: Type.Optional(
      Type.String({
        description: 'Image tag of terraform-enterprise in HashiCorp\'s registry (images.releases.hashicorp.com), e.g. v202503-1 or 1.2.2. For install Docker.',
        maxLength: 32,
        pattern: FDO_TAG_PATTERN,
        errorMessage: `${S}.release.tag must be a Terraform Enterprise image tag such as v202503-1 or 1.2.2 (HashiCorp's release notes)`,
      }),
    ),
  },
  { description: 'The pinned TFE release: sequence for install Replicated, tag for install Docker. Changing it later performs an upgrade (a repave: 0 -> 1 -> validate -> N).' },
);

export const SecretSettingSchema = Type.Object(
  {
    setting: Type.String({
      description: 'Key in ptfe-settings.json (install Replicated), e.g. pg_password; or a TFE_ variable (install Docker), e.g. TFE_DATABASE_PASSWORD.',
      maxLength: 128,
      pattern: '^([a-z][a-z0-9_]*|TFE_[A-Z0-9_]+)$',
      errorMessage: `${S}.settings.secretSettings[].setting must be a TFE settings key such as pg_password (lowercase letters, digits and _), or for install Docker a variable such as TFE_DATABASE_PASSWORD`,
    }),
    secretKeyRef: SecretKeyRef(`${S}.settings.secretSettings[].secretKeyRef`, 'The Secret key holding the value.'),
  },
  { description: 'A setting whose value is secret: it is stored in AWS Secrets Manager and fetched by the node at boot.' },
);

export const SettingsSchema = Type.Object(
  {
    configMapRef: Type.Object(
      { name: ObjectName(`${S}.settings.configMapRef.name`, 'ConfigMap', 'Name of a ConfigMap in the TfeCluster\'s namespace.') },
      { description: 'ConfigMap holding replicated.conf and ptfe-settings.json (install Replicated) or the TFE_* variables (install Docker), without secret values.' },
    ),
    replicatedConfKey: Type.String({
      description: 'ConfigMap key holding /etc/replicated.conf (JSON).',
      default: 'replicated.conf',
      minLength: 1,
      maxLength: 253,
      pattern: DATA_KEY,
      errorMessage: `${S}.settings.replicatedConfKey must be a ConfigMap key: letters, digits, '-', '_' and '.'`,
    }),
    settingsKey: Type.String({
      description: 'ConfigMap key holding ptfe-settings.json (JSON, every value {"value": "..."}).',
      default: 'ptfe-settings.json',
      minLength: 1,
      maxLength: 253,
      pattern: DATA_KEY,
      errorMessage: `${S}.settings.settingsKey must be a ConfigMap key: letters, digits, '-', '_' and '.'`,
    }),
    envKey: Type.String({
      description: 'Install Docker: ConfigMap key holding the TFE_* variables of the container without secret values, one NAME=value per line (# comments allowed).',
      default: 'tfe.env',
      minLength: 1,
      maxLength: 253,
      pattern: DATA_KEY,
      errorMessage: `${S}.settings.envKey must be a ConfigMap key: letters, digits, '-', '_' and '.'`,
    }),
    licenseSecretRef: SecretKeyRef(`${S}.settings.licenseSecretRef`, 'The Secret key holding the TFE license: the license file (.rli) for install Replicated, the license text (.hclic) for install Docker.'),
    daemonAuthenticationPasswordSecretRef: Type.Optional(
      SecretKeyRef(
        `${S}.settings.daemonAuthenticationPasswordSecretRef`,
        'The Secret key holding replicated.conf\'s DaemonAuthenticationPassword (the admin console password, with "DaemonAuthenticationType": "password"). Stored in AWS Secrets Manager and written into replicated.conf by the node at boot, never into the launch template; the ConfigMap may not hold it.',
      ),
    ),
    secretSettings: Type.Optional(
      Type.Array(SecretSettingSchema, {
        description: `Settings whose values are secret (pg_password, s3 keys ...). Not for ${OPERATOR_OWNED_SETTINGS.join(', ')}: the operator renders those.`,
        maxItems: 64,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['setting'],
        ...cel({
          rule: `self.all(s, !(s.setting in [${[...OPERATOR_OWNED_SETTINGS, ...OPERATOR_OWNED_VARIABLES].map((k) => `'${k}'`).join(', ')}]))`,
          message: `${S}.settings.secretSettings must not contain ${[...OPERATOR_OWNED_SETTINGS, ...OPERATOR_OWNED_VARIABLES].join(', ')}: the operator renders them; set ${S}.encryptionPasswordSecretRef, ${S}.settings.licenseSecretRef and ${S}.redis instead`,
        }),
      }),
    ),
  },
  {
    description: 'TFE settings of the existing installation (External Services mode).',
    ...cel({
      rule: '!has(self.replicatedConfKey) || !has(self.settingsKey) || self.replicatedConfKey != self.settingsKey',
      message: `${S}.settings.replicatedConfKey and ${S}.settings.settingsKey must be different ConfigMap keys (defaults replicated.conf and ptfe-settings.json)`,
      fieldPath: '.settingsKey',
    }),
  },
);

const EC = `${S}.redis.elastiCache`;
export const ElastiCacheSchema = Type.Object(
  {
    replicationGroupId: Type.String({
      description: 'ElastiCache replication group id; the operator creates it when missing and adopts it when present.',
      maxLength: 40,
      pattern: '^[a-z]([-]?[a-z0-9])*$',
      errorMessage: `${EC}.replicationGroupId must be 1 to 40 lowercase letters, digits or hyphens, start with a letter, and not end with or double a hyphen (e.g. tfe-redis)`,
    }),
    nodeType: Type.String({
      description: 'ElastiCache node type, e.g. cache.t3.medium.',
      maxLength: 64,
      pattern: '^cache\\.[a-z0-9-]+\\.[a-z0-9]+$',
      errorMessage: `${EC}.nodeType must be an ElastiCache node type starting with 'cache.', e.g. cache.t3.medium or cache.r6g.large`,
    }),
    engineVersion: Type.Optional(
      Type.String({
        description: 'Redis engine version, e.g. 7.1. Omit it for the ElastiCache default.',
        maxLength: 16,
        pattern: '^[0-9]+\\.([0-9]+|x)(\\.[0-9]+)?$',
        errorMessage: `${EC}.engineVersion must be a Redis engine version such as 7.1, 6.2 or 6.x`,
      }),
    ),
    port: Port(`${EC}.port`, 6379, 'Port Redis listens on.'),
    subnetGroupName: Type.Optional(
      Type.String({
        description: 'An existing cache subnet group. Exactly one of subnetGroupName or subnetIds.',
        maxLength: 255,
        pattern: '^[a-z0-9][a-z0-9-]*$',
        errorMessage: `${EC}.subnetGroupName must be a cache subnet group name: lowercase letters, digits and hyphens`,
      }),
    ),
    subnetIds: Type.Optional(
      Type.Array(
        Type.String({
          maxLength: 32,
          pattern: SUBNET_ID,
          errorMessage: `every entry of ${EC}.subnetIds must be a subnet id such as subnet-0123456789abcdef0`,
        }),
        {
          description:
            'Subnets for a cache subnet group the operator creates (named after replicationGroupId). Exactly one of subnetGroupName or subnetIds.',
          minItems: 1,
          maxItems: 16,
          'x-kubernetes-list-type': 'set',
        },
      ),
    ),
    securityGroupIds: SecurityGroupIds(`${EC}.securityGroupIds`, 'Security groups of the Redis nodes.', 1),
    multiAz: Type.Boolean({ description: 'Multi-AZ with automatic failover.', default: true }),
    preferredAvailabilityZones: Type.Optional(
      Type.Array(
        Type.String({
          maxLength: 32,
          pattern: '^[a-z]{2}(-[a-z]+)+-[0-9]+[a-z]$',
          errorMessage: `every entry of ${EC}.preferredAvailabilityZones must be an availability zone such as us-east-1a`,
        }),
        {
          description: 'Availability zone of each cache node, primary first: replicasPerNodeGroup + 1 entries.',
          maxItems: 6,
        },
      ),
    ),
    replicasPerNodeGroup: Type.Integer({
      description: 'Read replicas besides the primary (0..5). Redis Cluster mode is not supported by TFE, so there is one node group.',
      default: 1,
      minimum: 0,
      maximum: 5,
      errorMessage: `${EC}.replicasPerNodeGroup must be between 0 and 5`,
    }),
    transitEncryption: Type.Boolean({ description: 'TLS in transit (redis_use_tls).', default: true }),
    atRestEncryption: Type.Boolean({ description: 'Encryption at rest.', default: true }),
    automaticFailover: Type.Boolean({ description: 'Automatic failover to a replica.', default: true }),
    authTokenSecretRef: Type.Optional(
      SecretKeyRef(`${EC}.authTokenSecretRef`, 'The Secret key holding the Redis AUTH token (redis_pass). Requires transitEncryption.'),
    ),
  },
  {
    description: 'An ElastiCache for Redis replication group (cluster mode disabled) that the operator provisions or adopts.',
    ...cel(
      {
        rule: 'has(self.subnetGroupName) != has(self.subnetIds)',
        message: `${EC} must set exactly one of subnetGroupName (an existing cache subnet group) or subnetIds (the operator creates a subnet group from them)`,
      },
      {
        rule: '!has(self.authTokenSecretRef) || !has(self.transitEncryption) || self.transitEncryption',
        message: `ElastiCache accepts an auth token only with TLS in transit: set ${EC}.transitEncryption to true or remove authTokenSecretRef`,
        fieldPath: '.authTokenSecretRef',
      },
      {
        rule: '!has(self.automaticFailover) || !self.automaticFailover || !has(self.replicasPerNodeGroup) || self.replicasPerNodeGroup >= 1',
        message: `${EC}.automaticFailover needs at least one replica: set replicasPerNodeGroup to 1 or more, or set automaticFailover to false`,
        fieldPath: '.automaticFailover',
      },
      {
        rule: '!has(self.multiAz) || !self.multiAz || !has(self.automaticFailover) || self.automaticFailover',
        message: `${EC}.multiAz requires automatic failover: set automaticFailover to true (with replicasPerNodeGroup >= 1) or set multiAz to false`,
        fieldPath: '.multiAz',
      },
      {
        rule: '!has(self.preferredAvailabilityZones) || !has(self.replicasPerNodeGroup) || size(self.preferredAvailabilityZones) == self.replicasPerNodeGroup + 1',
        message: `${EC}.preferredAvailabilityZones must list one zone per cache node, replicasPerNodeGroup + 1 entries (primary first), or be removed`,
        fieldPath: '.preferredAvailabilityZones',
      },
    ),
  },
);

const EX = `${S}.redis.external`;
export const ExternalRedisSchema = Type.Object(
  {
    host: Type.String({
      description: 'Host name or IP address of the Redis primary (GCP Memorystore, Azure Cache, self-managed ...).',
      maxLength: 253,
      pattern: '^([A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?|[0-9a-fA-F]*:[0-9a-fA-F:.]+)$',
      errorMessage: `${EX}.host must be a host name or IP address without scheme or port, e.g. redis.example.com; put the port in ${EX}.port`,
    }),
    port: Port(`${EX}.port`, 6379, 'Port Redis listens on.'),
    tls: Type.Boolean({ description: 'Connect with TLS (redis_use_tls).', default: true }),
    passwordSecretRef: Type.Optional(SecretKeyRef(`${EX}.passwordSecretRef`, 'The Secret key holding the Redis password (redis_pass).')),
    caSecretRef: Type.Optional(
      SecretKeyRef(`${EX}.caSecretRef`, 'The Secret key holding a PEM CA bundle that signs the Redis server certificate. Requires tls.'),
    ),
  },
  {
    description: 'An existing Redis (not Redis Cluster mode: TFE does not support it).',
    ...cel({
      rule: '!has(self.caSecretRef) || !has(self.tls) || self.tls',
      message: `${EX}.caSecretRef is only used with TLS: set ${EX}.tls to true or remove caSecretRef`,
      fieldPath: '.caSecretRef',
    }),
  },
);

export const RedisSchema = Type.Object(
  {
    elastiCache: Type.Optional(ElastiCacheSchema),
    external: Type.Optional(ExternalRedisSchema),
  },
  {
    description: 'The Redis that the TFE nodes share. Exactly one of elastiCache or external.',
    ...cel({
      rule: 'has(self.elastiCache) != has(self.external)',
      message: `${S}.redis must set exactly one of elastiCache (the operator provisions an ElastiCache replication group) or external (an existing Redis)`,
    }),
  },
);

export const NetworkSchema = Type.Object(
  {
    mode: StringEnum(NETWORK_MODES, {
      description:
        'Verify: check and report the rules (Redis port from the nodes to Redis, 8201 between nodes, 8800 closed). Manage: also add/remove them.',
      default: 'Verify',
    }),
    nodeSecurityGroupIds: Type.Optional(
      SecurityGroupIds(`${S}.network.nodeSecurityGroupIds`, "Security groups of the TFE nodes. Default: the launch template's security groups."),
    ),
    redisSecurityGroupIds: Type.Optional(
      SecurityGroupIds(`${S}.network.redisSecurityGroupIds`, 'Security groups in front of Redis. Default: spec.redis.elastiCache.securityGroupIds.'),
    ),
  },
  { description: 'Network rules the migration needs.', default: {} },
);

const H = `${S}.health`;
export const HealthSchema = Type.Object(
  {
    url: Type.Optional(
      Type.String({
        description: 'Health check through the load balancer, e.g. https://tfe.example.com/_health_check.',
        maxLength: 2048,
        pattern: HTTP_URL,
        errorMessage: `${H}.url must be an http:// or https:// URL such as https://tfe.example.com/_health_check`,
      }),
    ),
    nodeUrlTemplate: Type.String({
      description: 'Health check of one node; {privateIp} and {instanceId} are replaced per instance. A path ending in /_health_check means TFE\'s node health: on FDO releases from 1.2.1 the operator asks /api/v1/health/readiness there instead (/_health_check is deprecated in 1.2 and answers 410 from 2.0).',
      default: DEFAULT_NODE_URL,
      maxLength: 2048,
      pattern: HTTP_URL,
      errorMessage: `${H}.nodeUrlTemplate must be an http:// or https:// URL such as https://{privateIp}/_health_check`,
      ...cel({
        rule: "self.contains('{privateIp}') || self.contains('{instanceId}')",
        message: `${H}.nodeUrlTemplate must contain {privateIp} or {instanceId} so each node is checked, e.g. https://{privateIp}/_health_check`,
      }),
    }),
    insecureSkipTLSVerify: Type.Boolean({ description: 'Do not verify TLS certificates of health checks.', default: false }),
    tlsServerName: Type.Optional(
      Type.String({
        description:
          "Name the node's certificate is checked against by the per-node probe (and sent as SNI), since the node is reached by IP. Default: the TFE hostname (the hostname setting).",
        maxLength: 253,
        pattern: DNS_SUBDOMAIN,
        errorMessage: `${H}.tlsServerName must be a DNS name such as tfe.example.com`,
      }),
    ),
    caSecretRef: Type.Optional(SecretKeyRef(`${H}.caSecretRef`, 'The Secret key holding a PEM CA bundle that signs the TFE certificate, for the health checks.')),
    timeout: Duration(`${H}.timeout`, '15m', '1s', '24h', 'How long to wait for nodes to become healthy.'),
    interval: Duration(`${H}.interval`, '10s', '100ms', '1h', 'Time between health checks.'),
  },
  {
    description: 'How the operator decides that a node is healthy (/_health_check).',
    default: {},
    ...cel({
      rule: `!has(self.timeout) || !has(self.interval) || !self.timeout.matches(${celRegex(DURATION_PATTERN)}) || !self.interval.matches(${celRegex(DURATION_PATTERN)}) || duration(self.timeout) >= duration(self.interval)`,
      message: `${H}.timeout must be at least ${H}.interval: raise timeout or lower interval`,
      fieldPath: '.timeout',
    }),
  },
);

const V = `${S}.validation`;
export const ValidationSchema = Type.Object(
  {
    address: Type.String({
      description: 'Base URL of TFE, e.g. https://tfe.example.com.',
      maxLength: 2048,
      pattern: HTTP_URL,
      errorMessage: `${V}.address must be an http:// or https:// URL such as https://tfe.example.com`,
    }),
    organization: Type.String({
      description: 'Organization of the canary workspace.',
      maxLength: 64,
      pattern: '^[A-Za-z0-9_-]+$',
      errorMessage: `${V}.organization must be a TFE organization name: letters, digits, - and _`,
    }),
    workspace: Type.String({
      description: 'Workspace whose run the operator starts and waits for.',
      maxLength: 90,
      pattern: '^[A-Za-z0-9_-]+$',
      errorMessage: `${V}.workspace must be a TFE workspace name: letters, digits, - and _`,
    }),
    tokenSecretRef: SecretKeyRef(`${V}.tokenSecretRef`, 'The Secret key holding a TFE API token allowed to queue runs in the workspace.'),
    apply: Type.Optional(
      Type.Boolean({
        description: 'Queue an auto-applied run instead of a plan-only one (the workspace then really changes its resources). Default false.',
        default: false,
      }),
    ),
    caSecretRef: Type.Optional(
      SecretKeyRef(`${V}.caSecretRef`, "The Secret key holding a PEM CA bundle that signs TFE's certificate, when a private CA does (the system's roots otherwise)."),
    ),
  },
  {
    description:
      'Optional functional check of each stage: once its nodes are healthy, the operator queues a run in this workspace (plan-only unless apply) and the stage passes only when the run finishes; an errored or canceled run fails the stage (spec.rollout.failurePolicy), one that does not finish within spec.health.timeout too.',
  },
);

const N = `${S}.node`;
/** A node file path: absolute, each part starting with a letter, digit or _ (no "..", no hidden files). */
export const NODE_FILE_PATH = '^(/[A-Za-z0-9_][A-Za-z0-9_.-]*)+$';
/**
 * Where the operator may write a file on a node: files are root-owned content from a Secret, so
 * a path like /etc/cron.d/x would be code run as root. The TLS paths of HashiCorp's module are
 * under /var/lib/terraform-enterprise/; the license may also be at its two usual exact paths.
 */
export const NODE_FILE_PREFIXES = ['/etc/tfe/', '/var/lib/tfe/', '/var/lib/terraform-enterprise/'] as const;
export const LICENSE_PATHS = ['/etc/tfe-license.rli', '/etc/terraform-enterprise.rli'] as const;
export const NodeFileSchema = Type.Object(
  {
    path: Type.String({
      description: 'Absolute path the node writes the file to, e.g. /var/lib/terraform-enterprise/certificate.pem.',
      maxLength: 256,
      pattern: NODE_FILE_PATH,
      errorMessage: `${N}.files[].path must be an absolute path such as /var/lib/terraform-enterprise/certificate.pem (each part starts with a letter, digit or _; no '..')`,
      ...cel({
        rule: NODE_FILE_PREFIXES.map((p) => `self.startsWith('${p}')`).join(' || '),
        message: `${N}.files[].path must lie under ${NODE_FILE_PREFIXES.join(', ')}: the operator writes node files only there (a file elsewhere, e.g. in /etc/cron.d, could run as root)`,
      }),
    }),
    secretKeyRef: SecretKeyRef(`${N}.files[].secretKeyRef`, 'The Secret key holding the file; its bytes are written exactly.'),
    mode: Type.String({
      description: 'File mode, octal.',
      default: '0600',
      maxLength: 4,
      pattern: '^0[0-7]{3}$',
      errorMessage: `${N}.files[].mode must be an octal file mode such as 0600 or 0644`,
    }),
  },
  { description: 'A file the node needs before install.sh runs (TLS certificate and key, a CA bundle ...). Stored in AWS Secrets Manager; the node writes its exact bytes at boot.' },
);

export const NodeSchema = Type.Object(
  {
    installArgs: Type.Optional(
      Type.Array(
        Type.String({
          minLength: 1,
          maxLength: 512,
          pattern: '^[^\\n\\r]+$',
          errorMessage: `every entry of ${N}.installArgs must be one install.sh argument on one line, e.g. no-proxy or private-address=\${PRIVATE_IP}`,
        }),
        {
          description:
            'install.sh arguments, e.g. [no-proxy, "private-address=${PRIVATE_IP}"] (${PRIVATE_IP} is the node\'s private IP, read at boot). The operator adds disable-replicated-ui for Active/Active. Default: the arguments of the user data the operator wrote before; required when the launch template user data was written by something else (an adopted install).',
          maxItems: 32,
        },
      ),
    ),
    files: Type.Optional(
      Type.Array(NodeFileSchema, {
        description: 'Files the node writes before install.sh, e.g. the TLS certificate and key that replicated.conf names.',
        maxItems: 16,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['path'],
      }),
    ),
    installerSha256: Type.Optional(
      Type.String({
        description:
          "SHA-256 of HashiCorp's install.sh (64 lowercase hex digits, as sha256sum prints it). When set, each node checks the downloaded installer with sha256sum before it runs it, and stops its boot with an error naming both sums when they differ. Unset: the installer runs unchecked (HashiCorp publishes no checksum for https://install.terraform.io/ptfe/stable, which changes with each installer release: pin the one you reviewed).",
        minLength: 64,
        maxLength: 64,
        pattern: '^[0-9a-f]{64}$',
        errorMessage: `${N}.installerSha256 must be a SHA-256 in 64 lowercase hex digits, as sha256sum prints it`,
      }),
    ),
    preInstallScriptRef: Type.Optional(
      Type.Object(
        {
          name: ObjectName(`${N}.preInstallScriptRef.name`, 'ConfigMap', "Name of a ConfigMap in the TfeCluster's namespace."),
          key: Type.String({
            description: 'Key inside the ConfigMap.',
            minLength: 1,
            maxLength: 253,
            pattern: DATA_KEY,
            errorMessage: `${N}.preInstallScriptRef.key must be a key of that ConfigMap: letters, digits, '-', '_' and '.', e.g. pre-install.sh`,
          }),
        },
        {
          description:
            'A bash script of your own (monitoring agents, disks, proxy set-up) that the node runs as root after writing the settings and files, before install.sh. It is part of the launch template user data: no secrets in it.',
        },
      ),
    ),
  },
  { description: 'How each TFE node is installed, besides the settings: install.sh arguments, files, your own pre-install steps.', default: {} },
);

const R = `${S}.rollout`;
export const RolloutSchema = Type.Object(
  {
    paused: Type.Boolean({ description: 'Stop before the next action; nothing is changed while paused.', default: false }),
    approval: StringEnum(APPROVAL_MODES, {
      description: `Manual: wait before each disruptive action until the annotation ${ANNOTATION_APPROVE} equals status.approval.waitingFor.`,
      default: 'Automatic',
    }),
    failurePolicy: StringEnum(FAILURE_POLICIES, {
      description: 'On a failed step: Pause (stay, report Degraded) or Rollback (return to the last good launch template version).',
      default: 'Pause',
    }),
    driftPolicy: StringEnum(DRIFT_POLICIES, {
      description: 'When the launch template or the ASG drifts from the desired state: Correct it, or only Report it.',
      default: 'Correct',
    }),
    stepDeadline: Duration(`${R}.stepDeadline`, '30m', '1s', '168h', 'A step running longer than this fails.'),
    drain: StringEnum(DRAIN_MODES, {
      description:
        "Before a node goes away (scale-in, repave, rollback): Required runs TFE's node drain on every serving Active/Active node that leaves (replicated admin node-drain through AWS Systems Manager: no new work, current runs finish) and changes capacity only once they are drained; Skip does not drain.",
      default: 'Required',
    }),
    drainTimeout: Duration(`${R}.drainTimeout`, '30m', '1s', '24h', 'How long the nodes may take to drain; past it the operator stops Degraded (DrainTimeout) and changes no capacity.'),
  },
  { description: 'How changes are rolled out.', default: {} },
);

const SM = `${S}.secretsManager`;
/** KMS key id, ARN, alias name or alias ARN (what Secrets Manager's KmsKeyId takes). */
export const KMS_KEY_ID = '^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[A-Za-z0-9/_+=,.@-]+|alias/[A-Za-z0-9/_-]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$';
export const SecretsManagerSchema = Type.Object(
  {
    recoveryWindowInDays: Type.Integer({
      description:
        'With deletionPolicy Delete: how long a deleted secret can still be restored (aws secretsmanager restore-secret), 7 to 30 days. The operator never force-deletes.',
      default: 30,
      minimum: 7,
      maximum: 30,
      errorMessage: `${SM}.recoveryWindowInDays must be between 7 and 30 (AWS Secrets Manager's recovery window)`,
    }),
    kmsKeyId: Type.Optional(
      Type.String({
        description:
          "A customer-managed KMS key for the secrets the operator creates (id, ARN, alias/<name> or alias ARN); default: Secrets Manager's aws/secretsmanager key. Used when a secret is created; the nodes' role then needs kms:Decrypt on it (docs/security.md).",
        maxLength: 2048,
        pattern: KMS_KEY_ID,
        errorMessage: `${SM}.kmsKeyId must be a KMS key id, key ARN, alias/<name> or alias ARN`,
      }),
    ),
  },
  { description: 'How the operator keeps the secrets it stores for the nodes in AWS Secrets Manager.', default: {} },
);

export const TfeClusterSpecSchema = Type.Object(
  {
    nodes: Type.Integer({
      description: `Number of TFE nodes, ${MIN_NODES} to ${MAX_NODES}.`,
      default: MIN_NODES,
      minimum: MIN_NODES,
      maximum: MAX_NODES,
      errorMessage: `${S}.nodes must be between ${MIN_NODES} and ${MAX_NODES}: TFE Active/Active runs ${MIN_NODES} to ${MAX_NODES} nodes`,
    }),
    aws: AwsSchema,
    autoScalingGroupName: Type.String({
      description: 'Auto Scaling Group running the TFE nodes.',
      minLength: 1,
      maxLength: 255,
      errorMessage: `${S}.autoScalingGroupName must name the Auto Scaling Group of the TFE nodes (1 to 255 characters)`,
    }),
    launchTemplate: LaunchTemplateRefSchema,
    install: StringEnum(INSTALL_KINDS, {
      description:
        "How TFE runs on each node: Replicated (install.sh; out of support since April 2026) or Docker (Flexible Deployment Options: the terraform-enterprise image with docker compose). Changing Replicated to Docker on a running install moves it to FDO on the same release (docs/fdo.md).",
      default: 'Replicated',
    }),
    release: ReleaseSchema,
    settings: SettingsSchema,
    encryptionPasswordSecretRef: SecretKeyRef(
      `${S}.encryptionPasswordSecretRef`,
      'The Secret key holding enc_password. It encrypts all TFE data and must never change, so this reference is immutable.',
      cel({
        rule: 'self == oldSelf',
        message: `${S}.encryptionPasswordSecretRef is immutable: enc_password encrypts all TFE data and changing it makes existing data undecryptable; restore the previous name and key (the Secret's value must not change either)`,
      }),
    ),
    redis: RedisSchema,
    node: NodeSchema,
    network: NetworkSchema,
    health: HealthSchema,
    validation: Type.Optional(ValidationSchema),
    rollout: RolloutSchema,
    secretsManager: SecretsManagerSchema,
    deletionPolicy: StringEnum(DELETION_POLICIES, {
      description: 'Retain: deleting the TfeCluster leaves AWS as it is. Delete: also delete the ElastiCache group the operator created.',
      default: 'Retain',
    }),
  },
  {
    description: 'The desired Terraform Enterprise Active/Active installation.',
    ...cel(
      {
        rule: `!has(self.rollout) || !has(self.rollout.stepDeadline) || !has(self.health) || !has(self.health.timeout) || !self.rollout.stepDeadline.matches(${celRegex(DURATION_PATTERN)}) || !self.health.timeout.matches(${celRegex(DURATION_PATTERN)}) || duration(self.rollout.stepDeadline) >= duration(self.health.timeout)`,
        message: `${S}.rollout.stepDeadline must be at least ${S}.health.timeout: a step waits up to health.timeout for nodes to become healthy; raise stepDeadline or lower health.timeout`,
        fieldPath: '.rollout.stepDeadline',
      },
      {
        rule: '!has(self.redis.elastiCache) || !has(self.redis.elastiCache.preferredAvailabilityZones) || self.redis.elastiCache.preferredAvailabilityZones.all(z, z.startsWith(self.aws.region))',
        message: `every entry of ${EC}.preferredAvailabilityZones must be a zone of ${S}.aws.region (e.g. us-east-1a for us-east-1)`,
        fieldPath: '.redis.elastiCache.preferredAvailabilityZones',
      },
      {
        rule: "(has(self.install) && self.install == 'Docker') ? has(self.release.tag) : has(self.release.sequence)",
        message: `${S}.release needs tag (e.g. 1.2.2) for install Docker, and sequence (e.g. 811) for install Replicated`,
        fieldPath: '.release',
        reason: 'FieldValueRequired',
      },
      {
        rule: "(has(self.install) && self.install == 'Docker') ? !has(self.release.sequence) : !has(self.release.tag)",
        message: `${S}.release takes tag only with install Docker and sequence only with install Replicated: remove the other one`,
        fieldPath: '.release',
      },
      {
        rule: "!(has(self.install) && self.install == 'Docker') || !has(self.settings.secretSettings) || self.settings.secretSettings.all(s, s.setting.startsWith('TFE_'))",
        message: `${S}.settings.secretSettings[].setting must be a TFE_ variable (e.g. TFE_DATABASE_PASSWORD) with install Docker`,
        fieldPath: '.settings.secretSettings',
      },
      {
        rule: "!(has(self.install) && self.install == 'Docker') || !has(self.settings.daemonAuthenticationPasswordSecretRef)",
        message: `${S}.settings.daemonAuthenticationPasswordSecretRef is Replicated's admin console password: FDO Docker has no admin console; remove it`,
        fieldPath: '.settings.daemonAuthenticationPasswordSecretRef',
      },
      {
        rule: "!(has(self.install) && self.install == 'Docker') || !has(self.node) || (!has(self.node.installArgs) && !has(self.node.installerSha256))",
        message: `${S}.node.installArgs and ${S}.node.installerSha256 are for Replicated's install.sh: FDO Docker does not run it; remove them`,
        fieldPath: '.node',
      },
      {
        rule: "!has(self.redis.external) || !has(self.network) || !has(self.network.mode) || self.network.mode != 'Manage' || has(self.network.redisSecurityGroupIds)",
        message: `${S}.network.mode Manage with ${S}.redis.external needs ${S}.network.redisSecurityGroupIds (the security groups in front of that Redis): set them, or use mode Verify`,
        fieldPath: '.network',
      },
    ),
  },
);

// ---------------------------------------------------------------------------------------
// Status

export const ConditionSchema = Type.Object(
  {
    type: Type.String({ description: 'Condition type, e.g. Ready.', maxLength: 316, pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$' }),
    status: StringEnum(['True', 'False', 'Unknown'] as const, { description: 'True, False or Unknown.' }),
    observedGeneration: Type.Optional(Type.Integer({ description: 'metadata.generation the condition was set for.', minimum: 0, format: 'int64' })),
    lastTransitionTime: Type.String({ description: 'When status last changed (RFC 3339).', format: 'date-time' }),
    reason: Type.String({
      description: 'CamelCase reason.',
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    }),
    message: Type.String({ description: 'Human-readable details.', maxLength: 32768 }),
  },
  { description: 'A metav1.Condition.' },
);

export const InstanceStatusSchema = Type.Object({
  id: Type.String({ description: 'EC2 instance id.', maxLength: 64 }),
  healthy: Type.Boolean({ description: 'Whether /_health_check answers healthy.' }),
  launchTemplateVersion: Type.String({ description: 'Launch template version the instance was launched from.', maxLength: 32 }),
  message: Type.Optional(Type.String({ description: 'Why the instance is not healthy.', maxLength: 4096 })),
});

export const TfeClusterStatusSchema = Type.Object(
  {
    observedGeneration: Type.Optional(Type.Integer({ description: 'metadata.generation last acted upon.', minimum: 0, format: 'int64' })),
    phase: Type.Optional(StringEnum(PHASES, { description: 'Where the cluster is overall.' })),
    step: Type.Optional(StringEnum(STEPS, { description: 'The migration or Day-2 step in progress (or Done).' })),
    message: Type.Optional(Type.String({ description: 'What is happening; on failure, what to do.', maxLength: 32768 })),
    conditions: Type.Optional(
      Type.Array(ConditionSchema, {
        description: `Conditions: ${CONDITION_TYPES.join(', ')}.`,
        maxItems: 32,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      }),
    ),
    redis: Type.Optional(
      Type.Object(
        {
          endpoint: Type.Optional(Type.String({ description: 'Host the nodes connect to (primary endpoint).', maxLength: 253 })),
          port: Type.Optional(Type.Integer({ description: 'Redis port.', minimum: 0, maximum: 65535 })),
          replicationGroupId: Type.Optional(Type.String({ description: 'ElastiCache replication group id.', maxLength: 40 })),
          managed: Type.Optional(Type.Boolean({ description: 'True when the operator created the ElastiCache group.' })),
        },
        { description: 'The Redis in use.' },
      ),
    ),
    launchTemplate: Type.Optional(
      Type.Object(
        {
          id: Type.Optional(Type.String({ description: 'Launch template id.', maxLength: 64 })),
          baselineVersion: Type.Optional(Type.Integer({ description: 'Version found before the operator changed anything.', minimum: 0 })),
          currentVersion: Type.Optional(Type.Integer({ description: 'Version the ASG launches now.', minimum: 0 })),
          lastGoodVersion: Type.Optional(Type.Integer({ description: 'Last version that passed validation; rollback target.', minimum: 0 })),
        },
        { description: 'Launch template versions.' },
      ),
    ),
    nodes: Type.Optional(
      Type.Object(
        {
          desired: Type.Optional(Type.Integer({ description: 'Desired capacity the operator set on the ASG.', minimum: 0 })),
          ready: Type.Optional(Type.Integer({ description: 'Healthy nodes.', minimum: 0 })),
          instances: Type.Optional(
            Type.Array(InstanceStatusSchema, {
              description: 'Instances of the ASG.',
              maxItems: 64,
              'x-kubernetes-list-type': 'map',
              'x-kubernetes-list-map-keys': ['id'],
            }),
          ),
        },
        { description: 'TFE nodes.' },
      ),
    ),
    validation: Type.Optional(
      Type.Object(
        {
          runId: Type.String({ description: 'The last validation run.', maxLength: 64 }),
          url: Type.String({ description: "The run's page in TFE.", maxLength: 2048 }),
          status: Type.String({ description: "The run's status in TFE (e.g. planning, planned_and_finished, errored).", maxLength: 64 }),
          stage: Type.String({ description: 'What it validates: launch template version, node count and the nodes.', maxLength: 253 }),
        },
        { description: 'The validation run of the current (or last) stage, when spec.validation is set.' },
      ),
    ),
    encryptionPasswordFingerprint: Type.Optional(
      Type.String({ description: 'sha256:<salted hash> of enc_password first seen; a different value stops the operator.', maxLength: 256 }),
    ),
    approval: Type.Optional(
      Type.Object(
        {
          waitingFor: Type.String({ description: `Approval id; set annotation ${ANNOTATION_APPROVE} to it to proceed.`, maxLength: 253 }),
          description: Type.Optional(Type.String({ description: 'What will happen once approved.', maxLength: 4096 })),
        },
        { description: 'Present while waiting for approval.' },
      ),
    ),
    stepStartedAt: Type.Optional(Type.String({ description: 'When the current step started (RFC 3339).', format: 'date-time' })),
    wait: Type.Optional(
      Type.Object(
        {
          id: Type.String({ description: 'What is awaited, e.g. healthy:3:2 (2 healthy nodes on launch template version 3).', maxLength: 253 }),
          since: Type.String({ description: 'When the wait began (RFC 3339); deadlines count from here across restarts.', format: 'date-time' }),
        },
        { description: 'The wait in progress.' },
      ),
    ),
    lastAction: Type.Optional(
      Type.Object(
        {
          kind: Type.String({ description: 'The action the operator last carried out.', maxLength: 64 }),
          message: Type.Optional(Type.String({ description: 'What it did.', maxLength: 4096 })),
          time: Type.String({ description: 'When (RFC 3339).', format: 'date-time' }),
        },
        { description: 'The last change the operator made in AWS.' },
      ),
    ),
  },
  { description: 'Observed state, written by the operator through the status subresource.' },
);

// ---------------------------------------------------------------------------------------
// The resource

export const TfeClusterSchema = Type.Object(
  {
    apiVersion: Type.Optional(Type.String({ description: `${API_VERSION}` })),
    kind: Type.Optional(Type.String({ description: KIND })),
    metadata: Type.Optional(Type.Object({})),
    spec: TfeClusterSpecSchema,
    status: Type.Optional(TfeClusterStatusSchema),
  },
  {
    description:
      'A Terraform Enterprise installation on AWS that the operator migrates to Active/Active (external Redis, several nodes) and keeps there.',
  },
);

/** Every schema in this file, for tests that walk them. */
export const ALL_SCHEMAS: Record<string, TSchema> = {
  TfeCluster: TfeClusterSchema,
  TfeClusterSpec: TfeClusterSpecSchema,
  TfeClusterStatus: TfeClusterStatusSchema,
  Condition: ConditionSchema,
};
