// The TFE node simulator: stands in for the one thing that cannot run in the sandbox
// (Terraform Enterprise). It reads what a real node reads (its instance's launch template
// user data and the secrets that points to), "installs" for installDelayMs, and reports
// health only when the settings would really work: for several nodes, enable_active_active
// "1" and a Redis it can really reach (password and TLS checked by the real redis-server).
// See http.ts for the HTTP API.

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCA, issueCert, type CA } from '../certs.ts';
import { AwsView } from './aws.ts';
import { Fleet } from './fleet.ts';
import { createHandler } from './http.ts';
import { findAwsCli } from './machine.ts';
import { installerSite } from './network.ts';
import type { SimLogger, TlsPair } from './node.ts';
import { INSTALL_KINDS, preinstalledFiles } from './standins.ts';
import { TfeApi, type TfeApiConfig } from './tfe-api.ts';

export type { FleetState } from './fleet.ts';
export type { NodeView, NodeState, SimConfig } from './node.ts';
export type { SimRun, TfeApiConfig } from './tfe-api.ts';

export interface SimulatorOptions {
  /** HTTP port on 127.0.0.1 (0: a free one). */
  port: number;
  awsEndpoint: string;
  region: string;
  /** Where ElastiCache endpoints (*.cache.amazonaws.com) lead: the sandbox redis-server and its CA. */
  redisAlias?: { host: string; port: number; caFile?: string };
  /** Where RDS endpoints (*.rds.amazonaws.com) and private names (*.internal) lead: the sandbox PostgreSQL and its CA. Without it, those hosts are not checked. */
  postgresAlias?: { host: string; port: number; caFile?: string };
  installDelayMs: number;
  /** Keeps every node unhealthy (rollback tests); can be changed with POST /sim/config. */
  neverHealthy?: boolean;
  /** When set, the current state is kept in <stateDir>/simulator-state.json (secrets redacted). */
  stateDir?: string;
  /** How often the Auto Scaling groups are listed (default 100 ms; POST /sim/config changes it). */
  pollMs?: number;
  /** How often an installed node re-checks its health, Redis included (default 1000 ms; POST /sim/config changes it). */
  recheckMs?: number;
  /** pino or anything with info/warn(obj, msg); silent by default. */
  logger?: SimLogger;
  /**
   * The sandbox CA: nodes trust it, and it signs the installer download's certificate and the
   * TFE hostname's certificate of installs that bring none. Default: a CA of the simulator's own.
   */
  ca?: CA;
  /** Where the nodes' disks live (default <stateDir>/nodes, else a temporary folder). */
  nodesDir?: string;
  /** How many nodes run their user data at once (default: 2 per CPU, at least 2). */
  bootConcurrency?: number;
  /** The TFE API stand-in's one organization, workspace and token (default sandbox/canary and a random token). */
  tfeApi?: Partial<TfeApiConfig>;
  /** How long each step of a run takes (default 250 ms; POST /sim/config changes it). */
  runStepMs?: number;
}

export interface Simulator {
  url: string;
  port: number;
  /** The TFE API stand-in's organization, workspace and bearer token. */
  tfeApi: TfeApiConfig;
  stop(): Promise<void>;
}

const silent: SimLogger = { info() {}, warn() {} };

export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  const log = opts.logger ?? silent;
  const scratch = mkdtempSync(join(tmpdir(), 'tfe-sim-'));
  const pki = join(scratch, 'pki');
  const sandboxCa = opts.ca ?? (await createCA(pki, 'tfe-node-simulator CA'));
  // Nodes trust the sandbox CA; Redis's CA too when it is another one.
  const redisCa = opts.redisAlias?.caFile ? readFileSync(opts.redisAlias.caFile, 'utf8') : undefined;
  const pgCa = opts.postgresAlias?.caFile ? readFileSync(opts.postgresAlias.caFile, 'utf8') : undefined;
  const trusted = [...new Set([sandboxCa.pem, ...(redisCa ? [redisCa] : []), ...(pgCa ? [pgCa] : [])])].join('');
  const ca = redisCa || pgCa ? [...new Set([redisCa, pgCa].filter((c): c is string => !!c))].join('') : sandboxCa.pem;
  const aws = new AwsView(opts.awsEndpoint, opts.region);
  const nodesDir = opts.nodesDir ?? (opts.stateDir ? join(opts.stateDir, 'nodes') : join(scratch, 'nodes'));
  rmSync(nodesDir, { recursive: true, force: true });
  mkdirSync(nodesDir, { recursive: true });
  const pem = async (name: string, dns: string[]): Promise<TlsPair> => {
    const pair = await issueCert(sandboxCa, pki, name, { dns });
    return { cert: readFileSync(pair.certFile, 'utf8'), key: readFileSync(pair.keyFile, 'utf8') };
  };
  const hosts = [...new Set(INSTALL_KINDS.flatMap((k) => [...k.downloads.map((d) => d.host), ...Object.keys(k.sites ?? {})]))];
  const site = installerSite(await pem('installer-downloads', hosts));
  const certs = new Map<string, Promise<TlsPair>>();
  const certFor = (hostname: string): Promise<TlsPair> => {
    let c = certs.get(hostname);
    if (!c) {
      c = pem(`tfe-${certs.size}`, [hostname]);
      certs.set(hostname, c);
    }
    return c;
  };

  let writeTimer: NodeJS.Timeout | undefined;
  const stateFile = opts.stateDir ? join(opts.stateDir, 'simulator-state.json') : undefined;
  if (opts.stateDir) mkdirSync(opts.stateDir, { recursive: true });
  const changed = () => {
    if (!stateFile || writeTimer) return;
    writeTimer = setTimeout(() => {
      writeTimer = undefined;
      writeState(stateFile, fleet.snapshot());
    }, 200);
  };

  const fleet: Fleet = new Fleet({
    aws,
    region: opts.region,
    config: {
      installDelayMs: opts.installDelayMs,
      neverHealthy: opts.neverHealthy ?? false,
      pollMs: opts.pollMs ?? 100,
      recheckMs: opts.recheckMs ?? 1000,
      runStepMs: opts.runStepMs ?? 250,
      runsHang: false,
      runsRefused: false,
      runPlanMs: 0,
      ssmAgent: true,
    },
    redisAlias: opts.redisAlias,
    postgresAlias: opts.postgresAlias,
    ca,
    image: { awsEndpoint: opts.awsEndpoint, caPem: trusted, awsCli: findAwsCli(), preinstalled: preinstalledFiles() },
    site,
    nodesDir,
    certFor,
    bootConcurrency: opts.bootConcurrency ?? Math.max(2, 2 * availableParallelism()),
    log,
    changed,
    runs: { unfinishedOn: (id): string[] => api.unfinishedOn(id), nodeLeft: (id): void => api.nodeLeft(id) },
  });

  const tfeApi: TfeApiConfig = {
    organization: opts.tfeApi?.organization ?? 'sandbox',
    workspace: opts.tfeApi?.workspace ?? 'canary',
    token: opts.tfeApi?.token ?? `sim.atlasv1.${randomBytes(24).toString('hex')}`,
  };
  const api: TfeApi = new TfeApi(tfeApi, { serving: () => fleet.serving(), anyHealthy: () => fleet.anyHealthy(), node: (id) => fleet.node(id), config: () => fleet.getConfig(), log });
  const server = http.createServer(createHandler(fleet, api));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  fleet.start();
  log.info({ url, awsEndpoint: opts.awsEndpoint, installDelayMs: opts.installDelayMs }, 'TFE node simulator listening');

  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    tfeApi,
    stop: () =>
      (stopped ??= (async () => {
        api.stop();
        await fleet.stop();
        clearTimeout(writeTimer);
        if (stateFile) writeState(stateFile, fleet.snapshot());
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        aws.destroy();
        rmSync(scratch, { recursive: true, force: true });
      })()),
  };
}

function writeState(file: string, state: unknown): void {
  try {
    writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2) + '\n');
    renameSync(`${file}.tmp`, file);
  } catch {
    /* the state file is a convenience; never fail the simulator over it */
  }
}
