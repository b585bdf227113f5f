// make demo: bring up the sandbox, run the operator, apply examples/tfecluster.yaml, show the
// migration step by step until Ready, print what changed, and leave everything running for
// inspection (`source .sandbox/env; kubectl get tfe -n tfe`) until `make sandbox-down`.

import { execFileSync, spawn } from 'node:child_process';
import { sandboxConnectTo } from '../test/operator-process.ts';
import { appendFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../test/operator-process.ts';
import { envFile, pidsFile, readEnvFile } from '../test/sandbox/env.ts';
import type { TfeCluster } from '../src/api/types.ts';

const dir = process.env.SANDBOX_DIR ?? join(ROOT, '.sandbox');
const t0 = Date.now();
const since = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`;
const say = (s: string) => console.log(`${since()}  ${s}`);

execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'test/sandbox/up.ts')], { stdio: 'inherit', env: { ...process.env, SANDBOX_DIR: dir } });
Object.assign(process.env, readEnvFile(envFile(dir)));
const kubectl = (...args: string[]) => execFileSync('kubectl', args, { encoding: 'utf8', env: process.env });

// The operator runs in the background with the sandbox; sandbox-down stops it.
const pidFile = join(dir, 'operator.pid');
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const running = existsSync(pidFile) && alive(Number(readFileSync(pidFile, 'utf8')));
if (!running) {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const out = openSync(join(dir, 'logs', 'operator.log'), 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts'), 'run', '--id', 'demo', '--host', '127.0.0.1', '--port', process.env.SANDBOX_OPERATOR_PORT ?? '18081', '--resync', '10000'], {
    cwd: ROOT,
    env: { ...process.env, ...sandboxConnectTo() }, // the sandbox PostgreSQL for the world's database names
    detached: true,
    stdio: ['ignore', out, out],
  });
  writeFileSync(pidFile, String(child.pid));
  // make sandbox-down stops every pid recorded here, the operator included.
  appendFileSync(pidsFile(dir), `${child.pid} tfe-operator main.ts\n`);
  child.unref();
  say(`operator started (pid ${child.pid}, logs ${join(dir, 'logs', 'operator.log')})`);
} else {
  say('operator already running');
}

const readyz = `http://127.0.0.1:${process.env.SANDBOX_OPERATOR_PORT ?? '18081'}/readyz`;
for (let i = 0; ; i++) {
  const ok = await fetch(readyz).then((r) => r.ok, () => false);
  if (ok) break;
  if (i > 600) {
    say(`the operator did not become ready (${readyz}); see ${join(dir, 'logs', 'operator.log')}`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 200));
}
say('operator ready (watch cache synced)');
// Each world has its example: examples/tfecluster.yaml for the default one, else tfecluster-<world>.yaml.
const world = process.env.SANDBOX_WORLD || 'default';
const example = `examples/${world === 'default' ? 'tfecluster' : `tfecluster-${world}`}.yaml`;
say(`kubectl apply -f ${example}   (sandbox world "${world}")`);
// The examples name the simulator at its default port; a sandbox on another one (SANDBOX_SIM_PORT) gets its own URL.
const manifest = readFileSync(join(ROOT, example), 'utf8').replaceAll('http://127.0.0.1:18080', process.env.TFE_SIM_URL ?? 'http://127.0.0.1:18080');
process.stdout.write(execFileSync('kubectl', ['apply', '-f', '-'], { encoding: 'utf8', env: process.env, input: manifest }));

const get = (): TfeCluster => JSON.parse(kubectl('get', 'tfecluster', 'tfe', '-n', 'tfe', '-o', 'json'));
let last = '';
let cluster = get();
const deadline = Date.now() + 15 * 60_000;
while (Date.now() < deadline) {
  cluster = get();
  const s = cluster.status;
  const nodes = s?.nodes ? `${s.nodes.ready ?? 0}/${s.nodes.desired ?? 0} nodes ready` : '';
  const line = `[${s?.phase ?? 'Pending'}/${s?.step ?? '-'}] ${s?.message ?? 'waiting for the operator'}${nodes ? `  (${nodes})` : ''}`;
  if (line !== last) {
    say(line);
    last = line;
  }
  if (s?.phase === 'Ready' && s.observedGeneration === cluster.metadata.generation) break;
  if (s?.phase === 'Degraded') {
    say('the migration stopped: see the message above; operator logs in .sandbox/logs/operator.log');
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 300));
}
if (cluster.status?.phase !== 'Ready') {
  say('timed out before Ready');
  process.exit(1);
}

const sim = (await (await fetch(`${process.env.TFE_SIM_URL}/sim/state`)).json()) as { nodes: Array<{ id: string; state: string; version?: number }>; scaleHistory: Record<string, number[]> };
const s = cluster.status!;
console.log('\nSummary');
console.log(`  phase                 ${s.phase} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
console.log(`  Redis                 ${s.redis?.replicationGroupId ?? ''} ${s.redis?.endpoint}:${s.redis?.port} (TLS, auth token, created by the operator: ${s.redis?.managed})`);
const fullStage = cluster.spec.install === 'Docker' ? `Active/Active, FDO ${cluster.spec.release.tag}` : 'Active/Active, Replicated UI disabled';
console.log(`  launch template       ${s.launchTemplate?.id}: version ${s.launchTemplate?.baselineVersion} (standalone) -> ${s.launchTemplate?.currentVersion} (${fullStage})`);
console.log(`  scale history         ${(sim.scaleHistory[cluster.spec.autoScalingGroupName] ?? []).join(" -> ")}`);
console.log(`  nodes                 ${sim.nodes.map((n) => `${n.id} ${n.state} (v${n.version})`).join(', ')}`);
console.log(`  conditions            ${(s.conditions ?? []).map((c) => `${c.type}=${c.status}`).join(' ')}`);
console.log(`\nThe sandbox keeps running: source ${join(dir, 'env')}; kubectl get tfe -n tfe; make sandbox-down when done.`);
