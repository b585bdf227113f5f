// checkov (PyPI, the version pinned in tools/checkov/requirements.txt, installed once into its own
// virtualenv in .cache/checkov/<version>/ so that its dependencies never meet moto's or the AWS
// CLI's) over what users apply: the kustomization entry points under manifests/ rendered with
// `kubectl kustomize`, and crds/. Every Kubernetes check runs; the exceptions, each with its
// reason, are in tools/checkov/exceptions.yaml. Offline: --skip-download.
//
//   node --import tsx scripts/checkov.ts        (make lint-manifests runs it after kube-score)
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot, runCmd } from './go-tool.ts';
import { kustomizeTargets, render } from './kube-score.ts';

export { kustomizeTargets, render };

export interface Exception {
  id: string;
  reason: string;
}

export function exceptions(): Exception[] {
  return (parse(readFileSync(join(repoRoot, 'tools', 'checkov', 'exceptions.yaml'), 'utf8')) as { exceptions: Exception[] }).exceptions;
}

export function checkovVersion(): string {
  const m = readFileSync(join(repoRoot, 'tools', 'checkov', 'requirements.txt'), 'utf8').match(/^checkov==(\S+)$/m);
  if (!m) throw new Error('tools/checkov/requirements.txt: checkov==<version> expected');
  return m[1];
}

/** checkov's executable: $CHECKOV_BIN, else the cached virtualenv, else a pip install into it. */
export async function ensureCheckov(log: (m: string) => void = (m) => process.stderr.write(`[checkov] ${m}\n`)): Promise<string> {
  if (process.env.CHECKOV_BIN) return process.env.CHECKOV_BIN;
  const venv = join(repoRoot, '.cache', 'checkov', checkovVersion(), 'venv');
  const bin = join(venv, 'bin', 'checkov');
  // A virtualenv holds its own absolute path, so it is built in place; .complete marks a finished one.
  if (existsSync(join(venv, '.complete'))) return bin;
  rmSync(venv, { recursive: true, force: true });
  const started = Date.now();
  log(`installing checkov ${checkovVersion()} from PyPI into ${venv}`);
  let r = await runCmd('python3', ['-m', 'venv', venv]);
  if (r.code !== 0) throw new Error(`python3 -m venv failed: ${r.stderr}`);
  r = await runCmd(join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', '-r', join(repoRoot, 'tools', 'checkov', 'requirements.txt')], {
    timeoutMs: 20 * 60_000,
  });
  if (r.code !== 0) throw new Error(`pip install checkov failed: ${r.stderr}`);
  writeFileSync(join(venv, '.complete'), `checkov==${checkovVersion()}\n`);
  log(`installed checkov in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return bin;
}

export interface Finding {
  check: string;
  name: string;
  resource: string;
}

export interface CheckovResult {
  passed: number;
  /** resources checkov looked at (Kind.namespace.name) */
  resources: string[];
  findings: Finding[];
}

interface CheckovJson {
  summary: { passed: number; failed: number; resource_count: number };
  results?: {
    passed_checks?: Array<{ check_id: string; resource: string }>;
    failed_checks?: Array<{ check_id: string; check_name: string; resource: string }>;
  };
}

/** checkov's Kubernetes checks over one YAML stream; skip: check ids (default: the exceptions file). */
export async function check(yamlText: string, skip: string[] = exceptions().map((e) => e.id)): Promise<CheckovResult> {
  const bin = await ensureCheckov();
  const dir = mkdtempSync(join(tmpdir(), 'checkov-'));
  try {
    const file = join(dir, 'rendered.yaml');
    writeFileSync(file, yamlText);
    const args = ['-f', file, '--framework', 'kubernetes', '--skip-download', '-o', 'json'];
    if (skip.length) args.push('--skip-check', skip.join(','));
    const r = await runCmd(bin, args, { env: { ...process.env, BC_SKIP_MAPPING: 'TRUE' } });
    let out: CheckovJson | CheckovJson[];
    try {
      out = JSON.parse(r.stdout) as CheckovJson | CheckovJson[];
    } catch {
      throw new Error(`checkov gave no JSON (exit ${r.code}): ${r.stderr || r.stdout}`);
    }
    // Nothing to check gives a bare summary; several frameworks give a list.
    const reports = Array.isArray(out) ? out : [out];
    const findings: Finding[] = [];
    const resources = new Set<string>();
    let passed = 0;
    for (const rep of reports) {
      passed += rep.summary?.passed ?? 0;
      for (const p of rep.results?.passed_checks ?? []) resources.add(p.resource);
      for (const f of rep.results?.failed_checks ?? []) {
        resources.add(f.resource);
        findings.push({ check: f.check_id, name: f.check_name, resource: f.resource });
      }
    }
    return { passed, resources: [...resources].sort(), findings };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const describeFinding = (f: Finding): string => `${f.resource}: ${f.check} ${f.name}`;

if (process.argv[1] && basename(process.argv[1]) === 'checkov.ts') {
  let bad = 0;
  console.log(`checkov ${checkovVersion()} (Kubernetes checks); exceptions: ${exceptions().map((e) => e.id).join(', ')}`);
  for (const t of kustomizeTargets()) {
    const r = await check(await render(t));
    console.log(`${t}: ${r.findings.length ? 'FAIL' : 'ok'} (${r.passed} checks passed over ${r.resources.length} resource(s))`);
    for (const f of r.findings) console.log(`  ${describeFinding(f)}`);
    if (r.findings.length) bad++;
  }
  process.exit(bad ? 1 : 0);
}
