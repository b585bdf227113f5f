// The install manifests (manifests/): what they say (static checks on the kustomize
// output), that a real kube-apiserver accepts them (server-side dry run, Pod Security
// "restricted" included), and that the operator's ServiceAccount gets exactly the access
// it needs and nothing more (RBAC applied for real, probed with `kubectl auth can-i` and
// SelfSubjectRulesReview while impersonating the ServiceAccount), in both modes.
//
// Uses the sandbox's KUBECONFIG (test/run.ts exports it; test/harness.ts finds a running
// sandbox otherwise). Without one, starts a control plane of its own (etcd +
// kube-apiserver, RBAC on) and stops it afterwards.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { parse, parseAllDocuments, stringify } from 'yaml';
import '../harness.ts'; // loads a running sandbox's env (KUBECONFIG) when run on its own
import { kubectlPath } from '../sandbox/controlplane-bin.ts';
import { kubeAccessUsed, permissionsIn, unmappedKubeCalls } from '../shipping/rbac-verbs.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KUBECTL = process.env.KUBECTL ?? kubectlPath();
const OPERATOR_NS = 'tfe-operator';
const WATCHED_NS = 'tfe'; // components/namespace-scoped watches this one
const SA = `system:serviceaccount:${OPERATOR_NS}:tfe-operator`;
const CLUSTER = join(ROOT, 'manifests'); // default: cluster-wide
const RBAC_KINDS = ['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'];
const NAMESPACED = join(ROOT, 'manifests/overlays/example'); // namespace-scoped example

type Obj = Record<string, any>;
interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let kubeconfig = process.env.KUBECONFIG ?? '';

function kubectl(args: string[], input?: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(KUBECTL, [...(kubeconfig ? ['--kubeconfig', kubeconfig] : []), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

async function build(dir: string): Promise<Obj[]> {
  const out = await ok(['kustomize', dir]);
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Obj)
    .filter(Boolean);
}

const find = (docs: Obj[], kind: string, name?: string, namespace?: string) =>
  docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name) && (namespace === undefined || d.metadata.namespace === namespace));
const one = (docs: Obj[], kind: string, name?: string, namespace?: string): Obj => {
  const found = find(docs, kind, name, namespace);
  assert.equal(found.length, 1, `exactly one ${kind} ${namespace ? namespace + '/' : ''}${name ?? ''}, found ${found.length}`);
  return found[0];
};

/** RBAC rules as sorted "group/resource:verb" strings. */
function permissions(rules: Obj[]): string[] {
  const out = new Set<string>();
  for (const r of rules) {
    if (r.nonResourceURLs) continue;
    for (const g of r.apiGroups ?? []) for (const res of r.resources ?? []) for (const v of r.verbs ?? []) out.add(`${g}/${res}:${v}`);
  }
  return [...out].sort();
}

// What the code calls (test/shipping/rbac-verbs.ts reads src/), by where it is needed:
// the watched scope (ClusterRole tfe-operator, or the Role in the watched namespace), the
// operator's own namespace (Role tfe-operator-leader-election), and the cluster-scoped review
// APIs of the status API (ClusterRole tfe-operator-auth-delegator, both modes).
const union = (...sets: string[][]) => [...new Set(sets.flat())].sort();
const USED = kubeAccessUsed(ROOT);
const TFECLUSTER_ACCESS = permissionsIn(USED, 'watched');
// The operator's own namespace: Leases (Role tfe-operator-leader-election) and its own state, the
// fingerprint key Secret and the policy ConfigMap (Role tfe-operator-own-state, by name).
const LEADER_ELECTION_ACCESS = permissionsIn(USED, 'own');
// The status API's reviews, and the kube-system Namespace (the cluster's identity): cluster-scoped,
// so they show in every namespace's rules.
const REVIEW_ACCESS = union(permissionsIn(USED, 'cluster'), permissionsIn(USED, 'identity'));

let clusterDocs: Obj[] = [];
let namespacedDocs: Obj[] = [];

let stopOwnControlPlane: (() => Promise<void>) | undefined;
let ownDir: string | undefined;

before(async () => {
  clusterDocs = await build(CLUSTER);
  namespacedDocs = await build(NAMESPACED);
});

// ------------------------------------------------------------------ static checks

describe('manifests: what they declare', () => {
  test('the access the code uses, read from src/ (a check of the reader itself)', (t) => {
    t.diagnostic(USED.map((u) => `${u.scope.padEnd(7)} ${u.permission.padEnd(48)} ${u.where}`).join('\n'));
    assert.deepEqual(TFECLUSTER_ACCESS, [
      '/configmaps:get',
      '/events:create',
      '/secrets:get',
      'tfe.operators.dev/tfeclusters/status:patch',
      'tfe.operators.dev/tfeclusters:get',
      'tfe.operators.dev/tfeclusters:list',
      'tfe.operators.dev/tfeclusters:patch',
      'tfe.operators.dev/tfeclusters:watch',
    ]);
    assert.deepEqual(LEADER_ELECTION_ACCESS, [
      '/configmaps:get',
      '/secrets:create',
      '/secrets:get',
      'coordination.k8s.io/leases:create',
      'coordination.k8s.io/leases:delete',
      'coordination.k8s.io/leases:get',
      'coordination.k8s.io/leases:list',
      'coordination.k8s.io/leases:update',
    ]);
    assert.deepEqual(REVIEW_ACCESS, ['/namespaces:get', 'authentication.k8s.io/tokenreviews:create', 'authorization.k8s.io/subjectaccessreviews:create']);
    // Every client-node API call in src/ is one the reader maps: none is left out of the comparison.
    assert.deepEqual(unmappedKubeCalls(ROOT), [], 'teach test/shipping/rbac-verbs.ts (KINDS and its scope) these calls');
    const probe = mkdtempSync(join(tmpdir(), 'rbac-verbs-'));
    try {
      mkdirSync(join(probe, 'src'));
      writeFileSync(join(probe, 'src', 'x.ts'), "await kube.core.readNamespacedPod({ name, namespace });\nawait kube.core.readNamespacedSecret({ name, namespace });\n");
      assert.deepEqual(unmappedKubeCalls(probe), ['src/x.ts:1 readNamespacedPod']);
    } finally {
      rmSync(probe, { recursive: true, force: true });
    }
  });

  test('RBAC grants exactly the verbs the code uses: none unused, none missing (both modes)', () => {
    const compare = (what: string, granted: string[], used: string[]) => {
      assert.deepEqual(
        { grantedButUnused: granted.filter((p) => !used.includes(p)), usedButNotGranted: used.filter((p) => !granted.includes(p)) },
        { grantedButUnused: [], usedButNotGranted: [] },
        what,
      );
    };
    compare('ClusterRole tfe-operator (cluster-wide)', permissions(one(clusterDocs, 'ClusterRole', 'tfe-operator').rules), TFECLUSTER_ACCESS);
    compare('Role tfe/tfe-operator (namespace-scoped)', permissions(one(namespacedDocs, 'Role', 'tfe-operator', WATCHED_NS).rules), TFECLUSTER_ACCESS);
    for (const docs of [clusterDocs, namespacedDocs]) {
      compare(
        'Roles tfe-operator-leader-election + tfe-operator-own-state',
        union(permissions(one(docs, 'Role', 'tfe-operator-leader-election', OPERATOR_NS).rules), permissions(one(docs, 'Role', 'tfe-operator-own-state', OPERATOR_NS).rules)),
        LEADER_ELECTION_ACCESS,
      );
      compare(
        'ClusterRoles tfe-operator-auth-delegator + tfe-operator-cluster-identity',
        union(permissions(one(docs, 'ClusterRole', 'tfe-operator-auth-delegator').rules), permissions(one(docs, 'ClusterRole', 'tfe-operator-cluster-identity').rules)),
        REVIEW_ACCESS,
      );
    }
  });

  test('cluster-wide install: the expected objects, CRD included', () => {
    const kinds = clusterDocs.map((d) => `${d.kind}/${d.metadata.namespace ? d.metadata.namespace + '/' : ''}${d.metadata.name}`).sort();
    assert.deepEqual(kinds, [
      'ClusterRole/tfe-operator',
      'ClusterRole/tfe-operator-auth-delegator',
      'ClusterRole/tfe-operator-cluster-identity',
      'ClusterRoleBinding/tfe-operator',
      'ClusterRoleBinding/tfe-operator-auth-delegator',
      'ClusterRoleBinding/tfe-operator-cluster-identity',
      'CustomResourceDefinition/tfeclusters.tfe.operators.dev',
      'Deployment/tfe-operator/tfe-operator',
      'Namespace/tfe-operator',
      'NetworkPolicy/tfe-operator/tfe-operator',
      'PodDisruptionBudget/tfe-operator/tfe-operator',
      'Role/tfe-operator/tfe-operator-leader-election',
      'Role/tfe-operator/tfe-operator-own-state',
      'RoleBinding/tfe-operator/tfe-operator-leader-election',
      'RoleBinding/tfe-operator/tfe-operator-own-state',
      'Service/tfe-operator/tfe-operator',
      'ServiceAccount/tfe-operator/tfe-operator',
    ]);
  });

  test('the CRD is the generated one, plus the Argo CD sync annotations', () => {
    const crd = one(clusterDocs, 'CustomResourceDefinition');
    const generated = parse(readFileSync(join(ROOT, 'crds/tfe.operators.dev_tfeclusters.yaml'), 'utf8')) as Obj;
    assert.deepEqual(crd.spec, generated.spec);
    assert.equal(crd.metadata.annotations['argocd.argoproj.io/sync-wave'], '-1');
    const opts = String(crd.metadata.annotations['argocd.argoproj.io/sync-options']).split(',').map((s) => s.trim());
    for (const o of ['ServerSideApply=true', 'Prune=false', 'Delete=false']) assert.ok(opts.includes(o), o);
  });

  test('the namespace enforces the "restricted" Pod Security Standard', () => {
    const ns = one(clusterDocs, 'Namespace', OPERATOR_NS);
    assert.equal(ns.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
  });

  test('RBAC: no wildcards, no privilege-escalation verbs, Secrets read-only', () => {
    for (const docs of [clusterDocs, namespacedDocs]) {
      for (const role of [...find(docs, 'ClusterRole'), ...find(docs, 'Role')]) {
        for (const rule of role.rules) {
          for (const field of ['apiGroups', 'resources', 'verbs']) {
            assert.ok(!rule[field]?.includes('*'), `${role.kind} ${role.metadata.name}: wildcard in ${field}`);
          }
          assert.ok(!rule.nonResourceURLs, 'no non-resource URLs');
          for (const v of ['escalate', 'bind', 'impersonate', 'deletecollection']) assert.ok(!rule.verbs.includes(v), `${v} granted`);
          if (rule.resources.some((r: string) => ['secrets', 'configmaps'].includes(r))) {
            // The one exception: the operator creates its fingerprint key Secret once, in its own
            // namespace (create cannot be limited by name); it reads it by name.
            const ownKey = role.metadata.name === 'tfe-operator-own-state' && rule.resources.join() === 'secrets' && rule.verbs.join() === 'create';
            if (!ownKey) assert.deepEqual([...rule.verbs].sort(), ['get'], 'Secrets and ConfigMaps: read by name only');
            if (role.metadata.name === 'tfe-operator-own-state' && rule.verbs.includes('get')) assert.ok(rule.resourceNames?.length, 'own state: get by name only');
          }
        }
      }
    }
  });

  test('RBAC: the watched-resource rules are the same in both modes; Leases only in the operator namespace', () => {
    const clusterRole = one(clusterDocs, 'ClusterRole', 'tfe-operator');
    const nsRole = one(namespacedDocs, 'Role', 'tfe-operator', WATCHED_NS);
    assert.deepEqual(permissions(clusterRole.rules), TFECLUSTER_ACCESS);
    assert.deepEqual(permissions(nsRole.rules), TFECLUSTER_ACCESS);
    for (const docs of [clusterDocs, namespacedDocs]) {
      const le = one(docs, 'Role', 'tfe-operator-leader-election', OPERATOR_NS);
      assert.deepEqual(permissions(le.rules), LEADER_ELECTION_ACCESS.filter((p) => p.startsWith('coordination.k8s.io/')));
      for (const r of [...find(docs, 'ClusterRole'), ...find(docs, 'Role')].filter((r) => r !== le)) {
        assert.ok(!permissions(r.rules).some((p) => p.startsWith('coordination.k8s.io/')), `${r.kind} ${r.metadata.name} grants Leases`);
      }
    }
  });

  test('every binding binds the operator ServiceAccount to a role that exists', () => {
    for (const docs of [clusterDocs, namespacedDocs]) {
      for (const b of [...find(docs, 'ClusterRoleBinding'), ...find(docs, 'RoleBinding')]) {
        assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: 'tfe-operator', namespace: OPERATOR_NS }]);
        const ns = b.roleRef.kind === 'Role' ? b.metadata.namespace : undefined;
        one(docs, b.roleRef.kind, b.roleRef.name, ns);
      }
    }
  });

  test('namespace-scoped mode: no cluster-wide grant but the review APIs, WATCH_NAMESPACE matches the Role', () => {
    assert.deepEqual(find(namespacedDocs, 'ClusterRole').map((r) => [r.metadata.name, permissions(r.rules)]), [
      ['tfe-operator-auth-delegator', permissionsIn(USED, 'cluster')],
      ['tfe-operator-cluster-identity', permissionsIn(USED, 'identity')],
    ]);
    // The identity rule names the one Namespace it may read.
    assert.deepEqual(one(namespacedDocs, 'ClusterRole', 'tfe-operator-cluster-identity').rules[0].resourceNames, ['kube-system']);
    assert.deepEqual(find(namespacedDocs, 'ClusterRoleBinding').map((r) => r.metadata.name), ['tfe-operator-auth-delegator', 'tfe-operator-cluster-identity']);
    const env: Obj[] = one(namespacedDocs, 'Deployment').spec.template.spec.containers[0].env;
    assert.equal(env.find((e) => e.name === 'WATCH_NAMESPACE')?.value, WATCHED_NS);
    one(namespacedDocs, 'RoleBinding', 'tfe-operator', WATCHED_NS);
    // Cluster-wide mode watches everything: no WATCH_NAMESPACE.
    const clusterEnv: Obj[] = one(clusterDocs, 'Deployment').spec.template.spec.containers[0].env;
    assert.equal(clusterEnv.find((e) => e.name === 'WATCH_NAMESPACE'), undefined);
  });

  test('the base installs the image of this release (package.json version)', () => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const image = one(clusterDocs, 'Deployment').spec.template.spec.containers[0].image as string;
    assert.equal(image.split(':').at(-1), version, `bump images[].newTag in manifests/base/kustomization.yaml to ${version}`);
  });

  test('the ServiceAccount carries the IRSA role; the example overlay sets its own role and image', () => {
    const base = one(clusterDocs, 'ServiceAccount', 'tfe-operator', OPERATOR_NS);
    assert.match(base.metadata.annotations['eks.amazonaws.com/role-arn'], /^arn:aws:iam::\d{12}:role\/.+/);
    const site = one(namespacedDocs, 'ServiceAccount', 'tfe-operator', OPERATOR_NS);
    assert.match(site.metadata.annotations['eks.amazonaws.com/role-arn'], /^arn:aws:iam::\d{12}:role\/.+/);
    assert.notEqual(site.metadata.annotations['eks.amazonaws.com/role-arn'], base.metadata.annotations['eks.amazonaws.com/role-arn']);
    const image = one(namespacedDocs, 'Deployment').spec.template.spec.containers[0].image as string;
    assert.match(image, /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com\/tfe-operator:[\w.-]+$/);
  });

  for (const [mode, docsOf] of [
    ['cluster-wide', () => clusterDocs],
    ['namespace-scoped', () => namespacedDocs],
  ] as const) {
    test(`Deployment (${mode}): 3 replicas spread over nodes, probes, downward API, args`, () => {
      const d = one(docsOf(), 'Deployment', 'tfe-operator', OPERATOR_NS);
      assert.equal(d.spec.replicas, 3);
      const pod = d.spec.template.spec;
      const labels = d.spec.template.metadata.labels;
      assert.deepEqual(d.spec.selector.matchLabels, pickLabels(labels, d.spec.selector.matchLabels));
      assert.equal(pod.serviceAccountName, 'tfe-operator');
      const spreadOverNodes =
        (pod.topologySpreadConstraints ?? []).some((c: Obj) => c.topologyKey === 'kubernetes.io/hostname' && c.maxSkew === 1) ||
        (pod.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).some(
          (t: Obj) => t.topologyKey === 'kubernetes.io/hostname',
        );
      assert.ok(spreadOverNodes, 'replicas spread across nodes');
      for (const c of pod.topologySpreadConstraints ?? []) assert.deepEqual(c.labelSelector.matchLabels, pickLabels(labels, c.labelSelector.matchLabels));

      assert.equal(pod.containers.length, 1);
      const c = pod.containers[0];
      assert.deepEqual(c.args, ['run', '--leader-elect']);
      assert.doesNotMatch(c.image, /:latest$|^[^:]+$/, 'image pinned to a tag');
      assert.deepEqual(c.ports, [{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
      assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'http' });
      assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'http' });
      const fieldRef = (name: string) => c.env.find((e: Obj) => e.name === name)?.valueFrom?.fieldRef?.fieldPath;
      assert.equal(fieldRef('POD_NAME'), 'metadata.name');
      assert.equal(fieldRef('POD_NAMESPACE'), 'metadata.namespace');
      assert.equal(fieldRef('POD_IP'), 'status.podIP');
      for (const k of ['cpu', 'memory']) {
        assert.ok(c.resources.requests[k], `requests.${k}`);
      }
      assert.ok(c.resources.limits.memory, 'limits.memory');
    });

    test(`Deployment (${mode}): locked-down security context`, () => {
      const pod = one(docsOf(), 'Deployment').spec.template.spec;
      const c = pod.containers[0];
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
      assert.equal(c.securityContext.runAsNonRoot, true);
      assert.ok(c.securityContext.runAsUser > 0);
      assert.equal(c.securityContext.readOnlyRootFilesystem, true);
      assert.equal(c.securityContext.allowPrivilegeEscalation, false);
      assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'] });
      assert.notEqual(c.securityContext.privileged, true);
      assert.ok(!pod.hostNetwork && !pod.hostPID && !pod.hostIPC, 'no host namespaces');
      for (const v of pod.volumes ?? []) assert.ok(!v.hostPath, 'no hostPath volumes');
    });

    test(`Service, PodDisruptionBudget and NetworkPolicy (${mode}) select the operator pods`, () => {
      const docs = docsOf();
      const labels = one(docs, 'Deployment').spec.template.metadata.labels;
      const svc = one(docs, 'Service', 'tfe-operator', OPERATOR_NS);
      assert.deepEqual(svc.spec.selector, pickLabels(labels, svc.spec.selector));
      assert.deepEqual(svc.spec.ports, [{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }]);

      const pdb = one(docs, 'PodDisruptionBudget', 'tfe-operator', OPERATOR_NS);
      assert.deepEqual(pdb.spec.selector.matchLabels, pickLabels(labels, pdb.spec.selector.matchLabels));
      assert.ok(pdb.spec.maxUnavailable === 1 || pdb.spec.minAvailable === 2, 'at most one replica disrupted at a time');

      const np = one(docs, 'NetworkPolicy', 'tfe-operator', OPERATOR_NS);
      assert.deepEqual(np.spec.podSelector.matchLabels, pickLabels(labels, np.spec.podSelector.matchLabels));
      assert.ok(np.spec.policyTypes.includes('Ingress'));
      assert.ok(np.spec.ingress.length > 0);
      for (const rule of np.spec.ingress) {
        assert.deepEqual(rule.ports, [{ protocol: 'TCP', port: 8080 }], 'ingress to 8080 only');
        assert.ok(rule.from?.length > 0, 'ingress from named peers only');
        for (const peer of rule.from) assert.ok(!peer.ipBlock, 'no ipBlock peers');
      }
      // Egress: never to the instance metadata service (its node credentials), IPv4 or IPv6.
      assert.ok(np.spec.policyTypes.includes('Egress'));
      const imds = [
        ['169.254.169.254', '169.254.169.254/32'],
        ['fd00:ec2::254', 'fd00:ec2::254/128'],
      ];
      for (const rule of np.spec.egress) {
        assert.ok(rule.to?.length > 0, 'no allow-all egress rule (it would include the metadata service)');
        for (const peer of rule.to) {
          if (!peer.ipBlock) {
            assert.ok(peer.namespaceSelector || peer.podSelector, 'egress peers: IP blocks or pods');
            continue;
          }
          for (const [ip, blocked] of imds) {
            if (cidrContains(peer.ipBlock.cidr, ip)) assert.ok(peer.ipBlock.except?.includes(blocked), `${peer.ipBlock.cidr} must except ${blocked}`);
          }
        }
      }
      // Still open: the API server, AWS endpoints, Redis and TFE (any address but the metadata service).
      const v4 = np.spec.egress.flatMap((r: Obj) => r.to).find((p: Obj) => p.ipBlock?.cidr === '0.0.0.0/0');
      assert.deepEqual(v4?.ipBlock.except, ['169.254.169.254/32']);
    });
  }
});

describe('manifests/iam: the IRSA role policy', () => {
  test('allows every AWS API call the operator makes (src/**: @aws-sdk commands)', () => {
    const policy = JSON.parse(readFileSync(join(ROOT, 'manifests/iam/tfe-operator-policy.json'), 'utf8')) as { Statement: Obj[] };
    const allowed = new Set(
      policy.Statement.filter((st) => st.Effect === 'Allow').flatMap((st) => (Array.isArray(st.Action) ? st.Action : [st.Action])),
    );
    const prefix: Record<string, string> = {
      'auto-scaling': 'autoscaling',
      ec2: 'ec2',
      elasticache: 'elasticache',
      'elastic-load-balancing-v2': 'elasticloadbalancing',
      iam: 'iam',
      'secrets-manager': 'secretsmanager',
      ssm: 'ssm',
      sts: 'sts',
      s3: 's3',
      kms: 'kms',
      rds: 'rds',
    };
    // S3 operations whose IAM action has another name (AWS's "Actions, resources, and condition keys for Amazon S3").
    const iamActionOf: Record<string, string> = { 's3:HeadBucket': 's3:ListBucket', 's3:GetBucketEncryption': 's3:GetEncryptionConfiguration' };
    const used = new Set<string>();
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
    for (const file of walk(join(ROOT, 'src')).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/import\s*\{([^}]+)\}\s*from\s*'@aws-sdk\/client-([a-z0-9-]+)'/g)) {
        const service = prefix[m[2]];
        assert.ok(service, `${file}: unknown AWS client ${m[2]}`);
        for (const name of m[1].split(',').map((n) => n.trim().split(/\s+as\s+/)[0])) {
          if (name.endsWith('Command') && new RegExp(`new ${name}\\(`).test(text)) {
            const op = `${service}:${name.slice(0, -'Command'.length)}`;
            used.add(iamActionOf[op] ?? op);
          }
        }
      }
      if (/fromTemporaryCredentials\(/.test(text)) used.add('sts:AssumeRole');
    }
    assert.ok(used.size >= 10, `found only ${[...used]}`);
    const missing = [...used].filter((a) => !allowed.has(a)).sort();
    assert.deepEqual(missing, [], 'AWS actions the operator calls that the policy does not allow');
    // Calls that AWS authorizes on the operator's behalf when it points the ASG at a launch template.
    for (const implied of ['ec2:RunInstances', 'iam:PassRole']) assert.ok(allowed.has(implied), implied);
    assert.ok(![...allowed].some((a) => a.endsWith(':*') || a === '*'), 'no wildcard actions');
  });

  test('the trust policy admits only the operator ServiceAccount', () => {
    const trust = JSON.parse(readFileSync(join(ROOT, 'manifests/iam/trust-policy.json'), 'utf8')) as { Statement: Obj[] };
    assert.equal(trust.Statement.length, 1);
    const cond = trust.Statement[0].Condition.StringEquals as Record<string, string>;
    const sub = Object.entries(cond).find(([k]) => k.endsWith(':sub'));
    assert.equal(sub?.[1], `system:serviceaccount:${OPERATOR_NS}:tfe-operator`);
    assert.ok(Object.entries(cond).some(([k, v]) => k.endsWith(':aud') && v === 'sts.amazonaws.com'));
  });
});

/** Whether `cidr` holds `ip` (IPv4 dotted or IPv6 with ::), enough for the policy's blocks. */
function cidrContains(cidr: string, ip: string): boolean {
  const [net, bits] = cidr.split('/');
  const toBig = (a: string): [bigint, number] => {
    if (a.includes('.')) return [a.split('.').reduce((n, o) => (n << 8n) + BigInt(Number(o)), 0n), 32];
    const [head, tail = ''] = a.split('::');
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = a.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
    return [groups.reduce((n, g) => (n << 16n) + BigInt(parseInt(g || '0', 16)), 0n), 128];
  };
  const [n, width] = toBig(net);
  const [x, w2] = toBig(ip);
  if (width !== w2) return false;
  const shift = BigInt(width - Number(bits));
  return n >> shift === x >> shift;
}

function pickLabels(labels: Record<string, string>, selector: Record<string, string>): Record<string, string> {
  // The selector, if every key/value of it is among the pod labels (else the pod labels, so deepEqual fails).
  return Object.entries(selector).every(([k, v]) => labels[k] === v) ? selector : labels;
}

// ------------------------------------------------------------------ on a real API server

describe('manifests on a real kube-apiserver', () => {
  const created: Array<{ kind: string; name: string; namespace?: string }> = [];

  before(async () => {
    if (!kubeconfig) {
      const { startControlPlane } = await import('../sandbox/controlplane.ts');
      ownDir = mkdtempSync(join(tmpdir(), 'tfe-manifests-test-'));
      const cp = await startControlPlane({ dir: ownDir, log: () => {} });
      kubeconfig = cp.kubeconfigPath;
      stopOwnControlPlane = cp.stop;
    }
    // This test creates ClusterRoles and bindings: never against anything but a local sandbox.
    const server = (await ok(['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}'])).trim();
    assert.match(server, /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\/?$/, `refusing to run against ${server}: not a loopback sandbox`);
    // Nothing of ours may exist yet (we would not know whether to delete it afterwards).
    for (const d of [...clusterDocs, ...namespacedDocs].filter((d) => RBAC_KINDS.includes(d.kind))) {
      const ns = d.metadata.namespace as string | undefined;
      const r = await kubectl(['get', d.kind, d.metadata.name, ...(ns ? ['-n', ns] : []), '--ignore-not-found', '-o', 'name']);
      assert.equal(r.stdout.trim(), '', `${d.kind} ${ns ? ns + '/' : ''}${d.metadata.name} already exists in the sandbox`);
    }
    // The namespaced objects need their namespaces (a dry run creates nothing).
    for (const ns of [OPERATOR_NS, WATCHED_NS]) {
      const phase = (await ok(['get', 'namespace', ns, '--ignore-not-found', '-o', 'jsonpath={.status.phase}'])).trim();
      assert.notEqual(phase, 'Terminating', `namespace ${ns} is being deleted; the sandbox has no namespace controller to finish that`);
      if (phase === '') {
        if (ns === OPERATOR_NS) await ok(['apply', '-f', join(ROOT, 'manifests/base/namespace.yaml')]);
        else await ok(['create', 'namespace', ns]);
      }
    }
  });

  after(async () => {
    // Removes every object this test created, except namespaces: the sandbox runs no
    // kube-controller-manager, so a deleted namespace would stay Terminating for good and
    // break later users of it. Left behind, they are empty.
    if (kubeconfig) await removeRbac();
    await stopOwnControlPlane?.();
    if (ownDir) rmSync(ownDir, { recursive: true, force: true });
  });

  async function applyRbac(docs: Obj[]): Promise<void> {
    const rbac = docs.filter((d) => RBAC_KINDS.includes(d.kind));
    for (const d of rbac) created.push({ kind: d.kind, name: d.metadata.name, namespace: d.metadata.namespace });
    await ok(['apply', '-f', '-'], rbac.map((d) => stringify(d)).join('---\n'));
  }

  async function removeRbac(): Promise<void> {
    while (created.length) {
      const o = created.pop()!;
      await kubectl(['delete', o.kind, o.name, ...(o.namespace ? ['-n', o.namespace] : []), '--ignore-not-found', '--wait=false']);
    }
  }

  /** `kubectl auth can-i` as the operator's ServiceAccount. */
  async function can(verb: string, resource: string, ns?: string, extra: string[] = []): Promise<boolean> {
    const r = await kubectl(['auth', 'can-i', verb, resource, '--as', SA, ...(ns ? ['-n', ns] : []), ...extra]);
    assert.ok(r.code === 0 || r.code === 1, `kubectl auth can-i ${verb} ${resource} failed: ${r.stderr}`);
    return r.code === 0;
  }

  /** Every resource permission the ServiceAccount has in `ns` (SelfSubjectRulesReview, impersonated). */
  async function rulesIn(ns: string): Promise<string[]> {
    const review = { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace: ns } };
    const out = JSON.parse(await ok(['create', '--validate=false', '-f', '-', '-o', 'json', '--as', SA], JSON.stringify(review)));
    assert.equal(out.status.incomplete, false, out.status.evaluationError);
    // Everyone authenticated may review their own access; that is not the operator's grant.
    const selfReviews = /^(authorization|authentication)\.k8s\.io\/self\w+reviews:create$/;
    return permissions(out.status.resourceRules).filter((p) => !selfReviews.test(p));
  }

  /**
   * `kubectl auth can-i --list` as the ServiceAccount, per namespace: printed (the table a
   * person reviews) and compared with the verbs the code uses. Rules every authenticated user
   * has (self reviews, non-resource URLs) are left out.
   */
  async function expectCanIList(t: { diagnostic(m: string): void }, mode: string, want: Record<string, string[]>) {
    const wrong: Record<string, { got: string[]; want: string[] }> = {};
    for (const [ns, expected] of Object.entries(want)) {
      const table = await ok(['auth', 'can-i', '--list', '--as', SA, '-n', ns]);
      // Printed without the non-resource URLs (discovery, health) every authenticated user may get.
      t.diagnostic(`kubectl auth can-i --list --as ${SA} -n ${ns} (${mode}):\n${table.split('\n').filter((l) => l && !/^\s/.test(l)).join('\n')}`);
      const got = new Set<string>();
      for (const line of table.split('\n').slice(1)) {
        const m = /^(\S+)\s+\[\]\s+\[[^\]]*\]\s+\[([^\]]*)\]/.exec(line);
        if (!m) continue; // non-resource URLs and blank lines
        const [resourceGroup, sub] = m[1].split('/');
        const dot = resourceGroup.indexOf('.');
        const resource = dot < 0 ? resourceGroup : resourceGroup.slice(0, dot);
        const group = dot < 0 ? '' : resourceGroup.slice(dot + 1);
        for (const verb of m[2].split(/\s+/).filter(Boolean)) got.add(`${group}/${resource}${sub ? `/${sub}` : ''}:${verb}`);
      }
      const selfReviews = /^(authorization|authentication)\.k8s\.io\/self\w+reviews:create$/;
      const list = [...got].filter((p) => !selfReviews.test(p)).sort();
      if (JSON.stringify(list) !== JSON.stringify(expected)) wrong[ns] = { got: list, want: expected };
    }
    assert.deepEqual(wrong, {}, `kubectl auth can-i --list (${mode}) differs from the verbs the code uses`);
  }

  async function expectAccess(cases: Array<[verb: string, resource: string, ns: string | undefined, allowed: boolean, extra?: string[]]>) {
    const wrong: string[] = [];
    for (const [verb, resource, ns, allowed, extra] of cases) {
      const got = await can(verb, resource, ns, extra);
      if (got !== allowed) wrong.push(`${verb} ${resource}${extra ? ' ' + extra.join(' ') : ''} in ${ns ?? 'the cluster'}: expected ${allowed ? 'allowed' : 'denied'}, got ${got ? 'allowed' : 'denied'}`);
    }
    assert.deepEqual(wrong, []);
  }

  const TFE = 'tfeclusters.tfe.operators.dev';
  const LEASES = 'leases.coordination.k8s.io';
  // Denied in every mode: the operator never writes Secrets, never creates or deletes
  // TfeClusters, never touches pods or the control plane's Leases, cannot grant itself more.
  const alwaysDenied = (ns: string): Array<[string, string, string | undefined, boolean]> => [
    ['create', 'secrets', ns, false],
    ['update', 'secrets', ns, false],
    ['patch', 'secrets', ns, false],
    ['delete', 'secrets', ns, false],
    ['update', 'configmaps', ns, false],
    ['create', TFE, ns, false],
    ['delete', TFE, ns, false],
    ['deletecollection', TFE, ns, false],
    ['get', 'pods', ns, false],
    ['delete', 'pods', ns, false],
    ['create', 'pods', ns, false],
    ['update', LEASES, 'kube-system', false],
    ['delete', LEASES, 'kube-system', false],
    ['get', LEASES, ns, false],
    ['create', 'clusterroles.rbac.authorization.k8s.io', undefined, false],
    ['create', 'rolebindings.rbac.authorization.k8s.io', ns, false],
    ['impersonate', 'serviceaccounts', ns, false],
    ['create', 'serviceaccounts/token', ns, false],
    ['delete', 'customresourcedefinitions.apiextensions.k8s.io', undefined, false],
  ];
  const leaderElection: Array<[string, string, string | undefined, boolean]> = [
    ['get', LEASES, OPERATOR_NS, true],
    ['create', LEASES, OPERATOR_NS, true],
    ['update', LEASES, OPERATOR_NS, true],
    ['delete', LEASES, OPERATOR_NS, true],
    ['watch', LEASES, OPERATOR_NS, false],
    ['patch', LEASES, OPERATOR_NS, false],
    ['delete', 'secrets', OPERATOR_NS, false],
    // The status API's reviews (cluster-scoped, both modes).
    ['create', 'tokenreviews.authentication.k8s.io', undefined, true],
    ['create', 'subjectaccessreviews.authorization.k8s.io', undefined, true],
  ];

  for (const [label, dir] of [
    ['cluster-wide (manifests)', CLUSTER],
    ['namespace-scoped (manifests/overlays/example)', NAMESPACED],
    ['namespace-scoped, one command (manifests/overlays/namespace-scoped)', join(ROOT, 'manifests/overlays/namespace-scoped')],
  ] as const) {
    test(`${label}: kubectl apply -k --dry-run=server accepts everything, no Pod Security warnings`, async () => {
      for (const extra of [[], ['--server-side']]) {
        const r = await kubectl(['apply', '-k', dir, '--dry-run=server', ...extra]);
        assert.equal(r.code, 0, `kubectl apply -k ${dir} --dry-run=server ${extra.join(' ')}: ${r.stderr}`);
        const warnings = r.stderr
          .split('\n')
          .filter((l) => /^Warning:/.test(l))
          // Bookkeeping between client- and server-side apply of objects that already exist
          // (the sandbox's CRD, the namespace); not about what the manifests say.
          .filter((l) => !/kubectl\.kubernetes\.io\/last-applied-configuration/.test(l));
        assert.deepEqual(warnings, [], 'warnings from the API server (Pod Security, deprecations)');
        assert.match(r.stdout, /deployment\.apps\/tfe-operator (created|configured|unchanged|serverside-applied) \(server dry run\)/);
      }
    });
  }

  test('cluster-wide: the ServiceAccount can do what the operator does, and nothing else', async (t) => {
    await applyRbac(clusterDocs);
    try {
      await expectAccess([
        ['get', TFE, WATCHED_NS, true],
        ['list', TFE, undefined, true, ['--all-namespaces']],
        ['watch', TFE, undefined, true, ['--all-namespaces']],
        ['patch', TFE, 'default', true],
        ['patch', TFE, WATCHED_NS, true, ['--subresource=status']],
        ['get', 'secrets', WATCHED_NS, true],
        ['get', 'configmaps', WATCHED_NS, true],
        ['create', 'events', WATCHED_NS, true],
        // Granted until issue 15, never used: now denied.
        ['update', TFE, WATCHED_NS, false],
        ['update', TFE, WATCHED_NS, false, ['--subresource=status']],
        ['update', TFE, WATCHED_NS, false, ['--subresource=finalizers']],
        ['list', 'secrets', WATCHED_NS, false],
        ['watch', 'secrets', WATCHED_NS, false],
        ['list', 'configmaps', WATCHED_NS, false],
        ['patch', 'events', WATCHED_NS, false],
        ['create', 'events.events.k8s.io', WATCHED_NS, false],
        // cluster-wide mode reads Secrets everywhere (documented; use namespace-scoped mode to confine it)
        ['get', 'secrets', 'default', true],
        ...leaderElection,
        ...alwaysDenied(WATCHED_NS),
        ...alwaysDenied('default'),
      ]);
      // The complete picture, not only the cases above.
      assert.deepEqual(await rulesIn(WATCHED_NS), union(TFECLUSTER_ACCESS, REVIEW_ACCESS));
      assert.deepEqual(await rulesIn('kube-system'), union(TFECLUSTER_ACCESS, REVIEW_ACCESS));
      assert.deepEqual(await rulesIn(OPERATOR_NS), union(TFECLUSTER_ACCESS, LEADER_ELECTION_ACCESS, REVIEW_ACCESS));
      await expectCanIList(t, 'cluster-wide', {
        [WATCHED_NS]: union(TFECLUSTER_ACCESS, REVIEW_ACCESS),
        default: union(TFECLUSTER_ACCESS, REVIEW_ACCESS),
        [OPERATOR_NS]: union(TFECLUSTER_ACCESS, LEADER_ELECTION_ACCESS, REVIEW_ACCESS),
      });
    } finally {
      await removeRbac();
    }
  });

  test('namespace-scoped: access ends at the watched namespace', async (t) => {
    await applyRbac(namespacedDocs);
    try {
      await expectAccess([
        ['get', TFE, WATCHED_NS, true],
        ['list', TFE, WATCHED_NS, true],
        ['watch', TFE, WATCHED_NS, true],
        ['patch', TFE, WATCHED_NS, true, ['--subresource=status']],
        ['update', TFE, WATCHED_NS, false, ['--subresource=finalizers']],
        ['get', 'secrets', WATCHED_NS, true],
        ['get', 'configmaps', WATCHED_NS, true],
        ['create', 'events', WATCHED_NS, true],
        ['list', 'secrets', WATCHED_NS, false],
        ['update', TFE, WATCHED_NS, false],
        ['list', TFE, undefined, false, ['--all-namespaces']],
        ['get', TFE, 'default', false],
        ['patch', TFE, 'default', false, ['--subresource=status']],
        ['get', 'secrets', 'default', false],
        ['list', 'secrets', 'kube-system', false],
        ['get', 'configmaps', 'default', false],
        ['create', 'events', 'default', false],
        ['get', 'secrets', OPERATOR_NS, false],
        ...leaderElection,
        ...alwaysDenied(WATCHED_NS),
      ]);
      assert.deepEqual(await rulesIn(WATCHED_NS), union(TFECLUSTER_ACCESS, REVIEW_ACCESS));
      assert.deepEqual(await rulesIn(OPERATOR_NS), union(LEADER_ELECTION_ACCESS, REVIEW_ACCESS));
      assert.deepEqual(await rulesIn('default'), REVIEW_ACCESS);
      await expectCanIList(t, 'namespace-scoped', {
        [WATCHED_NS]: union(TFECLUSTER_ACCESS, REVIEW_ACCESS),
        default: REVIEW_ACCESS,
        [OPERATOR_NS]: union(LEADER_ELECTION_ACCESS, REVIEW_ACCESS),
      });
    } finally {
      await removeRbac();
    }
  });
});
