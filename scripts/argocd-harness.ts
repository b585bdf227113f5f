// Argo CD as the judge of argocd/: two checks, both on Argo CD v3 code from the Go module proxy
// (the version pinned in tools/argocd-harness/go.mod).
//
//  1. Argo CD's own tests. argo-cd's util/lua TestLuaHealthScript and TestLuaResourceActionsScript
//     walk ../../resource_customizations, compile the scripts in (go:embed) and compare every
//     fixture of health_test.yaml and actions/action_test.yaml (discovered actions as whole
//     objects). We run them unchanged on a copy of that release's source (from the module cache,
//     kept in .cache/argocd-harness/<version>/argo-cd, never committed) whose
//     resource_customizations/ holds only our group folder: the action subtests are not named
//     after the group, so only then are the subtests that run ours, and all of ours.
//  2. argocd-cm, as a running Argo CD loads it: tools/argocd-harness (built once into
//     .cache/argocd-harness/<version>/) reads argocd/argocd-cm-patch.yaml through Argo CD's
//     settings manager and checks the same fixtures through the controller's health path and
//     the API server's action path, without the standard Lua libraries unless the ConfigMap
//     turns them on.
//
//   node --import tsx scripts/argocd-harness.ts        (make argocd-check)
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { cacheDir, ensureGoTool, goCommand, goEnv, moduleVersion, repoRoot, runCmd, toolDir, type GoTool } from './go-tool.ts';

export const ARGOCD_HARNESS: GoTool = {
  name: 'argocd-harness',
  module: 'github.com/argoproj/argo-cd/v3',
  envVar: 'ARGOCD_HARNESS_BIN',
};

export const GROUP_DIR = join(repoRoot, 'argocd', 'resource_customizations', 'tfe.operators.dev');
export const CM_PATCH = join(repoRoot, 'argocd', 'argocd-cm-patch.yaml');

export function argoVersion(): string {
  return moduleVersion(ARGOCD_HARNESS);
}

export interface CmResult {
  ok: boolean;
  checks: number;
  failures: number;
  output: string;
}

/** Check 2: the argocd-cm ConfigMap through Argo CD's settings manager and Lua VM. */
export async function runCmChecks(opts: { cm?: string; dir?: string } = {}): Promise<CmResult> {
  const { bin } = await ensureGoTool(ARGOCD_HARNESS);
  const r = await runCmd(bin, ['-v', '-cm', opts.cm ?? CM_PATCH, '-dir', opts.dir ?? GROUP_DIR], { cwd: repoRoot });
  const m = r.stdout.match(/argocd-cm checks: (\d+), failures: (\d+)/);
  return {
    ok: r.code === 0 && !!m && m[2] === '0',
    checks: m ? Number(m[1]) : 0,
    failures: m ? Number(m[2]) : -1,
    output: r.stdout + (r.code === 0 ? '' : r.stderr),
  };
}

/** A copy of argo-cd's source at the pinned release, its resource_customizations/ emptied but for embed.go. */
export async function argoTree(log: (m: string) => void = (m) => process.stderr.write(`[argocd-harness] ${m}\n`)): Promise<string> {
  const tree = join(cacheDir(ARGOCD_HARNESS), 'argo-cd');
  if (existsSync(join(tree, '.complete'))) return tree;
  const go = await goCommand();
  const version = argoVersion();
  const dl = await runCmd(go, ['mod', 'download', '-json', `${ARGOCD_HARNESS.module}@${version}`], {
    cwd: toolDir(ARGOCD_HARNESS),
    env: goEnv(),
  });
  const info = JSON.parse(dl.stdout || '{}') as { Dir?: string; Error?: string };
  if (dl.code !== 0 || !info.Dir) throw new Error(`go mod download ${ARGOCD_HARNESS.module}@${version} failed: ${info.Error ?? dl.stderr}`);
  log(`copying argo-cd ${version} from the module cache to ${tree}`);
  mkdirSync(dirname(tree), { recursive: true });
  const tmp = `${tree}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    // The module cache is read-only; cp + chmod keeps the copy writable.
    const cp = await runCmd('cp', ['-R', info.Dir, tmp]);
    if (cp.code !== 0) throw new Error(`cp failed: ${cp.stderr}`);
    await runCmd('chmod', ['-R', 'u+w', tmp]);
    rmSync(join(tmp, 'docs'), { recursive: true, force: true }); // 26 MB of documentation no test reads
    const rc = join(tmp, 'resource_customizations');
    for (const e of readdirSync(rc)) if (e !== 'embed.go') rmSync(join(rc, e), { recursive: true, force: true });
    writeFileSync(join(tmp, '.complete'), `${ARGOCD_HARNESS.module}@${version}\n`);
    rmSync(tree, { recursive: true, force: true });
    renameSync(tmp, tree);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return tree;
}

export interface OwnTestsResult {
  ok: boolean;
  /** subtests that passed / failed, e.g. TestLuaHealthScript/tfe.operators.dev/TfeCluster/testdata/healthy.yaml */
  passed: string[];
  failed: string[];
  /** go test's output of the failed tests (or of the build) */
  output: string;
  ms: number;
}

interface TestEvent {
  Action: string;
  Test?: string;
  Output?: string;
}

/** Check 1: argo-cd's own util/lua tests over one group folder (ours by default). */
export async function runArgoOwnTests(groupDir = GROUP_DIR): Promise<OwnTestsResult> {
  const started = Date.now();
  const tree = await argoTree();
  const go = await goCommand();
  const target = join(tree, 'resource_customizations', basename(groupDir));
  rmSync(target, { recursive: true, force: true });
  cpSync(groupDir, target, { recursive: true });
  const r = await runCmd(
    go,
    ['test', '-count=1', '-json', '-run', '^(TestLuaHealthScript|TestLuaResourceActionsScript)$', './util/lua'],
    { cwd: tree, env: goEnv(), timeoutMs: 60 * 60_000 },
  );
  const passed: string[] = [];
  const failed: string[] = [];
  const out = new Map<string, string[]>();
  const plain: string[] = [];
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('{')) {
      if (line.trim()) plain.push(line);
      continue;
    }
    const ev = JSON.parse(line) as TestEvent;
    const key = ev.Test ?? '';
    if (ev.Action === 'output' && ev.Output) out.set(key, [...(out.get(key) ?? []), ev.Output]);
    if (!ev.Test?.includes('/')) continue; // the two parent tests; their subtests are the fixtures
    if (ev.Action === 'pass') passed.push(ev.Test);
    if (ev.Action === 'fail') failed.push(ev.Test);
  }
  const details = failed.map((t) => (out.get(t) ?? []).join('')).join('\n');
  const output = [details, r.code !== 0 && !failed.length ? [...plain, ...(out.get('') ?? []), r.stderr].join('\n') : ''].join('').trim();
  return { ok: r.code === 0 && failed.length === 0 && passed.length > 0, passed, failed, output, ms: Date.now() - started };
}

if (process.argv[1] && basename(process.argv[1]) === 'argocd-harness.ts') {
  const t0 = Date.now();
  console.log(`Argo CD ${argoVersion()}: its own util/lua tests over argocd/resource_customizations/tfe.operators.dev`);
  const own = await runArgoOwnTests();
  console.log(`  ${own.passed.length} subtests passed, ${own.failed.length} failed (${(own.ms / 1000).toFixed(1)} s)`);
  for (const f of own.failed) console.log(`  FAIL ${f}`);
  if (!own.ok) console.log(own.output);
  console.log(`Argo CD ${argoVersion()}: argocd/argocd-cm-patch.yaml as argocd-cm`);
  const cm = await runCmChecks();
  console.log(cm.output.split('\n').filter((l) => !l.startsWith('ok ')).map((l) => `  ${l}`).join('\n').trimEnd());
  console.log(`argocd-check: ${own.ok && cm.ok ? 'ok' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  process.exit(own.ok && cm.ok ? 0 : 1);
}
