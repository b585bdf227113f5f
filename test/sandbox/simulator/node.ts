// One simulated TFE node. It boots as EC2 and cloud-init would: its user data (what IMDS
// serves the instance) runs with bash in the node's own mount namespace, with the real curl,
// jq and AWS CLI (machine.ts). Only the instance metadata service, the installer download
// (network.ts) and the installer itself (standins/) are stand-ins. When the script fails,
// the node is unhealthy with the script's own error line. When it succeeds, the installer
// "runs" for installDelayMs from boot, then health follows from the files the node really
// has (checks.ts), re-checked every recheckMs (Redis can come and go).

import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { AwsView, InstanceFacts, InstanceRef, LaunchInfo, RoleCredentials } from './aws.ts';
import { readFileSync } from 'node:fs';
import { multiNodeProblem, redactedReplicatedConf, redactedSettings, redisTargetOf, type RedisAlias } from './checks.ts';
import { atLeast, healthEndpoints } from './fdo.ts';
import { openAdminConsole, type AdminConsole } from './console.ts';
import { failureLine, Machine, type CommandOutcome, type Image } from './machine.ts';
import { openNodeNetwork, type InstallerSite, type NodeNetwork } from './network.ts';
import { checkRedis, queueThroughRedis } from './redis.ts';
import { checkBucket, checkPostgres, pgTarget, type ExternalCheck, type PostgresAlias } from './externals.ts';
import { readInstalled, type Installed } from './standins.ts';

export type NodeState = 'installing' | 'healthy' | 'unhealthy';

export interface SimLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface SimConfig {
  installDelayMs: number;
  neverHealthy: boolean;
  /** How often the Auto Scaling groups are listed. */
  pollMs: number;
  /** How often an installed node re-checks its health, Redis included. */
  recheckMs: number;
  /** How long each step of a TFE run takes (tfe-api.ts). */
  runStepMs: number;
  /** Runs never get past planning (a validation that times out). */
  runsHang: boolean;
  /** POST /api/v2/runs answers 422 (a workspace with no configuration version). */
  runsRefused: boolean;
  /** How much longer than runStepMs a run stays in planning (keeps runs in flight). */
  runPlanMs: number;
  /** Whether the nodes' SSM agents are online (ssm.ts); false: SendCommand answers InvalidInstanceId. */
  ssmAgent: boolean;
}

/** A TLS certificate and key (PEM text) for the TFE hostname. */
export type TlsPair = { cert: string; key: string };

export interface NodeContext {
  aws: AwsView;
  region: string;
  config(): SimConfig;
  /** Instances currently in the group (the node's peers and itself). */
  groupSize(asg: string): number;
  redisAlias?: RedisAlias;
  /** Where RDS endpoints (*.rds.amazonaws.com) and *.sandbox.internal lead: the sandbox PostgreSQL. */
  postgresAlias?: PostgresAlias;
  /** PEM of the sandbox CA, trusted by every node. */
  ca?: string;
  image: Image;
  site: InstallerSite;
  /** Where the nodes' disks live. */
  nodesDir: string;
  /** A certificate for a hostname from the sandbox CA (for installs that bring none). */
  certFor(hostname: string): Promise<TlsPair>;
  /** Waits for one of the machine's boot slots (real instances boot on their own CPUs; ours share two). */
  bootSlot(): Promise<() => void>;
  /** TFE's node heartbeats in its database (FDO): this node runs `version` now. */
  heartbeat(database: string, nodeId: string, version: string): void;
  /** Versions other nodes of this database ran within `withinMs` (FDO 2.0's startup check). */
  recentVersions(database: string, exceptNodeId: string, withinMs: number): { nodeId: string; version: string }[];
  log: SimLogger;
  changed(): void;
}

export interface NodeView {
  id: string;
  asg: string;
  launchTemplateId: string | null;
  version: number | null;
  state: NodeState;
  reason: string;
  since: string;
  bootedAt: string;
  /** Exit code of the user data (null while it runs or before it started). */
  exitCode: number | null;
  installKind: string | null;
  installArgs: string[] | null;
  /** Replicated "sequence N" or the FDO image tag. */
  release: string | null;
  /** FDO: the container's image tag, operational mode, name, database and published ports; whether TFE started (startup checks passed). */
  fdo: { tag: string; mode: string; container: string; database: string; ports: string[]; started: boolean } | null;
  settings: Record<string, string> | null;
  replicatedConf: Record<string, unknown> | null;
  hostname: string | null;
  /** The node's HTTPS listener (its port 443): /_health_check with the TFE hostname's certificate. */
  httpsPort: number | null;
  consolePort: number | null;
  consoleOpen: boolean;
  /** What the node asked the network for (IMDS, installer download). */
  requests: string[];
  /** The last lines of cloud-init's output. */
  console: string[];
  /** TFE's node drain was asked for (`replicated admin node-drain`): the node takes no new runs. */
  draining: boolean;
  /** When the simulator told the node its runs were done (the drain command then ends). */
  drainedAt: string | null;
  /** How often each health path was asked of this node. */
  healthAsked: Record<string, number>;
  note?: string;
}

const DRAIN_REQUESTED = '/var/lib/tfe-sim/drain-requested';
const DRAINED = '/var/lib/tfe-sim/drained';
/** FDO: TFE started in the container (its startup checks passed); the docker stand-in's exec needs it. */
const FDO_RUNNING = '/var/lib/tfe-sim/docker/running.json';
/** FDO 2.0: startup fails while a node of another version ran this recently (release notes 2.0.0). */
export const FDO_VERSION_WINDOW_MS = 10_000;

export class SimNode {
  private state: NodeState = 'installing';
  private reason = 'booting: reading user data';
  private since = Date.now();
  private readonly bootedAt = Date.now();
  /** How often each health path was asked of this node (by the operator, a load balancer). */
  private readonly healthAsked: Record<string, number> = {};
  private launch?: LaunchInfo;
  private installed?: Installed;
  private exitCode: number | null = null;
  private installing = false;
  private console?: AdminConsole;
  private https?: https.Server;
  private httpsPort: number | null = null;
  private network?: NodeNetwork;
  private readonly machine: Machine;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private facts?: Promise<InstanceFacts>;
  private creds?: { at: number; value: Promise<RoleCredentials | undefined> };
  private bootStarted = false;
  private bootEnded!: () => void;
  private readonly booted = new Promise<void>((resolve) => (this.bootEnded = resolve));
  /** One thing at a time runs on the machine (the boot, then SSM commands in turn). */
  private machineQueue: Promise<void> = Promise.resolve();
  private drainRequestedAt: number | null = null;
  private drainedAt: number | null = null;
  /** FDO: TFE passed its startup checks and runs (it keeps running; Docker restarts it until then). */
  private started = false;

  constructor(
    readonly id: string,
    readonly asg: string,
    readonly ref: InstanceRef,
    private readonly ctx: NodeContext,
  ) {
    this.machine = new Machine(join(ctx.nodesDir, id));
  }

  start(): void {
    this.boot(0).catch((err: Error) => this.set('unhealthy', `simulator error while booting: ${err.message}`));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.bootEnded();
    clearTimeout(this.timer);
    this.machine.destroy();
    const c = this.console;
    this.console = undefined;
    const h = this.https;
    this.https = undefined;
    const n = this.network;
    this.network = undefined;
    await Promise.all([
      c?.close(),
      n?.close(),
      h &&
        new Promise<void>((done) => {
          h.close(() => done());
          h.closeAllConnections();
        }),
    ]);
  }

  get healthy(): boolean {
    return this.state === 'healthy';
  }

  /** The SSM agent runs once the machine started its user data, until the instance is gone. */
  get agentOnline(): boolean {
    return this.bootStarted && !this.stopped;
  }

  get draining(): boolean {
    // Read the request at the moment it matters (a run being placed), not only on the next
    // health loop: TFE stops taking jobs as soon as node-drain runs.
    this.checkDrain();
    return this.drainRequestedAt !== null;
  }

  get drained(): boolean {
    return this.drainedAt !== null;
  }

  /** Notices the node's own drain request (the admin CLI stand-in writes it on the node's disk). */
  checkDrain(): void {
    if (this.drainRequestedAt !== null || !this.bootStarted || !this.machine.wrote(DRAIN_REQUESTED)) return;
    this.drainRequestedAt = Date.now();
    this.ctx.log.info({ node: this.id, asg: this.asg }, `node ${this.id} draining: takes no new runs`);
    this.ctx.changed();
  }

  /** No run is left on this draining node: tell it (its node-drain command ends). */
  markDrained(): void {
    if (this.drainedAt !== null || this.stopped) return;
    this.machine.write(DRAINED, `${new Date().toISOString()}\n`);
    this.drainedAt = Date.now();
    this.ctx.log.info({ node: this.id, asg: this.asg }, `node ${this.id} drained`);
    this.ctx.changed();
  }

  /**
   * Runs an SSM command's lines as one bash script on this node (as the agent does with
   * AWS-RunShellScript: the script under /var/lib/amazon/ssm/, run as root), after the boot and
   * after any command before it: an overlay's upper dir takes one mount at a time.
   */
  async runCommand(commandId: string, lines: readonly string[], timeoutMs: number | null): Promise<CommandOutcome> {
    const before = this.machineQueue;
    let done!: () => void;
    this.machineQueue = new Promise((resolve) => (done = resolve));
    try {
      await before;
      await this.booted;
      if (this.stopped) return { code: null, signal: null, timedOut: false, stdout: '', stderr: `instance ${this.id} is gone` };
      const script = `/var/lib/amazon/ssm/${this.id}/document/orchestration/${commandId}/awsrunShellScript/0.awsrunShellScript/_script.sh`;
      this.machine.write(script, `${lines.join('\n')}\n`, 0o700);
      return await this.machine.run(script, timeoutMs);
    } finally {
      done();
    }
  }

  /**
   * One unit of a run's work on this node. An Active/Active node queues it through its Redis for
   * real (TFE queues runs there), so a Redis it cannot use fails the run; a standalone node uses
   * its internal Redis.
   */
  async work(job: string): Promise<{ ok: true } | { ok: false; reason: string }> {
    const i = this.installed;
    if (!this.healthy || !i) return { ok: false, reason: `node ${this.id} is not serving (${this.reason})` };
    if (!i.activeActive || !i.redis) return { ok: true };
    const r = await queueThroughRedis(redisTargetOf(i.redis, this.ctx.redisAlias), this.ctx.ca, job);
    return r.ok ? { ok: true } : { ok: false, reason: `node ${this.id}: ${r.reason}` };
  }

  get stateName(): NodeState {
    return this.state;
  }

  get consoleIsOpen(): boolean {
    return this.console !== undefined;
  }

  get reasonText(): string {
    return this.reason;
  }

  view(): NodeView {
    const i = this.installed;
    return {
      id: this.id,
      asg: this.asg,
      launchTemplateId: this.launch?.launchTemplateId ?? null,
      version: this.launch?.version ?? null,
      state: this.state,
      reason: this.reason,
      since: new Date(this.since).toISOString(),
      bootedAt: new Date(this.bootedAt).toISOString(),
      exitCode: this.exitCode,
      installKind: i?.kind ?? null,
      installArgs: i ? [...i.args] : null,
      release: i?.release ?? null,
      fdo: i?.fdo ? { ...i.fdo, ports: [...i.fdo.ports], started: this.started } : null,
      settings: i ? redactedSettings(i.settings) : null,
      replicatedConf: i ? redactedReplicatedConf(i.replicatedConf) : null,
      hostname: i?.hostname ?? null,
      httpsPort: this.httpsPort,
      consolePort: this.console?.port ?? null,
      consoleOpen: this.console !== undefined,
      requests: [...(this.network?.requests ?? [])],
      console: this.state === 'healthy' ? [] : this.machine.consoleTail(),
      draining: this.draining,
      drainedAt: this.drainedAt === null ? null : new Date(this.drainedAt).toISOString(),
      healthAsked: { ...this.healthAsked },
      ...(this.launch?.note ? { note: this.launch.note } : {}),
    };
  }

  private set(state: NodeState, reason: string): void {
    if (state === this.state && reason === this.reason) return;
    const changedState = state !== this.state;
    this.state = state;
    this.reason = reason;
    if (changedState) this.since = Date.now();
    this.ctx.log.info({ node: this.id, asg: this.asg, version: this.launch?.version ?? null, state, reason }, `node ${this.id} ${state}`);
    this.ctx.changed();
  }

  private later(ms: number, fn: () => void): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(fn, ms);
  }

  private instanceFacts(): Promise<InstanceFacts> {
    this.facts ??= this.ctx.aws.instanceFacts(this.id).catch((err: Error) => {
      this.facts = undefined;
      throw err;
    });
    return this.facts;
  }

  /** The instance profile's session, renewed every 10 minutes (EC2 rotates them too). */
  private roleCredentials(): Promise<RoleCredentials | undefined> {
    if (!this.creds || Date.now() - this.creds.at > 600_000) {
      const value = this.instanceFacts().then((f) => (f.instanceProfileArn ? this.ctx.aws.roleCredentials(f.instanceProfileArn, this.id) : undefined));
      this.creds = { at: Date.now(), value };
      value.catch(() => (this.creds = undefined));
    }
    return this.creds.value;
  }

  /** What EC2 and cloud-init do: fetch the user data, run it. */
  private async boot(attempt: number): Promise<void> {
    try {
      this.launch = await this.ctx.aws.launchOf(this.ref);
    } catch (err) {
      // The AWS API failing is not the node's fault: keep trying.
      this.set('installing', `booting: cannot read the instance's user data yet (${(err as Error).message})`);
      this.later(Math.min(2000, 200 * 2 ** attempt), () => void this.boot(attempt + 1));
      return;
    }
    if (this.stopped) return;
    const userData = this.launch.userData;
    if (!userData.startsWith('#!')) {
      const where = this.launch.launchTemplateId ? ` (launch template ${this.launch.launchTemplateId} version ${this.launch.version})` : '';
      const first = userData.split('\n')[0]!.slice(0, 60);
      this.set('unhealthy', `user data${where} is not a script cloud-init runs: it starts with ${JSON.stringify(first || '(empty)')}, not "#!"`);
      return;
    }

    this.network = await openNodeNetwork(
      { facts: () => this.instanceFacts(), credentials: () => this.roleCredentials(), userData: () => userData, region: this.ctx.region },
      this.ctx.site,
    );
    if (this.stopped) return void (await this.stop());
    // EC2 has the instance profile's credentials in IMDS before the instance boots: fetch them
    // now, so the AWS CLI's IMDS calls (1 s timeout, one attempt) never wait on the emulator.
    await this.roleCredentials().catch(() => undefined);
    if (this.stopped) return;
    this.set('installing', 'cloud-init: waiting for a boot slot');
    const release = await this.ctx.bootSlot();
    let outcome: { code: number | null; signal: NodeJS.Signals | null };
    try {
      if (this.stopped) return;
      this.machine.prepare(this.ctx.image, Buffer.from(userData, 'utf8'));
      this.set('installing', 'cloud-init: running the user data');
      this.bootStarted = true;
      outcome = await this.machine.boot(this.network.env);
    } finally {
      release();
      this.bootEnded();
    }
    const { code, signal } = outcome;
    if (this.stopped) return;
    this.exitCode = code;
    if (code !== 0) {
      const why = failureLine(this.machine.consoleTail(40));
      this.set('unhealthy', `user data failed (${signal ? `killed by ${signal}` : `exit code ${code}`}): ${why}`);
      return;
    }
    let installed: Installed | undefined;
    try {
      installed = readInstalled(this.machine.files());
    } catch (err) {
      this.set('unhealthy', `the installer left files the node cannot read: ${(err as Error).message}`);
      return;
    }
    if (!installed) {
      this.set('unhealthy', 'the user data finished without running an installer: nothing is installed on this node');
      return;
    }
    this.installed = installed;

    // Replicated's admin console listens on 8800 unless install.sh was told otherwise.
    if (installed.consoleOpen) {
      try {
        this.console = await openAdminConsole(this.id);
      } catch (err) {
        this.ctx.log.warn({ node: this.id, err: (err as Error).message }, 'cannot open the admin console listener');
      }
      if (this.stopped) return void (await this.stop());
    }
    await this.serveHttps(installed);
    if (this.stopped) return void (await this.stop());
    this.installing = true;
    this.set('installing', `${installed.kind} installer running (${installed.args.join(' ') || 'no arguments'})`);
    this.loop();
  }

  /**
   * The node's port 443, with the install's own certificate: TFE's /_health_check, and for FDO
   * releases from 1.2 the readiness endpoint (/_health_check answers 410 from 2.0).
   */
  private async serveHttps(installed: Installed): Promise<void> {
    const hostname = installed.hostname;
    let tls: TlsPair | undefined;
    if (installed.tls) {
      try {
        tls = { cert: readFileSync(installed.tls.certFile, 'utf8'), key: readFileSync(installed.tls.keyFile, 'utf8') };
      } catch {
        tls = undefined;
      }
    } else if (hostname) {
      tls = await this.ctx.certFor(hostname);
    }
    if (!tls) return;
    let server: https.Server;
    try {
      server = https.createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
        const r = this.answerHealth((req.url ?? '/').split('?')[0]!, req.headers.host);
        res.writeHead(r.status, { 'content-type': 'application/json', ...(r.location ? { location: r.location } : {}) }).end(`${JSON.stringify(r.body)}\n`);
      });
    } catch (err) {
      this.ctx.log.warn({ node: this.id, err: (err as Error).message }, 'cannot serve HTTPS with the node certificate');
      return;
    }
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    this.https = server;
    this.httpsPort = (server.address() as AddressInfo).port;
  }

  /**
   * What the node answers on its health paths. Replicated and FDO releases before 1.2:
   * /_health_check (200 or 503). FDO from 1.2: /api/v1/health/readiness in TFE's JSON
   * ({ node, status OK|ERROR|DRAINING, checks }), 503 unless OK; 1.2.0's answers 301 unless the
   * Host header is TFE_HOSTNAME (a known issue fixed in 1.2.1); /_health_check is deprecated in
   * 1.2 and answers 410 from 2.0.
   */
  answerHealth(path: string, host?: string): { status: number; body: unknown; location?: string } {
    this.healthAsked[path] = (this.healthAsked[path] ?? 0) + 1;
    const tag = this.installed?.fdo?.tag;
    const ep = tag ? healthEndpoints(tag) : { readiness: false, readinessNeedsHost: false, healthCheck: 'serves' as const };
    if (path === '/_health_check') {
      if (ep.healthCheck === 'gone') return { status: 410, body: { errors: [{ status: '410', title: 'Gone', detail: '/_health_check was removed in 2.0: use /api/v1/health/readiness' }] } };
      const ok = this.healthy;
      return { status: ok ? 200 : 503, body: { status: ok ? 'OK' : this.state, reason: this.reason } };
    }
    if (path === '/api/v1/health/readiness' && ep.readiness) {
      const hostname = this.installed?.hostname;
      if (ep.readinessNeedsHost && (host ?? '').replace(/:\d+$/, '') !== hostname) {
        return { status: 301, body: {}, location: `https://${hostname}${path}` };
      }
      return this.readiness();
    }
    return { status: 404, body: { errors: [{ status: '404', title: 'not found' }] } };
  }

  /** TFE's single-node readiness document; status DRAINING while the node drains. */
  readiness(): { status: number; body: { node: string; status: 'OK' | 'ERROR' | 'DRAINING'; checks: { check: string; status: 'OK' | 'ERROR' }[] } } {
    const i = this.installed;
    const up = this.started || (i !== undefined && i.kind !== 'docker' && this.healthy);
    const redisDown = !this.healthy && /redis/i.test(this.reason);
    const names = ['archivist', 'atlas', 'database', ...(i?.fdo?.mode === 'disk' ? ['disk'] : []), 'redis', 'task-worker', 'vault'];
    const checks = names.map((check) => {
      const ok = check === 'redis' ? up && !redisDown : check === 'task-worker' ? this.healthy && !this.draining : up && (this.healthy || redisDown);
      return { check, status: ok ? ('OK' as const) : ('ERROR' as const) };
    });
    const status = checks.some((c) => c.status === 'ERROR' && c.check !== 'task-worker') || !this.healthy ? 'ERROR' : this.draining ? 'DRAINING' : 'OK';
    const container = i?.fdo?.container ?? this.id;
    return { status: status === 'OK' ? 200 : 503, body: { node: container, status, checks } };
  }

  private loop(): void {
    if (this.stopped) return;
    const cfg = this.ctx.config();
    const left = this.bootedAt + cfg.installDelayMs - Date.now();
    if (this.installing && left > 0) {
      // installDelayMs may change while we wait (POST /sim/config): look again soon.
      this.later(Math.min(left, 200), () => this.loop());
      return;
    }
    this.installing = false;
    this.checkDrain();
    // An unhealthy node looks again within a second even when recheckMs is long (the scale
    // benchmark's 10 min): a Redis that timed out under load must not keep it down for long.
    void this.evaluate().finally(() => {
      const { recheckMs } = this.ctx.config();
      this.later(this.healthy ? recheckMs : Math.min(recheckMs, 1000), () => this.loop());
    });
  }

  /** TFE's startup checks of its external services: the database answers with the node's pg_* settings, the bucket exists. */
  private async checkExternalServices(s: Record<string, string>): Promise<ExternalCheck> {
    const [db, bucket] = await Promise.all([
      checkPostgres(pgTarget(s, this.ctx.postgresAlias), this.ctx.ca),
      checkBucket(s, (name) => this.ctx.aws.bucket(name)),
    ]);
    return !db.ok ? db : bucket;
  }

  /**
   * FDO: TFE's startup checks, run each time Docker (re)starts the container until they pass
   * (restart: unless-stopped). Configuration first; from 2.0, no node of another version may have
   * run in the last 10 seconds. Once they pass, TFE runs and beats its heartbeat.
   */
  private startupCheck(i: Installed): string | undefined {
    const fdo = i.fdo!;
    if (i.problems.length) return `startup check failed: name=configuration: ${i.problems.join('; ')}`;
    if (atLeast(fdo.tag, 2)) {
      const others = this.ctx.recentVersions(fdo.database, this.id, FDO_VERSION_WINDOW_MS).filter((o) => o.version !== fdo.tag);
      if (others.length) {
        const list = others.map((o) => `${o.nodeId} (${o.version})`).join(', ');
        return `startup check failed: name=version: node(s) of another version ran in the last ${FDO_VERSION_WINDOW_MS / 1000} seconds: ${list}; this node runs ${fdo.tag}`;
      }
    }
    return undefined;
  }

  private async evaluate(): Promise<void> {
    const i = this.installed!;
    let healthy = false;
    let reason: string;
    let external: ExternalCheck | undefined;
    if (i.fdo && !this.started) {
      const refused = this.startupCheck(i);
      if (refused) {
        this.set('unhealthy', refused);
        return;
      }
      this.started = true;
      this.machine.write(FDO_RUNNING, `${JSON.stringify({ mode: i.fdo.mode, image: i.args[0], container: i.fdo.container })}\n`);
      this.ctx.log.info({ node: this.id, asg: this.asg, tag: i.fdo.tag }, `node ${this.id}: Terraform Enterprise ${i.fdo.tag} started (startup checks passed)`);
    }
    if (i.fdo) this.ctx.heartbeat(i.fdo.database, this.id, i.fdo.tag);
    const problems = i.fdo ? [] : i.problems;
    const crowd = i.kind === 'replicated' ? multiNodeProblem(i.settings, this.asg, this.ctx.groupSize(this.asg)) : this.fdoCrowd(i);
    if (problems.length) {
      reason = problems.join('; ');
    } else if (crowd) {
      reason = crowd;
    } else if (i.kind === 'replicated' && !(external = await this.checkExternalServices(i.settings)).ok) {
      // (FDO nodes: their TFE_DATABASE_* and object storage checks are not simulated yet.)
      if (this.stopped) return;
      reason = external.reason;
    } else if (i.activeActive && i.redis) {
      const r = await checkRedis(redisTargetOf(i.redis, this.ctx.redisAlias), this.ctx.ca);
      if (this.stopped) return;
      healthy = r.ok;
      reason = r.ok ? `Active/Active node: ${r.detail}` : r.reason;
    } else if (i.fdo) {
      healthy = true;
      reason = `${i.fdo.mode} operational mode, ${i.fdo.tag}`;
    } else {
      healthy = true;
      reason = 'standalone node (internal Redis)';
    }
    if (healthy && this.ctx.config().neverHealthy) {
      healthy = false;
      reason = `neverHealthy is set on the simulator (otherwise: ${reason})`;
    }
    this.set(healthy ? 'healthy' : 'unhealthy', reason);
  }

  /** Several nodes share one FDO installation only in active-active operational mode. */
  private fdoCrowd(i: Installed): string | undefined {
    const n = this.ctx.groupSize(this.asg);
    if (n > 1 && !i.activeActive) {
      return `${n} instances in Auto Scaling group ${this.asg} but TFE_OPERATIONAL_MODE is ${i.fdo!.mode}, not active-active: nodes without an external Redis cannot share one installation`;
    }
    return undefined;
  }
}
