// Helpers for tests that use the sandbox.
//
// test/run.ts loads the sandbox env into process.env before it runs the test files. A test
// file run on its own (node --import tsx --test test/x.test.ts) finds a running sandbox
// through $SANDBOX_ENV, else .sandbox-test/env, else .sandbox/env: importing this module
// copies that env into process.env (without overriding what is already set).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { kubectlPath, repoRoot } from './sandbox/controlplane-bin.ts';
import { ENV_KEYS, readEnvFile, type SandboxEnv } from './sandbox/env.ts';
import { resetWorld as resetSandboxWorld, type World } from './sandbox/world.ts';

function envCandidates(): string[] {
  return [process.env.SANDBOX_ENV, join(repoRoot, '.sandbox-test', 'env'), join(repoRoot, '.sandbox', 'env')].filter(
    (f): f is string => !!f,
  );
}

function loadedFromProcess(): SandboxEnv | undefined {
  if (ENV_KEYS.some((k) => !process.env[k])) return undefined;
  const env: SandboxEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return env;
}

function loadFromFile(): SandboxEnv | undefined {
  for (const file of envCandidates()) {
    if (!existsSync(file)) continue;
    const env = readEnvFile(file);
    if (!env) continue;
    for (const [k, v] of Object.entries(env)) process.env[k] ??= v;
    return env;
  }
  return undefined;
}

if (!loadedFromProcess()) loadFromFile();

/** The sandbox env (KUBECONFIG, AWS_ENDPOINT_URL, REDIS_*, TFE_SIM_URL, ...). Throws when there is no sandbox. */
export function sandboxEnv(): SandboxEnv {
  const env = loadedFromProcess() ?? loadFromFile();
  if (!env) {
    throw new Error(
      `no sandbox: run the tests with \`make test\`, or start one (\`make sandbox-up\`) and set SANDBOX_ENV=.sandbox/env ` +
        `(looked for ${envCandidates().join(', ')})`,
    );
  }
  return env;
}

export interface KubeClients {
  kc: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
}

/** client-node clients for the sandbox's kube-apiserver (admin). */
export function kubeClients(): KubeClients {
  const kc = new KubeConfig();
  kc.loadFromFile(sandboxEnv().KUBECONFIG);
  return { kc, core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi) };
}

/** Puts AWS (moto), namespace tfe and the simulator back to the seeded pre-migration world. */
export async function resetWorld(): Promise<World> {
  const env = sandboxEnv();
  return resetSandboxWorld({
    awsEndpoint: env.AWS_ENDPOINT_URL,
    kubeconfigPath: env.KUBECONFIG,
    redis: { host: env.REDIS_HOST, port: Number(env.REDIS_PORT), password: env.REDIS_PASSWORD ?? '', caFile: env.REDIS_CA_FILE },
    simUrl: env.TFE_SIM_URL,
  });
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl against the sandbox; never throws on a non-zero exit (e.g. `auth can-i` answering "no"). */
export function kubectlResult(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<KubectlResult> {
  const env = { ...process.env, KUBECONFIG: sandboxEnv().KUBECONFIG };
  return new Promise((resolve, reject) => {
    const child = execFile(kubectlPath(), args, { env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      if (err && code === -1) reject(new Error(`kubectl ${args.join(' ')}: ${err.message}`));
      else resolve({ code, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Runs kubectl against the sandbox and returns stdout; throws with stderr on failure. */
export async function kubectl(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await kubectlResult(args, opts);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}
