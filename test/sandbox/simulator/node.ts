// One simulated TFE node: boots from its instance's user data (as cloud-init would run it),
// reads the secrets the script fetches, "installs" for installDelayMs, then reports health
// the way a real node would, re-checking every recheckMs (Redis can come and go).

import { ForeignUserDataError, parseUserData, type NodeInstall } from '../../../src/tfe/userdata.ts';
import type { AwsView, InstanceRef, LaunchInfo } from './aws.ts';
import {
  configProblems,
  effectiveSettings,
  multiNodeProblem,
  redactedReplicatedConf,
  redactedSettings,
  redisTarget,
  type EffectiveSettings,
  type RedisAlias,
} from './checks.ts';
import { openAdminConsole, type AdminConsole } from './console.ts';
import { checkRedis } from './redis.ts';

export type NodeState = 'installing' | 'healthy' | 'unhealthy';

export const DISABLE_UI = 'disable-replicated-ui';

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
}

export interface NodeContext {
  aws: AwsView;
  config(): SimConfig;
  /** Instances currently in the group (the node's peers and itself). */
  groupSize(asg: string): number;
  redisAlias?: RedisAlias;
  /** PEM of the sandbox CA, trusted by every node. */
  ca?: string;
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
  installArgs: string[] | null;
  settings: Record<string, string> | null;
  secretSettings: Record<string, string> | null;
  replicatedConf: Record<string, unknown> | null;
  consolePort: number | null;
  consoleOpen: boolean;
  note?: string;
}

export class SimNode {
  private state: NodeState = 'installing';
  private reason = 'booting: reading user data';
  private since = Date.now();
  private readonly bootedAt = Date.now();
  private launch?: LaunchInfo;
  private install?: NodeInstall;
  /** Settings with secret values: memory only, never shown. */
  private settings?: EffectiveSettings;
  private installing = false;
  private console?: AdminConsole;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    readonly id: string,
    readonly asg: string,
    readonly ref: InstanceRef,
    private readonly ctx: NodeContext,
  ) {}

  start(): void {
    this.boot(0).catch((err: Error) => this.set('unhealthy', `simulator error while booting: ${err.message}`));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const c = this.console;
    this.console = undefined;
    await c?.close();
  }

  get healthy(): boolean {
    return this.state === 'healthy';
  }

  view(): NodeView {
    const i = this.install;
    return {
      id: this.id,
      asg: this.asg,
      launchTemplateId: this.launch?.launchTemplateId ?? null,
      version: this.launch?.version ?? null,
      state: this.state,
      reason: this.reason,
      since: new Date(this.since).toISOString(),
      bootedAt: new Date(this.bootedAt).toISOString(),
      installArgs: i ? [...i.installArgs] : null,
      settings: i ? redactedSettings(i) : null,
      secretSettings: i ? { ...i.secretSettings } : null,
      replicatedConf: i ? redactedReplicatedConf(i.replicatedConf) : null,
      consolePort: this.console?.port ?? null,
      consoleOpen: this.console !== undefined,
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

  /** What cloud-init does: read user data, run the script up to install.sh. */
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
    try {
      this.install = parseUserData(this.launch.userData);
    } catch (err) {
      if (!(err instanceof ForeignUserDataError)) throw err;
      const where = this.launch.launchTemplateId ? ` (launch template ${this.launch.launchTemplateId} version ${this.launch.version})` : '';
      this.set('unhealthy', `user data${where} cannot be installed: ${err.message}`);
      return;
    }
    const install = this.install;

    const secretValues: Record<string, string> = {};
    const missing: string[] = [];
    for (const [key, id] of Object.entries(install.secretSettings)) {
      const r = await this.ctx.aws.secret(id);
      if (r.ok) secretValues[key] = r.value;
      else missing.push(`secret ${JSON.stringify(id)} for setting ${key} (${r.error})`);
    }
    const license = await this.ctx.aws.secret(install.licenseSecretId);
    if (!license.ok) missing.push(`license secret ${JSON.stringify(install.licenseSecretId)} (${license.error})`);
    if (this.stopped) return;
    if (missing.length) {
      this.set('unhealthy', `boot script stopped before install.sh: cannot read ${missing.join('; ')} from AWS Secrets Manager`);
      return;
    }
    this.settings = effectiveSettings(install, secretValues);

    // install.sh starts Replicated; its admin console listens unless disabled.
    if (!install.installArgs.includes(DISABLE_UI)) {
      try {
        this.console = await openAdminConsole(this.id);
      } catch (err) {
        this.ctx.log.warn({ node: this.id, err: (err as Error).message }, 'cannot open the admin console listener');
      }
      if (this.stopped) {
        await this.stop();
        return;
      }
    }
    this.installing = true;
    this.set('installing', `running install.sh ${install.installArgs.join(' ')}`.trim());
    this.loop();
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
    // An unhealthy node looks again within a second even when recheckMs is long (the scale
    // benchmark's 10 min): a Redis that timed out under load must not keep it down for long.
    void this.evaluate().finally(() => {
      const { recheckMs } = this.ctx.config();
      this.later(this.healthy ? recheckMs : Math.min(recheckMs, 1000), () => this.loop());
    });
  }

  private async evaluate(): Promise<void> {
    const install = this.install!;
    const s = this.settings!;
    let healthy = false;
    let reason: string;
    const problems = configProblems(install, s);
    const crowd = multiNodeProblem(s, this.asg, this.ctx.groupSize(this.asg));
    if (problems.length) {
      reason = problems.join('; ');
    } else if (crowd) {
      reason = crowd;
    } else if (s.enable_active_active === '1') {
      const r = await checkRedis(redisTarget(s, this.ctx.redisAlias), this.ctx.ca);
      if (this.stopped) return;
      healthy = r.ok;
      reason = r.ok ? `Active/Active node: ${r.detail}` : r.reason;
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
}
