// TypeScript types of the TfeCluster API, derived from ./schema.ts (never written by hand).
//
// `TfeClusterSpec` is the spec with defaults applied: every property that has a default
// in the schema is present. Objects read from the API server have them (the API server
// defaults on read and write); use `withDefaults()` from ./defaults.ts on anything else.

import type { Static } from '@sinclair/typebox';
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type {
  AwsSchema,
  ConditionSchema,
  ElastiCacheSchema,
  ExternalRedisSchema,
  HealthSchema,
  InstanceStatusSchema,
  LaunchTemplateRefSchema,
  NetworkSchema,
  NodeSchema,
  NodeFileSchema,
  RedisSchema,
  ReleaseSchema,
  RolloutSchema,
  SecretSettingSchema,
  SettingsSchema,
  TfeClusterSpecSchema,
  TfeClusterStatusSchema,
  ValidationSchema,
  PHASES,
  INSTALL_KINDS,
  STEPS,
  CONDITION_TYPES,
  NETWORK_MODES,
  APPROVAL_MODES,
  FAILURE_POLICIES,
  DRIFT_POLICIES,
  DELETION_POLICIES,
} from './schema.ts';

export {
  GROUP,
  VERSION,
  API_VERSION,
  KIND,
  LIST_KIND,
  PLURAL,
  SINGULAR,
  SHORT_NAMES,
  CRD_NAME,
  CRD_FILE,
  ANNOTATION_APPROVE,
  ANNOTATION_ABORT,
  FINALIZER,
  OPERATOR_OWNED_SETTINGS,
  OPERATOR_OWNED_VARIABLES,
  INSTALL_KINDS,
  PHASES,
  STEPS,
  CONDITION_TYPES,
  NETWORK_MODES,
  APPROVAL_MODES,
  FAILURE_POLICIES,
  DRIFT_POLICIES,
  DELETION_POLICIES,
  MIN_NODES,
  MAX_NODES,
  MIN_RELEASE_SEQUENCE,
} from './schema.ts';

export type TfeClusterSpec = Static<typeof TfeClusterSpecSchema>;
export type TfeClusterStatus = Static<typeof TfeClusterStatusSchema>;
export type Condition = Static<typeof ConditionSchema>;
export type ConditionStatus = Condition['status'];

export type AwsSpec = Static<typeof AwsSchema>;
export type LaunchTemplateRef = Static<typeof LaunchTemplateRefSchema>;
export type ReleaseSpec = Static<typeof ReleaseSchema>;
export type SettingsSpec = Static<typeof SettingsSchema>;
export type SecretSetting = Static<typeof SecretSettingSchema>;
export type RedisSpec = Static<typeof RedisSchema>;
export type ElastiCacheSpec = Static<typeof ElastiCacheSchema>;
export type ExternalRedisSpec = Static<typeof ExternalRedisSchema>;
export type NetworkSpec = Static<typeof NetworkSchema>;
export type NodeSpec = Static<typeof NodeSchema>;
export type NodeFileSpec = Static<typeof NodeFileSchema>;
export type HealthSpec = Static<typeof HealthSchema>;
export type ValidationSpec = Static<typeof ValidationSchema>;
export type RolloutSpec = Static<typeof RolloutSchema>;
export type SecretKeyRef = TfeClusterSpec['encryptionPasswordSecretRef'];
export type ConfigMapRef = SettingsSpec['configMapRef'];
export type InstanceStatus = Static<typeof InstanceStatusSchema>;
export type RedisStatus = NonNullable<TfeClusterStatus['redis']>;
export type LaunchTemplateStatus = NonNullable<TfeClusterStatus['launchTemplate']>;
export type NodesStatus = NonNullable<TfeClusterStatus['nodes']>;
export type ApprovalStatus = NonNullable<TfeClusterStatus['approval']>;

export type Phase = (typeof PHASES)[number];
export type InstallKindName = (typeof INSTALL_KINDS)[number];
export type Step = (typeof STEPS)[number];
export type ConditionType = (typeof CONDITION_TYPES)[number];
export type NetworkMode = (typeof NETWORK_MODES)[number];
export type ApprovalMode = (typeof APPROVAL_MODES)[number];
export type FailurePolicy = (typeof FAILURE_POLICIES)[number];
export type DriftPolicy = (typeof DRIFT_POLICIES)[number];
export type DeletionPolicy = (typeof DELETION_POLICIES)[number];

export interface TfeCluster {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec: TfeClusterSpec;
  status?: TfeClusterStatus;
}

export interface TfeClusterList {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items: TfeCluster[];
}
