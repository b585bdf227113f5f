// The planner: a pure function from (TfeCluster, Observation) to the next action and the
// status a person reads. No I/O here, so every step and every failure is a table test.
//
// It never trusts a stored phase: it re-derives where the migration stands from AWS (the
// ASG's launch template version, capacity, instances, and the operator's ASG tags) each time.

import type { TfeCluster } from '../api/types.ts';
import { parseDuration } from '../api/defaults.ts';
import { DAEMON_PASSWORD } from '../tfe/settings.ts';
import { endpointMessage } from '../security/endpoints.ts';
import { kindNamed, kindOf, releaseOf, renderInstall } from '../install/index.ts';
import { isRefusal, type AnyInstall, type InstallKind, type KindContext, type Prepared, type RedisTarget } from '../install/kind.ts';
import { compareReleases, needsQuietPeriod, releaseLabel, SEQUENCE_TO_TAG, VERSION_QUIET_PERIOD_MS, type Release } from '../install/releases.ts';
import type { Action, ReplicationGroupParams, SecretPut, SecretSource } from './actions.ts';
import { approvalId, describeAction, drainComment, isDisruptive } from './actions.ts';
import type { AsgInstance, Observation, ObservedAsg, ObservedTemplateVersion, RolloutMode, SgRule } from './observation.ts';
import { isLeaving, TAG } from './observation.ts';
import { contentHash, encPasswordTagFingerprint, secretOwnedBy, encPasswordTagSalt, fingerprint, fingerprintMatches, LEGACY_PREFIX, NODE_SECRET_ACTION, secretName, type Target } from './targets.ts';
import { checkNetwork, isConsoleGroup } from './network.ts';
import { RUN_FAILED, RUN_SUCCEEDED, runUrl, validationMessage } from '../tfe/runs.ts';


export type Step = 'Validate' | 'Redis' | 'SingleNode' | 'ScaleOut' | 'Done' | 'Upgrade' | 'Scale' | 'Rollback';
export type Phase =
  | 'Pending'
  | 'Migrating'
  | 'Ready'
  | 'Paused'
  | 'WaitingForApproval'
  | 'Degraded'
  | 'RollingBack'
  | 'RolledBack';

/** Whether the Secret's enc_password was checked against the install's (True), or could not be (Unknown). */
export const ENC_CONDITION = 'EncryptionPasswordVerified';

export const STEP_CONDITIONS = ['Validated', 'RedisReady', 'SingleNodeHealthy', 'ReplicatedUIDisabled', 'ScaledOut'] as const;

export interface ConditionUpdate {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export interface InstanceStatus {
  id: string;
  healthy: boolean;
  launchTemplateVersion?: string;
  message?: string;
}

export interface Plan {
  /** The action to carry out now; undefined when there is nothing to do or the operator must not act. */
  action?: Action;
  /** Re-run after this many ms (waits); undefined: wait for the next change. */
  requeueAfterMs?: number;
  phase: Phase;
  step: Step;
  message: string;
  conditions: ConditionUpdate[];
  /** Failure reason when Degraded (also the Degraded condition's reason). */
  failure?: { reason: string; message: string };
  nodes: { desired: number; ready: number; instances: InstanceStatus[] };
  redis?: { endpoint?: string; port?: number; replicationGroupId?: string; managed: boolean };
  launchTemplate?: { id?: string; baselineVersion?: number; currentVersion?: number; lastGoodVersion?: number };
  encryptionPasswordFingerprint?: string;
  /** The validation run of the stage being validated (spec.validation). */
  validation?: { runId: string; url: string; status: string; stage: string };
  approval?: { waitingFor: string; description: string };
  /** The wait in progress and since when (kept in status to judge deadlines across restarts). */
  wait?: { id: string; since: string };
  /**
   * What the launch template will say at each stage, once the inputs validate (for
   * `tfe-operator render`); before the Redis exists its endpoint is a named placeholder.
   */
  targets?: { single: Target; full: Target; redisKnown: boolean };
}

export interface PlanContext {
  cluster: TfeCluster;
  obs: Observation;
  /** Salt for the enc_password fingerprint (stable per TfeCluster: its uid). */
  salt: string;
  /** The operator's HMAC key for fingerprints (src/security/fingerprint-key.ts); never shown. */
  fingerprintKey: Uint8Array;
  /** This Kubernetes cluster's identity (src/security/index.ts clusterIdentity), tagged on the secrets the operator stores. */
  clusterId?: string;
}

const ANNOTATION_APPROVE = 'tfe.operators.dev/approve';
const ANNOTATION_ABORT = 'tfe.operators.dev/abort';

/** Steps of a fresh migration, in order, with the condition each one turns True. */
const STEP_ORDER: Step[] = ['Validate', 'Redis', 'SingleNode', 'ScaleOut', 'Done'];

export function plan(ctx: PlanContext): Plan {
  const b = new PlanBuilder(ctx);
  return b.run();
}

class Stop {
  constructor(readonly plan: Plan) {}
}

class PlanBuilder {
  private readonly spec: TfeCluster['spec'];
  private readonly obs: Observation;
  private conditions = new Map<string, ConditionUpdate>();
  private redis: Plan['redis'];
  private lt: Plan['launchTemplate'];
  private fingerprintValue?: string;
  /** The Secret's fingerprint, kept in status once checked against the install (checkEncryptionPassword). */
  private verifiedFingerprint?: string;
  /** The stage's validation run, for status. */
  private validation?: Plan['validation'];
  private step: Step = 'Validate';
  /** The validated settings of the spec's install kind (set by validateInputs). */
  private prepared?: Prepared;
  private readonly nodesWanted: number;
  /** The install kind the spec asks for (spec.install). */
  private readonly kind: InstallKind;

  constructor(private readonly ctx: PlanContext) {
    this.spec = ctx.cluster.spec;
    this.obs = ctx.obs;
    this.nodesWanted = this.spec.nodes ?? 2;
    this.kind = kindNamed(this.spec.install);
  }

  private get kindContext(): KindContext {
    return { spec: this.spec, namespace: this.ns, name: this.name, inputs: this.obs.inputs };
  }

  run(): Plan {
    try {
      this.planAll();
      throw new Error('planner fell through without a decision');
    } catch (e) {
      if (e instanceof Stop) return e.plan;
      throw e;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The straight list of phases. Each either returns (continue) or throws Stop with a decision.

  private planAll(): never {
    this.prepared = this.validateInputs();
    const asg = this.validateAsg();
    this.checkEncryptionPassword(asg);
    const baseline = this.baselineVersion(asg);
    const current = this.versionOf(asg.launchTemplateVersion);
    this.validateRelease(current);
    this.validateStandalone(asg, current);
    this.validateNodeFiles();
    this.validateUserDataSize(baseline);
    this.validateGracePeriod(asg);
    this.checkNodeAccess(baseline);
    this.checkValidationAccess();
    const externalNote = this.checkExternalServices();
    this.detachConsoleTargetGroups(asg);
    this.validateNetwork(asg, baseline);
    this.condition('Validated', 'True', 'ChecksPassed', `settings, Auto Scaling Group, launch template, external services and network are ready${externalNote ? `; ${externalNote}` : ''}`);

    this.checkExternalRedis();
    this.ensureOwnershipTags(asg);
    this.pinVersion(asg);
    this.step = 'Redis';
    const redis = this.planRedis();
    this.condition('RedisReady', 'True', 'Available', `Redis at ${redis.host}:${redis.port}`);
    this.ensureSecrets(redis.usePassword);

    const targets = this.targetsFor(baseline, redis);
    this.lastTargets = targets;
    this.checkRolledBack(asg, targets.full);
    this.checkAbort(asg, baseline);
    return this.planRollout(asg, baseline, current, targets);
  }

  /**
   * HashiCorp's module attaches a target group for the admin console (8800). Active/Active
   * closes 8800 and disables the console, which turns that group unhealthy, and with health
   * check type ELB the ASG would then replace every node in a loop. So it is detached first, as
   * a step of its own (behind the approval gate with approval Manual), before 8800 is closed or
   * a UI-disabled version rolls. Never re-attached: the console does not come back.
   */
  private detachConsoleTargetGroups(asg: ObservedAsg) {
    const attached = new Set(asg.targetGroupArns ?? []);
    const console = (this.obs.targetGroups ?? []).filter((g) => attached.has(g.arn) && isConsoleGroup(g));
    if (console.length === 0) return;
    this.gateAndAct(
      { kind: 'DetachTargetGroups', arns: console.map((g) => g.arn), names: console.map((g) => g.name) },
      `detaching the admin console target group(s) ${console.map((g) => g.name).join(', ')} before port 8800 is closed and the console disabled`,
    );
  }

  /** With ELB health checks, a grace period shorter than the health wait lets the ASG replace a node the operator still waits for. */
  private validateGracePeriod(asg: ObservedAsg) {
    if (asg.healthCheckType !== 'ELB' || asg.healthCheckGracePeriod === undefined) return;
    const timeoutS = Math.ceil(parseDuration(this.spec.health?.timeout ?? '15m') / 1000);
    if (asg.healthCheckGracePeriod < timeoutS) {
      this.fail(
        'GracePeriodTooShort',
        `Auto Scaling Group ${asg.name} checks health through its load balancer (ELB) with a grace period of ${asg.healthCheckGracePeriod}s, shorter than spec.health.timeout (${timeoutS}s): a node still installing could be replaced. Raise the group's HealthCheckGracePeriod to at least ${timeoutS} (aws autoscaling update-auto-scaling-group --auto-scaling-group-name ${asg.name} --health-check-grace-period ${timeoutS}) or lower spec.health.timeout`,
      );
    }
  }

  private targetsFor(baseline: ObservedTemplateVersion, redis: RedisTarget) {
    return this.prepared!.targets(redis, baseline);
  }

  /**
   * EC2 refuses user data over 16 KB. Refuse it here, before any change, with the Redis
   * endpoint not known yet: a placeholder as long as an ElastiCache primary endpoint can be.
   */
  private validateUserDataSize(baseline: ObservedTemplateVersion) {
    const placeholder = `master.${'r'.repeat(40)}.xxxxxx.euw1.cache.amazonaws.com`;
    const t = this.targetsFor(baseline, { host: placeholder, port: 65535, useTls: true, usePassword: true });
    for (const target of [t.single, t.full]) this.checkUserDataSize(target);
    const ec = this.spec.redis.elastiCache;
    const ext = this.spec.redis.external;
    const host = ext?.host ?? this.ctx.cluster.status?.redis?.endpoint ?? `PRIMARY-ENDPOINT-OF-ELASTICACHE-${ec?.replicationGroupId ?? ''}`;
    const preview = this.targetsFor(baseline, {
      host,
      port: ec?.port ?? ext?.port ?? 6379,
      useTls: ec ? (ec.transitEncryption ?? true) : (ext?.tls ?? true),
      usePassword: !!(ec?.authTokenSecretRef ?? ext?.passwordSecretRef),
    });
    this.previewTargets = { ...preview, redisKnown: !!ext || !!this.ctx.cluster.status?.redis?.endpoint };
  }
  private previewTargets?: Plan['targets'];

  private checkUserDataSize(t: Target) {
    const size = Buffer.byteLength(renderInstall(t.install), 'utf8');
    if (size > USER_DATA_LIMIT) {
      this.fail(
        'UserDataTooLarge',
        `the user data for "${t.description}" would be about ${size} bytes; EC2 takes at most ${USER_DATA_LIMIT} (16 KB before base64): shorten the settings in spec.settings.configMapRef or the install arguments`,
      );
    }
  }

  private get ns(): string {
    return this.ctx.cluster.metadata?.namespace ?? 'default';
  }
  private get name(): string {
    return this.ctx.cluster.metadata?.name ?? '';
  }

  // --- Step 1: validate and prepare ------------------------------------------------------------

  private validateInputs() {
    const { inputs } = this.obs;
    if (inputs.missing.length > 0) {
      this.fail('InputMissing', `cannot read ${inputs.missing.join('; ')}: create it, or fix the reference in spec.settings / spec.encryptionPasswordSecretRef / spec.redis`);
    }
    if (this.obs.endpointsRefused?.length) {
      this.fail('EndpointNotAllowed', endpointMessage(this.obs.endpointsRefused, this.kind.settingsView(this.kindContext).hostname));
    }
    const prepared = this.kind.prepare(this.kindContext);
    if (isRefusal(prepared)) this.fail(prepared.reason, prepared.message);
    const enc = inputs.secrets.encPassword;
    if (!enc) {
      this.fail('EncryptionPasswordMissing', 'enc_password is empty: put it in the Secret named by spec.encryptionPasswordSecretRef (it must be the value the running install already uses)');
    }
    const fp = fingerprint(enc, this.ctx.salt, this.ctx.fingerprintKey);
    const known = this.ctx.cluster.status?.encryptionPasswordFingerprint;
    // An older operator's salted SHA-256 is accepted once and rewritten as the HMAC (checkEncryptionPassword).
    if (known && !fingerprintMatches(known, enc, this.ctx.salt, this.ctx.fingerprintKey)) {
      this.fingerprintValue = known;
      this.fail(
        'EncryptionPasswordChanged',
        `the enc_password in the Secret changed (fingerprint ${fp}, expected ${known}); refusing to roll it out because TFE could no longer decrypt its data. Restore the previous value in the Secret; to really rotate it, follow HashiCorp's re-keying procedure and then clear status.encryptionPasswordFingerprint (kubectl patch tfecluster ${this.name} -n ${this.ns} --subresource=status --type=merge -p '{"status":{"encryptionPasswordFingerprint":null}}') and remove the tag ${TAG.encPasswordFingerprint} from the Auto Scaling Group ${this.spec.autoScalingGroupName}`,
      );
    }
    // Recorded in status only once checkEncryptionPassword found it to be the install's value.
    this.fingerprintValue = known;
    this.verifiedFingerprint = fp;
    if (!inputs.secrets.license?.length) {
      this.fail('InputMissing', 'the license is empty: put it in the Secret named by spec.settings.licenseSecretRef');
    }
    return prepared;
  }

  /** Secret ns/name key k (spec.encryptionPasswordSecretRef): where a person fixes the value. */
  private get encRef(): string {
    const r = this.spec.encryptionPasswordSecretRef;
    return `Secret ${this.ns}/${r.name} key ${r.key} (spec.encryptionPasswordSecretRef)`;
  }

  /**
   * Before any write: the Secret's enc_password must be the one the install runs with. The ASG's
   * fingerprint tag says which (it survives a deleted and re-created TfeCluster); without the tag
   * (before the operator's first write), the value the running version's user data uses, in clear
   * or from the secret it names (observe.ts). Never the value in a message: only where it came from.
   */
  private checkEncryptionPassword(asg: ObservedAsg) {
    this.verifyEncryptionPassword(asg);
    this.fingerprintValue = this.verifiedFingerprint;
  }

  private verifyEncryptionPassword(asg: ObservedAsg) {
    const enc = this.obs.inputs.secrets.encPassword!;
    const tagged = asg.tags[TAG.encPasswordFingerprint];
    const prev = this.previousCondition(ENC_CONDITION);
    if (tagged) {
      if (!fingerprintMatches(tagged, enc, encPasswordTagSalt(asg.name), this.ctx.fingerprintKey)) {
        this.fail(
          'EncryptionPasswordMismatch',
          `the enc_password in ${this.encRef} is not the one the install on Auto Scaling Group ${asg.name} runs with (the group's tag ${TAG.encPasswordFingerprint} holds the fingerprint of that value, e.g. from an earlier TfeCluster for this group); TFE could not decrypt its data with it, so nothing was changed. Put the install's enc_password in that Secret; only if TFE was really re-keyed, remove the tag (aws autoscaling delete-tags --tags ResourceId=${asg.name},ResourceType=auto-scaling-group,Key=${TAG.encPasswordFingerprint})`,
        );
      }
      // How it was first verified stays readable (a value that could not be read stays Unknown).
      if (prev?.reason === 'RunningValueUnknown') this.condition(ENC_CONDITION, 'Unknown', prev.reason, prev.message);
      else if (prev?.status === 'True') this.condition(ENC_CONDITION, 'True', prev.reason, prev.message);
      else this.condition(ENC_CONDITION, 'True', 'MatchesRecordedFingerprint', `the enc_password in ${this.encRef} matches the fingerprint on Auto Scaling Group ${asg.name} (tag ${TAG.encPasswordFingerprint})`);
      return;
    }
    const running = this.obs.encPasswordInUse;
    if (running?.value !== undefined) {
      if (running.value !== enc) {
        this.fail(
          'EncryptionPasswordMismatch',
          `the enc_password in ${this.encRef} differs from the one the running install uses (read from ${running.source}); TFE could not decrypt its data with it, so nothing was changed. Put the running install's enc_password in that Secret`,
        );
      }
      this.condition(ENC_CONDITION, 'True', 'MatchesRunningInstall', `the enc_password in ${this.encRef} is the one the running install uses (${running.source})`);
      return;
    }
    const why = running?.unknown ?? 'the running install was not looked at';
    this.condition(
      ENC_CONDITION,
      'Unknown',
      'RunningValueUnknown',
      `could not find the enc_password the running install uses (${running?.source ?? 'its launch template'}: ${why}); going on with the value in ${this.encRef}, which must be the running install's: a different one makes TFE's data undecryptable`,
    );
  }

  private validateAsg(): ObservedAsg {
    const { asg, launchTemplate } = this.obs;
    if (!asg) {
      this.fail('AutoScalingGroupNotFound', `Auto Scaling Group ${this.spec.autoScalingGroupName} not found in ${this.spec.aws.region}: check spec.autoScalingGroupName and spec.aws.region`);
    }
    if (!launchTemplate) {
      const ref = this.spec.launchTemplate.id ?? this.spec.launchTemplate.name;
      this.fail('LaunchTemplateNotFound', `launch template ${ref} not found: check spec.launchTemplate`);
    }
    if (asg.launchTemplateId && asg.launchTemplateId !== launchTemplate.id) {
      this.fail('LaunchTemplateMismatch', `Auto Scaling Group ${asg.name} launches from ${asg.launchTemplateId}, not ${launchTemplate.id}: fix spec.launchTemplate`);
    }
    const owner = asg.tags[TAG.owner];
    if (owner && owner !== `${this.ns}/${this.name}`) {
      this.fail('OwnedElsewhere', `Auto Scaling Group ${asg.name} is managed by TfeCluster ${owner}; one TfeCluster per Auto Scaling Group`);
    }
    this.lt = { id: launchTemplate.id, currentVersion: asg.launchTemplateVersion };
    return asg;
  }

  private versionOf(n: number | undefined): ObservedTemplateVersion | undefined {
    return this.obs.launchTemplate?.versions.find((v) => v.number === n);
  }

  private baselineVersion(asg: ObservedAsg): ObservedTemplateVersion {
    const tagged = Number(asg.tags[TAG.baselineVersion]);
    const n = Number.isInteger(tagged) && tagged > 0 ? tagged : asg.launchTemplateVersion;
    const version = this.versionOf(n);
    if (!version) this.fail('LaunchTemplateNotFound', `launch template version ${n} that the Auto Scaling Group uses was not found`);
    const adoption = this.kind.adoptionProblem(version, this.spec);
    if (adoption) this.fail(adoption.reason, adoption.message);
    this.lt = { ...this.lt, baselineVersion: n, lastGoodVersion: numberTag(asg, TAG.lastGoodVersion) ?? n };
    return version;
  }

  /** Files the node must have (TLS), none written over the files the operator writes itself. */
  private validateNodeFiles() {
    const problem = this.prepared!.nodeFilesProblem();
    if (problem) this.fail(problem.reason, problem.message);
  }

  /** The release an install (or a baseline the operator did not write) runs. */
  private releaseOfVersion(v: ObservedTemplateVersion | undefined): Release | undefined {
    return releaseOf(v?.install) ?? v?.foreignRelease;
  }

  private validateRelease(current: ObservedTemplateVersion | undefined) {
    const wanted = this.prepared!.release;
    const field = wanted.kind === 'Docker' ? `spec.release.tag ${wanted.tag}` : `spec.release.sequence ${wanted.sequence}`;
    const running = this.releaseOfVersion(current);
    if (!running) return;
    if (running.kind === 'Replicated' && wanted.kind === 'Docker') return this.validateMoveToFdo(running, wanted, current!);
    if (running.kind === 'Docker' && wanted.kind === 'Replicated') {
      this.fail('NoWayBackToReplicated', `the install runs FDO (${releaseLabel(running)}); spec.install Replicated would go back to an install out of support since April 2026, which HashiCorp's migration does not provide: keep spec.install Docker`);
    }
    const order = compareReleases(wanted, running);
    if (order !== undefined && order < 0) {
      const fix = running.kind === 'Docker' ? `set spec.release.tag to ${running.tag} or newer` : running.kind === wanted.kind ? `set spec.release.sequence to ${running.sequence} or newer` : 'pin a release at least as new as the running one';
      this.fail('DowngradeRefused', `${field} is older than the running ${releaseLabel(running)}; TFE does not support downgrades: ${fix}`);
    }
  }

  /**
   * Replicated -> FDO (spec.install Docker on a Replicated install): HashiCorp's "Migrate from
   * Replicated to another runtime" needs the same TFE release on both sides, so the image tag
   * must be the one of the running release sequence (SEQUENCE_TO_TAG, from HashiCorp's release
   * notes): no upgrade in the same step.
   */
  private validateMoveToFdo(running: Extract<Release, { kind: 'Replicated' }>, wanted: Extract<Release, { kind: 'Docker' }>, current: ObservedTemplateVersion) {
    const tag = SEQUENCE_TO_TAG[running.sequence];
    const how = `HashiCorp's migration from Replicated to FDO needs the same release on both sides`;
    if (!tag) {
      this.fail(
        'ReleaseHasNoFdoImage',
        `the install runs release sequence ${running.sequence} (launch template version ${current.number}), which has no FDO image tag in the operator's table (sequences 751..811, v202401-1..v202503-1: docs/fdo.md); ${how}: first upgrade the Replicated install to one of them (spec.install Replicated, spec.release.sequence 811 for v202503-1), then change spec.install to Docker`,
      );
    }
    if (tag !== wanted.tag) {
      const upgrade = compareReleases(wanted, running)! > 0;
      this.fail(
        upgrade ? 'UpgradeDuringMove' : 'ReleaseMismatch',
        `spec.release.tag ${wanted.tag} is not the running release: the install runs sequence ${running.sequence}, which is image tag ${tag}; ${how}${upgrade ? ', and an upgrade folded into the move is not supported' : ''}. Set spec.release.tag to ${tag}; upgrade after the move`,
      );
    }
  }

  /** Whether an install runs Active/Active at its full stage (by its own kind). */
  private activeActive(install: AnyInstall | undefined): boolean {
    return !!install && kindOf(install).isActiveActive(install);
  }

  private validateStandalone(asg: ObservedAsg, current: ObservedTemplateVersion | undefined) {
    if (this.activeActive(current?.install) || asg.tags[TAG.rollout] || asg.tags[TAG.lastGoodVersion]) return;
    const live = asg.instances.filter((i) => !isLeaving(i)).length;
    if (asg.desired > 1 || live > 1) {
      this.fail('NotStandalone', `Auto Scaling Group ${asg.name} runs ${Math.max(live, asg.desired)} nodes without Active/Active settings; a standalone install must have exactly one node before the migration: scale it to 1`);
    }
  }

  private validateNetwork(asg: ObservedAsg, baseline: ObservedTemplateVersion) {
    const nodeGroups = this.spec.network?.nodeSecurityGroupIds ?? baseline.securityGroupIds;
    const redisGroups = this.spec.network?.redisSecurityGroupIds ?? this.spec.redis.elastiCache?.securityGroupIds ?? [];
    const port = this.spec.redis.elastiCache?.port ?? this.spec.redis.external?.port ?? 6379;
    const result = checkNetwork({
      groups: this.obs.securityGroups,
      nodeGroups,
      redisGroups,
      redisPort: port,
      externalRedis: !!this.spec.redis.external,
      nodeSubnetCidrs: this.obs.nodeSubnetCidrs,
    });
    if (result.missingGroups.length > 0) {
      this.fail('SecurityGroupNotFound', `security groups not found: ${result.missingGroups.join(', ')}: fix spec.network`);
    }
    if (result.fixes.length === 0) return;
    const summary = result.fixes.map((f) => f.problem).join('; ');
    const fix = result.fixes[0];
    // After the cluster was Ready once, a wrong rule is a change someone made: drift.
    const wasReady = !!asg.tags[TAG.lastGoodVersion];
    if ((this.spec.network?.mode ?? 'Verify') === 'Manage' && fix.rule) {
      const action: Action = fix.revoke
        ? { kind: 'RevokeIngress', groupId: fix.groupId, rule: fix.rule, why: fix.problem }
        : { kind: 'AuthorizeIngress', groupId: fix.groupId, rule: fix.rule, why: fix.problem };
      if (wasReady) this.condition('Drifted', 'True', 'DriftCorrected', `security group rules changed: ${summary} (restoring the declared state)`);
      this.act(action, `fixing the network: ${summary}`);
    }
    if (wasReady) {
      const why = (this.spec.network?.mode ?? 'Verify') === 'Manage' ? 'the operator does not remove a wider rule' : 'network.mode Verify: not fixing';
      this.condition('Drifted', 'True', 'DriftReported', `security group rules changed: ${summary} (${why})`);
    }
    this.fail('NetworkNotReady', `${summary}. Fix the security group rules, or set spec.network.mode to Manage to let the operator fix them`);
  }

  private ensureOwnershipTags(asg: ObservedAsg) {
    const encFp = encPasswordTagFingerprint(this.obs.inputs.secrets.encPassword!, asg.name, this.ctx.fingerprintKey);
    const taggedFp = asg.tags[TAG.encPasswordFingerprint];
    if (asg.tags[TAG.owner] && asg.tags[TAG.baselineVersion] && taggedFp) {
      // Verified already (checkEncryptionPassword): an older operator's salted SHA-256 becomes the HMAC.
      if (taggedFp.startsWith(LEGACY_PREFIX)) {
        this.act({ kind: 'TagAsg', tags: { [TAG.encPasswordFingerprint]: encFp }, why: 'replace the salted SHA-256 enc_password fingerprint with the HMAC' }, 'upgrading the enc_password fingerprint on the Auto Scaling Group to an HMAC');
      }
      return;
    }
    const tags: Record<string, string> = {
      [TAG.owner]: `${this.ns}/${this.name}`,
      [TAG.baselineVersion]: asg.tags[TAG.baselineVersion] || String(asg.launchTemplateVersion ?? ''),
      [TAG.encPasswordFingerprint]: encFp,
    };
    if (asg.tags[TAG.owner] && asg.tags[TAG.baselineVersion]) {
      this.act({ kind: 'TagAsg', tags: { [TAG.encPasswordFingerprint]: tags[TAG.encPasswordFingerprint]! }, why: 'record the enc_password fingerprint' }, 'recording the enc_password fingerprint on the Auto Scaling Group');
    }
    this.act(
      { kind: 'TagAsg', tags, why: `record the baseline launch template version ${tags[TAG.baselineVersion]} and the enc_password fingerprint before any change` },
      'recording the baseline before the migration',
    );
  }

  /**
   * An ASG on "$Latest" (HashiCorp's module) or "$Default" would launch from the operator's next
   * version the moment it exists, with no 1 -> 0 -> 1: point it at its numeric baseline first.
   * Only before the first Ready (afterwards the operator's own versions are numeric).
   */
  private pinVersion(asg: ObservedAsg) {
    const spec = asg.launchTemplateVersionSpec;
    if (spec === undefined || /^\d+$/.test(spec) || asg.tags[TAG.lastGoodVersion] || asg.launchTemplateVersion === undefined) return;
    this.act(
      { kind: 'SetAsgVersion', version: asg.launchTemplateVersion },
      `pinning ${asg.name} from "${spec}" to launch template version ${asg.launchTemplateVersion} before the operator adds versions ("${spec}" would move to them at once)`,
    );
  }

  // --- Step 2: Redis ---------------------------------------------------------------------------

  /**
   * An existing Redis the nodes could not use stops the migration before its first change
   * (the ownership tags included): nothing in AWS is touched for a Redis that is not there.
   */
  private checkExternalRedis() {
    const ext = this.spec.redis.external;
    const probe = this.obs.externalRedis;
    if (!ext || !probe || probe.ok) return;
    this.step = 'Redis';
    this.redis = { endpoint: ext.host, port: ext.port ?? 6379, managed: false };
    // Unreachable can be an outage (a restart, a failover): probe again at the health interval
    // rather than at the resync, so the migration goes on soon after Redis is back.
    const retry = probe.reason === 'Unreachable' ? parseDuration(this.spec.health?.interval ?? '10s') : undefined;
    this.fail(`Redis${probe.reason ?? 'Unusable'}`, `Redis at ${ext.host}:${ext.port ?? 6379}: ${probe.message}`, undefined, retry);
  }

  private planRedis(): { host: string; port: number; useTls: boolean; usePassword: boolean } {
    const ec = this.spec.redis.elastiCache;
    if (ec) {
      const group = this.obs.replicationGroup;
      if (!group) {
        const params: ReplicationGroupParams = {
          id: ec.replicationGroupId,
          description: `Redis for Terraform Enterprise (TfeCluster ${this.ns}/${this.name})`,
          nodeType: ec.nodeType ?? 'cache.t3.medium',
          engineVersion: ec.engineVersion,
          port: ec.port ?? 6379,
          subnetGroupName: ec.subnetGroupName,
          subnetIds: ec.subnetIds,
          securityGroupIds: ec.securityGroupIds ?? [],
          multiAz: ec.multiAz ?? true,
          preferredAvailabilityZones: ec.preferredAvailabilityZones,
          replicasPerNodeGroup: ec.replicasPerNodeGroup ?? 1,
          transitEncryption: ec.transitEncryption ?? true,
          atRestEncryption: ec.atRestEncryption ?? true,
          automaticFailover: ec.automaticFailover ?? true,
          authToken: !!ec.authTokenSecretRef,
          tags: { [TAG.owner]: `${this.ns}/${this.name}` },
        };
        if (ec.authTokenSecretRef) {
          const problem = authTokenProblem(this.obs.inputs.secrets.redisPassword ?? '');
          if (problem) {
            this.fail(
              'RedisAuthTokenInvalid',
              `the Redis auth token in Secret ${this.ns}/${ec.authTokenSecretRef.name} key ${ec.authTokenSecretRef.key} (spec.redis.elastiCache.authTokenSecretRef) ${problem}: ElastiCache accepts 16 to 128 printable ASCII characters, the only special characters being ! & # $ ^ < > -; put such a token in the Secret`,
            );
          }
        }
        this.act({ kind: 'CreateReplicationGroup', params }, `creating ElastiCache replication group ${ec.replicationGroupId}`);
      }
      if (group.status === 'create-failed') {
        this.fail('RedisCreateFailed', `replication group ${group.id} is create-failed in ElastiCache: see its events in the AWS console, delete it, and the operator creates it again`);
      }
      const managed = group.ownedByUs ?? this.ctx.cluster.status?.redis?.managed ?? false;
      this.redis = { replicationGroupId: group.id, managed, endpoint: group.endpoint, port: group.port };
      if (group.clusterEnabled) {
        this.fail('RedisClusterMode', `replication group ${group.id} runs in cluster mode, which TFE does not support: use a replication group with cluster mode disabled (primary/replica)`);
      }
      if (ec.authTokenSecretRef && !group.authTokenEnabled) {
        this.fail('RedisSettingsMismatch', `replication group ${group.id} has no auth token but spec.redis.elastiCache.authTokenSecretRef is set: remove the reference or enable AUTH on the group`);
      }
      // Only creation blocks: a group that is modifying or snapshotting keeps serving (a
      // Ready cluster stays Ready through an engine patch or a backup).
      if (group.status === 'creating' || !group.endpoint) {
        this.wait(`redis:${group.id}`, `waiting for replication group ${group.id} to become available (now ${group.status})`, 'step');
      }
      return { host: group.endpoint, port: group.port ?? ec.port ?? 6379, useTls: group.transitEncryption, usePassword: group.authTokenEnabled };
    }
    const ext = this.spec.redis.external!;
    this.redis = { endpoint: ext.host, port: ext.port ?? 6379, managed: false };
    const probe = this.obs.externalRedis;
    if (!probe) this.wait('redis:probe', `probing Redis at ${ext.host}:${ext.port ?? 6379}`, 'step');
    if (!probe.ok) this.fail(`Redis${probe.reason ?? 'Unusable'}`, `Redis at ${ext.host}:${ext.port ?? 6379}: ${probe.message}`);
    return { host: ext.host, port: ext.port ?? 6379, useTls: ext.tls ?? true, usePassword: !!ext.passwordSecretRef };
  }

  private ensureSecrets(redisPassword: boolean) {
    const wanted: Array<{ purpose: string; source: SecretSource; value?: string | Uint8Array }> = [
      { purpose: 'enc_password', source: { kind: 'encPassword' }, value: this.obs.inputs.secrets.encPassword },
      { purpose: 'license', source: { kind: 'license' }, value: this.obs.inputs.secrets.license },
      ...(this.spec.node?.files ?? []).map((f) => ({ purpose: `file${f.path}`, source: { kind: 'file', path: f.path } as SecretSource, value: this.obs.inputs.secrets.files[f.path] })),
    ];
    if (redisPassword) {
      wanted.push({ purpose: 'redis_pass', source: { kind: 'redisPassword' }, value: this.obs.inputs.secrets.redisPassword });
    }
    if (this.spec.settings.daemonAuthenticationPasswordSecretRef) {
      wanted.push({ purpose: `replicated-${DAEMON_PASSWORD}`, source: { kind: 'daemonPassword' }, value: this.obs.inputs.secrets.daemonPassword });
    }
    for (const s of this.spec.settings.secretSettings ?? []) {
      wanted.push({ purpose: `setting-${s.setting}`, source: { kind: 'setting', setting: s.setting }, value: this.obs.inputs.secrets.settings[s.setting] });
    }
    const puts: SecretPut[] = [];
    const owner = `${this.ns}/${this.name}`;
    for (const w of wanted) {
      const name = secretName(this.ns, this.name, w.purpose);
      if (w.value === undefined) this.fail('InputMissing', `no value for ${w.purpose}: check the Secret references in the spec`);
      const found = this.obs.awsSecrets[name];
      if (found && !secretOwnedBy(found, owner, this.ctx.clusterId)) {
        this.fail(
          'SecretOwnedElsewhere',
          `Secrets Manager secret ${name} exists but is not this TfeCluster's (its tags ${TAG.owner}=${found.owner ?? '(none)'}, ${TAG.clusterId}=${found.clusterId ?? '(none)'}; this one is ${owner} in cluster ${this.ctx.clusterId ?? '?'}): another Kubernetes cluster or another tool uses that name. Nothing was written. Delete or rename that secret, or give this TfeCluster another namespace/name`,
        );
      }
      const hash = fingerprint(w.value, name, this.ctx.fingerprintKey);
      // A salted SHA-256 tag of an older operator is not accepted as current: the secret is put
      // again with the same value and the HMAC tag (once).
      if (this.obs.awsSecrets[name]?.hash === hash) continue;
      puts.push({ name, source: w.source, hash, tags: { [TAG.owner]: owner, ...(this.ctx.clusterId ? { [TAG.clusterId]: this.ctx.clusterId } : {}), [TAG.secretHash]: hash } });
    }
    if (puts.length > 0) {
      this.act({ kind: 'PutSecrets', secrets: puts }, `storing ${puts.length} secret(s) in AWS Secrets Manager for the nodes to fetch at boot`);
    }
  }

  /**
   * The nodes read their secrets with the launch template's instance profile. If it may not,
   * every new node would die at boot before install.sh (seen only as a health timeout), so
   * refuse before the first new version, with the policy statement to add.
   */
  private checkNodeAccess(baseline: ObservedTemplateVersion) {
    const prefix = secretName(this.ns, this.name, '');
    if (!baseline.instanceProfile) {
      this.fail(
        'NodeProfileMissing',
        `launch template version ${baseline.number} has no IAM instance profile, so the nodes could not read their settings, license and files from AWS Secrets Manager: give the launch template an instance profile whose role may ${NODE_SECRET_ACTION} on the secrets named ${prefix}* (docs/adoption.md)`,
      );
    }
    const access = this.obs.nodeAccess;
    if (!access) return; // not checked while Ready
    if (access.error) {
      this.fail('NodeAccessUnchecked', `cannot check what the nodes' instance profile ${access.profile} may read: ${access.error}. Let the operator call iam:GetInstanceProfile and iam:SimulatePrincipalPolicy (manifests/iam/tfe-operator-policy.json)`);
    }
    if (access.noRole) this.fail('NodeProfileMissing', `instance profile ${access.profile} of launch template version ${baseline.number} has no role: add the nodes' role to it`);
    if (access.denied.length > 0) {
      const account = access.role?.split(':')[4] ?? '<account>';
      const statement = JSON.stringify({ Effect: 'Allow', Action: NODE_SECRET_ACTION, Resource: `arn:aws:secretsmanager:${this.spec.aws.region}:${account}:secret:${prefix}*` });
      this.fail(
        'NodeSecretAccessDenied',
        `the nodes' role ${access.role} (instance profile ${access.profile}) may not ${NODE_SECRET_ACTION} on ${access.denied.join(', ')} (IAM policy simulation), so new nodes would fail at boot: add this statement to the role's policy: ${statement}`,
      );
    }
  }

  /**
   * Step 1 of the runbook, "validate external services", for real (observe read them until
   * Ready): the bucket exists in s3_region and its KMS key is usable; the RDS instance behind
   * pg_netloc is available with automated backups; PostgreSQL accepts the configured login.
   * Each problem stops before any write. A database the operator cannot reach from where it
   * runs (timeout, private DNS) is not a failure: the returned note says so, and the nodes'
   * health decides.
   */
  private checkExternalServices(): string | undefined {
    const ext = this.obs.externalServices;
    if (!ext) return undefined; // not checked while Ready
    const view = this.kind.settingsView(this.kindContext).external;
    const where = view?.where ?? `ConfigMap ${this.ns}/${this.spec.settings.configMapRef.name}`;
    const names = view?.names ?? { bucket: 's3_bucket', region: 's3_region', dbHost: 'pg_netloc', dbUser: 'pg_user', dbName: 'pg_dbname', dbPassword: 'pg_password', dbParams: 'pg_extra_params' };
    const b = ext.bucket;
    if (b) {
      if (b.error && !b.exists) {
        this.fail('BucketUnchecked', `cannot check ${names.bucket} ${b.name}: ${b.error}. Let the operator call s3:ListBucket (HeadBucket), s3:GetBucketLocation and s3:GetEncryptionConfiguration on it (manifests/iam/tfe-operator-policy.json)`);
      }
      if (!b.exists) {
        this.fail('BucketNotFound', `${names.bucket} ${b.name} in ${where} does not exist (S3 HeadBucket: 404 Not Found): TFE keeps its object storage there. Create the bucket, or set s3_bucket to the install's bucket`);
      }
      if (b.error) {
        this.fail('BucketUnchecked', `cannot check ${names.bucket} ${b.name}: ${b.error}. Let the operator call s3:ListBucket (HeadBucket), s3:GetBucketLocation and s3:GetEncryptionConfiguration on it (manifests/iam/tfe-operator-policy.json)`);
      }
      const s3Region = view?.bucket?.region;
      if (b.region && s3Region && b.region !== s3Region) {
        this.fail('BucketRegionMismatch', `${names.bucket} ${b.name} is in ${b.region} (S3 GetBucketLocation), but ${names.region} in ${where} says ${s3Region}: set ${names.region} to ${b.region}`);
      }
      const key = b.kmsKey;
      if (key && (key.error || key.state !== 'Enabled')) {
        this.fail(
          'BucketKmsKeyUnusable',
          `the default encryption of ${names.bucket} ${b.name} uses KMS key ${key.id}, ${key.error ? `which the operator cannot describe (kms:DescribeKey: ${key.error})` : `which is ${key.state} (kms:DescribeKey)`}: TFE could neither write nor read its objects. ${key.state === 'PendingDeletion' ? `Cancel the deletion (aws kms cancel-key-deletion --key-id ${key.id}) and enable the key` : key.state === 'Disabled' ? `Enable it (aws kms enable-key --key-id ${key.id})` : 'Make the key usable (enabled, and kms:DescribeKey allowed to the operator)'}, or change the bucket's default encryption`,
        );
      }
    }
    if (ext.dbInstanceError) {
      this.fail('DatabaseUnchecked', `cannot look up the RDS instance behind ${names.dbHost}: ${ext.dbInstanceError}. Let the operator call rds:DescribeDBInstances (manifests/iam/tfe-operator-policy.json)`);
    }
    const rds = ext.dbInstance;
    if (rds && !rds.found) {
      this.fail('DatabaseNotFound', `${names.dbHost} in ${where} names the RDS endpoint ${rds.host}, but no RDS instance in ${this.spec.aws.region} has that endpoint (rds:DescribeDBInstances): correct ${names.dbHost} (the instance's Endpoint.Address and port)`);
    }
    if (rds?.found && rds.status !== 'available') {
      this.fail('DatabaseNotAvailable', `RDS instance ${rds.id} (${names.dbHost} ${rds.host}) is ${rds.status}, not available: TFE cannot start on it. ${rds.status === 'stopped' ? `Start it (aws rds start-db-instance --db-instance-identifier ${rds.id}) and` : 'Wait until it is available, or fix it, and'} the operator goes on by itself`);
    }
    if (rds?.found && !(rds.backupRetentionDays! > 0)) {
      this.fail(
        'DatabaseBackupsOff',
        `RDS instance ${rds.id} (${names.dbHost} ${rds.host}) keeps no automated backups (BackupRetentionPeriod 0): the migration restarts TFE against this database, and a failure would have no restore point. Turn backups on: aws rds modify-db-instance --db-instance-identifier ${rds.id} --backup-retention-period 7 --apply-immediately`,
      );
    }
    const db = ext.database;
    if (!db || db.outcome === 'ok') return undefined;
    const pw = (this.spec.settings.secretSettings ?? []).find((s) => s.setting === names.dbPassword)?.secretKeyRef;
    const pwWhere = pw ? `Secret ${this.ns}/${pw.name} key ${pw.key}` : `${names.dbPassword} in ${where}`;
    switch (db.outcome) {
      case 'authFailed':
        return this.fail('DatabaseAuthFailed', `${db.message}: TFE's nodes would fail their database check. Correct ${names.dbPassword} (${pwWhere}) or ${names.dbUser} / ${names.dbName} in ${where}`);
      case 'refused':
        return this.fail('DatabaseUnreachable', `${db.message}: nothing listens at ${names.dbHost} in ${where}. Correct ${names.dbHost} (host:port of the database) or start the database`);
      case 'failed':
        return this.fail('DatabaseConnectFailed', `${db.message}: correct ${names.dbHost}, ${names.dbName} or ${names.dbParams} in ${where}`);
      default: // unreachable, unverified: the operator cannot judge from where it runs
        return `PostgreSQL not checked from the operator: ${db.message}; the nodes' health decides`;
    }
  }

  // --- Steps 3 and 4, upgrades, scaling ----------------------------------------------------------

  private planRollout(asg: ObservedAsg, baseline: ObservedTemplateVersion, current: ObservedTemplateVersion | undefined, t: { single: Target; full: Target }): never {
    const singleV = this.findVersion(t.single);
    const fullV = this.findVersion(t.full);
    const rollout = parseRollout(asg.tags[TAG.rollout]);
    const cur = asg.launchTemplateVersion;

    if (fullV !== undefined && cur === fullV) {
      const mode = rollout?.version === fullV ? rollout.mode : 'direct';
      const activeActiveBefore = mode === 'canary';
      if (mode === 'canary' || mode === 'direct') {
        this.condition('SingleNodeHealthy', 'True', 'Validated', 'one node ran on Redis and passed validation');
      }
      const stage = this.prepared!.fullStageCondition(fullV);
      this.condition('ReplicatedUIDisabled', 'True', stage.reason, stage.message);
      this.step = rollout?.version === fullV ? (activeActiveBefore ? 'Upgrade' : 'ScaleOut') : 'Scale';
      return this.planOnFull(asg, fullV, mode);
    }
    if (fullV !== undefined && cur !== fullV && !rollout && asg.instances.length > 0 && asg.instances.every((i) => i.launchTemplateVersion === String(fullV))) {
      // Every node runs the declared version but the ASG was pointed elsewhere by hand (even at
      // the operator's own single-node version: that must not restart the single-node step).
      this.step = 'Done';
      this.drift(`the Auto Scaling Group launches from version ${cur}, not the declared version ${fullV}`, { kind: 'SetAsgVersion', version: fullV });
    }
    if (singleV !== undefined && cur === singleV) {
      this.step = 'SingleNode';
      return this.planOnSingle(asg, singleV, t.full);
    }
    // Neither target yet: start (or restart) a rollout.
    if (this.activeActive(current?.install)) {
      // Already Active/Active on older content: repave with a canary (0 -> 1 -> validate -> N).
      this.step = 'Upgrade';
      this.condition('SingleNodeHealthy', 'True', 'Validated', 'the cluster already ran Active/Active');
      const v = this.ensureVersion(t.full, baseline);
      this.gateAndAct({ kind: 'RollAsg', version: v, capacity: 0, mode: 'canary', tags: { [TAG.rollout]: `${v}:canary` } }, `repaving onto launch template version ${v} (${t.full.description}): scaling to 0`);
    }
    this.step = 'SingleNode';
    const v = this.ensureVersion(t.single, baseline);
    this.gateAndAct({ kind: 'RollAsg', version: v, capacity: 0, mode: 'single', tags: { [TAG.rollout]: `${v}:single` } }, `moving to launch template version ${v} (one node on Redis): scaling to 0`);
  }

  private planOnSingle(asg: ObservedAsg, singleV: number, full: Target): never {
    if (asg.desired === 0) {
      if (asg.instances.length > 0) this.wait(`drain:${singleV}`, `waiting for ${asg.instances.length} instance(s) to terminate`, 'step');
      this.versionQuiet(singleV);
      this.gateAndAct({ kind: 'ScaleAsg', capacity: 1 }, `starting one node on launch template version ${singleV}`);
    }
    if (asg.desired !== 1) {
      this.gateAndAct({ kind: 'ScaleAsg', capacity: 1 }, `the single-node step runs exactly one node (found ${asg.desired})`);
    }
    this.waitHealthy(asg, singleV, 1, 'SingleNodeHealthy');
    this.recordFdoServed(asg, singleV);
    this.condition('SingleNodeHealthy', 'True', 'Validated', `node ${asg.instances[0]?.id} is healthy on Redis with launch template version ${singleV}`);
    this.step = 'ScaleOut';
    const v = this.ensureVersion(full, undefined);
    this.gateAndAct({ kind: 'RollAsg', version: v, capacity: 0, mode: 'direct', tags: { [TAG.rollout]: `${v}:direct` } }, `${this.prepared!.fullStageCondition(v).rolling}: scaling to 0`);
  }

  private planOnFull(asg: ObservedAsg, fullV: number, mode: RolloutMode): never {
    const n = this.nodesWanted;
    // Settled (no rollout in flight, the last good state is this version at this size): a
    // different size was set by hand, even 0. Restore or report it; never mistake it for a step.
    const settled = !rolloutInFlight(asg) && asg.tags[TAG.lastGoodVersion] === String(fullV) && asg.tags[TAG.lastGoodCapacity] === String(n);
    if (settled && (asg.desired !== n || asg.min !== n || asg.max !== n)) {
      this.step = 'Done';
      this.drift(`the Auto Scaling Group size is min ${asg.min} / max ${asg.max} / desired ${asg.desired}, not ${n}`, { kind: 'ScaleAsg', capacity: n });
    }
    if (asg.desired === 0) {
      if (asg.instances.length > 0) this.wait(`drain:${fullV}`, `waiting for ${asg.instances.length} instance(s) to terminate`, 'step');
      this.versionQuiet(fullV);
      const first = mode === 'canary' ? 1 : n;
      this.gateAndAct({ kind: 'ScaleAsg', capacity: first }, mode === 'canary' ? `starting one canary node on launch template version ${fullV}` : `scaling out to ${n} nodes`);
    }
    if (mode === 'canary' && asg.desired === 1 && n > 1) {
      this.waitHealthy(asg, fullV, 1, 'ScaledOut');
      this.recordFdoServed(asg, fullV);
      this.gateAndAct({ kind: 'ScaleAsg', capacity: n }, `canary node validated: scaling out to ${n} nodes`);
    }
    if (asg.desired !== n || asg.min !== n || asg.max !== n) {
      this.step = 'Scale';
      this.condition('ScaledOut', 'False', 'Scaling', `scaling from ${asg.desired} to ${n} nodes`);
      this.act({ kind: 'ScaleAsg', capacity: n }, `scaling from ${asg.desired} to ${n} nodes (spec.nodes)`);
    }
    this.waitHealthy(asg, fullV, n, 'ScaledOut');
    if (asg.tags[TAG.lastGoodVersion] !== String(fullV) || asg.tags[TAG.lastGoodCapacity] !== String(n) || asg.tags[TAG.rollout] || asg.tags[TAG.rolledBackFrom]) {
      this.act(
        {
          kind: 'TagAsg',
          tags: { [TAG.lastGoodVersion]: String(fullV), [TAG.lastGoodCapacity]: String(n), [TAG.rollout]: '', [TAG.rolledBackFrom]: '' },
          why: `record version ${fullV} x ${n} as the last good state`,
        },
        `all ${n} nodes healthy: recording the last good state`,
      );
    }
    this.ensureResumed(asg);
    this.ensureUnprotected(asg);
    this.step = 'Done';
    this.condition('ScaledOut', 'True', 'AllNodesHealthy', `${n} of ${n} nodes healthy on launch template version ${fullV}`);
    this.condition('Ready', 'True', 'ActiveActive', `Active/Active with ${n} healthy nodes`);
    this.condition('Progressing', 'False', 'Complete', 'nothing to do');
    this.condition('Degraded', 'False', 'AsExpected', 'no failure');
    throw new Stop(this.finish({ phase: 'Ready', message: `Active/Active: ${n} of ${n} nodes healthy on launch template version ${fullV}` }));
  }

  /**
   * From 2.0, TFE refuses to start while a node of another version ran in the last 10 seconds:
   * once every earlier node is gone, wait that long (from when the operator saw none) before the
   * first node of such a release starts.
   */
  private versionQuiet(version: number) {
    const r = releaseOf(this.versionOf(version)?.install);
    if (r?.kind !== 'Docker' || !needsQuietPeriod(r.tag)) return;
    const id = `quiet:${version}`;
    const prev = this.ctx.cluster.status?.wait;
    if (prev?.id === id && this.obs.now - Date.parse(prev.since) >= VERSION_QUIET_PERIOD_MS) return;
    this.wait(id, `every earlier node is gone; TFE ${r.tag} does not start while a node of another version ran in the last ${VERSION_QUIET_PERIOD_MS / 1000} seconds: waiting that long`, 'none');
  }

  /**
   * Replicated -> FDO: the first FDO node served. From here on there is no rollback to Replicated
   * (refuseDowngradingRollback): the tag keeps that across crashes and re-created TfeClusters.
   */
  private recordFdoServed(asg: ObservedAsg, version: number) {
    if (asg.tags[TAG.fdoServed] || !this.lt?.baselineVersion) return;
    const served = releaseOf(this.versionOf(version)?.install);
    const baseline = this.releaseOfVersion(this.versionOf(this.lt.baselineVersion));
    if (served?.kind !== 'Docker' || baseline?.kind !== 'Replicated') return;
    this.act({ kind: 'TagAsg', tags: { [TAG.fdoServed]: String(version) }, why: `record that the FDO node on launch template version ${version} served` }, `the first FDO node served: recording it (no rollback to Replicated from here)`);
  }

  private findVersion(t: Target): number | undefined {
    return this.obs.launchTemplate?.versions.find((v) => v.description === t.description)?.number;
  }

  /** The version number for a target, or (Stop) the action that creates it. */
  private ensureVersion(t: Target, source: ObservedTemplateVersion | undefined): number {
    const v = this.findVersion(t);
    if (v !== undefined) return v;
    const from = source?.number ?? this.lt?.baselineVersion ?? this.obs.launchTemplate!.latestVersion;
    this.checkUserDataSize(t);
    this.act(
      { kind: 'CreateLaunchTemplateVersion', launchTemplateId: this.obs.launchTemplate!.id, sourceVersion: from, description: t.description, install: t.install },
      `creating launch template version "${t.description}"`,
    );
  }

  /** Continue only when `count` instances run `version` and all are healthy, and the load balancer too. */
  private waitHealthy(asg: ObservedAsg, version: number, count: number, conditionType: string) {
    const onVersion = asg.instances.filter((i) => !isLeaving(i) && i.launchTemplateVersion === String(version));
    // A failed validation run fails its stage at once, even while the nodes turn unhealthy too.
    const stage = this.validationStage(version, count, onVersion.map((i) => i.id));
    if (stage?.run && RUN_FAILED.has(stage.run.status)) {
      this.stageFailed(
        'ValidationRunFailed',
        `validation run ${stage.run.id} in workspace ${this.spec.validation!.organization}/${this.spec.validation!.workspace} ended ${stage.run.status} (${this.validation!.url})`,
        'Read the run in TFE, fix the cause, then change the spec to queue a new one (any change but spec.rollout.paused and spec.deletionPolicy)',
      );
    }
    // A node the operator drains for the next step served this one: draining turns its health
    // check unhealthy (FDO's readiness answers 503 DRAINING), which must not send the step back.
    const healthy = onVersion.filter((i) => this.obs.nodeHealth[i.id]?.healthy || this.obs.drains?.[i.id]);
    const stale = asg.instances.length - onVersion.length;
    if (onVersion.length < count || healthy.length < count || stale > 0) {
      const seen = asg.instances.map((i) => `${i.id}: ${this.obs.nodeHealth[i.id]?.detail ?? 'no answer yet'}`).join('; ') || 'no instance yet';
      this.condition(conditionType, 'False', 'WaitingForHealthy', `${healthy.length}/${count} healthy on version ${version}`);
      this.wait(`healthy:${version}:${count}`, `waiting for ${count} healthy node(s) on launch template version ${version} (${healthy.length} so far; ${seen})`, 'health');
    }
    if (this.spec.health?.url && !this.obs.lbHealth?.healthy) {
      this.wait(`lb:${version}:${count}`, `nodes healthy; waiting for the load balancer health check (${this.obs.lbHealth?.detail ?? 'no answer yet'})`, 'health');
    }
    if (stage) this.validateStage(stage.key, stage.run);
  }

  /** The stage a validation run validates (version, count, the very nodes, the spec) and its run. */
  private validationStage(version: number, count: number, instanceIds: string[]) {
    const v = this.spec.validation;
    if (!v) return undefined;
    const key = `v${version}x${count}-${contentHash({ nodes: [...instanceIds].sort(), retry: this.retryKey() })}`;
    // TFE is not asked while Ready for the current spec (observe skips it): the run status
    // recorded for this very stage (same nodes, same spec) stands for it then.
    const recorded = this.ctx.cluster.status?.validation;
    const run = this.obs.validation ? this.obs.validation.runs.find((r) => r.stage === key) : recorded?.stage === key ? { id: recorded.runId, status: recorded.status, stage: key } : undefined;
    if (run) this.validation = { runId: run.id, url: runUrl(v.address, v.organization, v.workspace, run.id), status: run.status, stage: key };
    return { key, run };
  }

  /** Once the stage's nodes serve: queue its run, then wait until it finishes (spec.health.timeout). */
  private validateStage(key: string, run: { id: string; status: string } | undefined) {
    const v = this.spec.validation!;
    const where = `workspace ${v.organization}/${v.workspace}`;
    if (run && RUN_SUCCEEDED.has(run.status)) return;
    if (run) this.wait(`validate:${key}`, `validation run ${run.id} in ${where} is ${run.status} (${this.validation!.url})`, 'health');
    const seen = this.obs.validation;
    if (!seen?.workspaceId) {
      this.wait(`validate:${key}`, `nodes healthy; cannot queue the validation run in ${where} yet: ${seen?.error?.detail ?? 'TFE not asked yet'}`, 'health');
    }
    this.act(
      { kind: 'QueueValidationRun', address: v.address, workspaceId: seen.workspaceId, workspace: `${v.organization}/${v.workspace}`, message: validationMessage(`${this.ns}/${this.name}`, key), apply: v.apply ?? false },
      `nodes healthy: queueing a ${v.apply ? 'run (auto-apply)' : 'plan-only run'} in ${where} to validate`,
    );
  }

  /** Before any write: TFE refused the token or does not know the workspace. */
  private checkValidationAccess() {
    const v = this.spec.validation;
    const status = this.obs.validation?.error?.status;
    if (!v || status === undefined) return;
    const words = this.obs.validation!.error!.detail;
    if (status === 401 || status === 403) {
      this.fail('ValidationUnauthorized', `TFE refused the API token of spec.validation.tokenSecretRef (${words}): put a token there that may read workspace ${v.organization}/${v.workspace} and queue runs in it (a team or user token; organization tokens cannot queue runs)`);
    }
    if (status === 404) {
      this.fail('ValidationWorkspaceNotFound', `TFE has no workspace ${v.workspace} in organization ${v.organization} that the token may see (${words}): fix spec.validation.organization / spec.validation.workspace, or give the token access`);
    }
  }

  // --- Safety: abort, rollback, holds -------------------------------------------------------------

  private checkRolledBack(asg: ObservedAsg, full: Target) {
    const held = parseRolledBackFrom(asg.tags[TAG.rolledBackFrom]);
    const rollout = parseRollout(asg.tags[TAG.rollout]);
    const rollingBack = rollout?.mode === 'rollback';
    // A finished rollback holds while the target and the spec are what failed; any spec change
    // (other than pausing or the deletion policy) retries. A rollback in progress always finishes.
    const holding = !!held && held.hash === full.hash && (held.retryKey === undefined || held.retryKey === this.retryKey());
    if (!rollingBack && !holding) return;
    // Why it rolled back stays readable (the reason the rollback recorded, carried in status).
    const prev = this.previousCondition('Degraded');
    if (prev?.status === 'True') this.condition('Degraded', 'True', prev.reason, prev.message);
    else this.condition('Degraded', 'True', 'RolledBack', `the rollout of launch template content ${held?.hash ?? '?'} was rolled back`);
    if (rollout?.mode === 'rollback') this.planRollbackProgress(asg, rollout.version);
    this.step = 'Rollback';
    this.condition('Ready', 'False', 'RolledBack', 'the last rollout was rolled back');
    this.condition('Progressing', 'False', 'RolledBack', 'rolled back; change the spec to try again');
    throw new Stop(
      this.finish({
        phase: 'RolledBack',
        message: `rolled back to launch template version ${asg.launchTemplateVersion} with ${asg.desired} node(s); the failed rollout will not be retried until the spec changes (fix the cause, then change the spec, e.g. spec.health.timeout)`,
      }),
    );
  }

  private checkAbort(asg: ObservedAsg, baseline: ObservedTemplateVersion) {
    const abort = this.ctx.cluster.metadata?.annotations?.[ANNOTATION_ABORT] === 'true';
    if (!abort) return;
    // A person asked for it, but its scale to 0 takes every node away: with approval Manual it
    // waits for its own approval like any other disruptive step.
    this.rollback(asg, baseline, 'Aborted', 'abort requested with the tfe.operators.dev/abort annotation', undefined, true);
  }

  /** Return to the last good version (or the baseline) and the capacity that served. */
  private rollback(asg: ObservedAsg, baseline: ObservedTemplateVersion, reason: string, why: string, wait?: Plan['wait'], gated = false): never {
    this.step = 'Rollback';
    const lastGood = numberTag(asg, TAG.lastGoodVersion);
    const target = lastGood ?? baseline.number;
    const capacity = lastGood !== undefined ? numberTag(asg, TAG.lastGoodCapacity) ?? this.nodesWanted : 1;
    const rollout = parseRollout(asg.tags[TAG.rollout]);
    if (rollout?.mode === 'rollback' && rollout.version === target && asg.launchTemplateVersion === target) {
      this.planRollbackProgress(asg, target);
    }
    if (!rolloutInFlight(asg) && asg.launchTemplateVersion === target && asg.desired === capacity && asg.min === capacity && asg.max === capacity) {
      // What runs is already what a rollback would bring back: repaving it would only take the
      // healthy nodes down too.
      const abort = this.ctx.cluster.metadata?.annotations?.[ANNOTATION_ABORT] === 'true';
      this.fail(
        reason,
        `${why}; the Auto Scaling Group already runs launch template version ${target} with ${capacity} node(s), the state a rollback returns to: nothing to roll back` +
          (abort ? `. Remove the annotation ${ANNOTATION_ABORT} to carry on` : ''),
        wait,
      );
    }
    this.refuseDowngradingRollback(asg, target, why);
    const fromHash = this.currentTargetHash();
    this.condition('Degraded', 'True', reason, why);
    const roll: Action = { kind: 'RollAsg', version: target, capacity: 0, mode: 'rollback', tags: { [TAG.rollout]: `${target}:rollback:${capacity}`, [TAG.rolledBackFrom]: `${fromHash}:${this.retryKey()}` } };
    const message = `${why}: rolling back to launch template version ${target} with ${capacity} node(s)`;
    if (gated) this.gateAndAct(roll, message, 'RollingBack');
    this.act(roll, message, 'RollingBack');
  }

  /**
   * A node of a newer release may already have migrated the database; TFE does not run an older
   * release on it. So a rollback whose target installs an older ReleaseSequence than the version
   * that failed is not carried out: Degraded, with what a person can do instead.
   */
  private refuseDowngradingRollback(asg: ObservedAsg, target: number, why: string) {
    const failed = this.versionOf(asg.launchTemplateVersion);
    const failedRelease = this.releaseOfVersion(failed);
    const targetVersion = this.versionOf(target);
    // A baseline the operator did not write runs the release its settings name (or its script shows).
    const targetRelease = this.releaseOfVersion(targetVersion) ?? (target === this.lt?.baselineVersion ? this.prepared?.baseRelease : undefined);
    if (!failedRelease || !targetRelease) return;
    if (failedRelease.kind === 'Docker' && targetRelease.kind === 'Replicated') {
      // Replicated -> FDO: back to Replicated only while no FDO node has served (the tag says one did).
      if (!asg.tags[TAG.fdoServed]) return;
      this.fail(
        'RollbackToReplicatedRefused',
        `${why}; an FDO node already served on this install (launch template version ${asg.tags[TAG.fdoServed]}, tag ${TAG.fdoServed}), and TFE may have written data that the Replicated ${releaseLabel(targetRelease)} cannot read back, so the operator does not roll back to launch template version ${target}. Nothing was rolled back. Fix forward on FDO: see status.nodes for why the nodes are unhealthy and fix it; to return to Replicated, restore the database and object storage from the backup taken before the move, then point the Auto Scaling Group at version ${target} by hand`,
      );
    }
    const order = compareReleases(targetRelease, failedRelease);
    if (order === undefined || order >= 0) return;
    if (!asg.instances.some((i) => i.launchTemplateVersion === String(asg.launchTemplateVersion))) return; // no node of the failed version ever ran
    const newer = failedRelease.kind === 'Docker' ? 'spec.release.tag' : 'spec.release.sequence';
    this.fail(
      'RollbackWouldDowngrade',
      `${why}; rolling back to launch template version ${target} would install ${releaseLabel(targetRelease)} over a database that ${releaseLabel(failedRelease)} (version ${asg.launchTemplateVersion}) may already have migrated, and TFE does not support downgrades. Nothing was rolled back. Fix forward: see status.nodes for why the nodes are unhealthy, fix it (or set ${newer} to a newer release) and the operator carries on; to go back to ${releaseLabel(targetRelease)}, first restore the database and object storage from the backup taken before the upgrade, then point the Auto Scaling Group at version ${target} by hand`,
    );
  }

  /** Identifies the spec a rollback happened under: a change to it retries the rollout. */
  private retryKey(): string {
    const { deletionPolicy: _d, rollout, ...rest } = this.spec;
    void _d;
    const { paused: _p, ...rolloutRest } = rollout ?? {};
    void _p;
    return contentHash({ ...rest, rollout: rolloutRest });
  }

  private previousCondition(type: string): { status: string; reason: string; message: string } | undefined {
    return this.ctx.cluster.status?.conditions?.find((c) => c.type === type);
  }

  private currentTargetHash(): string {
    return this.lastTargets?.full.hash ?? contentHash(this.spec);
  }
  private lastTargets?: { single: Target; full: Target };

  private planRollbackProgress(asg: ObservedAsg, target: number) {
    const capacity = Number(asg.tags[TAG.rollout]?.split(':')[2] ?? '1') || 1;
    this.step = 'Rollback';
    if (asg.desired === 0) {
      if (asg.instances.length > 0) this.wait(`drain:${target}`, `rollback: waiting for ${asg.instances.length} instance(s) to terminate`, 'step', 'RollingBack');
      this.act({ kind: 'ScaleAsg', capacity }, `rollback: starting ${capacity} node(s) on launch template version ${target}`, 'RollingBack');
    }
    const onVersion = asg.instances.filter((i) => i.launchTemplateVersion === String(target));
    const healthy = onVersion.filter((i) => this.obs.nodeHealth[i.id]?.healthy);
    if (healthy.length < capacity) {
      this.wait(`rollback-healthy:${target}`, `rollback: waiting for ${capacity} healthy node(s) on version ${target} (${healthy.length} so far)`, 'none', 'RollingBack');
    }
    this.act({ kind: 'TagAsg', tags: { [TAG.rollout]: '' }, why: 'rollback finished' }, `rollback finished: ${healthy.length} healthy node(s) on version ${target}`, 'RollingBack');
  }

  /** Someone changed what the operator declared: restore it (driftPolicy Correct) or only report it. */
  private drift(what: string, restore: Action): never {
    if ((this.spec.rollout?.driftPolicy ?? 'Correct') === 'Report') {
      this.condition('Drifted', 'True', 'DriftReported', `${what} (driftPolicy Report: not restoring)`);
      this.condition('Progressing', 'False', 'DriftReported', what);
      throw new Stop(this.finish({ phase: 'Ready', message: `drift: ${what}; set spec.rollout.driftPolicy to Correct to restore it` }));
    }
    this.condition('Drifted', 'True', 'DriftCorrected', `${what} (restoring the declared state)`);
    this.act(restore, `drift: ${what}; restoring the declared state`);
  }

  // --- Decisions -----------------------------------------------------------------------------------

  private condition(type: string, status: ConditionUpdate['status'], reason: string, message: string) {
    this.conditions.set(type, { type, status, reason, message });
  }

  private gateAndAct(action: Action, message: string, phase: Phase = 'Migrating'): never {
    const annotations = this.ctx.cluster.metadata?.annotations ?? {};
    if ((this.spec.rollout?.approval ?? 'Automatic') === 'Manual' && isDisruptive(action)) {
      const id = approvalId(action)!;
      if (annotations[ANNOTATION_APPROVE] !== id) {
        this.condition('Progressing', 'True', 'WaitingForApproval', `approve ${id} to ${describeAction(action)}`);
        throw new Stop(
          this.finish({
            phase: 'WaitingForApproval',
            message: `waiting for approval to ${describeAction(action)}: run 'kubectl tfe approve ${this.name} -n ${this.ns}' (sets annotation ${ANNOTATION_APPROVE}=${id})`,
            approval: { waitingFor: id, description: describeAction(action) },
          }),
        );
      }
    }
    this.act(action, message, phase);
  }

  private act(action: Action, message: string, phase: Phase = 'Migrating'): never {
    if (this.spec.rollout?.paused) {
      this.condition('Paused', 'True', 'PausedBySpec', `paused before: ${describeAction(action)}`);
      this.condition('Progressing', 'False', 'Paused', 'spec.rollout.paused is true');
      throw new Stop(this.finish({ phase: 'Paused', message: `paused (spec.rollout.paused) before the next action: ${describeAction(action)}` }));
    }
    this.drainBefore(action);
    if (isDisruptive(action)) this.ensureSuspended(this.obs.asg);
    const said = message + this.undrained;
    this.condition('Progressing', 'True', action.kind, said);
    throw new Stop(this.finish({ phase, message: said, action }));
  }

  /**
   * Before capacity goes down (a roll to 0, a scale-in), TFE's node drain runs on every leaving
   * node that serves Active/Active: no new work, current runs finish (SSM Run Command, see
   * src/aws/ssm.ts). Capacity changes only once each says drained. A scale-in first protects the
   * nodes that stay, so the ASG removes exactly the drained ones. Not drained: nodes that do not
   * serve (nothing runs there), standalone nodes (TFE has no drain before Active/Active), and
   * everything with spec.rollout.drain Skip.
   */
  private drainBefore(action: Action) {
    const asg = this.obs.asg;
    if (!asg || (action.kind !== 'RollAsg' && action.kind !== 'ScaleAsg')) return;
    const running = asg.instances.filter((i) => !isLeaving(i));
    if (action.capacity >= running.length) return;
    let leaving = running;
    if (action.kind === 'ScaleAsg' && action.capacity > 0) {
      // Keep nodes already protected, then serving ones on the version the ASG launches, oldest id first.
      const rank = (i: AsgInstance) =>
        (i.protectedFromScaleIn ? 0 : 4) + (this.obs.nodeHealth[i.id]?.healthy ? 0 : 2) + (i.launchTemplateVersion === String(asg.launchTemplateVersion) ? 0 : 1);
      const keep = [...running].sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id)).slice(0, action.capacity);
      leaving = running.filter((i) => !keep.includes(i));
      const unprotected = keep.filter((i) => !i.protectedFromScaleIn);
      if (unprotected.length) {
        this.act(
          { kind: 'ProtectInstances', instanceIds: unprotected.map((i) => i.id), protect: true },
          `protecting ${unprotected.map((i) => i.id).join(', ')} from scale-in so that ${describeAction(action)} removes ${leaving.map((i) => i.id).join(', ')}`,
        );
      }
    }
    if ((this.spec.rollout?.drain ?? 'Required') === 'Skip') return;
    // Each node's kind names its drain (none for a standalone node): nodes of another kind (a
    // Replicated node leaving for an FDO one) may leave in the same step.
    const drainCommand = (i: AsgInstance) => {
      const install = this.versionOf(Number(i.launchTemplateVersion))?.install;
      return install ? kindOf(install).drainCommand(install) : undefined;
    };
    // A node the operator drains stops answering healthy (FDO's readiness says DRAINING): it still counts until its drain ended.
    const up = leaving.filter((i) => this.obs.nodeHealth[i.id]?.healthy || this.obs.drains?.[i.id]);
    const standalone = up.filter((i) => !drainCommand(i));
    if (standalone.length) this.quiesceStandalone(standalone.map((i) => i.id), action);
    const serving = up.filter((i) => drainCommand(i));
    if (serving.length === 0) return;
    const ids = serving.map((i) => i.id);
    const before = `before: ${describeAction(action)}`;
    const drains = this.obs.drains;
    if (this.obs.drainsError) {
      this.fail('DrainUnchecked', `cannot read the operator's drain commands (${this.obs.drainsError}): grant the operator ssm:ListCommands and ssm:ListCommandInvocations, or set spec.rollout.drain: Skip to change capacity without draining`);
    }
    if (!drains) this.wait(`drain-nodes:${ids.join(',')}`, `reading the drain state of ${ids.join(', ')} ${before}`, 'drain');
    const firstUnsent = serving.find((i) => !drains[i.id]);
    if (firstUnsent) {
      // One SendCommand runs one command: the nodes with the same drain go together.
      const command = drainCommand(firstUnsent)!;
      const notSent = serving.filter((i) => !drains[i.id] && drainCommand(i) === command).map((i) => i.id);
      // SSM lets the command run twice drainTimeout: past drainTimeout the operator stops
      // (DrainTimeout) but a drain that ends a little later still lets it carry on.
      const timeoutSeconds = Math.min(172_800, 2 * Math.ceil(parseDuration(this.spec.rollout?.drainTimeout ?? '30m') / 1000));
      const comment = drainComment(`${this.ns}/${this.name}`, this.ctx.cluster.metadata?.generation ?? 0);
      this.act({ kind: 'DrainNodes', instanceIds: notSent, command, timeoutSeconds, comment }, `draining TFE on ${notSent.join(', ')} (runs in flight finish, no new ones start) ${before}`);
    }
    const said = (id: string) => `${id}: ${drains[id]!.status}${drains[id]!.output ? ` (${drains[id]!.output})` : ''}`;
    const timedOut = ids.filter((id) => drains[id]!.status === 'TimedOut');
    const failed = ids.filter((id) => DRAIN_FAILED.has(drains[id]!.status));
    if (timedOut.length) this.drainTimedOut(`the drain of ${timedOut.map(said).join('; ')} timed out in SSM`);
    if (failed.length) {
      this.fail(
        'DrainFailed',
        `TFE's node drain failed on ${failed.map(said).join('; ')}; nothing was scaled. Check the node (SSM command ${drains[failed[0]!]!.commandId}), or set spec.rollout.drain: Skip to go on without draining`,
      );
    }
    const pending = ids.filter((id) => drains[id]!.status !== 'Success');
    if (pending.length) this.wait(`drain-nodes:${ids.join(',')}`, `draining ${pending.map(said).join('; ')} ${before}`, 'drain');
  }

  /**
   * A standalone node has no drain command: with spec.validation's token a site admin's, wait
   * until TFE works on no run (Admin Runs API) before it goes; otherwise say it goes undrained.
   */
  private quiesceStandalone(ids: string[], action: Action) {
    const seen = this.obs.validation?.runsInProgress;
    if (typeof seen === 'number' && seen > 0) {
      this.wait(`quiesce:${ids.join(',')}`, `waiting for the ${seen} run(s) TFE is working on to end before the standalone node ${ids.join(', ')} goes (TFE has no node drain before Active/Active) before: ${describeAction(action)}`, 'drain');
    }
    this.undrained =
      seen === 0
        ? ` (standalone node ${ids.join(', ')}: TFE works on no run)`
        : ` (standalone node ${ids.join(', ')} goes undrained: TFE has no node drain before Active/Active, and ${this.spec.validation ? "spec.validation's token is not a site admin's, so the runs in progress cannot be counted" : 'without spec.validation the runs in progress cannot be counted'})`;
  }
  /** Said with the next action when a standalone node goes without a drain. */
  private undrained = '';

  /** `wait`: the drain wait in progress, kept so that its deadline holds across reconciles. */
  private drainTimedOut(what: string, wait?: Plan['wait']): never {
    this.fail(
      'DrainTimeout',
      `${what}; nothing was scaled, so no run was cut off. Let the runs on these nodes finish (or cancel them in TFE), raise spec.rollout.drainTimeout, or set spec.rollout.drain: Skip to go on without draining`,
      wait,
    );
  }

  /** After a scale-in: lift exactly the scale-in protection the operator set (a tag says which). */
  private ensureUnprotected(asg: ObservedAsg) {
    const ours = (asg.tags[TAG.protected] ?? '').split(',').filter(Boolean);
    if (ours.length === 0) return;
    const present = ours.filter((id) => asg.instances.some((i) => i.id === id));
    if (present.length === 0) this.act({ kind: 'TagAsg', tags: { [TAG.protected]: '' }, why: 'the protected nodes are gone' }, 'forgetting the scale-in protection of nodes that are gone');
    this.act({ kind: 'ProtectInstances', instanceIds: present, protect: false }, `scale-in done: lifting the protection of ${present.join(', ')}`);
  }

  /**
   * With ELB health checks the ASG replaces a node the target groups call unhealthy, and
   * AZRebalance terminates nodes to even out zones: both would kill nodes that are still
   * installing. Suspended before the first disruptive action, resumed once Ready (below).
   */
  private ensureSuspended(asg: ObservedAsg | undefined) {
    if (!asg || asg.healthCheckType !== 'ELB') return;
    const missing = ROLLOUT_SUSPENDED.filter((p) => !(asg.suspendedProcesses ?? []).includes(p));
    if (missing.length === 0) return;
    const recorded = (asg.tags[TAG.suspended] ?? '').split(',').filter(Boolean);
    this.act(
      { kind: 'SuspendProcesses', processes: [...new Set([...recorded, ...missing])] },
      `suspending ${missing.join(', ')} on ${asg.name} while nodes are replaced (health check type ELB)`,
    );
  }

  /** Resume exactly what the operator suspended (a tag says which), also after a crash. */
  private ensureResumed(asg: ObservedAsg) {
    const ours = (asg.tags[TAG.suspended] ?? '').split(',').filter(Boolean);
    if (ours.length === 0) return;
    this.act({ kind: 'ResumeProcesses', processes: ours }, `all nodes healthy: resuming ${ours.join(', ')} on ${asg.name}`);
  }

  /** Wait for something the world does by itself; fail (or roll back) past the deadline. */
  private wait(id: string, message: string, deadline: 'health' | 'step' | 'drain' | 'none', phase: Phase = 'Migrating'): never {
    const status = this.ctx.cluster.status;
    const prev = status?.wait;
    // The same wait continues across reconciles and restarts; a spec change starts it afresh
    // (that is how a person retries after ProgressDeadlineExceeded).
    const sameSpec = status?.observedGeneration === undefined || status.observedGeneration === this.ctx.cluster.metadata?.generation;
    const since = prev?.id === id && sameSpec ? Date.parse(prev.since) : this.obs.now;
    const waitState = { id, since: new Date(since).toISOString() };
    const limit =
      deadline === 'health'
        ? parseDuration(this.spec.health?.timeout ?? '15m')
        : deadline === 'step'
          ? parseDuration(this.spec.rollout?.stepDeadline ?? '30m')
          : deadline === 'drain'
            ? parseDuration(this.spec.rollout?.drainTimeout ?? '30m')
            : Infinity;
    const interval = parseDuration(this.spec.health?.interval ?? '10s');
    if (this.obs.now - since > limit && deadline === 'drain') this.drainTimedOut(`${message}: not drained after ${Math.round(limit / 1000)}s`, waitState);
    if (this.obs.now - since > limit) {
      this.stageFailed(
        'ProgressDeadlineExceeded',
        `${message}: gave up after ${Math.round(limit / 1000)}s`,
        'The operator carries on if it becomes healthy; fix the cause and change the spec (e.g. spec.health.timeout) to restart the wait',
        waitState,
      );
    }
    this.condition('Progressing', 'True', 'Waiting', message);
    throw new Stop(this.finish({ phase, message, requeueAfterMs: interval, wait: waitState }));
  }

  /** A stage failed: roll back with failurePolicy Rollback, else hold Degraded. */
  private stageFailed(reason: string, what: string, retry: string, waitState?: Plan['wait']): never {
    if ((this.spec.rollout?.failurePolicy ?? 'Pause') === 'Rollback' && this.obs.asg && this.step !== 'Rollback') {
      const baseline = this.versionOf(numberTag(this.obs.asg, TAG.baselineVersion) ?? this.lt?.baselineVersion);
      if (baseline) this.rollback(this.obs.asg, baseline, reason, what, waitState);
    }
    this.fail(reason, `${what}. ${retry}, or annotate tfe.operators.dev/abort=true to roll back`, waitState);
  }

  /** `requeueAfterMs`: look again that soon (a failure that may heal by itself), else at the resync. */
  private fail(reason: string, message: string, wait?: Plan['wait'], requeueAfterMs?: number): never {
    this.condition('Degraded', 'True', reason, message);
    this.condition('Ready', 'False', reason, message);
    this.condition('Progressing', 'False', reason, 'stopped: see the Degraded condition');
    if (this.step === 'Validate') this.condition('Validated', 'False', reason, message);
    if (this.step === 'Redis') this.condition('RedisReady', 'False', reason, message);
    throw new Stop(this.finish({ phase: 'Degraded', message, failure: { reason, message }, wait, requeueAfterMs }));
  }

  /**
   * Drifted when nothing drifted now: a correction stays True until the cluster is Ready again,
   * then reads False/DriftRestored with what was restored (kept until the next drift), so a
   * person who looks later still sees what happened and when (lastTransitionTime).
   */
  private carryDrifted(phase: Phase) {
    const prev = this.previousCondition('Drifted');
    if (prev?.status === 'True' && prev.reason === 'DriftCorrected') {
      if (phase !== 'Ready') this.condition('Drifted', 'True', 'DriftCorrected', prev.message);
      else this.condition('Drifted', 'False', 'DriftRestored', prev.message.replace(/ \(restoring the declared state\)$/, ' (restored)'));
      return;
    }
    if (prev?.status === 'False' && prev.reason === 'DriftRestored') {
      this.condition('Drifted', 'False', 'DriftRestored', prev.message);
      return;
    }
    this.condition('Drifted', 'False', 'NoDrift', 'the Auto Scaling Group and the security groups match the declared state');
  }

  private finish(p: Pick<Plan, 'phase' | 'message'> & Partial<Plan>): Plan {
    if (p.phase !== 'Degraded' && !this.conditions.has('Degraded')) this.condition('Degraded', 'False', 'AsExpected', 'no failure');
    if (p.phase !== 'Ready' && !this.conditions.has('Ready')) this.condition('Ready', 'False', this.step, p.message);
    if (!this.conditions.has('Paused')) {
      // Paused also while a wait runs (the wait goes on; no new action will start after it).
      if (this.spec.rollout?.paused) this.condition('Paused', 'True', 'PausedBySpec', 'spec.rollout.paused is true: no new action will start');
      else this.condition('Paused', 'False', 'NotPaused', 'not paused');
    }
    if (!this.conditions.has('Drifted')) this.carryDrifted(p.phase);
    // Steps not reached yet read Unknown; steps before the current one keep what they said.
    const stepIndex = STEP_ORDER.indexOf(this.step);
    STEP_CONDITIONS.forEach((type, i) => {
      if (this.conditions.has(type)) return;
      const reached = stepIndex > i || this.step === 'Done';
      this.condition(type, reached ? 'True' : 'Unknown', reached ? 'Done' : 'NotStarted', reached ? 'done' : 'not started');
    });
    const asg = this.obs.asg;
    const instances: InstanceStatus[] = (asg?.instances ?? []).map((i) => ({
      id: i.id,
      healthy: !!this.obs.nodeHealth[i.id]?.healthy,
      launchTemplateVersion: i.launchTemplateVersion,
      message: this.obs.nodeHealth[i.id]?.detail,
    }));
    return {
      step: this.step,
      conditions: [...this.conditions.values()],
      nodes: { desired: this.nodesWanted, ready: instances.filter((i) => i.healthy).length, instances },
      redis: this.redis,
      launchTemplate: this.lt ? { ...this.lt, currentVersion: asg?.launchTemplateVersion } : undefined,
      encryptionPasswordFingerprint: this.fingerprintValue ?? this.ctx.cluster.status?.encryptionPasswordFingerprint,
      validation: this.validation ?? this.ctx.cluster.status?.validation,
      targets: this.lastTargets ? { ...this.lastTargets, redisKnown: true } : this.previewTargets,
      ...p,
    };
  }
}

function rolloutInFlight(asg: ObservedAsg): boolean {
  return !!asg.tags[TAG.rollout];
}

function numberTag(asg: ObservedAsg, key: string): number | undefined {
  const n = Number(asg.tags[key]);
  return asg.tags[key] && Number.isInteger(n) && n > 0 ? n : undefined;
}

/** `<target hash>[:<retry key>]` (older operators wrote the hash alone). */
export function parseRolledBackFrom(tag: string | undefined): { hash: string; retryKey?: string } | undefined {
  if (!tag) return undefined;
  const [hash, retryKey] = tag.split(':');
  return { hash, retryKey: retryKey || undefined };
}

export function parseRollout(tag: string | undefined): { version: number; mode: RolloutMode } | undefined {
  if (!tag) return undefined;
  const [v, mode] = tag.split(':');
  const version = Number(v);
  if (!Number.isInteger(version) || !['single', 'direct', 'canary', 'rollback'].includes(mode)) return undefined;
  return { version, mode: mode as RolloutMode };
}

export type { SgRule };

/** ASG processes that replace or move nodes on their own: suspended while a rollout replaces nodes. */
export const ROLLOUT_SUSPENDED = ['ReplaceUnhealthy', 'AZRebalance'];

/** SSM invocation statuses that end a drain without it (TimedOut is DrainTimeout). */
const DRAIN_FAILED = new Set(['Failed', 'Cancelled', 'Cancelling', 'Undeliverable', 'Terminated', 'Delivery Timed Out', 'Execution Timed Out']);

/** EC2's limit on user data: 16 KB in raw form, before base64 (EC2 user guide, "Instance user data"). */
export const USER_DATA_LIMIT = 16384;

/**
 * Why ElastiCache would refuse this AUTH token, or undefined: 16 to 128 printable ASCII
 * characters, specials only ! & # $ ^ < > - (CreateReplicationGroup, AuthToken).
 */
export function authTokenProblem(token: string): string | undefined {
  if (token.length < 16) return `is ${token.length} characters long, fewer than 16`;
  if (token.length > 128) return `is ${token.length} characters long, more than 128`;
  const bad = [...new Set([...token].filter((c) => !/[A-Za-z0-9!&#$^<>-]/.test(c)))];
  if (bad.length) return `holds characters ElastiCache refuses (${bad.map((c) => (/[\x21-\x7e]/.test(c) ? JSON.stringify(c) : `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`)).join(', ')})`;
  return undefined;
}

/** The Degraded condition's reason for an action AWS refused for good. */
export const AWS_REFUSED = 'AwsRefused';

/** The message of a refusal: names the action, so the same refusal is recognised later. */
/** The Degraded reason when TFE's API refused the validation run for good (4xx). */
export const TFE_REFUSED = 'TfeRefused';

/** Who carries the action out: TFE's API for the validation run, AWS for everything else. */
const refuser = (action: Action) => (action.kind === 'QueueValidationRun' ? 'TFE' : 'AWS');

export function refusalMessage(action: Action, text: string): string {
  const hint =
    action.kind === 'DrainNodes'
      ? ' (SSM runs commands only on instances whose SSM agent is online: the nodes need the agent running and an instance profile with the AmazonSSMManagedInstanceCore policy; or set spec.rollout.drain: Skip to scale without draining)'
      : action.kind === 'QueueValidationRun'
        ? ' (TFE queues a run only in a workspace with a configuration version it can plan, and only for a user or team token with permission to queue runs there)'
        : '';
  const who = refuser(action);
  const where = who === 'TFE' ? 'the workspace of spec.validation or its token' : 'the TfeCluster spec, its Secrets or the AWS account';
  return `${who} refused to ${describeAction(action)}: ${text}${hint}. Nothing was changed by this action; fix what ${who} names (${where}) and the change of spec retries it`;
}

/**
 * The plan as it stands after AWS refused its action for good: Degraded with AWS's words, no
 * action, looked at again at the resync (not in a retry loop).
 */
export function refusedPlan(p: Plan, message: string): Plan {
  const reason = message.startsWith('TFE refused') ? TFE_REFUSED : AWS_REFUSED;
  const keep = p.conditions.filter((c) => c.type !== 'Degraded' && c.type !== 'Ready' && c.type !== 'Progressing');
  return {
    ...p,
    action: undefined,
    requeueAfterMs: undefined,
    phase: 'Degraded',
    message,
    failure: { reason, message },
    conditions: [
      ...keep,
      { type: 'Degraded', status: 'True', reason, message },
      { type: 'Ready', status: 'False', reason, message },
      { type: 'Progressing', status: 'False', reason, message: 'stopped: see the Degraded condition' },
    ],
  };
}

/** The earlier refusal of this very action under this generation of the spec, if any. */
export function earlierRefusal(cluster: TfeCluster, action: Action): string | undefined {
  const d = cluster.status?.conditions?.find((c) => c.type === 'Degraded');
  if (d?.status !== 'True' || (d.reason !== AWS_REFUSED && d.reason !== TFE_REFUSED)) return undefined;
  if (d.observedGeneration !== cluster.metadata?.generation) return undefined;
  return d.message.startsWith(`${refuser(action)} refused to ${describeAction(action)}:`) ? d.message : undefined;
}

/**
 * Degraded before anything was observed: the operator policy refuses the TfeCluster, or a Secret
 * it names does not allow it. Nothing was read from AWS, so what status says about the world
 * (nodes, Redis, launch template, the fingerprint) stays as it was.
 */
export function gatePlan(cluster: TfeCluster, reason: string, message: string): Plan {
  const old = cluster.status;
  const step = (old?.step as Step | undefined) ?? 'Validate';
  return {
    phase: 'Degraded',
    step,
    message,
    failure: { reason, message },
    conditions: [
      { type: 'Degraded', status: 'True', reason, message },
      { type: 'Ready', status: 'False', reason, message },
      { type: 'Progressing', status: 'False', reason, message: 'stopped: see the Degraded condition' },
      ...(step === 'Validate' ? [{ type: 'Validated', status: 'False' as const, reason, message }] : []),
    ],
    nodes: {
      desired: cluster.spec.nodes ?? 2,
      ready: old?.nodes?.ready ?? 0,
      instances: (old?.nodes?.instances ?? []).map((i) => ({ id: i.id, healthy: i.healthy, ...(i.launchTemplateVersion ? { launchTemplateVersion: i.launchTemplateVersion } : {}), ...(i.message ? { message: i.message } : {}) })),
    },
    ...(old?.redis ? { redis: old.redis as Plan['redis'] } : {}),
    ...(old?.launchTemplate ? { launchTemplate: old.launchTemplate } : {}),
    ...(old?.encryptionPasswordFingerprint ? { encryptionPasswordFingerprint: old.encryptionPasswordFingerprint } : {}),
  };
}
