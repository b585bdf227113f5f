// What the reconcile checks before it reads any Secret value or calls AWS (docs/security.md):
// the operator policy, then that every Secret the TfeCluster names allows it. Also the
// fingerprint key. Options come from `tfe-operator run` flags.

import type { TfeCluster } from '../api/types.ts';
import { readConfigMap, type Kube } from '../kube/client.ts';
import { evaluatePolicy, parsePolicy, POLICY_KEY, type PolicyDecision } from './policy.ts';

export interface SecurityOptions {
  /** Secrets must allow the TfeCluster (annotation); default true. */
  secretOptIn: boolean;
  /** The operator's own namespace (policy ConfigMap, fingerprint key). */
  operatorNamespace: string;
  policyConfigMap: string;
  /** The fingerprint HMAC key (memoized; src/security/fingerprint-key.ts). */
  fingerprintKey: () => Promise<Buffer>;
  /** This Kubernetes cluster's identity for the owner tags on Secrets Manager secrets (memoized; clusterIdentity). */
  clusterId: () => Promise<string>;
}

/**
 * The uid of the kube-system namespace: made once when the cluster is created and never reused,
 * so it tells two Kubernetes clusters apart whose TfeClusters share a namespace/name.
 * `--cluster-id` (env TFE_OPERATOR_CLUSTER_ID) sets it instead (no read of kube-system needed).
 */
export async function clusterIdentity(kube: Kube, override?: string): Promise<string> {
  if (override) return override;
  const ns = await kube.core.readNamespace({ name: 'kube-system' });
  const uid = ns.metadata?.uid;
  if (!uid) throw new Error('the kube-system namespace has no uid: set --cluster-id');
  return uid;
}

/**
 * The policy's decision for a TfeCluster. No policy ConfigMap: allowed (the behaviour before the
 * policy existed; docs/security.md says why and how to turn it on). A ConfigMap that does not
 * parse refuses every TfeCluster (PolicyInvalid): a typo must not open everything.
 */
export async function policyDecision(kube: Kube, opts: Pick<SecurityOptions, 'operatorNamespace' | 'policyConfigMap'>, cluster: TfeCluster): Promise<PolicyDecision & { reason?: string }> {
  const source = `ConfigMap ${opts.operatorNamespace}/${opts.policyConfigMap}`;
  const cm = await readConfigMap(kube, opts.operatorNamespace, opts.policyConfigMap);
  if (!cm) return { allowed: true };
  const text = cm[POLICY_KEY];
  if (text === undefined) return { allowed: false, reason: 'PolicyInvalid', field: 'policy', message: `the operator policy ${source} has no key ${POLICY_KEY}: every TfeCluster is refused until it does` };
  const parsed = parsePolicy(text);
  if (!parsed.ok) return { allowed: false, reason: 'PolicyInvalid', field: 'policy', message: `the operator policy ${source} key ${POLICY_KEY} is invalid (${parsed.error}): every TfeCluster is refused until it is fixed` };
  return evaluatePolicy(parsed.policy, cluster, source);
}
