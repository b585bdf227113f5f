// Where the control-plane binaries come from: envtest-style overrides, else a cache
// keyed by version, else a `go build` of tools/controlplane/* from the Go module proxy.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireBinary, run, which } from './procs.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ControlPlaneBinaries {
  kubeApiserver: string;
  etcd: string;
  kubectl: string;
}

interface Tool {
  name: 'kube-apiserver' | 'etcd';
  module: string; // the Go module whose version names the cache
  envVar: string; // controller-runtime envtest override
}

const tools: Tool[] = [
  { name: 'kube-apiserver', module: 'k8s.io/kubernetes', envVar: 'TEST_ASSET_KUBE_APISERVER' },
  { name: 'etcd', module: 'go.etcd.io/etcd/server/v3', envVar: 'TEST_ASSET_ETCD' },
];

function toolDir(root: string, t: Tool): string {
  return join(root, 'tools', 'controlplane', t.name);
}

function moduleVersion(root: string, t: Tool): string {
  const gomod = join(toolDir(root, t), 'go.mod');
  const text = readFileSync(gomod, 'utf8');
  const m = text.match(new RegExp(`^\\s*(?:require\\s+)?${t.module.replace(/[./]/g, '\\$&')}\\s+(v\\S+)`, 'm'));
  if (!m) throw new Error(`cannot find the version of ${t.module} in ${gomod}`);
  return m[1];
}

export function versions(root = repoRoot): { kubernetes: string; etcd: string } {
  return { kubernetes: moduleVersion(root, tools[0]), etcd: moduleVersion(root, tools[1]) };
}

/** .cache/controlplane/<k8s version>-<etcd version>/ */
export function cacheDir(root = repoRoot): string {
  const v = versions(root);
  return join(root, '.cache', 'controlplane', `${v.kubernetes}-${v.etcd}`);
}

function ldflags(root: string, t: Tool): string {
  if (t.name !== 'kube-apiserver') return '-s -w';
  // Stamp the real version so /version (and kubectl's version dispatch) see v1.x.y.
  const v = moduleVersion(root, t);
  const [major, minor] = v.replace(/^v/, '').split('.');
  const pkg = 'k8s.io/component-base/version';
  return `-s -w -X ${pkg}.gitVersion=${v} -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor} -X ${pkg}.gitTreeState=clean`;
}

/** Builds one binary into the cache (atomically: a half-written file is never seen). */
async function build(root: string, t: Tool, out: string, log: (m: string) => void): Promise<void> {
  const go = requireBinary('go', `Go >= 1.23 is needed to build ${t.name}; or point KUBEBUILDER_ASSETS / ${t.envVar} at a prebuilt binary`);
  const tmp = `${out}.tmp-${process.pid}`;
  const started = Date.now();
  log(`building ${t.name} ${moduleVersion(root, t)} (go build in ${toolDir(root, t)}; cold builds of kube-apiserver take several minutes)`);
  try {
    await run(go, ['build', '-trimpath', `-ldflags=${ldflags(root, t)}`, '-o', tmp, '.'], {
      cwd: toolDir(root, t),
      env: { ...process.env, GOSUMDB: 'off', GOFLAGS: process.env.GOFLAGS ?? '' },
      timeoutMs: 60 * 60_000,
    });
    renameSync(tmp, out);
  } finally {
    rmSync(tmp, { force: true });
  }
  log(`built ${t.name} in ${((Date.now() - started) / 1000).toFixed(1)} s -> ${out}`);
}

export interface EnsureResult extends ControlPlaneBinaries {
  built: string[];
  ms: number;
}

export async function ensureBinaries(opts: { root?: string; log?: (m: string) => void } = {}): Promise<EnsureResult> {
  const root = opts.root ?? repoRoot;
  const log = opts.log ?? ((m: string) => process.stderr.write(`[controlplane] ${m}\n`));
  const started = Date.now();
  const assets = process.env.KUBEBUILDER_ASSETS;
  const cache = cacheDir(root);
  const found: Partial<Record<Tool['name'], string>> = {};
  const built: string[] = [];
  const missing: Tool[] = [];
  for (const t of tools) {
    const explicit = process.env[t.envVar];
    if (explicit) {
      if (!existsSync(explicit)) throw new Error(`${t.envVar}=${explicit}: no such file`);
      found[t.name] = explicit;
    } else if (assets && existsSync(join(assets, t.name))) {
      found[t.name] = join(assets, t.name);
    } else if (existsSync(join(cache, t.name))) {
      found[t.name] = join(cache, t.name);
    } else {
      if (assets) log(`KUBEBUILDER_ASSETS=${assets} has no ${t.name}; using the build cache`);
      missing.push(t);
    }
  }
  if (missing.length) {
    mkdirSync(cache, { recursive: true });
    // Two builds at once would fight over 2 cores; build one after the other.
    for (const t of missing) {
      await build(root, t, join(cache, t.name), log);
      found[t.name] = join(cache, t.name);
      built.push(t.name);
    }
  }
  return { kubeApiserver: found['kube-apiserver']!, etcd: found.etcd!, kubectl: kubectlPath(), built, ms: Date.now() - started };
}

/** kubectl: $TEST_ASSET_KUBECTL, else $KUBEBUILDER_ASSETS/kubectl, else PATH. */
export function kubectlPath(): string {
  const assets = process.env.KUBEBUILDER_ASSETS;
  const kubectl =
    process.env.TEST_ASSET_KUBECTL ??
    (assets && existsSync(join(assets, 'kubectl')) ? join(assets, 'kubectl') : which('kubectl'));
  if (!kubectl) throw new Error('kubectl not found on PATH (nor in KUBEBUILDER_ASSETS / TEST_ASSET_KUBECTL); install kubectl >= 1.30');
  return kubectl;
}

