// Secrets opt in (docs/security.md): the operator uses a Secret for a TfeCluster only when the
// Secret itself says so. Whoever may write a TfeCluster is not necessarily allowed to read the
// Secrets of its namespace; without this the operator would read them with its own rights and
// send them out (Redis AUTH to a host of the author's choosing, Secrets Manager, the nodes).

/** `<name>[,<name>...]` of TfeClusters in the Secret's namespace, or `*` for all of them. */
export const ANNOTATION_ALLOWED_TFECLUSTERS = 'tfe.operators.dev/allowed-tfeclusters';

/** Whether a Secret's annotations let TfeCluster `cluster` (same namespace) use it. */
export function secretAllows(annotations: Record<string, string> | undefined, cluster: string): boolean {
  const v = annotations?.[ANNOTATION_ALLOWED_TFECLUSTERS];
  if (v === undefined) return false;
  return v
    .split(',')
    .map((s) => s.trim())
    .some((s) => s === '*' || s === cluster);
}

/** The value the annotation should have after adding `cluster` to what it says now. */
export function annotationWith(current: string | undefined, cluster: string): string {
  const names = (current ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return [...new Set([...names, cluster])].join(',');
}

/** The message for Secrets the TfeCluster references but may not use: each one and the command that allows it. */
export function secretNotAllowedMessage(namespace: string, cluster: string, refused: Array<{ name: string; what: string; current?: string }>): string {
  const byName = new Map<string, { what: string[]; current?: string }>();
  for (const r of refused) {
    const e = byName.get(r.name) ?? { what: [], current: r.current };
    e.what.push(r.what);
    byName.set(r.name, e);
  }
  const parts = [...byName].map(
    ([name, e]) =>
      `Secret ${namespace}/${name} (${e.what.join(', ')}): kubectl annotate secret ${name} -n ${namespace} --overwrite ${ANNOTATION_ALLOWED_TFECLUSTERS}=${annotationWith(e.current, cluster)}`,
  );
  return `the operator uses a Secret only when the Secret allows this TfeCluster (annotation ${ANNOTATION_ALLOWED_TFECLUSTERS}); nothing was read from or sent for: ${parts.join('; ')}. Someone who may read the Secret runs the command to allow it (docs/security.md)`;
}
