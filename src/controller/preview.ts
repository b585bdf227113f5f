// Preview: what the operator would do next for one TfeCluster, from the live world, changing
// nothing. The same observe() + plan() a reconcile runs, with AWS clients that refuse every
// mutating call. Shared by `tfe-operator plan` and `kubectl tfe plan`.

import type { TfeCluster } from '../api/types.ts';
import { makeAwsClients, type AwsClients } from '../aws/clients.ts';
import { ClusterNotFoundError, getCluster, type Kube } from '../kube/client.ts';
import { describeAction } from '../migration/actions.ts';
import { plan, type Plan } from '../migration/planner.ts';
import type { Observation } from '../migration/observation.ts';
import { observe, readInputs } from './observe.ts';
import { randomBytes } from 'node:crypto';
import { defaultNamespace } from '../ha/config.ts';
import { gatePlan } from '../migration/planner.ts';
import { secretNotAllowedMessage } from '../security/secret-access.ts';
import { DEFAULT_FINGERPRINT_KEY_SECRET, ensureFingerprintKey } from '../security/fingerprint-key.ts';

export { ClusterNotFoundError };

export interface Preview {
  cluster: TfeCluster;
  plan: Plan;
  obs: Observation;
  /** The read-only clients the preview used (every mutating call refused). */
  aws: AwsClients;
}

/**
 * Reads the TfeCluster and the world it points at and plans, like one reconcile, but acts on
 * nothing and writes no status. Throws ClusterNotFoundError when the object does not exist.
 * `userAgent` names the caller in AWS request logs (CloudTrail).
 */
export async function previewPlan(kube: Kube, namespace: string, name: string, userAgent = 'tfe-operator/plan'): Promise<Preview> {
  const cluster = await getCluster(kube, namespace, name);
  if (!cluster) throw new ClusterNotFoundError(namespace, name);
  const aws = makeAwsClients(
    { region: cluster.spec.aws.region, roleArn: cluster.spec.aws.roleArn },
    {
      beforeMutation: (op) => {
        throw new Error(`plan is read-only; refused ${op}`);
      },
    },
    userAgent,
  );
  const obs = await observe(kube, aws, cluster, Date.now(), await readInputs(kube, cluster, { secretOptIn: true }));
  if (obs.inputs.notAllowed?.length) {
    return { cluster, obs, aws, plan: gatePlan(cluster, 'SecretNotAllowed', secretNotAllowedMessage(namespace, name, obs.inputs.notAllowed)) };
  }
  return { cluster, obs, aws, plan: plan({ cluster, obs, salt: cluster.metadata.uid ?? name, fingerprintKey: await previewKey(kube) }) };
}

/**
 * The operator's fingerprint key, when whoever runs the preview may read it (never created
 * here). Otherwise a key of its own: the plan is the same, except that a fingerprint the
 * operator recorded cannot be compared, and the preview says the enc_password changed.
 */
async function previewKey(kube: Kube): Promise<Uint8Array> {
  // Where the operator keeps it: TFE_OPERATOR_NAMESPACE when given, else the shipped install's
  // namespace, else the operator's own default (POD_NAMESPACE, the service account's, default).
  const candidates = process.env.TFE_OPERATOR_NAMESPACE ? [process.env.TFE_OPERATOR_NAMESPACE] : [...new Set(['tfe-operator', defaultNamespace()])];
  const name = process.env.TFE_OPERATOR_FINGERPRINT_KEY_SECRET || DEFAULT_FINGERPRINT_KEY_SECRET;
  for (const ns of candidates) {
    try {
      return await ensureFingerprintKey(kube, ns, name, false);
    } catch {
      /* not there, or not readable: try the next place */
    }
  }
  return randomBytes(32);
}

/** The JSON form (`-o json`). Actions are described, never dumped: they carry no secret values, but user data is long. */
export function planJson(p: Plan) {
  return {
    phase: p.phase,
    step: p.step,
    message: p.message,
    action: p.action ? { kind: p.action.kind, description: describeAction(p.action) } : null,
    approval: p.approval ?? null,
    wait: p.wait ?? null,
    requeueAfterMs: p.requeueAfterMs ?? null,
    nodes: p.nodes,
    conditions: p.conditions,
  };
}

/** The text form: a few lines a person reads. */
export function formatPlan(preview: Preview, opts: { approveHint?: string } = {}): string {
  const { cluster, plan: p } = preview;
  const ns = cluster.metadata.namespace;
  const name = cluster.metadata.name;
  const lines = [`TfeCluster ${ns}/${name}: ${p.phase} (step ${p.step})`, `  ${p.message}`];
  lines.push(p.action ? `  next action: ${describeAction(p.action)}` : '  next action: none');
  if (p.approval) {
    lines.push(`  waiting for approval: ${p.approval.waitingFor} (${p.approval.description})`);
    if (opts.approveHint) lines.push(`    ${opts.approveHint}`);
  }
  if (p.wait) lines.push(`  waiting since ${p.wait.since} for ${p.wait.id}`);
  const degraded = p.conditions.find((c) => c.type === 'Degraded' && c.status === 'True');
  if (degraded) lines.push(`  failure: ${degraded.reason}`);
  const s = cluster.status;
  if (s?.phase && (s.phase !== p.phase || s.step !== p.step)) {
    lines.push(`  note: the operator last recorded ${s.phase} (step ${s.step ?? '?'}); this plan is from the world as it is now`);
  }
  if (s && s.observedGeneration !== undefined && s.observedGeneration !== cluster.metadata.generation) {
    lines.push(`  note: the operator has not acted on generation ${cluster.metadata.generation} of the spec yet (status is for ${s.observedGeneration})`);
  }
  lines.push('  (read-only: nothing was changed)');
  return lines.join('\n');
}
