// Observe: read everything one reconcile needs into one Observation (the "scope"), before
// any decision. Reads only; nothing here changes the world.

import type { TfeCluster } from '../api/types.ts';
import type { AwsClients } from '../aws/clients.ts';
import { describeAsg } from '../aws/asg.ts';
import { describeLaunchTemplate, resolveVersion } from '../aws/launchtemplates.ts';
import { describeReplicationGroup } from '../aws/elasticache.ts';
import { describeSecurityGroups, subnetCidrs } from '../aws/securitygroups.ts';
import { describeSecret } from '../aws/secrets.ts';
import { describeTargetGroups, describeTargetHealth } from '../aws/targetgroups.ts';
import { checkNodeAccess } from '../aws/iam.ts';
import { describeBucket } from '../aws/s3.ts';
import { findDbInstance } from '../aws/rds.ts';
import { parseExtraParams, parseNetloc, probeDatabase } from '../tfe/database.ts';
import { awsErrorText, isTerminalAwsError } from '../aws/errors.ts';
import { readConfigMap, readSecretBytes, readSecretKey, type Kube } from '../kube/client.ts';
import type { ExternalServices, Inputs, NodeAccess, NodeHealth, Observation } from '../migration/observation.ts';
import { fileSecretName, secretName } from '../migration/targets.ts';
import { probeRedis } from '../redis/probe.ts';
import { parsePtfeSettings } from '../tfe/settings.ts';
import { nodeHealthUrl, probeHealth } from '../tfe/health.ts';

interface SecretRef {
  name: string;
  key: string;
}

export async function readInputs(kube: Kube, cluster: TfeCluster): Promise<Inputs> {
  const ns = cluster.metadata!.namespace!;
  const spec = cluster.spec;
  const missing: string[] = [];
  const read = <T>(get: (name: string, key: string) => Promise<T | undefined>) => async (ref: SecretRef | undefined, what: string) => {
    if (!ref) return undefined;
    const v = await get(ref.name, ref.key);
    if (v === undefined) missing.push(`Secret ${ns}/${ref.name} key ${ref.key} (${what})`);
    return v;
  };
  const secret = read((name, key) => readSecretKey(kube, ns, name, key));
  const bytes = read((name, key) => readSecretBytes(kube, ns, name, key));
  const cmRef = spec.settings.configMapRef;
  const cm = await readConfigMap(kube, ns, cmRef.name);
  const confKey = spec.settings.replicatedConfKey ?? 'replicated.conf';
  const settingsKey = spec.settings.settingsKey ?? 'ptfe-settings.json';
  if (!cm) missing.push(`ConfigMap ${ns}/${cmRef.name} (settings)`);
  else {
    if (cm[confKey] === undefined) missing.push(`ConfigMap ${ns}/${cmRef.name} key ${confKey}`);
    if (cm[settingsKey] === undefined) missing.push(`ConfigMap ${ns}/${cmRef.name} key ${settingsKey}`);
  }
  const redisRef = spec.redis.elastiCache?.authTokenSecretRef ?? spec.redis.external?.passwordSecretRef;
  const [encPassword, license, redisPassword] = await Promise.all([
    secret(spec.encryptionPasswordSecretRef, 'enc_password'),
    bytes(spec.settings.licenseSecretRef, 'license'),
    secret(redisRef, 'Redis password'),
  ]);
  const settings: Record<string, string> = {};
  for (const s of spec.settings.secretSettings ?? []) {
    const v = await secret(s.secretKeyRef, `setting ${s.setting}`);
    if (v !== undefined) settings[s.setting] = v;
  }
  const files: Record<string, Uint8Array> = {};
  for (const f of spec.node?.files ?? []) {
    const v = await bytes(f.secretKeyRef, `file ${f.path}`);
    if (v !== undefined) files[f.path] = v;
  }
  const preRef = spec.node?.preInstallScriptRef;
  const preInstallScript = preRef ? (await readConfigMap(kube, ns, preRef.name))?.[preRef.key] : undefined;
  if (preRef && preInstallScript === undefined) missing.push(`ConfigMap ${ns}/${preRef.name} key ${preRef.key} (pre-install script)`);
  return {
    replicatedConfText: cm?.[confKey],
    settingsText: cm?.[settingsKey],
    ...(preInstallScript === undefined ? {} : { preInstallScript }),
    secrets: { encPassword, license, redisPassword, settings, files },
    missing,
  };
}

export async function observe(kube: Kube, aws: AwsClients, cluster: TfeCluster, now = Date.now()): Promise<Observation> {
  const spec = cluster.spec;
  const ns = cluster.metadata!.namespace!;
  const name = cluster.metadata!.name!;
  const nodeTemplate = spec.health?.nodeUrlTemplate ?? 'https://{privateIp}/_health_check';
  // Independent reads run together; only what depends on an earlier answer waits for it.
  const [inputs, launchTemplate, rawAsg] = await Promise.all([
    readInputs(kube, cluster),
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
  const managedSecrets = [
    ...['enc_password', 'license', 'redis_pass', ...(spec.settings.secretSettings ?? []).map((s) => `setting-${s.setting}`)].map((p) => secretName(ns, name, p)),
    ...(spec.node?.files ?? []).map((f) => fileSecretName(ns, name, f.path)),
  ];

  const [securityGroups, nodeSubnetCidrs, targetGroups, replicationGroup, externalRedis, secretList] = await Promise.all([
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
          ca: ext.caSecretRef ? await readSecretKey(kube, ns, ext.caSecretRef.name, ext.caSecretRef.key) : undefined,
        })
      : Promise.resolve(undefined),
    Promise.all(managedSecrets.map((n) => describeSecret(aws, n))),
  ]);
  const awsSecrets = Object.fromEntries(secretList.filter((s) => s !== undefined).map((s) => [s!.name, s!]));
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

  const caRef = spec.health?.caSecretRef;
  const probeOpts = {
    insecureSkipTLSVerify: spec.health?.insecureSkipTLSVerify ?? false,
    ...(caRef ? { ca: await readSecretKey(kube, ns, caRef.name, caRef.key) } : {}),
  };
  // Nodes are reached by IP; their certificate names the TFE hostname.
  const servername = spec.health?.tlsServerName ?? settingsHostname(inputs.settingsText);
  const nodeProbeOpts = { ...probeOpts, ...(servername ? { servername } : {}) };
  const nodeHealth: Record<string, NodeHealth> = {};
  const attached = targetGroups.filter((g) => asg?.targetGroupArns?.includes(g.arn));
  const [lbHealth] = await Promise.all([
    spec.health?.url ? probeHealth(spec.health.url, probeOpts) : Promise.resolve(undefined),
    ...(asg?.instances ?? []).map(async (i) => {
      nodeHealth[i.id] = await probeHealth(nodeHealthUrl(nodeTemplate, i), nodeProbeOpts);
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
    nodeHealth,
    lbHealth,
  };
}

/** The hostname setting of ptfe-settings.json, if the text parses. */
function settingsHostname(text: string | undefined): string | undefined {
  const parsed = parsePtfeSettings(text ?? '');
  return (parsed.ok && parsed.value.hostname?.value) || undefined;
}

/** Ready for the current generation: steady state, where the checks that only step 1 needs are skipped. */
function steadyState(cluster: TfeCluster): boolean {
  return cluster.status?.phase === 'Ready' && cluster.status.observedGeneration === cluster.metadata?.generation;
}

/**
 * Until the cluster is Ready for its current spec: TFE's external services as the settings name
 * them. The bucket (placement_s3): exists, its region, its default encryption's KMS key. The
 * database: the RDS instance when pg_netloc is an RDS endpoint, and a login with pg_user /
 * pg_password / pg_dbname and pg_extra_params' sslmode. Skipped when Ready: no calls in steady
 * state. Refusals of AWS (AccessDenied) are kept for the planner; transient errors throw (retry).
 */
async function observeExternalServices(aws: AwsClients, cluster: TfeCluster, inputs: Inputs): Promise<ExternalServices | undefined> {
  if (steadyState(cluster)) return undefined;
  const parsed = parsePtfeSettings(inputs.settingsText ?? '');
  if (!parsed.ok) return undefined; // the planner reports the settings first
  const setting = (k: string) => inputs.secrets.settings[k] ?? parsed.value[k]?.value;
  const out: ExternalServices = {};
  const netloc = parseNetloc(setting('pg_netloc') ?? '');
  const bucketName = setting('placement') === 'placement_s3' ? setting('s3_bucket') : undefined;
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
    netloc && setting('pg_user') && setting('pg_password') !== undefined && setting('pg_dbname')
      ? probeDatabase(
          {
            ...netloc,
            user: setting('pg_user')!,
            password: setting('pg_password')!,
            database: setting('pg_dbname')!,
            sslmode: parseExtraParams(setting('pg_extra_params')).sslmode ?? 'prefer',
          },
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
async function observeNodeAccess(
  aws: AwsClients,
  cluster: TfeCluster,
  profile: { arn?: string; name?: string } | undefined,
  secrets: Record<string, string | undefined>,
): Promise<NodeAccess | undefined> {
  if (steadyState(cluster) || !profile) return undefined;
  try {
    return await checkNodeAccess(aws, cluster.spec.aws.region, profile, secrets);
  } catch (err) {
    if (!isTerminalAwsError(err)) throw err;
    return { profile: profile.name ?? profile.arn ?? '', denied: [], error: awsErrorText(err) };
  }
}
