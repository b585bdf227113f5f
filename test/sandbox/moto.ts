// The AWS emulator of the sandbox: moto's server through our launcher
// (test/sandbox/moto/server.py, which patches the moto 5.2 gaps the operator hits and
// adds /_sandbox/calls and /_sandbox/asg-history), on loopback.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.ts';
import { requireBinary, spawnLogged, waitFor, type Proc } from './procs.ts';

export const MOTO_LAUNCHER = fileURLToPath(new URL('./moto/server.py', import.meta.url));

export interface MotoOptions {
  /** Where moto.log goes. */
  dir: string;
  /** Fixed port (default: a free one). */
  port?: number;
  /** Python interpreter (default $PYTHON or python3). */
  python?: string;
  /** New replication groups read "creating" this long before "available" (default 0). */
  redisCreateDelayMs?: number;
  startTimeoutMs?: number;
}

export interface Moto {
  endpoint: string;
  port: number;
  proc: Proc;
  stop(): Promise<void>;
}

/** One AWS API call as the launcher saw it. */
export interface AwsCall {
  seq: number; // increasing, never reused (not even after a reset)
  ts: string;
  service: string | null; // from the SigV4 credential scope: ec2, autoscaling, elasticache, secretsmanager ...
  action: string | null; // DescribeInstances, CreateSecret ...
  userAgent: string | null;
  amzUserAgent: string | null; // x-amz-user-agent (AWS SDK for JavaScript v3 sends it)
  status: number | null;
}

/** One change of an Auto Scaling group's DesiredCapacity (from is null when the group was created). */
export interface AsgChange {
  seq: number; // increasing, never reused (not even after a reset)
  ts: string;
  asg: string;
  from: number | null;
  to: number | null;
  action: string | null; // the API action that caused it, e.g. SetDesiredCapacity
}

export async function startMoto(opts: MotoOptions): Promise<Moto> {
  const python = opts.python ?? process.env.PYTHON ?? 'python3';
  requireBinary(python, 'install Python 3.11 with moto[server] 5.2 (pip install "moto[server]==5.2.1")');
  const port = opts.port ?? (await freePort());
  const endpoint = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: '1', MOTO_PORT: String(port) };
  if (opts.redisCreateDelayMs !== undefined) env.MOTO_SANDBOX_REDIS_CREATE_DELAY_MS = String(opts.redisCreateDelayMs);
  const proc = spawnLogged({ name: 'moto', cmd: python, args: [MOTO_LAUNCHER, String(port)], logDir: opts.dir, env });
  try {
    await waitFor(
      `moto on ${endpoint}`,
      async () => {
        const res = await fetch(`${endpoint}/_sandbox/health`, { signal: AbortSignal.timeout(2_000) });
        return res.ok;
      },
      { timeoutMs: opts.startTimeoutMs ?? 60_000, intervalMs: 200, proc },
    );
  } catch (err) {
    await proc.stop(2_000);
    throw err;
  }
  return { endpoint, port, proc, stop: () => proc.stop(5_000) };
}

async function call(endpoint: string, method: string, path: string, body?: unknown): Promise<string> {
  const res = await fetch(`${endpoint}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${endpoint}${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return text;
}

/** Forgets every resource (and clears the call log and ASG history). */
export async function resetMoto(endpoint: string): Promise<void> {
  await call(endpoint, 'POST', '/moto-api/reset');
}

/** Seeds moto's random generator: the same seed + the same calls give the same IDs. */
export async function seedMoto(endpoint: string, seed: number): Promise<void> {
  await call(endpoint, 'POST', `/moto-api/seed?a=${seed}`);
}

const sinceQuery = (since?: number) => (since === undefined ? '' : `?since=${since}`);

/** Every AWS call moto answered (since the last reset or clear), oldest first; `since`: only those after that seq. */
export async function awsCalls(endpoint: string, opts: { since?: number } = {}): Promise<AwsCall[]> {
  return JSON.parse(await call(endpoint, 'GET', `/_sandbox/calls${sinceQuery(opts.since)}`)) as AwsCall[];
}

export async function clearAwsCalls(endpoint: string): Promise<void> {
  await call(endpoint, 'DELETE', '/_sandbox/calls');
}

/**
 * Every DesiredCapacity change (since the last reset or clear), oldest first. The second
 * argument is an ASG name, or { asg, since } (only changes after that seq).
 */
export async function asgHistory(endpoint: string, filter: string | { asg?: string; since?: number } = {}): Promise<AsgChange[]> {
  const opts = typeof filter === 'string' ? { asg: filter } : filter;
  const all = JSON.parse(await call(endpoint, 'GET', `/_sandbox/asg-history${sinceQuery(opts.since)}`)) as AsgChange[];
  return opts.asg === undefined ? all : all.filter((c) => c.asg === opts.asg);
}

export async function clearAsgHistory(endpoint: string): Promise<void> {
  await call(endpoint, 'DELETE', '/_sandbox/asg-history');
}

export interface MotoSandboxConfig {
  redisCreateDelayMs: number;
}

/** Changes the launcher's run-time knobs (e.g. how long new replication groups stay "creating"). */
export async function setMotoConfig(endpoint: string, cfg: Partial<MotoSandboxConfig>): Promise<MotoSandboxConfig> {
  return JSON.parse(await call(endpoint, 'POST', '/_sandbox/config', cfg)) as MotoSandboxConfig;
}

export const motoLogFile = (dir: string): string => join(dir, 'moto.log');
