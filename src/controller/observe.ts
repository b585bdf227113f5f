// Observe: read everything one reconcile needs into one Observation (the "scope"), before
// any decision. Reads only; nothing here changes the world.

import type { TfeCluster } from '../api/types.ts';
import type { AwsClients } from '../aws/clients.ts';
import { describeAsg } from '../aws/asg.ts';
import { describeLaunchTemplate, readUserData, resolveVersion } from '../aws/launchtemplates.ts';
import { describeReplicationGroup } from '../aws/elasticache.ts';
import { describeSecurityGroups, subnetCidrs } from '../aws/securitygroups.ts';
import { describeSecrets, getSecretString } from '../aws/secrets.ts';
import { describeTargetGroups, describeTargetHealth } from '../aws/targetgroups.ts';
import { checkNodeAccess } from '../aws/iam.ts';
import { describeDrains } from '../aws/ssm.ts';
import { drainComment } from '../migration/actions.ts';
import { describeBucket } from '../aws/s3.ts';
import { findDbInstance } from '../aws/rds.ts';
import { probeDatabase } from '../tfe/database.ts';
import { awsErrorCode, awsErrorText, isTerminalAwsError } from '../aws/errors.ts';
import { readConfigMap, readSecretFor, type Kube } from '../kube/client.ts';
import {
  TAG,
  type AsgInstance,
  type ExternalServices,
  type Inputs,
  type NodeAccess,
  type NodeHealth,
  type Observation,
  type ObservedAsg,
  type ObservedLaunchTemplate,
  type ObservedValidation,
} from '../migration/observation.ts';
import { operatorSecretNames, secretName } from '../migration/targets.ts';
import { probeRedis } from '../redis/probe.ts';
import { kindNamed, kindOf, nodeHealthPath, releaseOf } from '../install/index.ts';
import { nodeHealthUrl, probeHealth } from '../tfe/health.ts';
import { DEFAULT_NODE_URL } from '../api/schema.ts';
import { encPasswordFromSecretString, findEncPasswordSource } from '../tfe/userdata-scan.ts';
import { endpointHostsFromEnv, endpointProblems } from '../security/endpoints.ts';
import { findWorkspace, listRuns, runsInProgress, TfeApiError, validationStageOf } from '../tfe/runs.ts';

interface SecretRef {
  name: string;
  key: string;
}

export interface ReadInputsOptions {
  /**
   * Whether a Secret must allow the TfeCluster (annotation tfe.operators.dev/allowed-tfeclusters)
   * before the operator uses it; default true. `--secret-opt-in=false` turns it off (weaker: docs/security.md).
   */
  secretOptIn?: boolean;
}

/**
 * Everything the TfeCluster references in Kubernetes: the settings ConfigMap, every Secret key
 * (the enc_password, the license, secret settings, the Redis password and CA, node files, the
 * validation token and CA, the health CA). A Secret that does not allow this TfeCluster is
 * listed in `notAllowed` and its value is not taken; the reconcile stops there, before any AWS call.
 */
export async function readInputs(kube: Kube, cluster: TfeCluster, opts: ReadInputsOptions = {}): Promise<Inputs> {
  const ns = cluster.metadata!.namespace!;
  const spec = cluster.spec;
  const missing: string[] = [];
  const notAllowed: NonNullable<Inputs['notAllowed']> = [];
  const checkFor = opts.secretOptIn === false ? undefined : cluster.metadata!.name!;
  const bytes = async (ref: SecretRef | undefined, what: string): Promise<Buffer | undefined> => {
    if (!ref) return undefined;
    const r = await readSecretFor(kube, ns, ref.name, ref.key, checkFor);
    if (r.notAllowed) {
      notAllowed.push({ name: ref.name, what, ...(r.notAllowed.current === undefined ? {} : { current: r.notAllowed.current }) });
      return undefined;
    }
    if (r.value === undefined) missing.push(`Secret ${ns}/${ref.name} key ${ref.key} (${what})`);
    return r.value;
  };
  const secret = async (ref: SecretRef | undefined, what: string) => (await bytes(ref, what))?.toString('utf8');
  const cmRef = spec.settings.configMapRef;
  const cm = await readConfigMap(kube, ns, cmRef.name);
  const confKey = spec.settings.replicatedConfKey ?? 'replicated.conf';
  const settingsKey = spec.settings.settingsKey ?? 'ptfe-settings.json';
  const envKey = spec.settings.envKey ?? 'tfe.env';
  // Each install kind reads its own keys: replicated.conf and ptfe-settings.json, or the TFE_* variables.
  const keys = spec.install === 'Docker' ? [envKey] : [confKey, settingsKey];
  if (!cm) missing.push(`ConfigMap ${ns}/${cmRef.name} (settings)`);
  else for (const k of keys) if (cm[k] === undefined) missing.push(`ConfigMap ${ns}/${cmRef.name} key ${k}`);
  const redisRef = spec.redis.elastiCache?.authTokenSecretRef ?? spec.redis.external?.passwordSecretRef;
  const [encPassword, license, redisPassword, redisCa, healthCa, daemonPassword] = await Promise.all([
    secret(spec.encryptionPasswordSecretRef, 'spec.encryptionPasswordSecretRef'),
    bytes(spec.settings.licenseSecretRef, 'spec.settings.licenseSecretRef'),
    secret(redisRef, spec.redis.elastiCache ? 'spec.redis.elastiCache.authTokenSecretRef' : 'spec.redis.external.passwordSecretRef'),
    secret(spec.redis.external?.caSecretRef, 'spec.redis.external.caSecretRef'),
    secret(spec.health?.caSecretRef, 'spec.health.caSecretRef'),
    secret(spec.settings.daemonAuthenticationPasswordSecretRef, 'spec.settings.daemonAuthenticationPasswordSecretRef'),
  ]);
  const settings: Record<string, string> = {};
  for (const s of spec.settings.secretSettings ?? []) {
    const v = await secret(s.secretKeyRef, `spec.settings.secretSettings ${s.setting}`);
    if (v !== undefined) settings[s.setting] = v;
  }
  const files: Record<string, Uint8Array> = {};
  for (const f of spec.node?.files ?? []) {
    const v = await bytes(f.secretKeyRef, `spec.node.files ${f.path}`);
    if (v !== undefined) files[f.path] = v;
  }
  const validationToken = await secret(spec.validation?.tokenSecretRef, 'spec.validation.tokenSecretRef');
  const validationCa = await secret(spec.validation?.caSecretRef, 'spec.validation.caSecretRef');
  const preRef = spec.node?.preInstallScriptRef;
  const preInstallScript = preRef ? (await readConfigMap(kube, ns, preRef.name))?.[preRef.key] : undefined;
  if (preRef && preInstallScript === undefined) missing.push(`ConfigMap ${ns}/${preRef.name} key ${preRef.key} (pre-install script)`);
  if (notAllowed.length > 0) {
    // Nothing of a Secret that allows the TfeCluster leaves memory either while another does not.
    return { missing, notAllowed, secrets: { settings: {}, files: {} } };
  }
  return {
    ...(spec.install === 'Docker' ? { envText: cm?.[envKey] } : { replicatedConfText: cm?.[confKey], settingsText: cm?.[settingsKey] }),
    ...(preInstallScript === undefined ? {} : { preInstallScript }),
    ...(validationCa === undefined ? {} : { validationCa }),
    ...(redisCa === undefined ? {} : { redisCa }),
    ...(healthCa === undefined ? {} : { healthCa }),
    secrets: {
      encPassword,
      license,
      redisPassword,
      ...(daemonPassword === undefined ? {} : { daemonPassword }),
      settings,
      files,
      ...(validationToken === undefined ? {} : { validationToken }),
    },
    missing,
  };
}

/**
 * `given`: the inputs the caller read already (the reconcile reads them first, to stop before any
 * AWS call when a Secret does not allow the TfeCluster).
 */
export async function observe(kube: Kube, aws: AwsClients, cluster: TfeCluster, now = Date.now(), given?: Inputs): Promise<Observation> {
  const spec = cluster.spec;
  const ns = cluster.metadata!.namespace!;
  const name = cluster.metadata!.name!;
  const nodeTemplate = spec.health?.nodeUrlTemplate ?? DEFAULT_NODE_URL;
  // Independent reads run together; only what depends on an earlier answer waits for it.
  const [inputs, launchTemplate, rawAsg] = await Promise.all([
    given ?? readInputs(kube, cluster),
    describeLaunchTemplate(aws, spec.launchTemplate),
    describeAsg(aws, spec.autoScalingGroupName, nodeTemplate.includes('{privateIp}')),
  ]);
  const asg = rawAsg && { ...rawAsg, launchTemplateVersion: resolveVersion(launchTemplate, rawAsg.launchTemplateVersionSpec) };

  const baselineTag = Number(asg?.tags['tfe.operators.dev/baseline-version']);
  const baselineNumber = Number.isInteger(baselineTag) && baselineTag > 0 ? baselineTag : asg?.launchTemplateVersion;
  const baselineGroups = launchTemplate?.versions.find((v) => v.number === baselineNumber)?.securityGroupIds ?? [];
  const groupIds = [
    ...new Set([
      ...(spec.network?.nodeSecurityGroupIds ?? baselineGroups),
      ...(spec.network?.redisSecurityGroupIds ?? spec.redis.elastiCache?.securityGroupIds ?? []),
    ]),
  ];

  const owner = `${ns}/${name}`;
  const ec = spec.redis.elastiCache;
  const ext = spec.redis.external;
  const managedSecrets = operatorSecretNames(spec, ns, name);

  const [securityGroups, nodeSubnetCidrs, targetGroups, replicationGroup, externalRedis, secretList, encPasswordInUse] = await Promise.all([
    describeSecurityGroups(aws, groupIds),
    subnetCidrs(aws, asg?.subnetIds ?? []),
    asg?.targetGroupArns?.length ? describeTargetGroups(aws, asg.targetGroupArns) : Promise.resolve([]),
    ec ? describeReplicationGroup(aws, ec.replicationGroupId, owner) : Promise.resolve(undefined),
    ext
      ? probeRedis({
          host: ext.host,
          port: ext.port ?? 6379,
          tls: ext.tls ?? true,
          password: inputs.secrets.redisPassword,
          ca: inputs.redisCa,
        })
      : Promise.resolve(undefined),
    describeSecrets(aws, managedSecrets),
    asg && launchTemplate && !asg.tags[TAG.encPasswordFingerprint] ? observeEncPasswordInUse(aws, asg, launchTemplate) : Promise.resolve(undefined),
  ]);
  const awsSecrets = Object.fromEntries(secretList.map((s) => [s.name, s]));
  const nodeSecrets = managedSecrets.filter((n) => n !== secretName(ns, name, 'redis_pass') || !!(ec?.authTokenSecretRef ?? ext?.passwordSecretRef));
  const [nodeAccess, externalServices] = await Promise.all([
    observeNodeAccess(
      aws,
      cluster,
      launchTemplate?.versions.find((v) => v.number === baselineNumber)?.instanceProfile,
      Object.fromEntries(nodeSecrets.map((n) => [n, awsSecrets[n]?.arn])),
    ),
    observeExternalServices(aws, cluster, inputs),
  ]);

  // Requests go only where the operator allows (src/security/endpoints.ts): a refused URL is not asked at all.
  const view = kindNamed(spec.install).settingsView({ spec, namespace: ns, name, inputs });
  const tfeHostname = view.hostname;
  const endpointsRefused = endpointProblems(spec, tfeHostname, endpointHostsFromEnv());
  const refused = (field: string) => endpointsRefused.some((p) => p.field === field);
  const notAsked: NodeHealth = { healthy: false, detail: 'not asked: the URL is not one the operator may request (see the Degraded condition)' };

  const [validation, drains] = await Promise.all([
    refused('spec.validation.address') ? Promise.resolve(undefined) : observeValidation(cluster, inputs),
    observeDrains(aws, cluster, asg?.instances.length ?? 0),
  ]);

  const caRef = spec.health?.caSecretRef;
  const probeOpts = {
    insecureSkipTLSVerify: spec.health?.insecureSkipTLSVerify ?? false,
    ...(caRef && inputs.healthCa !== undefined ? { ca: inputs.healthCa } : {}),
  };
  // Nodes are reached by IP; their certificate names the TFE hostname.
  const servername = spec.health?.tlsServerName ?? tfeHostname;
  const nodeProbeOpts = { ...probeOpts, ...(servername ? { servername } : {}) };
  const nodeHealth: Record<string, NodeHealth> = {};
  const attached = targetGroups.filter((g) => asg?.targetGroupArns?.includes(g.arn));
  const [lbHealth] = await Promise.all([
    spec.health?.url ? (refused('spec.health.url') ? Promise.resolve(notAsked) : probeHealth(spec.health.url, probeOpts)) : Promise.resolve(undefined),
    ...(asg?.instances ?? []).map(async (i) => {
      nodeHealth[i.id] = refused('spec.health.nodeUrlTemplate') ? notAsked : await probeHealth(nodeHealthUrl(nodeUrlFor(nodeTemplate, launchTemplate, i), i), nodeProbeOpts);
    }),
    ...attached.map(async (g) => {
      g.targets = await describeTargetHealth(aws, g.arn);
    }),
  ]);
  // With target groups, a node serves only when every attached group says so too (TFE's own
  // /_health_check can answer while the load balancer still sends it nothing).
  for (const i of asg?.instances ?? []) {
    const h = nodeHealth[i.id];
    const out = attached.find((g) => g.targets?.[i.id]?.state !== 'healthy');
    if (h?.healthy && out) {
      const t = out.targets?.[i.id];
      nodeHealth[i.id] = { healthy: false, detail: `target group ${out.name}: ${t ? `${t.state}${t.reason ? ` (${t.reason})` : ''}` : 'not registered'}` };
    }
  }

  return {
    now,
    inputs,
    asg,
    launchTemplate,
    replicationGroup,
    externalRedis,
    securityGroups,
    nodeSubnetCidrs,
    targetGroups,
    awsSecrets,
    nodeAccess,
    ...(externalServices ? { externalServices } : {}),
    ...(endpointsRefused.length ? { endpointsRefused } : {}),
    nodeHealth,
    lbHealth,
    validation,
    ...drains,
    ...(encPasswordInUse ? { encPasswordInUse } : {}),
  };
}

/**
 * The enc_password the install on the ASG's current version runs with: in clear in its user
 * data, or read from the Secrets Manager secret it names (GetSecretValue). Only while the ASG
 * has no fingerprint tag (before the operator's first write, or after an older operator's
 * migration). The value stays in memory.
 */
async function observeEncPasswordInUse(aws: AwsClients, asg: ObservedAsg, lt: ObservedLaunchTemplate): Promise<Observation['encPasswordInUse']> {
  const n = asg.launchTemplateVersion;
  const version = lt.versions.find((v) => v.number === n);
  if (n === undefined || !version) return { source: `launch template ${lt.id}`, unknown: `the version the Auto Scaling Group runs (${asg.launchTemplateVersionSpec ?? '?'}) was not found` };
  const where = `launch template ${lt.id} version ${n}`;
  const found = findEncPasswordSource(version.install ? '' : await readUserData(aws, lt.id, n), version.install && kindOf(version.install).encPasswordSecretId(version.install));
  if (found.kind === 'unknown') return { source: where, unknown: found.reason };
  if (found.kind === 'clear') return { source: `the user data of ${where}`, value: found.value };
  const source = `Secrets Manager secret ${found.secretId} (named by the user data of ${where})`;
  try {
    const text = await getSecretString(aws, found.secretId);
    if (text === undefined) return { source, unknown: 'the secret holds no SecretString' };
    return { source, value: encPasswordFromSecretString(text) };
  } catch (err) {
    // A secret that is gone, that the operator may not read, or that KMS will not decrypt: say so.
    if (!isTerminalAwsError(err) && !/^(ResourceNotFoundException|DecryptionFailure|InvalidRequestException)$/.test(awsErrorCode(err) ?? '')) throw err;
    return { source, unknown: `cannot read it: ${awsErrorText(err)}` };
  }
}

/**
 * Each node is asked at the health path of the release it runs: a nodeUrlTemplate that ends in
 * /_health_check (the default) means TFE's node health, which is FDO's readiness endpoint from
 * 1.2.1 (/_health_check is deprecated in 1.2 and answers 410 from 2.0). Any other path is asked as given.
 */
function nodeUrlFor(template: string, lt: ObservedLaunchTemplate | undefined, i: AsgInstance): string {
  const v = lt?.versions.find((x) => String(x.number) === i.launchTemplateVersion);
  return template.replace(/\/_health_check$/, nodeHealthPath(releaseOf(v?.install) ?? v?.foreignRelease));
}

/**
 * Until the cluster is Ready for its current spec: TFE's external services as the settings name
 * them. The bucket (placement_s3): exists, its region, its default encryption's KMS key. The
 * database: the RDS instance when pg_netloc is an RDS endpoint, and a login with pg_user /
 * pg_password / pg_dbname and pg_extra_params' sslmode. Skipped when Ready: no calls in steady
 * state. Refusals of AWS (AccessDenied) are kept for the planner; transient errors throw (retry).
 */
async function observeExternalServices(aws: AwsClients, cluster: TfeCluster, inputs: Inputs): Promise<ExternalServices | undefined> {
  if (steady(cluster)) return undefined;
  const ns = cluster.metadata!.namespace!;
  const view = kindNamed(cluster.spec.install).settingsView({ spec: cluster.spec, namespace: ns, name: cluster.metadata!.name!, inputs }).external;
  if (!view) return undefined; // the planner reports the settings first
  const out: ExternalServices = {};
  const netloc = view.database;
  const bucketName = view.bucket?.name;
  const terminal = (err: unknown) => {
    if (!isTerminalAwsError(err)) throw err;
    return awsErrorText(err);
  };
  await Promise.all([
    bucketName
      ? describeBucket(aws, bucketName).then(
          (b) => (out.bucket = b),
          (err) => (out.bucket = { name: bucketName, exists: true, error: terminal(err) }),
        )
      : undefined,
    netloc
      ? findDbInstance(aws, netloc.host).then(
          (d) => d && (out.dbInstance = d),
          (err) => (out.dbInstanceError = terminal(err)),
        )
      : undefined,
    netloc?.user && netloc.password !== undefined && netloc.database
      ? probeDatabase(
          { host: netloc.host, port: netloc.port, user: netloc.user, password: netloc.password, database: netloc.database, sslmode: netloc.sslmode },
          { timeoutMs: Number(process.env.TFE_OPERATOR_DB_CONNECT_TIMEOUT_MS) || 5_000, connectTo: process.env.TFE_OPERATOR_CONNECT_TO },
        ).then((d) => (out.database = d))
      : undefined,
  ]);
  return out;
}

/**
 * Until the cluster is Ready for its current spec (a migration, an upgrade, a spec change):
 * whether the baseline version's instance profile may read the secrets the nodes need (name ->
 * ARN, undefined while not stored yet). Skipped when Ready: no IAM calls in steady state.
 */
/** Ready for the current spec: checks that only matter on the way there are skipped. */
function steady(cluster: TfeCluster): boolean {
  return cluster.status?.phase === 'Ready' && cluster.status.observedGeneration === cluster.metadata?.generation;
}

/**
 * Until Ready for the current spec: spec.validation's workspace, and this TfeCluster's
 * validation runs in it (found by their message, so a run is never queued twice).
 */
async function observeValidation(cluster: TfeCluster, inputs: Inputs): Promise<ObservedValidation | undefined> {
  const v = cluster.spec.validation;
  const token = inputs.secrets.validationToken;
  if (!v || !token || steady(cluster)) return undefined;
  const api = { address: v.address, token, ...(inputs.validationCa ? { ca: inputs.validationCa } : {}) };
  const owner = `${cluster.metadata!.namespace}/${cluster.metadata!.name}`;
  try {
    const workspaceId = await findWorkspace(api, v.organization, v.workspace);
    const [all, inProgress] = await Promise.all([listRuns(api, workspaceId), runsInProgress(api)]);
    const runs = all.flatMap((r) => {
      const stage = validationStageOf(owner, r.message);
      return stage ? [{ id: r.id, status: r.status, stage }] : [];
    });
    return { workspaceId, runs, runsInProgress: inProgress ?? null };
  } catch (err) {
    if (!(err instanceof TfeApiError)) throw err;
    return { runs: [], error: { ...(err.status === undefined ? {} : { status: err.status }), detail: err.message } };
  }
}

/** Until Ready for the current spec, while nodes run: the operator's latest drain of each. */
async function observeDrains(aws: AwsClients, cluster: TfeCluster, instances: number): Promise<Pick<Observation, 'drains' | 'drainsError'>> {
  if (instances === 0 || (cluster.spec.rollout?.drain ?? 'Required') === 'Skip' || steady(cluster)) return {};
  try {
    return { drains: await describeDrains(aws, drainComment(`${cluster.metadata!.namespace}/${cluster.metadata!.name}`, cluster.metadata!.generation ?? 0)) };
  } catch (err) {
    if (!isTerminalAwsError(err)) throw err;
    return { drainsError: awsErrorText(err) };
  }
}

const ACCESS_PASSED_TTL_MS = 10 * 60_000;
const accessPassed = new Map<string, { at: number; result: NodeAccess }>();

async function observeNodeAccess(
  aws: AwsClients,
  cluster: TfeCluster,
  profile: { arn?: string; name?: string } | undefined,
  secrets: Record<string, string | undefined>,
): Promise<NodeAccess | undefined> {
  if (steady(cluster) || !profile) return undefined;
  // A passed check stands for the same profile, secrets and spec for a while: a migration waits
  // on health every few seconds and need not ask IAM each time. A failed one is asked again (a
  // person fixes IAM without touching the spec).
  const key = JSON.stringify([cluster.metadata?.uid, cluster.metadata?.generation, profile, secrets]);
  const known = accessPassed.get(key);
  if (known && Date.now() - known.at < ACCESS_PASSED_TTL_MS) return known.result;
  try {
    const result = await checkNodeAccess(aws, cluster.spec.aws.region, profile, secrets);
    if (!result.error && !result.noRole && result.denied.length === 0) {
      if (accessPassed.size > 1000) accessPassed.clear();
      accessPassed.set(key, { at: Date.now(), result });
    }
    return result;
  } catch (err) {
    if (!isTerminalAwsError(err)) throw err;
    return { profile: profile.name ?? profile.arn ?? '', denied: [], error: awsErrorText(err) };
  }
}
