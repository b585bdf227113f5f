// What `kubectl tfe pause|resume|approve|abort` change on a TfeCluster. Each is one merge
// patch; approve carries the resourceVersion it read, so it approves exactly the gate the
// person saw (a 409 means the object moved: read again and decide again).

import { ANNOTATION_ABORT, ANNOTATION_APPROVE, type TfeCluster } from '../api/types.ts';
import { ClusterNotFoundError, getCluster, isConflict, patchCluster, statusCode, type Kube } from '../kube/client.ts';

/** An error meant for the person at the terminal: printed as is, exit code 1. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** A change that needs --yes: the explanation is printed (not as an error), exit code 1. */
export class ConfirmationRequired extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'ConfirmationRequired';
  }
}

export async function mustGet(kube: Kube, namespace: string, name: string): Promise<TfeCluster> {
  const c = await getCluster(kube, namespace, name);
  if (!c) throw new ClusterNotFoundError(namespace, name);
  return c;
}

function where(c: TfeCluster): string {
  const s = c.status;
  if (!s?.phase) return 'has no status yet (is the operator running?)';
  return `is ${s.phase} (step ${s.step ?? '?'}): ${s.message ?? ''}`.trimEnd();
}

export async function setPaused(kube: Kube, namespace: string, name: string, paused: boolean): Promise<string> {
  const c = await mustGet(kube, namespace, name);
  const ref = `${namespace}/${name}`;
  if ((c.spec.rollout?.paused ?? false) === paused) {
    return paused ? `TfeCluster ${ref} is already paused` : `TfeCluster ${ref} is not paused`;
  }
  await patchCluster(kube, namespace, name, { spec: { rollout: { paused } } });
  return paused
    ? `paused TfeCluster ${ref}: the operator starts no new action (one already running finishes); resume with: kubectl tfe resume ${name} -n ${namespace}`
    : `resumed TfeCluster ${ref}: the operator carries on from where the world is now`;
}

export async function approve(kube: Kube, namespace: string, name: string): Promise<string> {
  const ref = `${namespace}/${name}`;
  for (let attempt = 0; ; attempt++) {
    const c = await mustGet(kube, namespace, name);
    const approval = c.status?.approval;
    if (!approval?.waitingFor) {
      throw new UserError(`nothing to approve: TfeCluster ${ref} is not waiting for approval; it ${where(c)}`);
    }
    const id = approval.waitingFor;
    const what = approval.description ? `: ${approval.description}` : '';
    if (c.metadata.annotations?.[ANNOTATION_APPROVE] === id) {
      return `${id} is already approved on TfeCluster ${ref}${what}; the operator has not picked it up yet (is it running?)`;
    }
    try {
      await patchCluster(kube, namespace, name, { metadata: { resourceVersion: c.metadata.resourceVersion, annotations: { [ANNOTATION_APPROVE]: id } } });
      return `approved ${id} on TfeCluster ${ref}${what}`;
    } catch (err) {
      // The object changed between the read and the write: read again, approve only if the
      // same gate is still waiting.
      if (isConflict(err) && attempt < 4) continue;
      throw err;
    }
  }
}

export interface AbortPreview {
  /** What an abort would do, in a sentence. */
  description: string;
  alreadyRequested: boolean;
}

export function describeAbort(c: TfeCluster): AbortPreview {
  const lt = c.status?.launchTemplate;
  const target = lt?.lastGoodVersion ?? lt?.baselineVersion;
  const description =
    `abort stops the rollout of TfeCluster ${c.metadata.namespace}/${c.metadata.name} and rolls back` +
    (target !== undefined ? ` to launch template version ${target} (the last good one)` : ' to the last good launch template version') +
    `: the Auto Scaling Group is scaled to 0 and started again on that version, so TFE is unavailable until the nodes are healthy again. ` +
    `It ${where(c)}` +
    (c.spec.rollout?.paused ? `\nNote: spec.rollout.paused is true; the rollback starts only after: kubectl tfe resume ${c.metadata.name} -n ${c.metadata.namespace}` : '');
  return { description, alreadyRequested: c.metadata.annotations?.[ANNOTATION_ABORT] === 'true' };
}

export async function requestAbort(kube: Kube, namespace: string, name: string, yes: boolean): Promise<string> {
  const c = await mustGet(kube, namespace, name);
  const preview = describeAbort(c);
  const ref = `${namespace}/${name}`;
  if (preview.alreadyRequested) return `abort is already requested on TfeCluster ${ref} (annotation ${ANNOTATION_ABORT}=true)`;
  if (!yes) throw new ConfirmationRequired(`${preview.description}\nNothing was changed. To go ahead: kubectl tfe abort ${name} -n ${namespace} --yes`);
  await patchCluster(kube, namespace, name, { metadata: { annotations: { [ANNOTATION_ABORT]: 'true' } } });
  return (
    `abort requested on TfeCluster ${ref} (annotation ${ANNOTATION_ABORT}=true); follow it with: kubectl tfe status ${name} -n ${namespace}\n` +
    (c.spec.rollout?.paused ? `spec.rollout.paused is true: the rollback starts only after: kubectl tfe resume ${name} -n ${namespace}\n` : '') +
    `Before retrying later, remove the annotation: kubectl annotate tfe ${name} -n ${namespace} ${ANNOTATION_ABORT}-`
  );
}

/** A one-paragraph error for a person; Kubernetes API errors reduced to their message. */
export function describeError(err: unknown): string {
  if (err instanceof UserError || err instanceof ClusterNotFoundError) return err.message;
  const code = statusCode(err);
  const body = (err as { body?: unknown }).body;
  let apiMessage: string | undefined;
  if (typeof body === 'string') {
    try {
      apiMessage = (JSON.parse(body) as { message?: string }).message;
    } catch {
      apiMessage = body.slice(0, 300);
    }
  } else if (body && typeof body === 'object') apiMessage = (body as { message?: string }).message;
  if (typeof code === 'number' && code >= 400 && code < 600) {
    const hint = code === 401 ? ' (check your credentials: kubectl auth whoami)' : code === 403 ? ' (check your RBAC: kubectl auth can-i)' : code === 404 ? ' (is the TfeCluster CRD installed?)' : '';
    return `Kubernetes API answered ${code}: ${apiMessage ?? (err as Error).message}${hint}`;
  }
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const sys = e.code ?? e.cause?.code;
  if (sys === 'ECONNREFUSED' || sys === 'ENOTFOUND' || sys === 'ETIMEDOUT' || sys === 'ECONNRESET') {
    return `cannot reach the Kubernetes API server (${sys}): ${e.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}
