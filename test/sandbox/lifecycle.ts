// Bringing a sandbox up (idempotently, detached) and down (nothing left behind).
// The CLIs up.ts / down.ts and the test runner use these.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ensureBinaries, repoRoot } from './controlplane-bin.ts';
import { ENV_KEYS, envFile, errorFile, pidsFile, readEnv, supervisorPidFile, type SandboxEnv } from './env.ts';
import { assertPortFree } from './ports.ts';
import { groupAlive, killGroup, pidAlive, sleep, tail } from './procs.ts';
import { redisPing } from './redis.ts';
import { pgTlsHandshake } from './postgres.ts';

export const defaultSandboxDir = (): string => resolve(process.env.SANDBOX_DIR ?? '.sandbox');

const SUPERVISOR = join(repoRoot, 'test', 'sandbox', 'supervisor.ts');
const MARKERS = ['env', 'supervisor.pid', 'pids', 'logs', 'error'];

export interface UpOptions {
  dir: string;
  /** TFE simulator port; 0 = a free one. Default $SANDBOX_SIM_PORT or 18080. */
  simPort?: number;
  timeoutMs?: number;
  log?: (m: string) => void;
}

export interface UpResult {
  env: SandboxEnv;
  reused: boolean;
  ms: number;
}

function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const n = Number(readFileSync(file, 'utf8').trim().split(/\s+/)[0]);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** Guards against pid reuse after a crash: the pid must still run the program we recorded. */
function runs(pid: number, needle: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
  } catch {
    return false;
  }
}

export function supervisorPid(dir: string): number | undefined {
  const pid = readPid(supervisorPidFile(dir)) ?? (Number(readEnv(dir)?.SANDBOX_PID) || undefined);
  return pid && runs(pid, 'supervisor.ts') ? pid : undefined;
}

function httpsGet(url: string, ca: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: { authorization: `Bearer ${token}` }, timeout: 3_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** undefined when every part answers; else what is wrong. */
export async function sandboxProblem(env: SandboxEnv): Promise<string | undefined> {
  const missing = ENV_KEYS.filter((k) => !env[k]);
  if (missing.length) return `env lacks ${missing.join(', ')}`;
  const checks: Array<[string, () => Promise<boolean>]> = [
    ['kube-apiserver /readyz', async () => {
      const kc = parseYaml(readFileSync(env.KUBECONFIG, 'utf8'));
      const cluster = kc.clusters[0].cluster;
      const ca = Buffer.from(cluster['certificate-authority-data'], 'base64').toString();
      const r = await httpsGet(`${cluster.server}/readyz`, ca, kc.users[0].user.token);
      return r.status === 200;
    }],
    ['moto', async () => (await fetch(`${env.AWS_ENDPOINT_URL}/_sandbox/health`, { signal: AbortSignal.timeout(3_000) })).ok],
    ['TFE simulator', async () => (await fetch(`${env.TFE_SIM_URL}/sim/state`, { signal: AbortSignal.timeout(3_000) })).ok],
    ['redis', () => redisPing({ host: env.REDIS_HOST, port: Number(env.REDIS_PORT), password: env.REDIS_PASSWORD ?? '', caFile: env.REDIS_CA_FILE })],
    ...(env.PG_PORT ? [['postgres', () => pgTlsHandshake({ host: env.PG_HOST ?? '127.0.0.1', port: Number(env.PG_PORT), caFile: env.PG_CA_FILE ?? '' })] as [string, () => Promise<boolean>]] : []),
  ];
  const results = await Promise.all(
    checks.map(async ([name, check]) => {
      try {
        return (await check()) ? undefined : `${name} not healthy`;
      } catch (err) {
        return `${name}: ${(err as Error).message}`;
      }
    }),
  );
  const bad = results.filter(Boolean);
  return bad.length ? bad.join('; ') : undefined;
}

/** The environment a supervisor should see: ours minus any sandbox env we may have loaded. */
function childEnv(dir: string, simPort: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of [...ENV_KEYS, 'REDIS_PASSWORD', 'PG_HOST', 'PG_PORT', 'PG_CA_FILE', 'SANDBOX_PID', 'SANDBOX_ENV', 'NODE_TEST_CONTEXT']) delete env[k];
  return { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env, SANDBOX_DIR: dir, SANDBOX_SIM_PORT: String(simPort) };
}

export async function sandboxUp(opts: UpOptions): Promise<UpResult> {
  const started = Date.now();
  const dir = resolve(opts.dir);
  const log = opts.log ?? ((m: string) => process.stderr.write(`[sandbox] ${m}\n`));
  const simPort = opts.simPort ?? Number(process.env.SANDBOX_SIM_PORT ?? 18080);

  const env = readEnv(dir);
  const pid = supervisorPid(dir);
  if (env && pid && pidAlive(pid)) {
    const wanted = process.env.SANDBOX_WORLD || 'default';
    const running = env.SANDBOX_WORLD || 'default';
    const problem = running !== wanted ? `it holds world "${running}", SANDBOX_WORLD asks for "${wanted}"` : await sandboxProblem(env);
    if (!problem) return { env, reused: true, ms: Date.now() - started };
    log(`the sandbox in ${dir} is not healthy (${problem}); restarting it`);
  }
  if (existsSync(dir)) await sandboxDown({ dir, log });

  // Fail fast, before anything starts (the supervisor checks again: it binds later).
  if (simPort !== 0) await assertPortFree(simPort, 'TFE node simulator (SANDBOX_SIM_PORT)');
  await ensureBinaries({ log }); // in the foreground: a first build takes minutes, show it
  const logDir = join(dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const out = openSync(join(logDir, 'supervisor.log'), 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', SUPERVISOR], {
    detached: true,
    stdio: ['ignore', out, out],
    cwd: repoRoot,
    env: childEnv(dir, simPort),
  });
  closeSync(out);
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `exited with code ${code} signal ${signal}`));
  child.once('error', (err) => (exited = `could not start: ${err.message}`));
  child.unref();

  const deadline = Date.now() + (opts.timeoutMs ?? 5 * 60_000);
  for (;;) {
    const ready = readEnv(dir);
    if (ready) return { env: ready, reused: false, ms: Date.now() - started };
    if (exited || Date.now() > deadline) {
      const why = existsSync(errorFile(dir)) ? readFileSync(errorFile(dir), 'utf8').trim() : exited ?? 'timed out';
      const logs = join(logDir, 'supervisor.log');
      if (!exited) await sandboxDown({ dir, keepDir: true, log });
      throw new Error(`sandbox did not start (${exited ?? 'timed out'}): ${why}\n--- ${logs} ---\n${tail(logs, 40)}\n(logs kept in ${logDir})`);
    }
    await sleep(100);
  }
}

export interface DownOptions {
  dir: string;
  /** Keep the directory (logs) instead of removing it. */
  keepDir?: boolean;
  log?: (m: string) => void;
}

/** Pids recorded by a sandbox (supervisor first, then its children). */
export function sandboxPids(dir: string): number[] {
  const pids: number[] = [];
  const sup = supervisorPid(dir);
  if (sup) pids.push(sup);
  if (existsSync(pidsFile(dir))) {
    for (const line of readFileSync(pidsFile(dir), 'utf8').split('\n')) {
      const [pid, , program] = line.split(' ');
      const n = Number(pid);
      if (Number.isInteger(n) && n > 0 && (!program || runs(n, program))) pids.push(n);
    }
  }
  return pids;
}

/** Stops the supervisor and every child it recorded, waits until none is left, removes the dir. */
export async function sandboxDown(opts: DownOptions): Promise<{ stopped: number[] }> {
  const dir = resolve(opts.dir);
  if (!existsSync(dir)) return { stopped: [] };
  const entries = readdirSync(dir);
  if (entries.length && !entries.some((e) => MARKERS.includes(e))) {
    throw new Error(`${dir} does not look like a sandbox directory (none of ${MARKERS.join(', ')}); not touching it`);
  }
  const sup = supervisorPid(dir);
  const children = sandboxPids(dir).filter((p) => p !== sup);
  const pids = sup ? [sup, ...children] : children;
  const stopped: number[] = [];
  // The supervisor stops its children itself on SIGTERM (graceful); then sweep what it recorded.
  if (sup && (pidAlive(sup) || groupAlive(sup))) {
    await killGroup(sup, 30_000);
    stopped.push(sup);
  }
  for (const pid of children) {
    if (pidAlive(pid) || groupAlive(pid)) {
      opts.log?.(`stopping leftover process ${pid}`);
      await killGroup(pid, 5_000);
      stopped.push(pid);
    }
  }
  const left = pids.filter((p) => pidAlive(p) || groupAlive(p));
  if (left.length) throw new Error(`sandbox ${dir}: processes still running after stop: ${left.join(', ')}`);
  if (opts.keepDir) rmSync(envFile(dir), { force: true });
  else rmSync(dir, { recursive: true, force: true });
  return { stopped };
}
