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
  /** Scaled-in ASG instances stay Terminating (EC2 shutting-down) this long before they leave (default 0). */
  terminateDelayMs?: number;
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
  if (opts.terminateDelayMs !== undefined) env.MOTO_SANDBOX_TERMINATE_DELAY_MS = String(opts.terminateDelayMs);
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
  /** 0: moto's instant scale-in; > 0: Terminating (and Terminating:Wait with a termination hook) first. */
  terminateDelayMs: number;
  /** How often the launcher's ASG health checker runs (target registration, ELB health replacements). */
  elbCheckMs: number;
}

/** Changes the launcher's run-time knobs (e.g. how long new replication groups stay "creating"). */
export async function setMotoConfig(endpoint: string, cfg: Partial<MotoSandboxConfig>): Promise<MotoSandboxConfig> {
  return JSON.parse(await call(endpoint, 'POST', '/_sandbox/config', cfg)) as MotoSandboxConfig;
}

export const motoLogFile = (dir: string): string => join(dir, 'moto.log');

/** What a TFE node reports about itself; DescribeTargetHealth of its instance follows it. */
export interface NodeTargetHealth {
  state: 'initial' | 'healthy' | 'unhealthy';
  /** Ports whose health check passes when healthy (absent: every port). */
  ports?: number[];
  /** Free text, kept for GET and the replacement log. */
  reason?: string;
  /** HTTP status the failing health check answered (HTTP/HTTPS target groups: Target.ResponseCodeMismatch). */
  code?: number;
}

/** Merges reports per instance (null forgets one); answers the whole map. */
export async function setTargetHealth(endpoint: string, reports: Record<string, NodeTargetHealth | null>): Promise<Record<string, NodeTargetHealth>> {
  return JSON.parse(await call(endpoint, 'POST', '/_sandbox/target-health', reports)) as Record<string, NodeTargetHealth>;
}

export async function targetHealthReports(endpoint: string): Promise<Record<string, NodeTargetHealth & { ts: string }>> {
  return JSON.parse(await call(endpoint, 'GET', '/_sandbox/target-health')) as Record<string, NodeTargetHealth & { ts: string }>;
}

/** An instance an Auto Scaling group took out of service for a failed health check, and what replaced it. */
export interface AsgReplacement {
  seq: number;
  ts: string;
  asg: string;
  instanceId: string;
  replacedBy: string[];
  cause: string; // AWS's scaling activity cause, e.g. "At ... in response to an ELB system health check failure."
  description: string;
  targetGroupArn: string | null;
  targetHealth: { State: string; Reason: string | null; Description: string | null } | null;
  nodeReason: string | null;
}

export async function asgReplacements(endpoint: string, opts: { since?: number } = {}): Promise<AsgReplacement[]> {
  return JSON.parse(await call(endpoint, 'GET', `/_sandbox/asg-replacements${sinceQuery(opts.since)}`)) as AsgReplacement[];
}

/** Whose SSM agent is online (patch_ssm_commands.py); merged per instance, answers the whole map. */
export async function setSsmAgents(endpoint: string, agents: Record<string, boolean>): Promise<Record<string, boolean>> {
  return JSON.parse(await call(endpoint, 'POST', '/_sandbox/ssm/agents', agents)) as Record<string, boolean>;
}

/** An SSM command invocation waiting for its node's agent (GET makes it InProgress). */
export interface SsmPendingInvocation {
  commandId: string;
  instanceId: string;
  documentName: string;
  commands: string[];
  executionTimeout: number | null;
}

export async function ssmPending(endpoint: string): Promise<SsmPendingInvocation[]> {
  return JSON.parse(await call(endpoint, 'GET', '/_sandbox/ssm/pending')) as SsmPendingInvocation[];
}

/** How an invocation ended, as the node's agent reports it. */
export async function ssmResult(
  endpoint: string,
  r: { commandId: string; instanceId: string; status: 'Success' | 'Failed' | 'TimedOut'; responseCode: number; stdout: string; stderr: string },
): Promise<void> {
  await call(endpoint, 'POST', '/_sandbox/ssm/result', r);
}
