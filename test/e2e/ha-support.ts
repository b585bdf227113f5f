// Helpers of the HA end-to-end test (test/e2e/ha.test.ts) and the failover benchmark
// (bench/failover.ts): replicas of `tfe-operator run --leader-elect` as child processes, a
// TCP proxy to the apiserver that can be cut, and the safety check over moto's call log.

import { isReadOperation } from '../../src/aws/clients.ts';
import { writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import type { AwsCall } from '../sandbox/moto.ts';
import type { OperatorProcess } from '../operator-process.ts';
import { operator } from './support.ts';

export interface HaTiming {
  leaseDuration: string;
  renewDeadline: string;
  retryPeriod: string;
}

export const ms = (d: string): number => {
  const m = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
};

export function haArgs(namespace: string, t: HaTiming): string[] {
  return ['--leader-elect', '--lease-namespace', namespace, '--lease-duration', t.leaseDuration, '--renew-deadline', t.renewDeadline, '--retry-period', t.retryPeriod];
}

/** A replica: one process at a time under a stable id; restarts keep the id. */
export class Replica {
  proc!: OperatorProcess;
  /** Every process this id ran as, oldest first (their logs make the leadership history). */
  readonly incarnations: OperatorProcess[] = [];
  /** Wall-clock time of each SIGKILL sent to an incarnation (its term, if any, ends there). */
  readonly killedAt = new Map<OperatorProcess, number>();

  constructor(
    readonly id: string,
    private readonly args: string[],
    private readonly env: Record<string, string> = {},
  ) {}

  async start(): Promise<OperatorProcess> {
    this.proc = await operator(this.id, this.env, this.args);
    this.incarnations.push(this.proc);
    return this.proc;
  }

  get alive(): boolean {
    return this.proc !== undefined && this.proc.proc.exitCode === null && this.proc.proc.signalCode === null;
  }

  /** Sends the signal and returns the wall-clock time it was sent. */
  signal(sig: NodeJS.Signals): number {
    const at = Date.now();
    if (sig === 'SIGKILL') this.killedAt.set(this.proc, at);
    this.proc.proc.kill(sig);
    return at;
  }

  /** Log lines of the current incarnation with this msg, at or after `since` (ms). */
  lines(msg: string, since = 0): Array<Record<string, unknown>> {
    return this.proc.logs().filter((l) => l.msg === msg && timeOf(l) >= since);
  }
}

/** A log line's time in ms (pino writes ISO strings here; epoch numbers are accepted too). */
export function timeOf(l: Record<string, unknown>): number {
  return typeof l.time === 'number' ? l.time : Date.parse(String(l.time));
}

export const ACQUIRED = 'ha: acquired leadership lock';
export const ATTEMPTING = 'ha: attempting to acquire leadership lock';
export const LOST = 'ha: lost leadership lock';
export const STOPPED = 'ha: stopped leading';
export const RELEASED = 'ha: released leadership lock';
export const ALL_TASKS = 'ctrl: executing all tasks once through';

export async function until<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined> | T | undefined, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${(lastErr as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * The first ACQUIRED line logged at or after `since` by any of the replicas (the new leader),
 * polling until `timeoutMs`.
 */
export async function nextLeader(replicas: Replica[], since: number, timeoutMs: number): Promise<{ replica: Replica; at: number; line: Record<string, unknown> }> {
  return until(`a new leader (${ACQUIRED}) after ${new Date(since).toISOString()}`, timeoutMs, () => {
    const hits = replicas
      .filter((r) => r.alive)
      .flatMap((r) => r.lines(ACQUIRED, since).map((line) => ({ replica: r, at: timeOf(line), line })))
      .sort((a, b) => a.at - b.at);
    return hits[0];
  }, 20);
}

// ------------------------------------------------------------------ a cuttable apiserver link

/**
 * A TCP proxy to the apiserver (TLS passes through untouched). `cut()` resets every open
 * connection and then swallows new ones without answering (a partition: requests hang
 * rather than fail fast); `heal()` resets the swallowed ones and forwards again.
 */
export class CuttableProxy {
  mode: 'pass' | 'blackhole' = 'pass';
  port = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly upstreamHost: string,
    private readonly upstreamPort: number,
  ) {
    this.server = createServer((client) => {
      this.track(client);
      client.on('error', () => undefined);
      if (this.mode === 'blackhole') {
        client.resume(); // read and drop; never answer
        return;
      }
      const up = connect(this.upstreamPort, this.upstreamHost);
      this.track(up);
      up.on('error', () => client.destroy());
      client.on('close', () => up.destroy());
      up.on('close', () => client.destroy());
      client.pipe(up);
      up.pipe(client);
    });
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  cut(): void {
    this.mode = 'blackhole';
    for (const s of this.sockets) s.destroy();
  }

  heal(): void {
    this.mode = 'pass';
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** A proxy in front of the sandbox apiserver and a kubeconfig file that goes through it. */
export async function proxiedKubeconfig(kubeconfigPath: string, outFile: string): Promise<CuttableProxy> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const cluster = kc.getCurrentCluster()!;
  const url = new URL(cluster.server);
  const proxy = new CuttableProxy(url.hostname, Number(url.port || 443));
  await proxy.listen();
  const user = kc.getCurrentUser()!;
  const pkc = new KubeConfig();
  pkc.loadFromOptions({
    clusters: [{ ...cluster, name: 'via-proxy', server: `${url.protocol}//${url.hostname}:${proxy.port}` }],
    users: [user],
    contexts: [{ name: 'via-proxy', cluster: 'via-proxy', user: user.name }],
    currentContext: 'via-proxy',
  });
  writeFileSync(outFile, pkc.exportConfig(), { mode: 0o600 });
  return proxy;
}

// ------------------------------------------------------------------ the safety check

/** The operator instance that made a call: its SDK user agent carries `tfe-operator/<id>`. */
export function instanceOf(c: Pick<AwsCall, 'userAgent' | 'amzUserAgent'>): string | undefined {
  const m = /(?:^|\s)tfe-operator\/([A-Za-z0-9._-]+)/.exec(`${c.userAgent ?? ''} ${c.amzUserAgent ?? ''}`);
  return m?.[1];
}

export function isMutating(action: string | null): boolean {
  return !!action && !isReadOperation(action);
}

export interface Term {
  id: string;
  /** Wall-clock ms of the ACQUIRED log line (written after the Lease write succeeded). */
  start: number;
  /** Wall-clock ms the term ended: its LOST / STOPPED line, the SIGKILL, or undefined (still leading). */
  end?: number;
  how?: string;
}

/** Every leadership term of every incarnation of the replicas, from their logs, oldest first. */
export function leadershipTerms(replicas: Replica[]): Term[] {
  const terms: Term[] = [];
  for (const r of replicas) {
    for (const p of r.incarnations) {
      let open: Term | undefined;
      for (const l of p.logs()) {
        if (l.msg === ACQUIRED) {
          open = { id: r.id, start: timeOf(l) };
          terms.push(open);
        } else if ((l.msg === LOST || l.msg === STOPPED) && open) {
          open.end = timeOf(l);
          open.how = l.msg === LOST ? `lost: ${String(l.reason)}` : 'stopped';
          open = undefined;
        }
      }
      if (open && r.killedAt.has(p)) {
        open.end = r.killedAt.get(p);
        open.how = 'SIGKILL';
      }
    }
  }
  return terms.sort((a, b) => a.start - b.start);
}

export interface MutatingCall {
  id: string;
  at: number;
  seq: number;
  action: string;
}

/** The operator's mutating calls as moto received them (arrival time), oldest first. */
export function mutatingCalls(calls: AwsCall[]): MutatingCall[] {
  return calls
    .filter((c) => isMutating(c.action))
    .flatMap((c) => {
      const id = instanceOf(c);
      return id ? [{ id, at: Date.parse(c.ts), seq: c.seq, action: c.action! }] : [];
    })
    .sort((a, b) => a.at - b.at || a.seq - b.seq);
}

/** Consecutive calls of the same instance, as "id: A,B,C" lines (for messages). */
export function runsOf(calls: MutatingCall[]): string[] {
  const runs: Array<{ id: string; from: number; to: number; actions: string[] }> = [];
  for (const c of calls) {
    const last = runs.at(-1);
    if (last && last.id === c.id) {
      last.to = c.at;
      last.actions.push(c.action);
    } else runs.push({ id: c.id, from: c.at, to: c.at, actions: [c.action] });
  }
  return runs.map((r) => `${new Date(r.from).toISOString()}..${new Date(r.to).toISOString().slice(11)} ${r.id}: ${r.actions.join(',')}`);
}

/**
 * The safety property, strictly, from moto's own call log and the replicas' logs: returns the
 * violations (empty when safe).
 *
 * 1. Terms never overlap: each term ended (lost, stopped, killed) before the next began.
 * 2. Every mutating AWS call arrived at moto during a term of the instance that made it: the
 *    latest term begun at or before its arrival belongs to that instance. So a follower never
 *    acts, and a deposed leader's calls never land after its successor took over, which is
 *    the same as saying the instances' spans of calls never interleave across terms.
 */
export function safetyViolations(terms: Term[], calls: MutatingCall[]): string[] {
  const problems: string[] = [];
  for (let i = 1; i < terms.length; i++) {
    const prev = terms[i - 1]!;
    const next = terms[i]!;
    if (prev.end === undefined || prev.end > next.start) {
      problems.push(
        `term of ${next.id} began at ${new Date(next.start).toISOString()} while ${prev.id}'s term (from ${new Date(prev.start).toISOString()}) ` +
          (prev.end === undefined ? 'had not ended' : `ended only at ${new Date(prev.end).toISOString()} (${prev.how})`),
      );
    }
  }
  for (const c of calls) {
    let holder: Term | undefined;
    for (const t of terms) if (t.start <= c.at) holder = t;
    if (!holder || holder.id !== c.id) {
      problems.push(
        `${c.action} by ${c.id} reached moto at ${new Date(c.at).toISOString()} (seq ${c.seq}) ` +
          (holder ? `during the term of ${holder.id} (begun ${new Date(holder.start).toISOString()})` : 'before anyone led'),
      );
    }
  }
  return problems;
}
