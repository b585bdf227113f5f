// The SSM agent of every node, and TFE's node drain as the nodes carry it out.
//
// Every pollMs: tells the AWS emulator whose agent is online (a node whose machine started its
// user data, unless the sim config says ssmAgent: false; offline once it is gone), fetches the
// invocations waiting for those agents (moto launcher's GET /_sandbox/ssm/pending, which makes
// them InProgress) and runs each on its node (SimNode.runCommand: the lines as one bash script in
// the node's own mount namespace, as root, one command at a time per node, executionTimeout
// honoured), then posts how it ended (POST /_sandbox/ssm/result).
//
// Drain: a node whose `replicated admin node-drain` (the install.sh stand-in's CLI) asked for it
// is draining (takes no new runs, tfe-api.ts); once it has no unfinished run, the simulator tells
// the node it is drained and the command ends.

import type { AwsView, SsmInvocation } from './aws.ts';
import type { SimConfig, SimLogger, SimNode } from './node.ts';

export interface SsmLogEntry {
  commandId: string;
  instanceId: string;
  commands: string[];
  status: 'InProgress' | 'Success' | 'Failed' | 'TimedOut';
  startedAt: string;
  finishedAt: string | null;
  responseCode: number | null;
  stdout: string;
}

export interface SsmHost {
  aws: AwsView;
  nodes(): SimNode[];
  config(): SimConfig;
  /** Runs not finished on this node (tfe-api.ts). */
  unfinishedRuns(nodeId: string): string[];
  log: SimLogger;
  changed(): void;
}

/** How often the whole agents map is posted again even when nothing changed (after a moto reset). */
const REPOST_MS = 5_000;
const STDOUT_KEPT = 24_000; // what GetCommandInvocation shows of stdout

export class SsmAgents {
  private readonly entries: SsmLogEntry[] = [];
  /** Nodes gone since the last post: posted offline once. */
  private readonly gone = new Set<string>();
  private posted = '';
  private postedAt = 0;
  private timer?: NodeJS.Timeout;
  private running = false;
  private lastError: string | null = null;

  constructor(private readonly host: SsmHost) {}

  start(): void {
    this.running = true;
    void this.tick();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  reset(): void {
    this.entries.length = 0;
    this.gone.clear();
    this.posted = '';
  }

  nodeLeft(id: string): void {
    this.gone.add(id);
  }

  log(): SsmLogEntry[] {
    return this.entries.map((e) => ({ ...e, commands: [...e.commands] }));
  }

  private async tick(): Promise<void> {
    if (!this.running) return;
    try {
      await this.once();
      this.lastError = null;
    } catch (err) {
      const msg = (err as Error).message;
      if (msg !== this.lastError) this.host.log.warn({ err: msg }, 'SSM agents: cannot reach the AWS emulator');
      this.lastError = msg;
    }
    if (this.running) this.timer = setTimeout(() => void this.tick(), this.host.config().pollMs);
  }

  private async once(): Promise<void> {
    const cfg = this.host.config();
    const nodes = this.host.nodes();
    for (const n of nodes) {
      n.checkDrain();
      if (n.draining && !n.drained && this.host.unfinishedRuns(n.id).length === 0) n.markDrained();
    }
    const agents: Record<string, boolean> = {};
    for (const id of this.gone) agents[id] = false;
    for (const n of nodes) agents[n.id] = cfg.ssmAgent && n.agentOnline;
    const key = JSON.stringify(agents);
    if (Object.keys(agents).length && (key !== this.posted || Date.now() - this.postedAt > REPOST_MS)) {
      const gone = [...this.gone];
      await this.host.aws.ssmAgents(agents);
      for (const id of gone) this.gone.delete(id);
      this.posted = JSON.stringify(Object.fromEntries(Object.entries(agents).filter(([id]) => !gone.includes(id))));
      this.postedAt = Date.now();
    }
    if (!Object.values(agents).some((v) => v)) return;
    for (const inv of await this.host.aws.ssmPending()) void this.execute(inv);
  }

  private async execute(inv: SsmInvocation): Promise<void> {
    const entry: SsmLogEntry = {
      commandId: inv.commandId,
      instanceId: inv.instanceId,
      commands: inv.commands,
      status: 'InProgress',
      startedAt: new Date().toISOString(),
      finishedAt: null,
      responseCode: null,
      stdout: '',
    };
    this.entries.push(entry);
    this.host.log.info({ node: inv.instanceId, command: inv.commandId, commands: inv.commands }, 'SSM command started');
    this.host.changed();
    const node = this.host.nodes().find((n) => n.id === inv.instanceId);
    const timeoutMs = inv.executionTimeout === null ? null : inv.executionTimeout * 1000;
    const r = node
      ? await node.runCommand(inv.commandId, inv.commands, timeoutMs)
      : { code: null, signal: null, timedOut: false, stdout: '', stderr: `instance ${inv.instanceId} is gone` };
    entry.status = r.timedOut ? 'TimedOut' : r.code === 0 ? 'Success' : 'Failed';
    entry.responseCode = r.timedOut || r.code === null ? -1 : r.code;
    entry.finishedAt = new Date().toISOString();
    entry.stdout = r.stdout.slice(0, STDOUT_KEPT);
    this.host.log.info({ node: inv.instanceId, command: inv.commandId, status: entry.status, responseCode: entry.responseCode }, `SSM command ${entry.status}`);
    this.host.changed();
    try {
      await this.host.aws.ssmResult({ commandId: inv.commandId, instanceId: inv.instanceId, status: entry.status, responseCode: entry.responseCode, stdout: r.stdout, stderr: r.stderr });
    } catch (err) {
      this.host.log.warn({ node: inv.instanceId, command: inv.commandId, err: (err as Error).message }, 'cannot report an SSM command result');
    }
  }
}
