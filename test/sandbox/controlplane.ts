// A real control plane on loopback: etcd 3.5 + kube-apiserver, RBAC on, CRDs installed.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { createCA, createKeyPair, issueCert, type CA } from './certs.ts';
import { ensureBinaries, repoRoot, type ControlPlaneBinaries } from './controlplane-bin.ts';
import { freePorts } from './ports.ts';
import { run, spawnLogged, tail, waitFor, type Proc } from './procs.ts';
import { restartable, type Restartable } from './restartable.ts';

export interface ControlPlane {
  kubeconfigPath: string;
  server: string;
  /** Bearer token of the admin user (group system:masters). */
  token: string;
  caFile: string;
  kubectl: string;
  /** etcd and kube-apiserver, for watching (a supervisor notices when one dies). */
  procs: Proc[];
  /** The same two, each stoppable and startable in place (same address and data), for fault tests. */
  parts: { etcd: Restartable; apiserver: Restartable };
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Working dir for certs, etcd data and the kubeconfig. */
  dir: string;
  /** Where etcd.log and kube-apiserver.log go (default <dir>/logs). */
  logDir?: string;
  /** Shared CA (created under <dir>/pki when absent). */
  ca?: CA;
  /** Folder with CRD YAML to install (default <repo>/crds). */
  crdsDir?: string;
  binaries?: ControlPlaneBinaries;
  log?: (m: string) => void;
}

function get(url: string, opts: { ca?: string; token?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? request : httpRequest)(
      url,
      { ca: opts.ca, headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {}, timeout: 5_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout GET ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

function kubeconfigYaml(server: string, caPem: string, token: string): string {
  const caData = Buffer.from(caPem).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: sandbox',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${caData}`,
    'users:',
    '- name: sandbox-admin',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: sandbox',
    '  context:',
    '    cluster: sandbox',
    '    user: sandbox-admin',
    '    namespace: default',
    'current-context: sandbox',
    '',
  ].join('\n');
}

interface EtcdPorts {
  client: number;
  peer: number;
}

/** Spawns etcd on the given ports and data dir; resolves when /health says true. */
async function launchEtcd(bin: string, dataDir: string, logDir: string, ports: EtcdPorts): Promise<Proc> {
  const url = `http://127.0.0.1:${ports.client}`;
  const peerUrl = `http://127.0.0.1:${ports.peer}`;
  const proc = spawnLogged({
    name: 'etcd',
    cmd: bin,
    logDir,
    args: [
      '--name=sandbox', `--data-dir=${dataDir}`,
      `--listen-client-urls=${url}`, `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peerUrl}`, `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=sandbox=${peerUrl}`, '--initial-cluster-state=new', // ignored when the data dir holds a member
      '--unsafe-no-fsync', // throwaway data: skip fsync, much faster on slow disks
      '--log-level=warn',
    ],
  });
  try {
    await waitFor('etcd /health', async () => (await get(`${url}/health`)).body.includes('"true"'), { timeoutMs: 30_000, proc });
    return proc;
  } catch (err) {
    await proc.stop();
    throw err;
  }
}

async function startEtcd(bin: string, dataDir: string, logDir: string): Promise<{ proc: Proc; url: string; ports: EtcdPorts }> {
  for (let attempt = 1; ; attempt++) {
    const [client, peer] = await freePorts(2);
    const ports = { client, peer };
    try {
      const proc = await launchEtcd(bin, dataDir, logDir, ports);
      return { proc, url: `http://127.0.0.1:${client}`, ports };
    } catch (err) {
      if (attempt < 3 && /address already in use/i.test(tail(join(logDir, 'etcd.log'), 60))) continue;
      throw err;
    }
  }
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`[controlplane] ${m}\n`));
  const dir = opts.dir;
  const logDir = opts.logDir ?? join(dir, 'logs');
  const pki = join(dir, 'pki');
  mkdirSync(pki, { recursive: true });
  const bins = opts.binaries ?? (await ensureBinaries({ log }));
  const ca = opts.ca ?? (await createCA(pki));
  const [serving, sa] = await Promise.all([
    issueCert(ca, pki, 'kube-apiserver', { dns: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'], ips: ['127.0.0.1', '10.0.0.1'] }),
    createKeyPair(pki, 'service-account'),
  ]);
  const token = randomBytes(24).toString('hex');
  const tokenFile = join(pki, 'tokens.csv');
  writeFileSync(tokenFile, `${token},sandbox-admin,sandbox-admin,"system:masters"\n`, { mode: 0o600 });

  // The processes that run now (a part stopped on purpose is not in here).
  let parts: ControlPlane['parts'] | undefined;
  const early: Proc[] = [];
  const stopAll = async () => {
    if (parts) {
      await parts.apiserver.stop();
      await parts.etcd.stop();
    }
    for (const p of early.reverse()) await p.stop();
    early.length = 0;
  };
  try {
    const etcd = await startEtcd(bins.etcd, join(dir, 'etcd'), logDir);
    early.push(etcd.proc);

    const launchApi = async (port: number): Promise<Proc> => {
      const server = `https://127.0.0.1:${port}`;
      const api = spawnLogged({
        name: 'kube-apiserver',
        cmd: bins.kubeApiserver,
        logDir,
        args: [
          `--etcd-servers=${etcd.url}`,
          '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${port}`,
          `--cert-dir=${pki}`, `--tls-cert-file=${serving.certFile}`, `--tls-private-key-file=${serving.keyFile}`,
          `--client-ca-file=${ca.certFile}`, `--token-auth-file=${tokenFile}`,
          '--authorization-mode=Node,RBAC',
          '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
          `--service-account-key-file=${sa.publicKeyFile}`, `--service-account-signing-key-file=${sa.privateKeyFile}`,
          '--service-cluster-ip-range=10.0.0.0/24',
          '--allow-privileged=true',
          // No controller-manager here, so no service-account tokens for pods (as in envtest).
          '--disable-admission-plugins=ServiceAccount',
          '--profiling=false',
        ],
      });
      try {
        await waitFor('kube-apiserver /readyz', async () => {
          const r = await get(`${server}/readyz`, { ca: ca.pem, token });
          return r.status === 200 && r.body.trim() === 'ok';
        }, { timeoutMs: 120_000, intervalMs: 200, proc: api });
        return api;
      } catch (err) {
        await api.stop();
        throw err;
      }
    };

    let server = '';
    let apiPort = 0;
    let api: Proc | undefined;
    for (let attempt = 1; !api; attempt++) {
      [apiPort] = await freePorts(1);
      server = `https://127.0.0.1:${apiPort}`;
      try {
        api = await launchApi(apiPort);
      } catch (err) {
        if (attempt < 3 && /address already in use/i.test(tail(join(logDir, 'kube-apiserver.log'), 60))) continue;
        throw err;
      }
    }
    early.length = 0;
    parts = {
      etcd: restartable('etcd', etcd.proc, () => launchEtcd(bins.etcd, join(dir, 'etcd'), logDir, etcd.ports)),
      apiserver: restartable('kube-apiserver', api, () => launchApi(apiPort)),
    };

    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml(server, ca.pem, token), { mode: 0o600 });
    await installCrds(bins.kubectl, kubeconfigPath, opts.crdsDir ?? join(repoRoot, 'crds'), log);
    return { kubeconfigPath, server, token, caFile: ca.certFile, kubectl: bins.kubectl, procs: [etcd.proc, api], parts, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** kubectl apply every crds/*.yaml, then wait until each CRD is Established. */
export async function installCrds(kubectl: string, kubeconfig: string, crdsDir: string, log: (m: string) => void): Promise<string[]> {
  if (!existsSync(crdsDir)) return [];
  const files = readdirSync(crdsDir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(crdsDir, f));
  if (!files.length) return [];
  const fileArgs = files.flatMap((f) => ['-f', f]);
  await run(kubectl, ['--kubeconfig', kubeconfig, 'apply', '--server-side', '--force-conflicts', ...fileArgs]);
  // A CRD created a moment ago may have no status yet: kubectl wait then fails at once with
  // ".status.conditions accessor error" instead of waiting. Ask again until it has one.
  for (let attempt = 1; ; attempt++) {
    try {
      await run(kubectl, ['--kubeconfig', kubeconfig, 'wait', '--for=condition=Established', '--timeout=60s', ...fileArgs]);
      break;
    } catch (err) {
      if (attempt >= 20 || !/accessor error/.test((err as Error).message)) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  // Established comes before the resource's storage is served: a list right after it can get
  // 429 "storage is (re)initializing". Wait until every CRD's resource can be listed.
  const names = (await run(kubectl, ['--kubeconfig', kubeconfig, 'get', '-o', 'name', ...fileArgs])).stdout
    .trim()
    .split(/\s+/)
    .map((n) => n.replace(/^[^/]*\//, ''));
  for (const name of names) {
    await waitFor(`listing ${name}`, async () => (await run(kubectl, ['--kubeconfig', kubeconfig, 'get', name, '--all-namespaces', '-o', 'name']), true), {
      timeoutMs: 60_000,
      intervalMs: 250,
    });
  }
  log(`installed CRDs: ${files.map((f) => f.slice(crdsDir.length + 1)).join(', ')}`);
  return files;
}
