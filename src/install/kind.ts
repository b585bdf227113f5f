// One module per way of running TFE on a node ("install kind"), behind one interface: how its
// user data is rendered and read back, what its settings must hold, its release, whether an
// install runs Active/Active, and its health and drain commands. The planner walks the same
// steps for every kind (validate, Redis, one node, validate, scale out, Day 2) and asks the
// kind only for these. Replicated (./replicated.ts) and Docker, TFE's Flexible Deployment
// Options (./docker.ts); Podman or Nomad would be one more module.

import type { InstallKindName, TfeClusterSpec } from '../api/types.ts';
import type { Inputs, ObservedTemplateVersion } from '../migration/observation.ts';
import type { Target } from '../migration/targets.ts';
import type { NodeInstall } from '../tfe/userdata.ts';
import type { DockerInstall } from './docker-userdata.ts';
import type { Release } from './releases.ts';

/** What a launch template version installs, as the operator reads it back. */
export type AnyInstall = NodeInstall | DockerInstall;

export const isDockerInstall = (i: AnyInstall | undefined): i is DockerInstall => (i as DockerInstall | undefined)?.runtime === 'docker';

/** A refusal before any write: the Degraded reason and a message naming the field and the fix. */
export interface Refusal {
  reason: string;
  message: string;
}

export interface RedisTarget {
  host: string;
  port: number;
  useTls: boolean;
  usePassword: boolean;
}

export interface KindContext {
  spec: TfeClusterSpec;
  namespace: string;
  name: string;
  inputs: Inputs;
}

/** The external services the settings name, for the step-1 checks (observe and the planner's messages). */
export interface ExternalServicesSettings {
  /** Where a person changes them: "ptfe-settings.json (ConfigMap tfe/x)". */
  where: string;
  bucket?: { name: string; region?: string };
  database?: { host: string; port: number; user?: string; password?: string; database?: string; sslmode: string };
  /** The setting or variable behind each value, for messages. */
  names: { bucket: string; region: string; dbHost: string; dbUser: string; dbName: string; dbPassword: string; dbParams: string };
}

/** A TfeCluster's settings, validated for its kind: what the targets are rendered from. */
export interface Prepared {
  release: Release;
  /** The release the settings say the running install has (Replicated's ConfigMap ReleaseSequence), for a baseline the operator did not write. */
  baseRelease?: Release;
  /** Files the node must have (TLS) and may not overwrite. */
  nodeFilesProblem(): Refusal | undefined;
  /** The launch template content of the single-node and the full Active/Active stage. */
  targets(redis: RedisTarget, baseline: ObservedTemplateVersion | undefined): { single: Target; full: Target };
  /**
   * The full stage: what its step condition says once it runs (ReplicatedUIDisabled: reason and
   * message), and what the roll onto it does (`rolling`).
   */
  fullStageCondition(version: number): Refusal & { rolling: string };
}

export interface InstallKind {
  readonly name: InstallKindName;
  /** Whether a parsed install is this kind's. */
  owns(install: AnyInstall): boolean;
  render(install: AnyInstall): string;
  /** Whether a script has this kind's header (then parse reads it, or says why not). */
  recognises(script: string): boolean;
  parse(script: string): AnyInstall;
  /** Validate the TfeCluster's settings for this kind. */
  prepare(ctx: KindContext): Prepared | Refusal;
  /** Adopting a baseline the operator did not write: what this kind needs from the spec first. */
  adoptionProblem(baseline: ObservedTemplateVersion, spec: TfeClusterSpec): Refusal | undefined;
  /** The TFE hostname and external services the settings name (undefined while they do not parse). */
  settingsView(ctx: KindContext): { hostname?: string; external?: ExternalServicesSettings };
  // On an install of this kind:
  releaseOf(install: AnyInstall): Release | undefined;
  /** Runs as a node of an Active/Active cluster at its full stage (the migration is past its single node). */
  isActiveActive(install: AnyInstall): boolean;
  /** TFE's drain, run on the node through SSM; undefined when the install has none (standalone). */
  drainCommand(install: AnyInstall): string | undefined;
  /** The Secrets Manager id the install reads enc_password from. */
  encPasswordSecretId(install: AnyInstall): string | undefined;
}

export const isRefusal = (p: Prepared | Refusal): p is Refusal => 'reason' in p;
