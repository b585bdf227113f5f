// The real image: the project's Dockerfile, unchanged, built with buildah (scripts/build-image.sh,
// on a stand-in node:<major>-bookworm-slim assembled from Debian and the npm registry), then run
// with podman against the sandbox's kube-apiserver the way the manifests run it: the rendered
// Deployment's args and env (manifests/overlays/example, namespace-scoped, watching a namespace of
// this test's own), its user and group, read-only root filesystem, all capabilities dropped, no
// privilege escalation, a size-limited /tmp. It must answer /healthz and /readyz and reconcile a
// TfeCluster once; a broken entrypoint must not.
//
// /readyz alone proves little: an operator without any reachable apiserver answers 200 too (seen
// with no kubeconfig: "watch cache synced: ready" right after the informer's first error), so the
// test also waits for a reconcile.
//
// Host networking: the sandbox listens on loopback only. nofile/nproc are set below the host's
// hard limits (podman's defaults exceed them here and runc refuses); a pod gets the runtime's.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { chmodSync, chownSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const IMAGE = 'localhost/tfe-operator:dev';
const NS = 'image-test';
const NAME = 'tfe-operator-image-test';
const sh = (cmd: string, args: string[], input?: string) => execFileSync(cmd, args, { encoding: 'utf8', input, cwd: ROOT, maxBuffer: 64 << 20 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tempDirs: string[] = [];

interface Container {
  args: string[];
  env: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports: Array<{ containerPort: number }>;
  securityContext: { runAsUser: number; runAsGroup: number; readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean; capabilities: { drop: string[] } };
  volumeMounts: Array<{ name: string; mountPath: string }>;
}
interface Deployment {
  kind: string;
  spec: { template: { spec: { containers: Container[]; volumes: Array<{ name: string; emptyDir?: { sizeLimit?: string } }> } } };
}

/** The Deployment as an installation applies it (the example overlay: namespace-scoped). */
function renderedDeployment(): Deployment {
  const docs = parseAllDocuments(sh('kubectl', ['kustomize', 'manifests/overlays/example'])).map((d) => d.toJS() as Deployment);
  const d = docs.find((x) => x.kind === 'Deployment');
  assert.ok(d, 'no Deployment in manifests/overlays/example');
  return d;
}

function freePort(preferred: number): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => {
      const t = createServer();
      t.listen(0, '127.0.0.1', () => {
        const p = (t.address() as { port: number }).port;
        t.close(() => res(p));
      });
    });
    s.listen(preferred, '0.0.0.0', () => s.close(() => res(preferred)));
  });
}

/** podman run arguments that reproduce the Deployment's container on this host. */
function podmanArgs(d: Deployment, port: number, name: string, extra: string[] = []): string[] {
  const pod = d.spec.template.spec;
  const c = pod.containers[0];
  const sc = c.securityContext;
  const args = ['--runtime', 'runc', 'run', '-d', '--name', name, '--network', 'host', '--pull', 'never'];
  args.push('--user', `${sc.runAsUser}:${sc.runAsGroup}`, '--cap-drop', sc.capabilities.drop.join(','));
  if (sc.readOnlyRootFilesystem) args.push('--read-only', '--read-only-tmpfs=false');
  if (!sc.allowPrivilegeEscalation) args.push('--security-opt', 'no-new-privileges');
  for (const m of c.volumeMounts) {
    const v = pod.volumes.find((x) => x.name === m.name);
    assert.ok(v?.emptyDir, `volume ${m.name}: only emptyDir is reproduced here`);
    args.push('--tmpfs', `${m.mountPath}:rw,size=${(v.emptyDir.sizeLimit ?? '64Mi').replace(/Mi$/, 'm')},mode=1777`);
  }
  args.push('--ulimit', 'nofile=16384:16384', '--ulimit', 'nproc=4096:4096');
  const fields: Record<string, string> = { 'metadata.name': name, 'metadata.namespace': NS, 'status.podIP': '127.0.0.1' };
  for (const e of c.env) {
    if (e.name === 'WATCH_NAMESPACE') args.push('-e', `WATCH_NAMESPACE=${NS}`); // the site's namespace: this test's
    else if (e.valueFrom?.fieldRef) args.push('-e', `${e.name}=${fields[e.valueFrom.fieldRef.fieldPath]}`);
    else args.push('-e', `${e.name}=${e.value ?? ''}`);
  }
  // In a pod: the service account token and IRSA. Here: the sandbox's kubeconfig and AWS settings.
  // The kubeconfig goes in as a pod's projected token does: read-only, readable by the pod's user
  // (fsGroup), in a folder of its own.
  const dir = mkdtempSync(join(tmpdir(), 'image-test-kube-'));
  tempDirs.push(dir);
  chmodSync(dir, 0o755);
  const kubeconfig = join(dir, 'kubeconfig');
  copyFileSync(process.env.KUBECONFIG!, kubeconfig);
  chownSync(kubeconfig, sc.runAsUser, sc.runAsGroup);
  chmodSync(kubeconfig, 0o400);
  args.push('-v', `${dir}:/var/run/tfe-operator:ro`, '-e', 'KUBECONFIG=/var/run/tfe-operator/kubeconfig');
  for (const k of ['AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) if (process.env[k]) args.push('-e', `${k}=${process.env[k]}`);
  args.push(...extra, IMAGE, ...c.args);
  // The container port is the operator's default (8080); another one only when 8080 is taken here.
  if (port !== c.ports[0].containerPort) args.push('--port', String(port));
  return args;
}

async function status(port: number, path: string): Promise<number | undefined> {
  try {
    return (await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) })).status;
  } catch {
    return undefined;
  }
}

async function waitReady(port: number, name: string, ms: number): Promise<{ healthz?: number; readyz?: number; exited: boolean }> {
  const end = Date.now() + ms;
  let last: { healthz?: number; readyz?: number; exited: boolean } = { exited: false };
  while (Date.now() < end) {
    const state = spawnSync('podman', ['inspect', '--format', '{{.State.Running}}', name], { encoding: 'utf8' }).stdout.trim();
    last = { healthz: await status(port, '/healthz'), readyz: await status(port, '/readyz'), exited: state !== 'true' };
    if (last.readyz === 200 || last.exited) return last;
    await sleep(500);
  }
  return last;
}

const logs = (name: string) => spawnSync('podman', ['logs', '--tail', '30', name], { encoding: 'utf8' }).stderr + spawnSync('podman', ['logs', '--tail', '30', name], { encoding: 'utf8' }).stdout;
const removeContainer = (name: string) => spawnSync('podman', ['rm', '-f', '-t', '2', name], { encoding: 'utf8' });

describe('the image built from the unchanged Dockerfile', () => {
  let deployment: Deployment;
  let port: number;

  before(async () => {
    const out = sh('scripts/build-image.sh', []);
    assert.match(out, /image=localhost\/tfe-operator:dev/);
    deployment = renderedDeployment();
    port = await freePort(deployment.spec.template.spec.containers[0].ports[0].containerPort);
    spawnSync('kubectl', ['create', 'namespace', NS], { encoding: 'utf8' });
    removeContainer(NAME);
    removeContainer(`${NAME}-broken`);
  });

  after(() => {
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
    removeContainer(NAME);
    removeContainer(`${NAME}-broken`);
    spawnSync('kubectl', ['-n', NS, 'patch', 'tfecluster', 'tfe', '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}'], { encoding: 'utf8' });
    // The sandbox runs no kube-controller-manager, so deleting the namespace would not delete
    // what is in it: the TfeCluster goes first, or later operators in the suite reconcile it.
    spawnSync('kubectl', ['-n', NS, 'delete', 'tfecluster', '--all', '--wait=true', '--timeout=30s'], { encoding: 'utf8' });
    spawnSync('kubectl', ['delete', 'namespace', NS, '--wait=false'], { encoding: 'utf8' });
  });

  test('its size, its user, its entrypoint', (t) => {
    const inspect = JSON.parse(sh('podman', ['image', 'inspect', IMAGE]))[0] as { Size: number; Config: { User: string; Entrypoint: string[]; Cmd: string[] } };
    t.diagnostic(`${IMAGE}: ${(inspect.Size / 1e6).toFixed(0)} MB; user ${inspect.Config.User}; entrypoint ${inspect.Config.Entrypoint.join(' ')}; cmd ${inspect.Config.Cmd.join(' ')}`);
    const sc = deployment.spec.template.spec.containers[0].securityContext;
    assert.equal(inspect.Config.User, `${sc.runAsUser}:${sc.runAsGroup}`);
    assert.deepEqual(inspect.Config.Cmd, deployment.spec.template.spec.containers[0].args);
    assert.ok(inspect.Size < 1e9, `${inspect.Size} bytes`);
  });

  test('runs as the Deployment runs it: /healthz and /readyz answer 200, and it reconciles a TfeCluster', async (t) => {
    const args = podmanArgs(deployment, port, NAME);
    t.diagnostic(`podman ${args.join(' ')}`);
    sh('podman', args);
    const r = await waitReady(port, NAME, 90_000);
    assert.equal(r.readyz, 200, `healthz ${r.healthz}, readyz ${r.readyz}, exited ${r.exited}\n${logs(NAME)}`);
    assert.equal(r.healthz, 200);

    // One reconcile: a TfeCluster in the watched namespace gets a status for its generation.
    const c = parse(readFileSync(join(ROOT, 'examples/tfecluster.yaml'), 'utf8')) as { metadata: { namespace?: string }; spec: { rollout?: Record<string, unknown> } };
    c.metadata.namespace = NS;
    c.spec.rollout = { ...(c.spec.rollout ?? {}), paused: true }; // observe and report, change nothing in the sandbox's AWS
    sh('kubectl', ['apply', '-f', '-'], stringify(c));
    let got: { metadata: { generation: number }; status?: { observedGeneration?: number; phase?: string; message?: string; conditions?: unknown[] } } | undefined;
    for (let i = 0; i < 120; i++) {
      got = JSON.parse(sh('kubectl', ['-n', NS, 'get', 'tfecluster', 'tfe', '-o', 'json']));
      if (got?.status?.observedGeneration === got?.metadata.generation && got?.status?.conditions?.length) break;
      await sleep(500);
    }
    assert.equal(got?.status?.observedGeneration, got?.metadata.generation, `no status written:\n${logs(NAME)}`);
    t.diagnostic(`reconciled: phase ${got?.status?.phase}: ${got?.status?.message}`);
    // Still read-only and non-root inside.
    const inside = sh('podman', ['exec', NAME, 'node', '-e', 'const fs=require("fs");let w="writable";try{fs.writeFileSync("/app/x","")}catch(e){w=e.code}console.log(process.getuid(),process.getgid(),w)']).trim();
    assert.equal(inside, '1000 1000 EROFS');
  });

  test('a broken entrypoint never gets there (the same check fails)', async () => {
    // The real ENTRYPOINT with dist/ hidden: bin/tfe-operator.js falls back to tsx, which the image does not have.
    const brokenPort = await freePort(port + 1);
    sh('podman', podmanArgs(deployment, brokenPort, `${NAME}-broken`, ['--tmpfs', '/app/dist:ro,notmpcopyup']));
    const r = await waitReady(brokenPort, `${NAME}-broken`, 20_000);
    assert.notEqual(r.readyz, 200);
    assert.equal(r.exited, true, 'the broken container should have exited');
    assert.match(logs(`${NAME}-broken`), /ERR_MODULE_NOT_FOUND|Cannot find/);
  });
});
