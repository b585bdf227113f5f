// The sandbox env file: `export KEY='value'` lines a shell can source, and Node can read.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type SandboxEnv = Record<string, string>;

/** Names every consumer may rely on (docs/contracts.md), plus what the supervisor adds. */
export const ENV_KEYS = [
  'KUBECONFIG', 'AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY',
  'REDIS_HOST', 'REDIS_PORT', 'REDIS_CA_FILE', 'TFE_SIM_URL', 'SANDBOX_DIR', 'SANDBOX_NAMESPACE',
] as const;

export const envFile = (dir: string): string => join(dir, 'env');
/** Other files in a sandbox dir. */
export const supervisorPidFile = (dir: string): string => join(dir, 'supervisor.pid');
export const pidsFile = (dir: string): string => join(dir, 'pids');
export const errorFile = (dir: string): string => join(dir, 'error');
export const timingsFile = (dir: string): string => join(dir, 'timings.json');

const quote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;

export function formatEnv(env: SandboxEnv): string {
  return Object.entries(env).map(([k, v]) => `export ${k}=${quote(v)}\n`).join('');
}

export function parseEnv(text: string): SandboxEnv {
  const out: SandboxEnv = {};
  for (const line of text.split('\n')) {
    const m = line.match(/^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/);
    if (!m) continue;
    let v = m[2].trim();
    if (v.startsWith("'")) v = v.slice(1, -1).replace(/'\\''/g, "'");
    else if (v.startsWith('"')) v = v.slice(1, -1);
    out[m[1]] = v;
  }
  return out;
}

/** Written atomically: a reader sees the whole file or none. */
export function writeEnv(dir: string, env: SandboxEnv): void {
  const file = envFile(dir);
  writeFileSync(`${file}.tmp`, formatEnv(env), { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

export function readEnvFile(file: string): SandboxEnv | undefined {
  if (!existsSync(file)) return undefined;
  return parseEnv(readFileSync(file, 'utf8'));
}

export const readEnv = (dir: string): SandboxEnv | undefined => readEnvFile(envFile(dir));
