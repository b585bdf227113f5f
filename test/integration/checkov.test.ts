// A second linter platform teams run, for what kube-score does not look at (RBAC, ServiceAccounts,
// Services, more of the pod's security settings): checkov's Kubernetes checks (PyPI, pinned in
// tools/checkov/requirements.txt, in its own virtualenv) over every kustomization entry point under
// manifests/ and crds/. Each exception is explained in tools/checkov/exceptions.yaml and must still be needed.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { assertExceptionsNeeded, cachedRender } from './linter-exceptions.ts';
import { check, checkovVersion, describeFinding, exceptions, kustomizeTargets, render } from '../../scripts/checkov.ts';

const renderedOf = cachedRender(render);

describe(`checkov ${checkovVersion()}`, () => {
  for (const target of kustomizeTargets()) {
    test(`${target} (kubectl kustomize): no finding beyond the documented exceptions`, async () => {
      const r = await check(await renderedOf(target));
      assert.deepEqual(r.findings.map(describeFinding), []);
      if (target.startsWith('manifests')) {
        // checkov really looked at the workload and its RBAC.
        for (const kind of ['Deployment.', 'ServiceAccount.', 'Role.', 'Service.']) {
          assert.ok(r.resources.some((x) => x.startsWith(kind)), `${kind} checked: ${r.resources.join(', ')}`);
        }
        assert.ok(r.passed > 50, `${r.passed} checks passed`);
      }
    });
  }

  test('every exception has a reason and is still needed', async () => {
    const yaml = await renderedOf('manifests');
    await assertExceptionsNeeded('tools/checkov/exceptions.yaml', exceptions(), (skipped) => check(yaml, skipped));
  });

  test('broken manifests fail: privilege escalation allowed, a wildcard ClusterRole', async () => {
    const yaml = await renderedOf('manifests');
    assert.match(yaml, /allowPrivilegeEscalation: false/);
    assert.match(yaml, /kind: ClusterRole\n/);
    const broken = yaml
      .replace(/allowPrivilegeEscalation: false/g, 'allowPrivilegeEscalation: true')
      .replace(/kind: ClusterRole\n((?:.*\n)*?)rules:\n/, (m) => `${m}- apiGroups: ["*"]\n  resources: ["*"]\n  verbs: ["*"]\n`);
    const r = await check(broken);
    const checks = new Set(r.findings.map((f) => f.check));
    assert.ok(checks.has('CKV_K8S_20'), `CKV_K8S_20 (allowPrivilegeEscalation) expected:\n${r.findings.map(describeFinding).join('\n')}`);
    assert.ok(checks.has('CKV_K8S_49'), `CKV_K8S_49 (wildcard in a ClusterRole) expected:\n${r.findings.map(describeFinding).join('\n')}`);
  });
});
