// Thin helpers over @kubernetes/client-node 1.4: config loading, merge patches with the
// right Content-Type (client-node defaults to JSON Patch otherwise), and Secret/ConfigMap reads.

import * as k8s from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../api/types.ts';
import type { TfeCluster } from '../api/types.ts';
import { ANNOTATION_ALLOWED_TFECLUSTERS, secretAllows } from '../security/secret-access.ts';

export interface Kube {
  config: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  custom: k8s.CustomObjectsApi;
  coordination: k8s.CoordinationV1Api;
}

export interface LoadKubeOptions {
  /** A kubeconfig file instead of KUBECONFIG / ~/.kube/config (kubectl's --kubeconfig). */
  kubeconfig?: string;
  /** A context other than the current one (kubectl's --context). */
  context?: string;
}

/** In-cluster config when running in a pod, else KUBECONFIG / ~/.kube/config. */
export function loadKube(opts: LoadKubeOptions = {}): Kube {
  const config = new k8s.KubeConfig();
  if (opts.kubeconfig) config.loadFromFile(opts.kubeconfig);
  else if (process.env.KUBERNETES_SERVICE_HOST && !process.env.KUBECONFIG) config.loadFromCluster();
  else config.loadFromDefault();
  if (opts.context) {
    if (!config.getContextObject(opts.context)) throw new Error(`context "${opts.context}" not found in the kubeconfig`);
    config.setCurrentContext(opts.context);
  }
  return kubeFrom(config);
}

/** The namespace of the current context (what kubectl uses without -n), else "default". */
export function contextNamespace(config: k8s.KubeConfig): string {
  return config.getContextObject(config.getCurrentContext())?.namespace || 'default';
}

export function kubeFrom(config: k8s.KubeConfig): Kube {
  return {
    config,
    core: config.makeApiClient(k8s.CoreV1Api),
    custom: config.makeApiClient(k8s.CustomObjectsApi),
    coordination: config.makeApiClient(k8s.CoordinationV1Api),
  };
}

export const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

/** HTTP status code of a client-node ApiException (or anything carrying a numeric `code`/`statusCode`). */
export function statusCode(err: unknown): number | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; statusCode?: unknown; response?: { statusCode?: unknown } };
  for (const v of [e.code, e.statusCode, e.response?.statusCode]) if (typeof v === 'number') return v;
  return undefined;
}

export function isNotFound(err: unknown): boolean {
  return statusCode(err) === 404;
}

export function isConflict(err: unknown): boolean {
  return statusCode(err) === 409;
}

/** A TfeCluster that does not exist (CLI commands print the message). */
export class ClusterNotFoundError extends Error {
  constructor(
    readonly namespace: string,
    readonly clusterName: string,
  ) {
    super(`TfeCluster ${namespace}/${clusterName} not found`);
    this.name = 'ClusterNotFoundError';
  }
}

export async function getCluster(kube: Kube, namespace: string, name: string): Promise<TfeCluster | undefined> {
  try {
    return (await kube.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name })) as TfeCluster;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function patchCluster(kube: Kube, namespace: string, name: string, body: object): Promise<TfeCluster> {
  return (await kube.custom.patchNamespacedCustomObject(
    { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body },
    mergePatch,
  )) as TfeCluster;
}

/** Merge-patch the status subresource; `resourceVersion` makes it fail with 409 if the object moved. */
export async function patchClusterStatus(
  kube: Kube,
  namespace: string,
  name: string,
  status: object,
  resourceVersion?: string,
): Promise<TfeCluster> {
  const body = { metadata: resourceVersion ? { resourceVersion } : undefined, status };
  return (await kube.custom.patchNamespacedCustomObjectStatus(
    { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body },
    mergePatch,
  )) as TfeCluster;
}

/**
 * A Secret key for TfeCluster `cluster`, only when the Secret allows that TfeCluster
 * (src/security/secret-access.ts). The annotation is checked before the data is looked at: a
 * Secret that does not allow it yields `notAllowed` and no value. `cluster` undefined: no check
 * (the operator runs with --secret-opt-in=false).
 */
export async function readSecretFor(
  kube: Kube,
  namespace: string,
  name: string,
  key: string,
  cluster: string | undefined,
): Promise<{ value?: Buffer; notAllowed?: { current?: string } }> {
  let s: k8s.V1Secret;
  try {
    s = await kube.core.readNamespacedSecret({ name, namespace });
  } catch (err) {
    if (isNotFound(err)) return {};
    throw err;
  }
  if (cluster !== undefined && !secretAllows(s.metadata?.annotations, cluster)) {
    return { notAllowed: { current: s.metadata?.annotations?.[ANNOTATION_ALLOWED_TFECLUSTERS] } };
  }
  return { value: secretValue(s, key) };
}

function secretValue(s: k8s.V1Secret, key: string): Buffer | undefined {
  const raw = s.data?.[key];
  if (raw !== undefined) return Buffer.from(raw, 'base64');
  const text = s.stringData?.[key];
  return text === undefined ? undefined : Buffer.from(text, 'utf8');
}

/** A key of a Secret, decoded; undefined when the Secret or key is missing. */
export async function readSecretKey(kube: Kube, namespace: string, name: string, key: string): Promise<string | undefined> {
  return (await readSecretBytes(kube, namespace, name, key))?.toString('utf8');
}

/** A Secret key's exact bytes (for binary values such as a license file). */
export async function readSecretBytes(kube: Kube, namespace: string, name: string, key: string): Promise<Buffer | undefined> {
  try {
    return secretValue(await kube.core.readNamespacedSecret({ name, namespace }), key);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function readConfigMap(kube: Kube, namespace: string, name: string): Promise<Record<string, string> | undefined> {
  try {
    const cm = await kube.core.readNamespacedConfigMap({ name, namespace });
    return cm.data ?? {};
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
