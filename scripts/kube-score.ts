// kube-score (github.com/zegl/kube-score, built from the Go module proxy, cached in
// .cache/kube-score/<version>/) over what users apply: every kustomization entry point under
// manifests/ rendered with `kubectl kustomize`, and crds/. Every check runs, the optional ones
// too, for the Kubernetes minor the sandbox runs; the exceptions, each with its reason, are in
// tools/kube-score/exceptions.yaml.
//
//   node --import tsx scripts/kube-score.ts        (make lint-manifests)
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { parse } from 'yaml';
import { ensureGoTool, repoRoot, runCmd, type GoTool } from './go-tool.ts';

export const KUBE_SCORE: GoTool = {
  name: 'kube-score',
  module: 'github.com/zegl/kube-score',
  envVar: 'KUBE_SCORE_BIN',
  pkg: 'github.com/zegl/kube-score/cmd/kube-score',
};

export interface Exception {
  id: string;
  reason: string;
}

export function exceptions(): Exception[] {
  const f = parse(readFileSync(join(repoRoot, 'tools', 'kube-score', 'exceptions.yaml'), 'utf8')) as { exceptions: Exception[] };
  return f.exceptions;
}

/** The Kubernetes minor the sandbox's kube-apiserver runs (tools/controlplane), e.g. v1.32. */
export function kubernetesMinor(): string {
  const gomod = readFileSync(join(repoRoot, 'tools', 'controlplane', 'kube-apiserver', 'go.mod'), 'utf8');
  const m = gomod.match(/k8s\.io\/kubernetes\s+(v\d+\.\d+)/);
  if (!m) throw new Error('cannot find k8s.io/kubernetes in tools/controlplane/kube-apiserver/go.mod');
  return m[1];
}

/** Every folder with a kustomization.yaml that is not only a piece of another (entry points). */
export function kustomizeTargets(): string[] {
  const out: string[] = ['manifests'];
  const overlays = join(repoRoot, 'manifests', 'overlays');
  if (existsSync(overlays)) for (const o of readdirSync(overlays).sort()) if (existsSync(join(overlays, o, 'kustomization.yaml'))) out.push(`manifests/overlays/${o}`);
  out.push('crds');
  return out;
}

export async function render(target: string): Promise<string> {
  const r = await runCmd('kubectl', ['kustomize', join(repoRoot, target)]);
  if (r.code !== 0) throw new Error(`kubectl kustomize ${target} failed: ${r.stderr}`);
  return r.stdout;
}

export interface Finding {
  object: string;
  check: string;
  grade: number;
  comments: string[];
}

export interface ScoreResult {
  /** objects kube-score has checks for (Deployment, Service, NetworkPolicy, PDB, ...), as Kind/name */
  scored: string[];
  findings: Finding[];
  code: number;
}

interface KubeScoreObject {
  object_name: string;
  type_meta: { kind: string };
  checks: Array<{ check: { id: string }; grade: number; skipped: boolean; comments: Array<{ summary: string; description?: string }> | null }>;
}

/** The ids of kube-score's optional checks (`kube-score list`: id,target,description,default|optional). */
async function optionalChecks(bin: string): Promise<string[]> {
  const r = await runCmd(bin, ['list']);
  if (r.code !== 0) throw new Error(`kube-score list failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.endsWith(',optional'))
    .map((l) => l.split(',')[0]);
}

/** kube-score over one YAML stream; ignore: check ids to skip (default: the exceptions file). */
export async function score(yamlText: string, ignore: string[] = exceptions().map((e) => e.id)): Promise<ScoreResult> {
  const { bin } = await ensureGoTool(KUBE_SCORE);
  const dir = mkdtempSync(join(tmpdir(), 'kube-score-'));
  try {
    const file = join(dir, 'rendered.yaml');
    writeFileSync(file, yamlText);
    // Every check: the default ones, and each optional one by name (kube-score refuses
    // --all-default-optional together with --ignore-test).
    const args = ['score', '--kubernetes-version', kubernetesMinor(), '--exit-one-on-warning', '-o', 'json'];
    for (const id of await optionalChecks(bin)) if (!ignore.includes(id)) args.push('--enable-optional-test', id);
    for (const id of ignore) args.push('--ignore-test', id);
    const r = await runCmd(bin, [...args, file]);
    let objects: KubeScoreObject[];
    try {
      objects = JSON.parse(r.stdout) as KubeScoreObject[];
    } catch {
      throw new Error(`kube-score gave no JSON (exit ${r.code}): ${r.stderr || r.stdout}`);
    }
    const findings: Finding[] = [];
    for (const o of objects ?? []) {
      for (const c of o.checks) {
        if (c.skipped || c.grade >= 10) continue;
        findings.push({ object: o.object_name, check: c.check.id, grade: c.grade, comments: (c.comments ?? []).map((x) => x.summary) });
      }
    }
    return { scored: (objects ?? []).map((o) => o.object_name), findings, code: r.code };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function describeFinding(f: Finding): string {
  return `${f.object}: ${f.check} (grade ${f.grade}): ${f.comments.join('; ')}`;
}

if (process.argv[1] && basename(process.argv[1]) === 'kube-score.ts') {
  let bad = 0;
  console.log(`kube-score (all checks, Kubernetes ${kubernetesMinor()}); exceptions: ${exceptions().map((e) => e.id).join(', ')}`);
  for (const t of kustomizeTargets()) {
    const r = await score(await render(t));
    console.log(`${relative(repoRoot, join(repoRoot, t))}: ${r.findings.length ? 'FAIL' : 'ok'} (${r.scored.length} object(s) with checks: ${[...new Set(r.scored)].join(', ') || 'none'})`);
    for (const f of r.findings) console.log(`  ${describeFinding(f)}`);
    if (r.findings.length || r.code !== 0) bad++;
  }
  process.exit(bad ? 1 : 0);
}
