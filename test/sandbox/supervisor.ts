// The sandbox supervisor: one long-lived process that owns every part of the sandbox.
//
//   SANDBOX_DIR=.sandbox SANDBOX_SIM_PORT=18080 node --import tsx test/sandbox/supervisor.ts
//
// Starts etcd + kube-apiserver, moto, redis-server, postgres (each in its own process group) and the
// TFE node simulator (in this process), seeds the pre-migration world, waits until the
// seeded node is healthy, and only then writes $SANDBOX_DIR/env. On SIGTERM/SIGINT, or when
// any part dies, it removes env, stops everything and exits. Normally started by up.ts.
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { createCA } from './certs.ts';
import { startControlServer } from './control.ts';
import { startControlPlane, type ControlPlane } from './controlplane.ts';
import { envFile, errorFile, pidsFile, supervisorPidFile, timingsFile, writeEnv, type SandboxEnv } from './env.ts';
import { startMoto } from './moto.ts';
import { assertPortFree } from './ports.ts';
import { killAllSync, recordPidsIn, waitFor, type Proc } from './procs.ts';
import type { Restartable } from './restartable.ts';
import { startRedis } from './redis.ts';
import { startPostgres } from './postgres.ts';
// The simulator and the world pull in the AWS SDK and client-node, which take seconds to load:
// main() imports them while etcd, kube-apiserver, moto and redis boot.
type SimulatorModule = typeof import('./simulator/index.ts');
type WorldModule = typeof import('./worlds/index.ts');

const dir = resolve(process.env.SANDBOX_DIR ?? '.sandbox');
const simPort = Number(process.env.SANDBOX_SIM_PORT ?? 18080);
const installDelayMs = Number(process.env.TFE_SIM_INSTALL_DELAY_MS ?? 3000);
const logDir = join(dir, 'logs');
const t0 = Date.now();

const log = (m: string) => process.stdout.write(`${new Date().toISOString()} [supervisor] ${m}\n`);
const since = (t: number) => `${((Date.now() - t) / 1000).toFixed(1)} s`;

interface Part {
  name: string;
  stop(): Promise<void>;
}
const parts: Part[] = [];
let shuttingDown: Promise<void> | undefined;

/** Registers something to stop; if we are already shutting down, stops it at once. */
function own(name: string, stop: () => Promise<void>): void {
  if (shuttingDown) void stop().catch(() => {});
  else parts.push({ name, stop });
}

function shutdown(reason: string, code: number): Promise<void> {
  shuttingDown ??= (async () => {
    log(`shutting down (${reason})`);
    rmSync(envFile(dir), { force: true }); // nobody may use a sandbox that is going away
    for (const p of parts.reverse()) {
      const t = Date.now();
      try {
        await p.stop();
        log(`stopped ${p.name} (${since(t)})`);
      } catch (err) {
        log(`stopping ${p.name} failed: ${(err as Error).message}`);
      }
    }
    killAllSync();
    rmSync(supervisorPidFile(dir), { force: true });
    log('bye');
    process.exit(code);
  })();
  return shuttingDown;
}

/** A part that dies after start takes the whole sandbox down (so "supervisor alive" means "healthy"). */
function watch(proc: Proc): void {
  void proc.exited.then((e) => crashed(proc, e));
}

/** Same for a part that can be stopped on purpose (through the control endpoint): only its crashes count. */
function watchPart(part: Restartable): void {
  part.onCrash((proc) => void proc.exited.then((e) => crashed(proc, e)));
}

function crashed(proc: Proc, e: { code: number | null; signal: NodeJS.Signals | null }): void {
  if (shuttingDown) return;
  const msg = `${proc.name} (pid ${proc.pid}) exited unexpectedly (code ${e.code}, signal ${e.signal}); see ${proc.logFile}`;
  appendFileSync(errorFile(dir), `${msg}\n`);
  void shutdown(msg, 1);
}

async function timed<T>(name: string, timings: Record<string, number>, f: () => Promise<T>): Promise<T> {
  const t = Date.now();
  const v = await f();
  timings[name] = Date.now() - t;
  log(`${name} ready (${since(t)})`);
  return v;
}

async function main(): Promise<void> {
  mkdirSync(logDir, { recursive: true });
  rmSync(envFile(dir), { force: true });
  rmSync(errorFile(dir), { force: true });
  writeFileSync(supervisorPidFile(dir), `${process.pid}\n`);
  recordPidsIn(pidsFile(dir));
  log(`starting sandbox in ${dir} (pid ${process.pid})`);
  if (simPort !== 0) await assertPortFree(simPort, 'TFE node simulator (SANDBOX_SIM_PORT)');

  const timings: Record<string, number> = {};
  const ca = await createCA(join(dir, 'pki'));
  const cpP = timed('control plane', timings, async () => {
    const cp = await startControlPlane({ dir: join(dir, 'controlplane'), logDir, ca, log: (m) => log(`controlplane: ${m}`) });
    own('control plane', cp.stop);
    return cp;
  });
  const motoP = timed('moto', timings, async () => {
    const m = await startMoto({ dir: logDir });
    own('moto', m.stop);
    return m;
  });
  const redisP = timed('redis', timings, async () => {
    const r = await startRedis({ dir: join(dir, 'redis'), logDir, ca });
    own('redis', r.stop);
    return r;
  });
  const postgresP = timed('postgres', timings, async () => {
    const p = await startPostgres({ dir: join(dir, 'postgres'), logDir, ca });
    own('postgres', p.stop);
    return p;
  });
  const modules = Promise.all([import('./simulator/index.ts'), import('./worlds/index.ts')]) as Promise<[SimulatorModule, WorldModule]>;
  const worldP = modules.then(([, w]) => w.loadWorld());
  // Every world's database exists in the one server, so a test may switch worlds (resetNamedWorld).
  const databasesP = (async () => {
    const [p, [, w]] = await Promise.all([postgresP, modules]);
    await timed('world databases', timings, async () => {
      for (const db of await w.worldDatabases()) await p.ensureDatabase(db);
    });
  })();

  // Two paths in parallel. This is world.ts's seedWorld() split in its two halves (seedAws,
  // seedKube) so the AWS half, the simulator and the seeded node's install run while
  // kube-apiserver is still starting. The simulator starts only after seedAws: its polling
  // must not interleave with the seeded (deterministic) ID generation.
  const seededP = (async () => {
    const [moto, world] = await Promise.all([motoP, worldP]);
    return timed(`AWS world "${world.name}" seeded`, timings, () => world.seedAws({ awsEndpoint: moto.endpoint, ca, dir: join(dir, 'world') }));
  })();
  const awsP = (async () => {
    const [moto, redis, postgres, [{ startSimulator }], aws] = await Promise.all([motoP, redisP, postgresP, modules, seededP, databasesP]);
    const simLog = pino({ name: 'tfe-node-simulator', level: process.env.LOG_LEVEL ?? 'info' }, pino.destination({ dest: join(logDir, 'simulator.log'), sync: true }));
    const sim = await timed('simulator', timings, async () => {
      const s = await startSimulator({
        port: simPort,
        awsEndpoint: moto.endpoint,
        region: aws.region,
        redisAlias: { host: redis.host, port: redis.port, caFile: redis.caFile },
        postgresAlias: { host: postgres.host, port: postgres.port, caFile: postgres.caFile },
        installDelayMs,
        stateDir: dir,
        ca,
        logger: simLog,
      });
      own('simulator', s.stop);
      return s;
    });
    await timed('seeded node healthy', timings, () =>
      waitFor(`the seeded TFE node behind ${sim.url}/_health_check`, async () => (await fetch(`${sim.url}/_health_check`, { signal: AbortSignal.timeout(2_000) })).ok, {
        timeoutMs: installDelayMs + 60_000,
        intervalMs: 100,
      }),
    );
    return { aws, sim };
  })();
  const kubeP = (async () => {
    const [cp, redis, aws] = await Promise.all([cpP, redisP, seededP]);
    const [world, { applyKubeObjects }] = await Promise.all([worldP, import('./world.ts')]);
    await timed('Kubernetes world seeded', timings, () =>
      applyKubeObjects(cp.kubeconfigPath, world.kubeObjects({ host: redis.host, port: redis.port, password: redis.password, caFile: redis.caFile }, aws)),
    );
  })();
  const controlP = (async () => {
    const [cp, redis, postgres] = await Promise.all([cpP, redisP, postgresP]);
    const control = await startControlServer([cp.parts.etcd, cp.parts.apiserver, redis.part, postgres.part], log);
    own('control endpoint', control.stop);
    return control;
  })();

  const all = [cpP, motoP, redisP, modules, awsP, kubeP, controlP, postgresP, databasesP];
  const settled = await Promise.allSettled(all);
  const errors = [...new Set(settled.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message ?? String(r.reason)] : [])))];
  if (errors.length) throw new Error(errors.join('\n'));
  const [cp, moto, redis, , { aws, sim }, , control, postgres] = (await Promise.all(all)) as [
    ControlPlane,
    Awaited<typeof motoP>,
    Awaited<typeof redisP>,
    [SimulatorModule, WorldModule],
    Awaited<typeof awsP>,
    void,
    Awaited<typeof controlP>,
    Awaited<typeof postgresP>,
    void,
  ];
  // From now on a part that dies takes the sandbox down (only crashes: the control endpoint may stop parts on purpose).
  watch(moto.proc);
  for (const part of [cp.parts.etcd, cp.parts.apiserver, redis.part, postgres.part]) watchPart(part);
  const { CREDENTIALS } = await import('./world.ts');
  writeFileSync(join(dir, 'world.json'), `${JSON.stringify(aws, null, 2)}\n`);

  const env: SandboxEnv = {
    KUBECONFIG: cp.kubeconfigPath,
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_REGION: aws.region,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    REDIS_HOST: redis.host,
    REDIS_PORT: String(redis.port),
    REDIS_CA_FILE: redis.caFile,
    REDIS_PASSWORD: redis.password,
    PG_HOST: postgres.host,
    PG_PORT: String(postgres.port),
    PG_CA_FILE: postgres.caFile,
    TFE_SIM_URL: sim.url,
    // The TFE API stand-in on TFE_SIM_URL (spec.validation): its organization, workspace and token.
    TFE_SIM_API_ORGANIZATION: sim.tfeApi.organization,
    TFE_SIM_API_WORKSPACE: sim.tfeApi.workspace,
    TFE_SIM_API_TOKEN: sim.tfeApi.token,
    SANDBOX_DIR: dir,
    SANDBOX_NAMESPACE: aws.namespace,
    SANDBOX_WORLD: aws.world,
    SANDBOX_PID: String(process.pid),
    SANDBOX_CONTROL_URL: control.url,
  };
  timings.total = Date.now() - t0;
  writeFileSync(timingsFile(dir), `${JSON.stringify(timings, null, 2)}\n`);
  writeEnv(dir, env);
  log(`sandbox ready in ${since(t0)}: ${JSON.stringify(timings)}`);
}

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void shutdown(sig, 0));
process.on('exit', killAllSync); // last resort: no child outlives us
process.on('uncaughtException', (err) => {
  appendFileSync(errorFile(dir), `${err.stack ?? err}\n`);
  void shutdown(`uncaught exception: ${err.message}`, 1);
});

main().catch((err: Error) => {
  log(`start failed: ${err.message}`);
  mkdirSync(dir, { recursive: true });
  appendFileSync(errorFile(dir), `${err.message}\n`);
  void shutdown('start failed', 1);
});
