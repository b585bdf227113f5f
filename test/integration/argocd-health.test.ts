// The Argo CD health check and resource actions for TfeCluster, run against their
// fixtures (health_test.yaml, actions/action_test.yaml: Argo CD's own test layout) in a
// real Lua 5.1 interpreter with Argo CD's restricted library set.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync, statSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import {
  runArgoLua,
  toHealthStatus,
  toResourceActions,
  cleanReturnedObj,
  LuaScriptError,
  toLua,
} from '../shipping/argo-lua.ts';
import { ARGOCD_DIR, CUSTOMIZATION_DIR, PATCH_FILE, argocdCmData, renderArgocdCmPatch } from '../../argocd/gen-argocd-cm.ts';
import { Value } from '@sinclair/typebox/value';
import { checkSpec, TfeClusterStatusSchema } from '../../src/api/index.ts';

const DIR = CUSTOMIZATION_DIR;
const ACTIONS = join(DIR, 'actions');
const HEALTH_LUA = join(DIR, 'health.lua');
const DISCOVERY_LUA = join(ACTIONS, 'discovery.lua');

// sigs.k8s.io/yaml turns a fixture into JSON-compatible maps; so does `yaml` with the core schema.
function loadYaml(path: string): Record<string, unknown> {
  return parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

interface HealthTest {
  inputPath: string;
  healthStatus: { status: string; message?: string };
}
interface DiscoveryTest {
  inputPath: string;
  result: Array<{ name: string; disabled?: boolean; iconClass?: string; displayName?: string }>;
}
interface ActionTest {
  action: string;
  inputPath: string;
  expectedOutputPath: string;
}

const healthTests = (loadYaml(join(DIR, 'health_test.yaml')).tests ?? []) as HealthTest[];
const actionTestFile = loadYaml(join(ACTIONS, 'action_test.yaml')) as {
  discoveryTests?: DiscoveryTest[];
  actionTests?: ActionTest[];
};
const discoveryTests = actionTestFile.discoveryTests ?? [];
const actionTests = actionTestFile.actionTests ?? [];

describe('the harness behaves like Argo CD', () => {
  test('obj arrives as a table with maps, lists, numbers, booleans; nulls are absent', async () => {
    const script = writeTemp(
      'return { kind = obj.kind, gen = obj.metadata.generation + 1, n = #obj.list, second = obj.list[2], flag = obj.flag, gone = obj.gone == nil, nested = obj.m.a.b }',
    );
    const result = await runArgoLua(script, {
      kind: 'TfeCluster',
      metadata: { generation: 4 },
      list: ['a', 'b', 'c'],
      flag: false,
      gone: null,
      m: { a: { b: 'ü "quoted" \\ back\nslash' } },
    });
    assert.deepEqual(result, { kind: 'TfeCluster', gen: 5, n: 3, second: 'b', flag: false, gone: true, nested: 'ü "quoted" \\ back\nslash' });
  });

  for (const [what, snippet] of [
    ['string library', 'return { x = string.format("%d", 1) }'],
    ['string methods', 'local s = "abc" return { x = s:upper() }'],
    ['math library', 'return { x = math.floor(1.5) }'],
    ['io library', 'return { x = io.read() }'],
    ['os.execute', 'return { x = os.execute("true") }'],
  ] as const) {
    test(`scripts cannot use the ${what} (Argo CD does not load it)`, async () => {
      await assert.rejects(runArgoLua(writeTemp(snippet), {}), LuaScriptError);
    });
  }

  test('base, table and safe os functions are there', async () => {
    const result = await runArgoLua(
      writeTemp('local t = {} table.insert(t, tostring(12)) local os2 = require("os") return { t = t, n = tonumber("7"), time = type(os2.time()) }'),
      {},
    );
    assert.deepEqual(result, { t: ['12'], n: 7, time: 'number' });
  });

  test('empty tables come back as [] and cleanReturnedObj restores maps', async () => {
    const result = (await runArgoLua(writeTemp('return obj'), { metadata: { annotations: {} }, spec: { list: [] } })) as Record<string, unknown>;
    assert.deepEqual(result, { metadata: { annotations: [] }, spec: { list: [] } });
    assert.deepEqual(cleanReturnedObj(result, { metadata: { annotations: {} }, spec: { list: [] } }), {
      metadata: { annotations: {} },
      spec: { list: [] },
    });
  });

  test('toLua refuses what it cannot represent faithfully', () => {
    assert.throws(() => toLua([1, null, 2]));
    assert.throws(() => toLua(Number.NaN));
  });
});

describe('fixtures', () => {
  test('every fixture is a TfeCluster the API would hold (spec and status match src/api/schema.ts)', () => {
    for (const sub of ['testdata', 'actions/testdata']) {
      for (const f of readdirSync(join(DIR, sub))) {
        const o = loadYaml(join(DIR, sub, f)) as { kind: string; spec: unknown; status?: unknown };
        assert.equal(o.kind, 'TfeCluster', `${sub}/${f}`);
        assert.deepEqual(checkSpec(o.spec), [], `${sub}/${f}: spec`);
        if (o.status !== undefined) {
          const errors = [...Value.Errors(TfeClusterStatusSchema, o.status)].map((e) => `${e.path}: ${e.message}`);
          assert.deepEqual(errors, [], `${sub}/${f}: status`);
        }
      }
    }
  });
});

describe('health.lua (health_test.yaml)', () => {
  test('health_test.yaml covers every required situation', () => {
    const inputs = healthTests.map((t) => t.inputPath);
    for (const required of [
      'testdata/progressing_noStatus.yaml',
      'testdata/progressing_newGeneration.yaml',
      'testdata/progressing_validate.yaml',
      'testdata/progressing_redis.yaml',
      'testdata/progressing_singleNode.yaml',
      'testdata/progressing_scaleOut.yaml',
      'testdata/suspended_paused.yaml',
      'testdata/suspended_waitingForApproval.yaml',
      'testdata/degraded_condition.yaml',
      'testdata/healthy.yaml',
    ]) {
      assert.ok(inputs.includes(required), `health_test.yaml has no case for ${required}`);
    }
    const statuses = new Set(healthTests.map((t) => t.healthStatus.status));
    assert.deepEqual([...statuses].sort(), ['Degraded', 'Healthy', 'Progressing', 'Suspended']);
  });

  test('every fixture in testdata/ is used by health_test.yaml', () => {
    const used = new Set(healthTests.map((t) => t.inputPath));
    for (const f of readdirSync(join(DIR, 'testdata'))) {
      assert.ok(used.has(`testdata/${f}`), `testdata/${f} is not referenced in health_test.yaml`);
    }
  });

  test('the step fixtures really are at the step they are named after', () => {
    for (const [file, step] of [
      ['progressing_validate.yaml', 'Validate'],
      ['progressing_redis.yaml', 'Redis'],
      ['progressing_singleNode.yaml', 'SingleNode'],
      ['progressing_scaleOut.yaml', 'ScaleOut'],
    ]) {
      const o = loadYaml(join(DIR, 'testdata', file)) as { status: { step: string; phase: string } };
      assert.equal(o.status.step, step, file);
      assert.equal(o.status.phase, 'Migrating', file);
    }
  });

  for (const t of healthTests) {
    test(`${t.inputPath} -> ${t.healthStatus.status}`, async () => {
      const obj = loadYaml(join(DIR, t.inputPath));
      assert.equal(obj.kind, 'TfeCluster');
      assert.equal(obj.apiVersion, 'tfe.operators.dev/v1alpha1');
      const got = toHealthStatus(await runArgoLua(HEALTH_LUA, obj));
      assert.deepEqual(got, { status: t.healthStatus.status, message: t.healthStatus.message ?? '' });
    });
  }

  test('a garbled status does not crash the script', async () => {
    for (const status of [{}, { conditions: 'not-a-list', observedGeneration: 1 }, { observedGeneration: 1, conditions: [{}] }]) {
      const got = toHealthStatus(await runArgoLua(HEALTH_LUA, { kind: 'TfeCluster', metadata: { name: 'x', generation: 1 }, spec: {}, status }));
      assert.equal(got.status, 'Progressing', JSON.stringify(status));
    }
  });
});

describe('actions (actions/action_test.yaml)', () => {
  const actionDirs = readdirSync(ACTIONS).filter(
    (d) => statSync(join(ACTIONS, d)).isDirectory() && existsSync(join(ACTIONS, d, 'action.lua')),
  );

  test('discovery offers exactly the actions that have an action.lua', async () => {
    assert.deepEqual([...actionDirs].sort(), ['abort', 'approve', 'pause', 'resume']);
    for (const t of discoveryTests) {
      const names = toResourceActions(await runArgoLua(DISCOVERY_LUA, loadYaml(join(ACTIONS, t.inputPath)))).map((a) => a.name);
      assert.deepEqual(names.sort(), [...actionDirs].sort(), t.inputPath);
    }
  });

  test('every action is exercised by an action test', () => {
    const tested = new Set(actionTests.map((t) => t.action));
    for (const a of actionDirs) assert.ok(tested.has(a), `no actionTests entry for ${a}`);
  });

  for (const t of discoveryTests) {
    test(`discovery ${t.inputPath}`, async () => {
      const got = toResourceActions(await runArgoLua(DISCOVERY_LUA, loadYaml(join(ACTIONS, t.inputPath))));
      const byName = new Map(got.map((a) => [a.name, a]));
      assert.equal(got.length, t.result.length, `expected ${t.result.map((r) => r.name)}, got ${got.map((a) => a.name)}`);
      for (const want of t.result) {
        const have = byName.get(want.name);
        assert.ok(have, `action ${want.name} not discovered`);
        assert.equal(have.disabled, want.disabled ?? false, `${want.name}.disabled`);
        if (want.iconClass !== undefined) assert.equal(have.iconClass, want.iconClass);
        if (want.displayName !== undefined) assert.equal(have.displayName, want.displayName);
        // The UI shows these; an action without them renders as a bare id.
        assert.ok(have.displayName && have.iconClass, `${want.name} has no displayName/iconClass`);
      }
    });
  }

  for (const t of actionTests) {
    test(`action ${t.action} on ${t.inputPath}`, async () => {
      const input = loadYaml(join(ACTIONS, t.inputPath));
      const raw = await runArgoLua(join(ACTIONS, t.action, 'action.lua'), input);
      assert.ok(raw && typeof raw === 'object' && !Array.isArray(raw), 'an action returns the object');
      const got = cleanReturnedObj(raw as Record<string, unknown>, structuredClone(input));
      const expected = parseAllDocuments(readFileSync(join(ACTIONS, t.expectedOutputPath), 'utf8')).map((d) => d.toJS());
      assert.equal(expected.length, 1, 'one expected object');
      assert.deepEqual(got, expected[0]);
      assert.notDeepEqual(got, input, 'the action changed nothing');
      // Argo CD patches the main resource; a status change would be silently dropped.
      assert.deepEqual(got.status, input.status, 'an action must not touch status');
    });
  }

  test('approve refuses when nothing waits for approval', async () => {
    const ready = loadYaml(join(ACTIONS, 'testdata/ready.yaml'));
    await assert.rejects(runArgoLua(join(ACTIONS, 'approve', 'action.lua'), ready), (err: unknown) => {
      assert.ok(err instanceof LuaScriptError);
      assert.equal(err.luaMessage, 'TfeCluster tfe is not waiting for an approval');
      return true;
    });
  });

  test('abort refuses outside the phases the planner can roll back from', async () => {
    for (const [file, phase] of [
      ['ready.yaml', 'Ready'],
      ['rolling_back.yaml', 'RollingBack'],
    ]) {
      const obj = loadYaml(join(ACTIONS, 'testdata', file)) as { metadata: { name: string }; status: { phase: string } };
      assert.equal(obj.status.phase, phase, file);
      await assert.rejects(runArgoLua(join(ACTIONS, 'abort', 'action.lua'), obj), (err: unknown) => {
        assert.ok(err instanceof LuaScriptError);
        assert.equal(
          err.luaMessage,
          `TfeCluster ${obj.metadata.name} has nothing to abort (phase ${phase}); abort rolls back a change in flight: phase Migrating, Paused, WaitingForApproval or Degraded`,
        );
        return true;
      });
    }
    const noStatus = { ...(loadYaml(join(ACTIONS, 'testdata/migrating.yaml')) as Record<string, unknown>), status: undefined };
    await assert.rejects(runArgoLua(join(ACTIONS, 'abort', 'action.lua'), noStatus), /no status yet/);
  });
});

describe('argocd/application.yaml', () => {
  const apps = parseAllDocuments(readFileSync(join(ARGOCD_DIR, 'application.yaml'), 'utf8')).map((d) => d.toJS() as Record<string, any>);
  const operatorApp = apps.find((a) => a.metadata.name === 'tfe-operator');
  const clusterApp = apps.find((a) => a.metadata.name === 'tfe');

  test('two Applications: the operator in an earlier sync wave than the TfeCluster', () => {
    assert.ok(operatorApp && clusterApp);
    for (const a of apps) assert.equal(a.kind, 'Application');
    const wave = (a: Record<string, any>) => Number(a.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);
    assert.ok(wave(operatorApp) < wave(clusterApp));
    assert.match(operatorApp.spec.source.path, /^manifests\b/);
  });

  test('the TfeCluster Application ignores exactly what the resource actions change', async () => {
    const ignored: string[] = (clusterApp!.spec.ignoreDifferences ?? [])
      .filter((d: Record<string, any>) => d.group === 'tfe.operators.dev' && d.kind === 'TfeCluster')
      .flatMap((d: Record<string, any>) => d.jsonPointers ?? []);
    assert.ok(clusterApp!.spec.syncPolicy.syncOptions.includes('RespectIgnoreDifferences=true'));
    const changed = new Set<string>();
    for (const t of actionTests) {
      const before = loadYaml(join(ACTIONS, t.inputPath));
      const after = loadYaml(join(ACTIONS, t.expectedOutputPath));
      for (const p of changedPointers(before, after)) changed.add(p);
    }
    assert.ok(changed.size > 0);
    for (const p of changed) {
      assert.ok(ignored.some((i) => p === i || p.startsWith(i + '/')), `an action changes ${p}, which the Application does not ignore`);
    }
    for (const i of ignored) {
      assert.ok([...changed].some((p) => p === i || p.startsWith(i + '/')), `${i} is ignored but no action changes it`);
    }
    assert.equal(clusterApp!.spec.syncPolicy.automated?.prune ?? false, false, 'never prune a TfeCluster automatically');
  });
});

/** JSON pointers (RFC 6901) of the leaves that differ between two objects. */
function changedPointers(a: unknown, b: unknown, path = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => changedPointers(a[k], b[k], `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`));
  }
  if (isObj(b) && a === undefined) return changedPointers({}, b, path);
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [path];
}

describe('argocd-cm snippet', () => {
  test('argocd/argocd-cm-patch.yaml is up to date (node --import tsx argocd/gen-argocd-cm.ts)', () => {
    assert.equal(readFileSync(PATCH_FILE, 'utf8'), renderArgocdCmPatch());
  });

  test('it carries the tested scripts byte for byte, under the keys Argo CD reads', () => {
    const cm = loadYaml(PATCH_FILE) as { metadata: { name: string; namespace: string }; data: Record<string, string> };
    assert.equal(cm.metadata.name, 'argocd-cm');
    assert.deepEqual(Object.keys(cm.data).sort(), [
      'resource.customizations.actions.tfe.operators.dev_TfeCluster',
      'resource.customizations.health.tfe.operators.dev_TfeCluster',
    ]);
    assert.equal(cm.data['resource.customizations.health.tfe.operators.dev_TfeCluster'], readFileSync(HEALTH_LUA, 'utf8'));
    const actions = parse(cm.data['resource.customizations.actions.tfe.operators.dev_TfeCluster']) as {
      'discovery.lua': string;
      definitions: Array<{ name: string; 'action.lua': string }>;
    };
    assert.equal(actions['discovery.lua'], readFileSync(DISCOVERY_LUA, 'utf8'));
    assert.deepEqual(
      actions.definitions.map((d) => d.name),
      ['abort', 'approve', 'pause', 'resume'],
    );
    for (const d of actions.definitions) {
      assert.equal(d['action.lua'], readFileSync(join(ACTIONS, d.name, 'action.lua'), 'utf8'), d.name);
    }
    assert.deepEqual(argocdCmData(), cm.data);
  });
});

// --- helpers ---
const tmp = mkdtempSync(join(tmpdir(), 'argocd-health-test-'));
let n = 0;
/** A throwaway Lua script, for probing the harness itself. */
function writeTemp(source: string): string {
  const p = join(tmp, `script${n++}.lua`);
  writeFileSync(p, source);
  return p;
}
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
