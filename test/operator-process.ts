// Start `tfe-operator run` as a real child process against the sandbox, for e2e tests, the
// demo and benchmarks. Logs (JSON lines) are kept in memory and in a file.

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { finalStage, parseDockerfile } from './shipping/dockerfile.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface OperatorProcess {
  proc: ChildProcess;
  id: string;
  port: number;
  url: string;
  lines: string[];
  /** Parsed JSON log lines. */
  logs(): Array<Record<string, unknown>>;
  waitForLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOperatorOptions {
  id: string;
  port: number;
  args?: string[];
  env?: Record<string, string | undefined>;
  logFile?: string;
}

/** The node flags of the container image's ENTRYPOINT (between "node" and the script). */
export function imageNodeFlags(): string[] {
  const entrypoint = finalStage(parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))).instructions.find((i) => i.keyword === 'ENTRYPOINT');
  if (!entrypoint?.json || entrypoint.words[0] !== 'node') throw new Error('Dockerfile: no ENTRYPOINT ["node", ...]');
  return entrypoint.words.slice(1, -1);
}

/**
 * The sandbox's network path to TFE's database, for an operator running beside it: private
 * names (`*.internal`) and RDS endpoints lead to the sandbox PostgreSQL, as they do for the
 * simulator's nodes (TFE_OPERATOR_CONNECT_TO, like curl's --connect-to).
 */
export function sandboxConnectTo(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  // The sandbox's load balancer, nodes and TFE API are the simulator on loopback: an
  // administrator's allowance (src/security/endpoints.ts), as for a load balancer's DNS name.
  const hosts = { TFE_OPERATOR_ENDPOINT_HOSTS: env.TFE_OPERATOR_ENDPOINT_HOSTS ?? '127.0.0.1,localhost' };
  if (!env.PG_PORT) return hosts;
  const to = `${env.PG_HOST || '127.0.0.1'}:${env.PG_PORT}`;
  return { ...hosts, TFE_OPERATOR_CONNECT_TO: env.TFE_OPERATOR_CONNECT_TO ?? `*.internal::${to},*.rds.amazonaws.com::${to}` };
}

/**
 * Headers for the status API's /v1/*: the bearer token of the sandbox's admin user (from the
 * KUBECONFIG the operator runs with), whom TokenReview accepts and who may list TfeClusters.
 */
export function statusAuth(kubeconfig = process.env.KUBECONFIG): Record<string, string> {
  const token = /^\s*token:\s*(\S+)\s*$/m.exec(kubeconfig ? readFileSync(kubeconfig, 'utf8') : '')?.[1];
  if (!token) throw new Error(`no bearer token in the kubeconfig ${kubeconfig}`);
  return { authorization: `Bearer ${token.replace(/^["']|["']$/g, '')}` };
}

export function startOperator(o: StartOperatorOptions): OperatorProcess {
  // TFE_OPERATOR_ENTRY: compiled dist/main.js (test/run.ts builds it) or, by default, the TypeScript source.
  // The operator runs with the image's node flags (memory settings), as it does in a pod.
  const entry = process.env.TFE_OPERATOR_ENTRY ?? join(ROOT, 'src/main.ts');
  const args = [...imageNodeFlags(), ...(entry.endsWith('.ts') ? ['--import', 'tsx'] : []), entry, 'run', '--id', o.id, '--port', String(o.port), '--host', '127.0.0.1', '--address', `http://127.0.0.1:${o.port}`,
    // Replicas of a test share 127.0.0.1, each on a port of its own: redirects may name any of them.
    '--peer-ports', '1024-65535', ...(o.args ?? [])];
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'debug', ...o.env };
  Object.assign(env, { ...sandboxConnectTo(env), ...o.env }); // the sandbox this operator runs against (what the test sets wins)
  const proc = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let file: ReturnType<typeof createWriteStream> | undefined;
  if (o.logFile) {
    mkdirSync(dirname(o.logFile), { recursive: true });
    file = createWriteStream(o.logFile, { flags: 'a' });
  }
  const waiters: Array<() => void> = [];
  let buf = '';
  const onData = (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      file?.write(`${line}\n`);
    }
    waiters.splice(0).forEach((w) => w());
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => {
    file?.end();
    resolve(code);
  }));
  const parse = () =>
    lines.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  return {
    proc,
    id: o.id,
    port: o.port,
    url: `http://127.0.0.1:${o.port}`,
    lines,
    logs: parse,
    async waitForLog(pred, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = parse().find(pred);
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`operator ${o.id}: log line not seen within ${timeoutMs} ms; last lines:\n${lines.slice(-15).join('\n')}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, 200);
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
    },
    exited,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}
