// Builds the Go checkers under tools/ (Argo CD's harness, kube-linter) from the Go module
// proxy, once per pinned version, into .cache/<tool>/<version>/<binary>, as
// test/sandbox/controlplane-bin.ts does for kube-apiserver and etcd. A fresh clone has no
// .cache/ of its own, but Go's module and build caches (GOMODCACHE, GOCACHE: per user, not per
// clone) make its first build a link of already compiled packages.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFile } from 'node:child_process';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface GoTool {
  /** folder under tools/ holding go.mod and main.go, and the name of the binary */
  name: string;
  /** the required Go module whose version names the cache */
  module: string;
  /** environment variable naming a prebuilt binary (skips the build) */
  envVar: string;
  /** package to build, relative to the tool's folder or a module path; default "." */
  pkg?: string;
  ldflags?: string;
}

export function toolDir(t: GoTool, root = repoRoot): string {
  return join(root, 'tools', t.name);
}

/** The version of t.module required by tools/<name>/go.mod. */
export function moduleVersion(t: GoTool, root = repoRoot): string {
  const gomod = join(toolDir(t, root), 'go.mod');
  const text = readFileSync(gomod, 'utf8');
  const m = text.match(new RegExp(`^\\s*(?:require\\s+)?${t.module.replace(/[./]/g, '\\$&')}\\s+(v\\S+)`, 'm'));
  if (!m) throw new Error(`cannot find the version of ${t.module} in ${gomod}`);
  return m[1];
}

export function cacheDir(t: GoTool, root = repoRoot): string {
  return join(root, '.cache', t.name, moduleVersion(t, root));
}

/** Go's environment for these builds: the module proxy, no checksum database round trips
 * (go.sum is committed), and any GOFLAGS the machine sets. */
export function goEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GOSUMDB: process.env.GOSUMDB ?? 'off', GOFLAGS: process.env.GOFLAGS ?? '' };
}

export function runCmd(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    execFile(
      cmd,
      args,
      { cwd: opts.cwd, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 10 * 60_000, maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return rej(new Error(`program not found: ${cmd}`));
        if (err && typeof (err as { code?: unknown }).code !== 'number') return rej(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`));
        res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

export async function goCommand(): Promise<string> {
  const r = await runCmd('go', ['version']).catch(() => undefined);
  if (!r || r.code !== 0) throw new Error('Go is needed to build the checkers under tools/ (the machine image has it; or set the *_BIN variables to prebuilt binaries)');
  return 'go';
}

/** The binary of a tool: $envVar, else the cache, else a build into the cache (atomic). */
export async function ensureGoTool(t: GoTool, opts: { root?: string; log?: (m: string) => void } = {}): Promise<{ bin: string; built: boolean; ms: number }> {
  const root = opts.root ?? repoRoot;
  const log = opts.log ?? ((m: string) => process.stderr.write(`[${t.name}] ${m}\n`));
  const started = Date.now();
  const explicit = process.env[t.envVar];
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`${t.envVar}=${explicit}: no such file`);
    return { bin: explicit, built: false, ms: 0 };
  }
  const out = join(cacheDir(t, root), t.name);
  if (existsSync(out)) return { bin: out, built: false, ms: Date.now() - started };
  const go = await goCommand();
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  log(`building ${t.name} (${t.module} ${moduleVersion(t, root)}) from the Go module proxy; a cold build takes a few minutes`);
  try {
    const r = await runCmd(go, ['build', '-trimpath', `-ldflags=${t.ldflags ?? '-s -w'}`, '-o', tmp, t.pkg ?? '.'], {
      cwd: toolDir(t, root),
      env: goEnv(),
      timeoutMs: 60 * 60_000,
    });
    if (r.code !== 0) throw new Error(`go build of tools/${t.name} failed:\n${r.stderr}`);
    renameSync(tmp, out);
  } finally {
    rmSync(tmp, { force: true });
  }
  const ms = Date.now() - started;
  log(`built ${t.name} in ${(ms / 1000).toFixed(1)} s -> ${out}`);
  return { bin: out, built: true, ms };
}
