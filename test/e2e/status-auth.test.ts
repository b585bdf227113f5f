// The status API's /v1/* on a running operator, against the sandbox's real kube-apiserver:
// a bearer token is checked with TokenReview, then the caller's right to list TfeClusters (where
// the operator watches) with SubjectAccessReview. Callers are ServiceAccounts of this test with
// tokens from the TokenRequest API: one without any right, one with `list tfeclusters` in the
// watched namespace, one with it in another namespace only. /healthz, /readyz and /metrics stay open.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { isNotFound } from '../../src/kube/client.ts';
import type { OperatorProcess } from '../operator-process.ts';
import { kube, operator } from './support.ts';

const k = kube();
const rbac = k.config.makeApiClient(k8s.RbacAuthorizationV1Api);
const NS = 'status-auth';
const OTHER_NS = 'status-auth-other';
let op: OperatorProcess;
const tokens: Record<string, string> = {};

async function ensureNamespace(name: string) {
  try {
    await k.core.createNamespace({ body: { metadata: { name } } });
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
}

async function serviceAccountToken(ns: string, name: string): Promise<string> {
  await k.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
  const r = await k.core.createNamespacedServiceAccountToken({ namespace: ns, name, body: { spec: { audiences: [], expirationSeconds: 600 } } });
  return r.status!.token;
}

async function grantList(ns: string, sa: { namespace: string; name: string }) {
  const name = `tfe-status-reader-${sa.name}`;
  await rbac.createNamespacedRole({
    namespace: ns,
    body: { metadata: { name }, rules: [{ apiGroups: ['tfe.operators.dev'], resources: ['tfeclusters'], verbs: ['list'] }] },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: ns,
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name: sa.name, namespace: sa.namespace }],
    },
  });
}

const cleanups: Array<() => Promise<unknown>> = [];

before(async () => {
  for (const ns of [NS, OTHER_NS]) await ensureNamespace(ns);
  for (const [name, ns] of [
    ['nobody', NS],
    ['reader', NS],
    ['elsewhere', NS],
  ] as const) {
    // Left over from an interrupted run.
    await k.core.deleteNamespacedServiceAccount({ namespace: ns, name }).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
    tokens[name] = await serviceAccountToken(ns, name);
    cleanups.push(() => k.core.deleteNamespacedServiceAccount({ namespace: ns, name }));
  }
  for (const [ns, sa] of [
    [NS, 'reader'],
    [OTHER_NS, 'elsewhere'],
  ] as const) {
    const name = `tfe-status-reader-${sa}`;
    await rbac.deleteNamespacedRoleBinding({ namespace: ns, name }).catch(() => undefined);
    await rbac.deleteNamespacedRole({ namespace: ns, name }).catch(() => undefined);
    await grantList(ns, { namespace: NS, name: sa });
    cleanups.push(() => rbac.deleteNamespacedRoleBinding({ namespace: ns, name }), () => rbac.deleteNamespacedRole({ namespace: ns, name }));
  }
  // Watching one namespace: /v1/* callers need `list tfeclusters` there.
  op = await operator('status-auth', {}, ['--namespace', NS]);
  await op.waitForLog((l) => typeof l.msg === 'string' && /status API listening/.test(l.msg), 60_000);
});

after(async () => {
  await op?.stop();
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

const as = (token: string | undefined, path = '/v1/status') =>
  fetch(`${op.url}${path}`, { redirect: 'manual', headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(10_000) });

test('/v1/*: 401 without a token or with one the API server does not accept', async () => {
  for (const path of ['/v1/status', '/v1/status/cluster']) {
    const r = await as(undefined, path);
    assert.equal(r.status, 401, path);
    assert.match(((await r.json()) as { error: string }).error, /bearer token is needed/);
  }
  const forged = await as('not-a-token');
  assert.equal(forged.status, 401);
  await forged.arrayBuffer();
});

test('/v1/*: 403 for a user without `list tfeclusters` in the watched namespace (none at all, or only elsewhere)', async () => {
  for (const who of ['nobody', 'elsewhere']) {
    const r = await as(tokens[who]);
    assert.equal(r.status, 403, who);
    const { error } = (await r.json()) as { error: string };
    assert.match(error, new RegExp(`system:serviceaccount:${NS}:${who} may not list tfeclusters.tfe.operators.dev in namespace ${NS}`));
  }
  // The right in another namespace opens only that namespace's part (nothing this operator watches).
  const other = await as(tokens.elsewhere, `/v1/status?namespace=${OTHER_NS}`);
  assert.equal(other.status, 200);
  assert.deepEqual(((await other.json()) as { clusters: unknown[] }).clusters, []);
});

test('/v1/*: 200 for a user who may list TfeClusters in the watched namespace', async () => {
  const r = await as(tokens.reader);
  assert.equal(r.status, 200);
  assert.equal(((await r.json()) as { leader: boolean }).leader, true);
  const c = await as(tokens.reader, '/v1/status/cluster');
  assert.equal(c.status, 200);
  await c.arrayBuffer();
});

test('/healthz, /readyz and /metrics stay open', async () => {
  for (const path of ['/healthz', '/readyz', '/metrics']) {
    const r = await as(undefined, path);
    assert.equal(r.status, 200, path);
    await r.arrayBuffer();
  }
});
