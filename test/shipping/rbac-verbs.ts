// The Kubernetes access the operator's code uses, read from src/ (not from the manifests), so
// a test can compare it with the RBAC rules: every verb granted must be used, every verb used
// must be granted.
//
// What counts: the @kubernetes/client-node API methods called (readNamespacedSecret,
// patchNamespacedCustomObjectStatus, createNamespacedEvent, replaceNamespacedLease, ...),
// client-node's makeInformer (list + watch), and the review APIs of the status API
// (createTokenReview, createSubjectAccessReview). src/plugin/ is left out: the kubectl plugin
// runs as the person who calls it, not as the operator's ServiceAccount.

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import * as k8s from '@kubernetes/client-node';

/** Where a permission is needed. */
export type Scope =
  | 'watched' // where TfeClusters live: cluster-wide (ClusterRole) or the watched namespace (Role)
  | 'own' // the operator's own namespace only (Role)
  | 'cluster' // cluster-scoped review APIs (ClusterRole, both modes)
  | 'identity'; // the kube-system Namespace, read for the cluster's identity (ClusterRole, both modes)

export interface Use {
  /** "group/resource:verb", group empty for the core API. */
  permission: string;
  scope: Scope;
  /** file:line of one call that needs it. */
  where: string;
}

const VERB: Record<string, string> = { read: 'get', get: 'get', list: 'list', create: 'create', replace: 'update', patch: 'patch', delete: 'delete', watch: 'watch' };

/** API kind in a client-node method name -> [group, resource, scope]. */
const KINDS: Record<string, [string, string, Scope]> = {
  Secret: ['', 'secrets', 'watched'],
  ConfigMap: ['', 'configmaps', 'watched'],
  Event: ['', 'events', 'watched'],
  Lease: ['coordination.k8s.io', 'leases', 'own'],
  // Every custom-object call of the operator names PLURAL (tfeclusters).
  CustomObject: ['tfe.operators.dev', 'tfeclusters', 'watched'],
  TokenReview: ['authentication.k8s.io', 'tokenreviews', 'cluster'],
  SubjectAccessReview: ['authorization.k8s.io', 'subjectaccessreviews', 'cluster'],
  Namespace: ['', 'namespaces', 'identity'],
};

/**
 * Files whose Secret and ConfigMap calls are about the operator's own state in its own namespace
 * (the fingerprint key, the operator policy: src/security/), not about the watched TfeClusters.
 */
const OWN_STATE = `src${sep}security${sep}`;

const METHOD = /\.(read|get|list|create|replace|patch|delete)(Namespaced|Cluster)?(Secret|ConfigMap|Event|Lease|CustomObject|TokenReview|SubjectAccessReview|Namespace)(Status)?\(/g;

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Every method of every client-node API class (CoreV1Api, CustomObjectsApi, ...). */
function clientNodeMethods(): Set<string> {
  const names = new Set<string>();
  for (const [name, value] of Object.entries(k8s)) {
    if (!/Api$/.test(name) || typeof value !== 'function' || !value.prototype) continue;
    for (const m of Object.getOwnPropertyNames(value.prototype)) if (m !== 'constructor') names.add(m);
  }
  return names;
}

/**
 * Calls of client-node API methods that kubeAccessUsed does not know how to map to a
 * permission (a kind missing from KINDS, e.g. readNamespace): file:line and the method. A new
 * kind of call must be taught to the reader, never silently left out of the comparison.
 */
export function unmappedKubeCalls(root: string): string[] {
  const methods = clientNodeMethods();
  const out: string[] = [];
  for (const file of sourceFiles(root)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\.([a-z]\w*)\(/g)) {
      // Generic names (read, list, delete, replace) are also Map's and String's: only <verb><Kind> names count.
      if (!methods.has(m[1]) || !/[A-Z]/.test(m[1]) || new RegExp(`^${METHOD.source.slice(2, -2)}$`).test(m[1])) continue;
      out.push(`${relative(root, file)}:${text.slice(0, m.index).split('\n').length} ${m[1]}`);
    }
  }
  return out;
}

function sourceFiles(root: string): string[] {
  return walk(join(root, 'src')).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !relative(root, f).startsWith(`src${sep}plugin${sep}`));
}

/** Every Kubernetes permission the operator's code uses, one entry per (permission, scope). */
export function kubeAccessUsed(root: string): Use[] {
  const src = join(root, 'src');
  const found = new Map<string, Use>();
  const add = (group: string, resource: string, verb: string, scope: Scope, where: string) => {
    const permission = `${group}/${resource}:${verb}`;
    if (!found.has(`${scope} ${permission}`)) found.set(`${scope} ${permission}`, { permission, scope, where });
  };
  for (const file of sourceFiles(root)) {
    const rel = relative(root, file);
    const text = readFileSync(file, 'utf8');
    const line = (i: number) => `${rel}:${text.slice(0, i).split('\n').length}`;
    for (const m of text.matchAll(METHOD)) {
      const [, op, , kind, status] = m;
      const [group, resource, kindScope] = KINDS[kind];
      const scope = rel.startsWith(OWN_STATE) && (kind === 'Secret' || kind === 'ConfigMap') ? 'own' : kindScope;
      add(group, status ? `${resource}/status` : resource, VERB[op], scope, line(m.index!));
    }
    // src/kube/client.ts's readConfigMap helper, called for the operator's own policy ConfigMap.
    if (rel.startsWith(OWN_STATE)) for (const m of text.matchAll(/\breadConfigMap\(/g)) add('', 'configmaps', 'get', 'own', line(m.index!));
    for (const m of text.matchAll(/\bmakeInformer\b/g)) {
      if (/import/.test(text.slice(text.lastIndexOf('\n', m.index!), m.index!))) continue;
      for (const v of ['list', 'watch']) add('tfe.operators.dev', 'tfeclusters', v, 'watched', line(m.index!));
    }
  }
  return [...found.values()].sort((a, b) => `${a.scope} ${a.permission}`.localeCompare(`${b.scope} ${b.permission}`));
}

/** The sorted permissions of one scope. */
export function permissionsIn(uses: Use[], scope: Scope): string[] {
  return uses.filter((u) => u.scope === scope).map((u) => u.permission).sort();
}
