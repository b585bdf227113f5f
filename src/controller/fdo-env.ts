// `tfe-operator fdo-env <name>`: for the move of a Replicated TfeCluster to install Docker, the
// tfe.env its settings ConfigMap would hold and the secretSettings it would list, written from
// its Replicated settings (src/install/fdo-env.ts). Reads Kubernetes only; prints no secret.

import { getCluster, readConfigMap, ClusterNotFoundError, type Kube } from '../kube/client.ts';
import { fdoEnvFromReplicated } from '../install/fdo-env.ts';
import { parsePtfeSettings, parseReplicatedConf } from '../tfe/settings.ts';

export async function fdoEnv(kube: Kube, namespace: string, name: string): Promise<string> {
  const cluster = await getCluster(kube, namespace, name);
  if (!cluster) throw new ClusterNotFoundError(namespace, name);
  const s = cluster.spec.settings;
  if (cluster.spec.install === 'Docker') throw new Error(`TfeCluster ${namespace}/${name} is install Docker already: its ConfigMap holds the TFE_* variables`);
  const cm = await readConfigMap(kube, namespace, s.configMapRef.name);
  if (!cm) throw new Error(`ConfigMap ${namespace}/${s.configMapRef.name} (spec.settings.configMapRef) not found`);
  const settings = parsePtfeSettings(cm[s.settingsKey ?? 'ptfe-settings.json'] ?? '');
  if (!settings.ok) throw new Error(`ptfe-settings.json in ConfigMap ${namespace}/${s.configMapRef.name}: ${settings.problems.map((p) => p.message).join('; ')}`);
  const conf = parseReplicatedConf(cm[s.replicatedConfKey ?? 'replicated.conf'] ?? '{}');
  const refs = new Map((s.secretSettings ?? []).map((x) => [x.setting, x.secretKeyRef]));
  const d = fdoEnvFromReplicated(settings.value, [...refs.keys()], conf.ok ? conf.value : {});
  const out = [`# tfe.env for TfeCluster ${namespace}/${name} with install Docker, from ConfigMap ${namespace}/${s.configMapRef.name} (Replicated settings).`, '# Review each line against HashiCorp\'s configuration reference (docs/fdo.md).', d.env.trimEnd()];
  if (d.secretSettings.length) {
    out.push('# spec.settings.secretSettings with install Docker (the same Secrets, new names):');
    for (const x of d.secretSettings) out.push(`#   - { setting: ${x.to}, secretKeyRef: { name: ${refs.get(x.from)!.name}, key: ${refs.get(x.from)!.key} } }`);
  }
  for (const n of d.notCarried) out.push(`# not carried over: ${n.setting} (${n.why})`);
  return `${out.join('\n')}\n`;
}
