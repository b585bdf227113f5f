// Issue 15: no confused deputy. A user who may create TfeClusters in the namespace but may not
// read its Secrets (impersonated on the real API server) points every Secret reference of a
// TfeCluster at another application's Secret. The operator must refuse each with
// SecretNotAllowed, naming the Secret and the kubectl annotate fix, and no value may leave the
// cluster: no AWS call at all (so no Secrets Manager write), and no AUTH to the user's own
// "Redis" (a TCP server in this test that records every byte it receives).
//
// Witness that the test can fail: once the Secret allows the TfeCluster (the annotation, set by
// the admin), the very same spec makes the operator send AUTH with the value to that server.
// Remove the opt-in check and the first half fails the same way.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { TfeCluster } from '../../src/api/types.ts';
import { GROUP, PLURAL, VERSION } from '../../src/api/types.ts';
import { mergePatch, type Kube } from '../../src/kube/client.ts';
import { ANNOTATION_ALLOWED_TFECLUSTERS } from '../../src/security/secret-access.ts';
import { callMark, freshWorld, k, NS, operatorCallsSince, startOperator, stopOperator } from './day2.ts';
import { exampleCluster, getCluster } from './support.ts';
import { resetWorld } from '../harness.ts';

const USER = 'tfe-author';
const OTHER = 'payroll-db';
const VALUE = `PAYROLL-${randomBytes(12).toString('hex')}`;

/** A "Redis" of the user's choosing: answers like one, records every byte. */
let server: Server;
let port = 0;
const received: Buffer[] = [];
const sockets = new Set<Socket>();
const seen = () => Buffer.concat(received).toString('latin1');

function impersonated(user: string): Kube {
  const base = new KubeConfig();
  base.loadFromDefault();
  const kc = new KubeConfig();
  const current = base.getCurrentUser()!;
  kc.loadFromOptions({
    clusters: base.clusters,
    users: base.users.map((u) => (u.name === current.name ? { ...u, impersonateUser: user } : u)),
    contexts: base.contexts,
    currentContext: base.currentContext,
  });
  return { config: kc, core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi), coordination: undefined as never };
}

before(async () => {
  server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('data', (d) => {
      received.push(d);
      // RESP: refuse whatever comes (a wrong password, as the user's server may well say).
      s.write('-WRONGPASS invalid username-password pair\r\n');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;

  await freshWorld();
  // The other application's Secret: no annotation.
  await k.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: OTHER }, stringData: { password: VALUE } } });
  // The author: TfeClusters yes, Secrets no.
  const rbac = k.config.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({
    namespace: NS,
    body: { metadata: { name: USER }, rules: [{ apiGroups: [GROUP], resources: [PLURAL], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] }] },
  }).catch(() => undefined);
  await rbac.createNamespacedRoleBinding({
    namespace: NS,
    body: { metadata: { name: USER }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: USER }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: USER }] },
  }).catch(() => undefined);
});

after(async () => {
  await stopOperator();
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
  const rbac = k.config.makeApiClient(RbacAuthorizationV1Api);
  await rbac.deleteNamespacedRoleBinding({ name: USER, namespace: NS }).catch(() => undefined);
  await rbac.deleteNamespacedRole({ name: USER, namespace: NS }).catch(() => undefined);
  await resetWorld();
});

const ref = { name: OTHER, key: 'password' };
const externalRedis = (c: TfeCluster) => {
  c.spec.redis = { external: { host: '127.0.0.1', port, tls: false, passwordSecretRef: ref } } as never;
  c.spec.network = { mode: 'Verify' } as never;
};
const CASES: Array<[string, string, (c: TfeCluster) => void]> = [
  ['deputy-redis', 'spec.redis.external.passwordSecretRef', externalRedis],
  ['deputy-enc', 'spec.encryptionPasswordSecretRef', (c) => (c.spec.encryptionPasswordSecretRef = ref)],
  ['deputy-license', 'spec.settings.licenseSecretRef', (c) => (c.spec.settings.licenseSecretRef = ref)],
  ['deputy-setting', 'spec.settings.secretSettings pg_password', (c) => (c.spec.settings.secretSettings = [{ setting: 'pg_password', secretKeyRef: ref }] as never)],
  ['deputy-file', 'spec.node.files /etc/tfe/cert.pem', (c) => (c.spec.node = { ...c.spec.node, files: [{ path: '/etc/tfe/cert.pem', secretKeyRef: ref, mode: '0600' }] } as never)],
];

async function waitStatus(name: string, pred: (c: TfeCluster) => boolean, what: string): Promise<TfeCluster> {
  const deadline = Date.now() + 60_000;
  let last: TfeCluster | undefined;
  while (Date.now() < deadline) {
    last = await getCluster(k, NS, name);
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last?.status)}`);
}

test('a TfeCluster author who may not read Secrets gets none through the operator', async () => {
  const alice = impersonated(USER);
  // The premise: the author may create TfeClusters, and may not read the Secret.
  await assert.rejects(alice.core.readNamespacedSecret({ name: OTHER, namespace: NS }), (e: { code?: number }) => e.code === 403);

  const mark = await callMark();
  await startOperator('deputy');
  for (const [name, , mutate] of CASES) {
    const c = exampleCluster((x) => {
      x.metadata.name = name;
      mutate(x);
    });
    await alice.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, body: c });
  }
  for (const [name, field] of CASES) {
    const c = await waitStatus(name, (x) => x.status?.phase === 'Degraded', `${name} Degraded`);
    const d = c.status!.conditions!.find((x) => x.type === 'Degraded')!;
    assert.equal(d.reason, 'SecretNotAllowed', `${name}: ${c.status?.message}`);
    assert.ok(c.status!.message!.includes(`Secret ${NS}/${OTHER} (${field})`), `${name}: the message names the Secret and the field: ${c.status?.message}`);
    assert.ok(c.status!.message!.includes(`kubectl annotate secret ${OTHER} -n ${NS} --overwrite ${ANNOTATION_ALLOWED_TFECLUSTERS}=${name}`), `${name}: the fix: ${c.status?.message}`);
    assert.ok(!JSON.stringify(c.status).includes(VALUE), `${name}: the value is in status`);
  }
  // A few more reconciles' worth of time: still nothing.
  await new Promise((r) => setTimeout(r, 2_000));
  assert.deepEqual((await operatorCallsSince(mark)).map((x) => `${x.service}:${x.action}`), [], 'the operator called AWS for a TfeCluster whose Secrets do not allow it');
  assert.equal(/auth/i.test(seen()), false, `AUTH was sent to the author's Redis: ${JSON.stringify(seen())}`);
  assert.equal(seen().includes(VALUE), false, "the value reached the author's Redis");

  // The witness: once the Secret allows deputy-redis, the operator uses it, and the value does reach that server.
  await k.core.patchNamespacedSecret({ name: OTHER, namespace: NS, body: { metadata: { annotations: { [ANNOTATION_ALLOWED_TFECLUSTERS]: 'deputy-redis' } } } }, mergePatch);
  await waitStatus('deputy-redis', (x) => x.status?.conditions?.find((y) => y.type === 'Degraded')?.reason !== 'SecretNotAllowed', 'deputy-redis past the opt-in');
  const deadline = Date.now() + 30_000;
  while (!seen().includes(VALUE) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.ok(/auth/i.test(seen()) && seen().includes(VALUE), 'with the annotation the operator authenticates to the configured Redis (the witness above can see it)');
  // The others still do not get it: the annotation names deputy-redis only.
  const enc = await getCluster(k, NS, 'deputy-enc');
  assert.equal(enc.status?.conditions?.find((x) => x.type === 'Degraded')?.reason, 'SecretNotAllowed');
});
