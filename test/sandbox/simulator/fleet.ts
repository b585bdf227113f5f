// Every node of every Auto Scaling group: polls the AWS emulator, starts a SimNode for each
// new instance and forgets (closes) the ones that left their group.

import type { PostgresAlias } from './externals.ts';
import type { AsgChange, AwsView, GroupView, InstanceRef, TargetReport } from './aws.ts';
import type { RedisAlias } from './checks.ts';
import type { Image } from './machine.ts';
import type { InstallerSite } from './network.ts';
import { SimNode, type NodeView, type SimConfig, type SimLogger, type TlsPair } from './node.ts';
import { SsmAgents, type SsmLogEntry } from './ssm.ts';

/** The runs on the nodes (tfe-api.ts), as the fleet needs them for drains and departures. */
export interface FleetRuns {
  /** Unfinished runs on this node. */
  unfinishedOn(nodeId: string): string[];
  /** The node is gone: its unfinished runs are killed. */
  nodeLeft(nodeId: string): void;
}

/** A node that left (instance terminated, detached or gone), and what it left behind. */
export interface Departure {
  id: string;
  at: string;
  /** When it booted, and what it ran (install kind, release): with `at`, the span it ran TFE. */
  bootedAt: string;
  installKind: string | null;
  release: string | null;
  drainRequested: boolean;
  drained: boolean;
  unfinishedRuns: string[];
}

export interface FleetOptions {
  aws: AwsView;
  region: string;
  config: SimConfig;
  redisAlias?: RedisAlias;
  postgresAlias?: PostgresAlias;
  ca?: string;
  image: Image;
  site: InstallerSite;
  nodesDir: string;
  certFor(hostname: string): Promise<TlsPair>;
  /** How many nodes run their user data at once (the rest wait their turn). */
  bootConcurrency: number;
  log: SimLogger;
  changed(): void;
  runs: FleetRuns;
}

export interface FleetState {
  config: SimConfig;
  nodes: NodeView[];
  groups: { name: string; desired: number; instances: string[] }[];
  /** Per group, the desired capacities in order, e.g. { tfe: [1, 0, 1, 0, 2] }. */
  scaleHistory: Record<string, number[]>;
  scaleHistorySource: 'moto' | 'observed';
  scaleEvents: AsgChange[];
  lastPollError: string | null;
  polledAt: string | null;
  /** Every SSM command the nodes ran (ssm.ts). */
  ssm: SsmLogEntry[];
  departures: Departure[];
}

/**
 * States of an instance that is gone: it no longer runs. An instance that is Terminating
 * (Terminating:Wait while a lifecycle hook holds it) or Detaching still runs TFE until then.
 */
const LEAVING = /^(Terminated|Detached)/;

export class Fleet {
  private readonly nodes = new Map<string, SimNode>();
  private groups: GroupView[] = [];
  private observed: AsgChange[] = [];
  private config: SimConfig;
  private readonly initial: SimConfig;
  private timer?: NodeJS.Timeout;
  private running = false;
  private lastPollError: string | null = null;
  private polledAt: number | null = null;
  private generation = 0;
  private readonly departures: Departure[] = [];
  private readonly ssm: SsmAgents;
  /** TFE's node heartbeats per database (FDO): database -> node -> { version, last beat }. Outlive the node, as rows in its database do. */
  private readonly heartbeats = new Map<string, Map<string, { version: string; at: number }>>();

  constructor(private readonly opts: FleetOptions) {
    this.config = { ...opts.config };
    this.initial = { ...opts.config };
    this.ssm = new SsmAgents({
      aws: opts.aws,
      nodes: () => [...this.nodes.values()],
      config: () => this.config,
      unfinishedRuns: (id) => opts.runs.unfinishedOn(id),
      log: opts.log,
      changed: () => opts.changed(),
    });
  }

  private booting = 0;
  private readonly bootQueue: Array<() => void> = [];

  private bootSlot(): Promise<() => void> {
    const release = () => {
      this.booting--;
      this.bootQueue.shift()?.();
    };
    const take = (resolve: (r: () => void) => void) => {
      this.booting++;
      resolve(release);
    };
    return new Promise((resolve) => {
      if (this.booting < this.opts.bootConcurrency) take(resolve);
      else this.bootQueue.push(() => take(resolve));
    });
  }

  /** What each node's load balancer targets see; pushed to the emulator after changes. */
  private reported = new Map<string, string>();
  private pushTimer?: NodeJS.Timeout;

  /** Node states changed: tell the emulator's target groups (batched, only what changed). */
  nodesChanged(): void {
    this.opts.changed();
    if (this.pushTimer) return;
    this.pushTimer = setTimeout(() => {
      this.pushTimer = undefined;
      const out: Record<string, TargetReport | null> = {};
      const seen = new Set<string>();
      for (const [id, n] of this.nodes) {
        seen.add(id);
        const state = n.stateName === 'installing' ? 'initial' : n.healthy ? 'healthy' : 'unhealthy';
        // Port 443 answers /_health_check with 200 only on a healthy node; 8800 answers
        // while Replicated's admin console runs.
        const report: TargetReport = { state, ports: [...(n.healthy ? [443] : []), ...(n.consoleIsOpen ? [8800] : [])], reason: n.reasonText };
        const key = JSON.stringify(report);
        if (this.reported.get(id) !== key) {
          out[id] = report;
          this.reported.set(id, key);
        }
      }
      for (const id of [...this.reported.keys()]) {
        if (!seen.has(id)) {
          out[id] = null;
          this.reported.delete(id);
        }
      }
      if (Object.keys(out).length) void this.opts.aws.pushTargetHealth(out);
    }, 50);
  }

  start(): void {
    this.running = true;
    void this.poll();
    this.ssm.start();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.ssm.stop();
    clearTimeout(this.timer);
    clearTimeout(this.pushTimer);
    await Promise.all([...this.nodes.values()].map((n) => n.stop()));
    this.nodes.clear();
  }

  getConfig(): SimConfig {
    return { ...this.config };
  }

  setConfig(patch: Partial<SimConfig>): SimConfig {
    this.config = { ...this.config, ...patch };
    this.opts.log.info({ config: this.config }, 'simulator config changed');
    this.opts.changed();
    return this.getConfig();
  }

  /** Forgets every node and the observed history, restores the startup config. */
  async reset(): Promise<void> {
    this.generation++;
    const old = [...this.nodes.values()];
    this.nodes.clear();
    this.groups = [];
    this.observed = [];
    this.departures.length = 0;
    this.heartbeats.clear();
    this.ssm.reset();
    this.config = { ...this.initial };
    await Promise.all(old.map((n) => n.stop()));
    this.opts.log.info({}, 'simulator reset');
    this.nodesChanged();
  }

  node(id: string): SimNode | undefined {
    return this.nodes.get(id);
  }

  /** Nodes that serve (healthy) and take new runs: not draining. */
  serving(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.healthy && !n.draining);
  }

  anyHealthy(): boolean {
    return [...this.nodes.values()].some((n) => n.healthy);
  }

  size(): number {
    return this.nodes.size;
  }

  private groupSize(asg: string): number {
    const g = this.groups.find((x) => x.name === asg);
    return g ? g.instances.filter((i) => !LEAVING.test(i.lifecycleState)).length : 0;
  }

  private async poll(): Promise<void> {
    if (!this.running) return;
    const gen = this.generation;
    try {
      const groups = await this.opts.aws.groups();
      if (gen === this.generation && this.running) this.apply(groups);
      if (this.lastPollError !== null) this.opts.log.info({}, 'AWS emulator reachable again');
      this.lastPollError = null;
      this.polledAt = Date.now();
    } catch (err) {
      const msg = (err as Error).message;
      if (msg !== this.lastPollError) this.opts.log.warn({ err: msg }, 'cannot list Auto Scaling groups');
      this.lastPollError = msg;
    }
    if (this.running) this.timer = setTimeout(() => void this.poll(), this.config.pollMs);
  }

  private apply(groups: GroupView[]): void {
    const before = new Map(this.groups.map((g) => [g.name, g.desired]));
    for (const g of groups) {
      const prev = before.get(g.name);
      if (prev !== g.desired) {
        this.observed.push({ ts: new Date().toISOString(), asg: g.name, from: prev ?? null, to: g.desired });
      }
    }
    this.groups = groups;

    const present = new Set<string>();
    for (const g of groups) {
      for (const inst of g.instances) {
        if (LEAVING.test(inst.lifecycleState)) continue;
        present.add(inst.id);
        const known = this.nodes.get(inst.id);
        if (known && known.asg === g.name && sameTemplate(known.ref.launchTemplate, inst.launchTemplate)) continue;
        if (known) {
          // Same id, different group or template: a new instance (moto reset and reseeded
          // with the same random seed hands out the same ids), not the node we knew.
          this.depart(known);
          this.opts.log.info({ node: inst.id }, `instance ${inst.id} was replaced: booting again`);
        }
        const node = new SimNode(inst.id, g.name, inst, {
          aws: this.opts.aws,
          region: this.opts.region,
          config: () => this.config,
          groupSize: (asg) => this.groupSize(asg),
          redisAlias: this.opts.redisAlias,
          postgresAlias: this.opts.postgresAlias,
          ca: this.opts.ca,
          image: this.opts.image,
          site: this.opts.site,
          nodesDir: this.opts.nodesDir,
          certFor: this.opts.certFor,
          bootSlot: () => this.bootSlot(),
          heartbeat: (db, nodeId, version) => {
            let beats = this.heartbeats.get(db);
            if (!beats) this.heartbeats.set(db, (beats = new Map()));
            beats.set(nodeId, { version, at: Date.now() });
          },
          recentVersions: (db, except, withinMs) =>
            [...(this.heartbeats.get(db) ?? new Map<string, { version: string; at: number }>()).entries()]
              .filter(([id, b]) => id !== except && Date.now() - b.at <= withinMs)
              .map(([nodeId, b]) => ({ nodeId, version: b.version })),
          log: this.opts.log,
          changed: () => this.nodesChanged(),
        });
        this.nodes.set(inst.id, node);
        this.opts.log.info({ node: inst.id, asg: g.name }, `instance ${inst.id} joined ${g.name}: booting`);
        node.start();
        this.nodesChanged();
      }
    }
    for (const [id, node] of this.nodes) {
      if (present.has(id)) continue;
      this.nodes.delete(id);
      this.depart(node);
      this.opts.log.info({ node: id, asg: node.asg }, `instance ${id} left ${node.asg}: forgotten`);
      this.nodesChanged();
    }
  }

  private logs(): Pick<FleetState, 'ssm' | 'departures'> {
    return { ssm: this.ssm.log(), departures: this.departures.map((d) => ({ ...d, unfinishedRuns: [...d.unfinishedRuns] })) };
  }

  /** A node leaves: recorded with its drain and its unfinished runs, which are killed. */
  private depart(node: SimNode): void {
    const unfinishedRuns = this.opts.runs.unfinishedOn(node.id);
    const v = node.view();
    this.departures.push({ id: node.id, at: new Date().toISOString(), bootedAt: v.bootedAt, installKind: v.installKind, release: v.release, drainRequested: node.draining, drained: node.drained, unfinishedRuns });
    void node.stop();
    this.ssm.nodeLeft(node.id);
    this.opts.runs.nodeLeft(node.id);
  }

  /** moto's history: one fetch in flight at a time, its answer reused for 100 ms. */
  private history?: { doneAt: number | null; value: Promise<AsgChange[] | undefined> };

  private asgHistory(): Promise<AsgChange[] | undefined> {
    const h = this.history;
    if (h && (h.doneAt === null || Date.now() - h.doneAt <= 100)) return h.value;
    const next: { doneAt: number | null; value: Promise<AsgChange[] | undefined> } = { doneAt: null, value: this.opts.aws.asgHistory() };
    void next.value.finally(() => (next.doneAt = Date.now()));
    this.history = next;
    return next.value;
  }

  async state(): Promise<FleetState> {
    const fromMoto = await this.asgHistory();
    const events = fromMoto ?? this.observed;
    return {
      config: this.getConfig(),
      nodes: [...this.nodes.values()].map((n) => n.view()),
      groups: this.groups.map((g) => ({
        name: g.name,
        desired: g.desired,
        instances: g.instances.filter((i) => !LEAVING.test(i.lifecycleState)).map((i) => i.id),
      })),
      scaleHistory: capacitySequences(events),
      scaleHistorySource: fromMoto ? 'moto' : 'observed',
      scaleEvents: events,
      lastPollError: this.lastPollError,
      polledAt: this.polledAt === null ? null : new Date(this.polledAt).toISOString(),
      ...this.logs(),
    };
  }

  /** The state without the AWS round trip for scale history (for the state file). */
  snapshot(): Omit<FleetState, 'scaleHistory' | 'scaleHistorySource' | 'scaleEvents'> {
    return {
      config: this.getConfig(),
      nodes: [...this.nodes.values()].map((n) => n.view()),
      groups: this.groups.map((g) => ({ name: g.name, desired: g.desired, instances: g.instances.map((i) => i.id) })),
      lastPollError: this.lastPollError,
      polledAt: this.polledAt === null ? null : new Date(this.polledAt).toISOString(),
      ...this.logs(),
    };
  }
}

function sameTemplate(a: InstanceRef['launchTemplate'], b: InstanceRef['launchTemplate']): boolean {
  // Versions are not compared: plain moto reports the template's current default version.
  return a?.id === b?.id && a?.name === b?.name;
}

/** { asg: [first from, each to ...] }, consecutive repeats dropped, deletions (null) skipped. */
export function capacitySequences(events: readonly AsgChange[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const e of events) {
    const seq = (out[e.asg] ??= []);
    if (seq.length === 0 && e.from !== null) seq.push(e.from);
    if (e.to !== null && seq[seq.length - 1] !== e.to) seq.push(e.to);
  }
  return out;
}
