// Argo CD itself judges argocd/: its own util/lua tests (TestLuaHealthScript,
// TestLuaResourceActionsScript, unchanged, from the release pinned in
// tools/argocd-harness/go.mod) and our argocd-cm-patch.yaml loaded the way a running Argo CD
// loads argocd-cm. Both are built once from the Go module proxy (cached in .cache/argocd-harness/);
// see scripts/argocd-harness.ts. test/integration/argocd-health.test.ts stays as the quick lua5.1 check.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { CM_PATCH, GROUP_DIR, argoVersion, runArgoOwnTests, runCmChecks } from '../../scripts/argocd-harness.ts';

const KIND_DIR = join(GROUP_DIR, 'TfeCluster');

interface HealthFile {
  tests: Array<{ inputPath: string; healthStatus: { status: string; message: string } }>;
}
interface ActionFile {
  discoveryTests: Array<{ inputPath: string; result: Array<Record<string, unknown>> }>;
  actionTests: Array<{ action: string; inputPath: string }>;
}

const readYaml = <T>(p: string): T => parse(readFileSync(p, 'utf8')) as T;

/** The subtest names argo-cd's tests give our fixtures (go test: spaces become underscores). */
function expectedSubtests(kindDir: string): string[] {
  const h = readYaml<HealthFile>(join(kindDir, 'health_test.yaml'));
  const a = readYaml<ActionFile>(join(kindDir, 'actions', 'action_test.yaml'));
  return [
    ...h.tests.map((t) => `TestLuaHealthScript/tfe.operators.dev/TfeCluster/${t.inputPath}`),
    ...a.discoveryTests.map((t) => `TestLuaResourceActionsScript/discovery/${t.inputPath}`),
    ...a.actionTests.map((t) => `TestLuaResourceActionsScript/actions/${t.action}/${t.inputPath}`),
  ]
    .map((n) => n.replace(/ /g, '_'))
    .sort();
}

describe(`Argo CD ${argoVersion()} judges argocd/resource_customizations/tfe.operators.dev`, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'argocd-harness-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test("argo-cd's own TestLuaHealthScript and TestLuaResourceActionsScript pass on every fixture", async () => {
    const r = await runArgoOwnTests();
    assert.deepEqual(r.failed, [], r.output);
    assert.ok(r.ok, r.output);
    // Every fixture ran as a subtest, and nothing else did.
    assert.deepEqual([...r.passed].sort(), expectedSubtests(KIND_DIR));
  });

  test('argocd-cm-patch.yaml, loaded like argocd-cm (no standard Lua libraries), passes every fixture', async () => {
    const r = await runCmChecks();
    assert.ok(r.ok, r.output);
    assert.match(r.output, /useOpenLibs false/);
    assert.equal(r.checks, expectedSubtests(KIND_DIR).length, r.output);
  });

  test('a broken fixture makes both fail: a discovered action listed without displayName, a wrong health message', async () => {
    const group = join(tmp, 'tfe.operators.dev');
    cpSync(GROUP_DIR, group, { recursive: true });
    const kind = join(group, 'TfeCluster');
    const actionsFile = join(kind, 'actions', 'action_test.yaml');
    const a = readYaml<ActionFile>(actionsFile);
    delete a.discoveryTests[0].result[0].displayName; // what action_test.yaml looked like before this check
    writeFileSync(actionsFile, stringify(a));
    const healthFile = join(kind, 'health_test.yaml');
    const h = readYaml<HealthFile>(healthFile);
    const healthy = h.tests.find((t) => t.healthStatus.status === 'Healthy')!;
    healthy.healthStatus.message += ' (not what health.lua says)';
    writeFileSync(healthFile, stringify(h));

    const own = await runArgoOwnTests(group);
    assert.equal(own.ok, false);
    assert.deepEqual(own.failed.sort(), [
      `TestLuaHealthScript/tfe.operators.dev/TfeCluster/${healthy.inputPath}`,
      `TestLuaResourceActionsScript/discovery/${a.discoveryTests[0].inputPath}`,
    ]);
    assert.match(own.output, /DisplayName:""/); // testify prints the fixture's action without it

    const cm = await runCmChecks({ dir: group });
    assert.equal(cm.ok, false);
    assert.equal(cm.failures, 2, cm.output);
    assert.match(cm.output, new RegExp(`FAIL discovery .*${a.discoveryTests[0].inputPath}`));
    assert.match(cm.output, new RegExp(`FAIL health .*${healthy.inputPath}`));
  });

  test('argocd-cm gives the scripts no standard Lua library: a health.lua calling string.format fails there', async () => {
    const cm = parse(readFileSync(CM_PATCH, 'utf8')) as { data: Record<string, string> };
    const key = 'resource.customizations.health.tfe.operators.dev_TfeCluster';
    assert.ok(cm.data[key], key);
    assert.ok(!Object.keys(cm.data).some((k) => k.startsWith('resource.customizations.useOpenLibs')), 'the patch turns on the standard libraries');
    cm.data[key] = `local greeting = string.format("%s", "hi")\n${cm.data[key]}`;
    const file = join(tmp, 'argocd-cm-string.yaml');
    writeFileSync(file, stringify(cm));
    const r = await runCmChecks({ cm: file });
    assert.equal(r.ok, false);
    assert.match(r.output, /FAIL health .*attempt to index a non-table object\(nil\) with key 'format'/); // no `string` table
  });

  test('the tree is ours again after the broken run', async () => {
    const r = await runArgoOwnTests();
    assert.ok(r.ok, r.output);
  });
});
