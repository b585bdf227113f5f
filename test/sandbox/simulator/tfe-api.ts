// A stand-in of TFE's API on the load balancer's address: enough of it for a validation run,
// in TFE's JSON:API shapes (developer.hashicorp.com/terraform/enterprise/api-docs/run and
// .../workspaces). Written from those docs, not from the operator's client.
//
//   GET  /api/v2/organizations/:org/workspaces/:name   one workspace (the sandbox has one)
//   GET  /api/v2/workspaces/:id/runs                   its runs, newest first (page[size])
//   POST /api/v2/runs                                  queue a run (message, plan-only, auto-apply)
//   GET  /api/v2/runs/:id                              one run
//   GET  /api/v2/admin/runs                            every run (filter[status]; the token is a site admin's)
//   GET  /sim/runs                                     every run with the node that ran it and its history
//
// As behind a real load balancer: no serving node, 503. A bearer token other than the one the
// simulator holds: 401. A run moves through TFE's statuses (pending, plan_queued, planning,
// planned_and_finished; with auto-apply planned, apply_queued, applying, applied) one step per
// runStepMs, on a node picked at random among those serving. Each queued step is real work on
// that node (SimNode.work: through its Redis when Active/Active), so a Redis the node cannot
// use errors the run with the node's words. runsHang keeps runs in planning for ever; runPlanMs
// keeps them there that much longer than a step. A draining node (node-drain) is not among those
// serving: it takes no new run and finishes the ones it has. A run whose node leaves before it
// finished is killed (errored).

import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import type { SimNode } from './node.ts';

export interface TfeApiConfig {
  organization: string;
  workspace: string;
  token: string;
}

export interface RunsHost {
  /** Nodes that serve and take new work (not draining). */
  serving(): SimNode[];
  /** Any node answers behind the load balancer (draining ones too). */
  anyHealthy(): boolean;
  node(id: string): SimNode | undefined;
  config(): { runStepMs: number; runsHang: boolean; runPlanMs: number; runsRefused: boolean };
  log: { info(obj: object, msg?: string): void };
}

export interface SimRun {
  id: string;
  workspaceId: string;
  message: string;
  planOnly: boolean;
  autoApply: boolean;
  status: string;
  createdAt: string;
  node: string | null;
  error: string | null;
  history: { status: string; at: string; node: string | null }[];
}

const FINAL = new Set(['planned_and_finished', 'applied', 'errored', 'canceled']);

type Reply = { status: number; body: unknown };
const apiError = (status: number, title: string, detail?: string): Reply => ({ status, body: { errors: [{ status: String(status), title, ...(detail ? { detail } : {}) }] } });

export class TfeApi {
  readonly workspaceId = `ws-${randomBytes(8).toString('hex').slice(0, 16)}`;
  private readonly runs: SimRun[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    readonly cfg: TfeApiConfig,
    private readonly host: RunsHost,
  ) {}

  list(): SimRun[] {
    return this.runs.map((r) => ({ ...r, history: [...r.history] }));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
  }

  /** Forget every run (POST /sim/reset). */
  reset(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.runs.length = 0;
  }

  /** Runs on this node that have not finished (a run waiting for confirmation does no work there). */
  unfinishedOn(nodeId: string): string[] {
    return this.runs.filter((r) => r.node === nodeId && !FINAL.has(r.status) && !(r.status === 'planned' && !r.autoApply)).map((r) => r.id);
  }

  /** The node is gone (terminated, detached): its unfinished runs are killed. */
  nodeLeft(nodeId: string): void {
    for (const r of this.runs) {
      if (r.node === nodeId && !FINAL.has(r.status)) this.move(r, 'errored', `killed: node ${nodeId} was terminated during the run`);
    }
  }

  /** The reply to an /api/v2 request. */
  handle(method: string, path: string, query: URLSearchParams, authorization: string | undefined, body: string): Reply {
    if (!this.host.anyHealthy()) return apiError(503, 'no healthy node behind the load balancer');
    if (authorization !== `Bearer ${this.cfg.token}`) return apiError(401, 'unauthorized');
    let m = /^\/api\/v2\/organizations\/([^/]+)\/workspaces\/([^/]+)$/.exec(path);
    if (m && method === 'GET') {
      if (decodeURIComponent(m[1]!) !== this.cfg.organization || decodeURIComponent(m[2]!) !== this.cfg.workspace) return apiError(404, 'not found');
      return { status: 200, body: { data: this.workspaceJson() } };
    }
    if (path === '/api/v2/admin/runs' && method === 'GET') {
      // Admin Runs API (developer.hashicorp.com/terraform/enterprise/api-docs/admin/runs): every
      // run of the installation; filter[status] is a comma-separated list. The sandbox's one
      // token is a site administrator's.
      const wanted = query.get('filter[status]')?.split(',').filter(Boolean);
      const size = Math.min(100, Math.max(1, Number(query.get('page[size]') ?? 20) || 20));
      const found = [...this.runs].reverse().filter((r) => !wanted || wanted.includes(r.status));
      return { status: 200, body: { data: found.slice(0, size).map((r) => this.runJson(r)), meta: { pagination: { 'current-page': 1, 'page-size': size, 'total-count': found.length } } } };
    }
    m = /^\/api\/v2\/workspaces\/([^/]+)\/runs$/.exec(path);
    if (m && method === 'GET') {
      if (decodeURIComponent(m[1]!) !== this.workspaceId) return apiError(404, 'not found');
      const size = Math.min(100, Math.max(1, Number(query.get('page[size]') ?? 20) || 20));
      const newest = [...this.runs].reverse().slice(0, size);
      return { status: 200, body: { data: newest.map((r) => this.runJson(r)), meta: { pagination: { 'current-page': 1, 'page-size': size, 'total-count': this.runs.length } } } };
    }
    m = /^\/api\/v2\/runs\/([^/]+)$/.exec(path);
    if (m && method === 'GET') {
      const run = this.runs.find((r) => r.id === decodeURIComponent(m![1]!));
      return run ? { status: 200, body: { data: this.runJson(run) } } : apiError(404, 'not found');
    }
    if (path === '/api/v2/runs' && method === 'POST') return this.create(body);
    return apiError(404, 'not found');
  }

  private create(text: string): Reply {
    let doc: { data?: { type?: string; attributes?: Record<string, unknown>; relationships?: { workspace?: { data?: { type?: string; id?: string } } } } };
    try {
      doc = JSON.parse(text);
    } catch {
      return apiError(400, 'bad request', 'the body is not JSON');
    }
    const d = doc.data;
    if (d?.type !== 'runs') return apiError(422, 'invalid attribute', 'data.type must be "runs"');
    const ws = d.relationships?.workspace?.data;
    if (ws?.type !== 'workspaces' || !ws.id) return apiError(422, 'invalid attribute', 'relationships.workspace.data must name a workspace');
    if (ws.id !== this.workspaceId) return apiError(404, 'not found', `workspace ${ws.id}`);
    // runsRefused: a workspace TFE cannot plan (no configuration version yet), as TFE answers it.
    if (this.host.config().runsRefused) return apiError(422, 'invalid attribute', 'Configuration version is missing');
    const a = d.attributes ?? {};
    for (const k of ['plan-only', 'auto-apply']) {
      if (a[k] !== undefined && typeof a[k] !== 'boolean') return apiError(422, 'invalid attribute', `${k} must be a boolean`);
    }
    const now = new Date().toISOString();
    const run: SimRun = {
      id: `run-${randomBytes(8).toString('hex')}`,
      workspaceId: ws.id,
      message: typeof a.message === 'string' ? a.message : 'Queued manually via the Terraform Enterprise API',
      planOnly: a['plan-only'] === true,
      autoApply: a['auto-apply'] === true,
      status: 'pending',
      createdAt: now,
      node: null,
      error: null,
      history: [{ status: 'pending', at: now, node: null }],
    };
    this.runs.push(run);
    this.host.log.info({ run: run.id, planOnly: run.planOnly, autoApply: run.autoApply }, 'run queued');
    this.schedule(run);
    return { status: 201, body: { data: this.runJson(run) } };
  }

  private schedule(run: SimRun): void {
    if (this.stopped || FINAL.has(run.status)) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.advance(run).finally(() => this.schedule(run));
    }, this.host.config().runStepMs);
    this.timers.add(t);
  }

  private move(run: SimRun, status: string, error?: string): void {
    run.status = status;
    if (error) run.error = error;
    run.history.push({ status, at: new Date().toISOString(), node: run.node });
    this.host.log.info({ run: run.id, status, node: run.node, ...(error ? { error } : {}) }, `run ${status}`);
  }

  /** One step of TFE's run pipeline. */
  private async advance(run: SimRun): Promise<void> {
    const node = run.node ? this.host.node(run.node) : undefined;
    switch (run.status) {
      case 'pending': {
        const serving = this.host.serving();
        if (serving.length === 0) return; // waits in the queue
        run.node = serving[Math.floor(Math.random() * serving.length)]!.id;
        return this.move(run, 'plan_queued');
      }
      case 'plan_queued':
      case 'apply_queued': {
        const r = node ? await node.work(run.id) : { ok: false as const, reason: `node ${run.node} is gone` };
        if (!r.ok) return this.move(run, 'errored', r.reason);
        return this.move(run, run.status === 'plan_queued' ? 'planning' : 'applying');
      }
      case 'planning':
      case 'applying': {
        if (run.status === 'planning') {
          const { runsHang, runPlanMs } = this.host.config();
          if (runsHang) return;
          if (Date.now() - Date.parse(run.history[run.history.length - 1]!.at) < runPlanMs) return;
        }
        if (!node?.healthy) return this.move(run, 'errored', `node ${run.node} stopped serving during the ${run.status === 'planning' ? 'plan' : 'apply'}`);
        if (run.status === 'applying') return this.move(run, 'applied');
        return this.move(run, run.planOnly ? 'planned_and_finished' : 'planned');
      }
      case 'planned':
        // Without auto-apply a run waits here for a person to confirm it (TFE's "needs confirmation").
        if (run.autoApply) this.move(run, 'apply_queued');
        return;
    }
  }

  private workspaceJson() {
    return {
      id: this.workspaceId,
      type: 'workspaces',
      attributes: { name: this.cfg.workspace, 'auto-apply': false, locked: false },
      relationships: { organization: { data: { id: this.cfg.organization, type: 'organizations' } } },
    };
  }

  private runJson(r: SimRun) {
    return {
      id: r.id,
      type: 'runs',
      attributes: {
        status: r.status,
        message: r.message,
        'plan-only': r.planOnly,
        'auto-apply': r.autoApply,
        'created-at': r.createdAt,
        'status-timestamps': Object.fromEntries(r.history.map((h) => [`${h.status.replace(/_/g, '-')}-at`, h.at])),
      },
      relationships: { workspace: { data: { id: r.workspaceId, type: 'workspaces' } } },
    };
  }
}
