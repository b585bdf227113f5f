// The simulator's HTTP face (node:http):
//   GET  /_health_check                    the load balancer: 200 when any node is healthy
//   GET  /nodes/{instanceId}/_health_check one node: 200 healthy, 503 otherwise, JSON reason (an FDO
//        node answers as its port 443 does: 410 from 2.0)
//   GET  /nodes/{instanceId}/api/v1/health/readiness   one node, as its port 443 answers (FDO from 1.2:
//        TFE's readiness JSON; 404 where the release has none)
//   GET  /sim/state                        nodes, groups, scale history (secrets redacted)
//   POST /sim/config                       { installDelayMs?, neverHealthy?, pollMs?, recheckMs?, runStepMs?, runsHang?, runsRefused?, runPlanMs?, ssmAgent? }
//   GET  /sim/runs                         the TFE API stand-in's runs (tfe-api.ts)
//   /api/v2/...                            the TFE API stand-in (tfe-api.ts), as on the load balancer
//   POST /sim/reset                        forget every node, restore the startup config

import http from 'node:http';
import type { Fleet } from './fleet.ts';
import type { SimConfig } from './node.ts';
import type { TfeApi } from './tfe-api.ts';

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), 'cache-control': 'no-store' });
  res.end(data);
}

function readBody(req: http.IncomingMessage, limit = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
      if (body.length > limit) reject(new Error('request body too large'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

export function parseConfigPatch(text: string): Partial<SimConfig> {
  const raw = text.trim() === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('body must be a JSON object');
  const out: Partial<SimConfig> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'installDelayMs' || k === 'pollMs' || k === 'recheckMs' || k === 'runStepMs' || k === 'runPlanMs') {
      const min = k === 'installDelayMs' || k === 'runPlanMs' ? 0 : 10;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new Error(`${k} must be a number >= ${min}`);
      out[k] = v;
    } else if (k === 'neverHealthy' || k === 'runsHang' || k === 'runsRefused' || k === 'ssmAgent') {
      if (typeof v !== 'boolean') throw new Error(`${k} must be true or false`);
      out[k] = v;
    } else {
      throw new Error(`unknown setting ${JSON.stringify(k)} (known: installDelayMs, neverHealthy, pollMs, recheckMs, runStepMs, runsHang, runsRefused, runPlanMs, ssmAgent)`);
    }
  }
  return out;
}

export function createHandler(fleet: Fleet, api: TfeApi): http.RequestListener {
  return (req, res) => {
    void handle(fleet, api, req, res).catch((err: Error) => {
      if (!res.headersSent) send(res, 500, { error: err.message });
      else res.destroy();
    });
  };
}

async function handle(fleet: Fleet, api: TfeApi, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://simulator');
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const method = req.method ?? 'GET';

  if (path.startsWith('/api/v2/')) {
    const body = method === 'POST' ? await readBody(req) : '';
    const r = api.handle(method, path, url.searchParams, req.headers.authorization, body);
    const data = JSON.stringify(r.body);
    res.writeHead(r.status, { 'content-type': 'application/vnd.api+json', 'content-length': Buffer.byteLength(data), 'cache-control': 'no-store' });
    res.end(data);
    return;
  }
  if (path === '/sim/runs' && method === 'GET') {
    send(res, 200, { organization: api.cfg.organization, workspace: api.cfg.workspace, workspaceId: api.workspaceId, runs: api.list() });
    return;
  }

  if (path === '/_health_check' && (method === 'GET' || method === 'HEAD')) {
    const healthy = fleet.anyHealthy();
    send(res, healthy ? 200 : 503, healthy ? { status: 'ok' } : { status: 'unavailable', reason: fleet.size() ? 'no healthy node behind the load balancer' : 'no nodes' });
    return;
  }
  const m = /^\/nodes\/([^/]+)\/_health_check$/.exec(path);
  if (m && (method === 'GET' || method === 'HEAD')) {
    const node = fleet.node(decodeURIComponent(m[1]!));
    if (!node) {
      send(res, 404, { status: 'unknown', reason: `no instance ${m[1]} in any Auto Scaling group` });
      return;
    }
    const v = node.view();
    if (v.installKind === 'docker') {
      // As the FDO node's port 443 answers it: deprecated in 1.2, 410 from 2.0.
      const r = node.answerHealth('/_health_check', v.hostname ?? undefined);
      send(res, r.status, r.body);
      return;
    }
    send(res, v.state === 'healthy' ? 200 : 503, { status: v.state, reason: v.reason, since: v.since, version: v.version });
    return;
  }
  const ready = /^\/nodes\/([^/]+)\/api\/v1\/health\/readiness$/.exec(path);
  if (ready && (method === 'GET' || method === 'HEAD')) {
    const node = fleet.node(decodeURIComponent(ready[1]!));
    if (!node) {
      send(res, 404, { status: 'unknown', reason: `no instance ${ready[1]} in any Auto Scaling group` });
      return;
    }
    const hostname = node.view().hostname;
    const r = node.answerHealth('/api/v1/health/readiness', hostname ?? undefined);
    send(res, r.status, r.body);
    return;
  }
  if (path === '/sim/state' && method === 'GET') {
    send(res, 200, await fleet.state());
    return;
  }
  if (path === '/sim/config' && method === 'GET') {
    send(res, 200, fleet.getConfig());
    return;
  }
  if (path === '/sim/config' && method === 'POST') {
    let patch: Partial<SimConfig>;
    try {
      patch = parseConfigPatch(await readBody(req));
    } catch (err) {
      send(res, 400, { error: (err as Error).message });
      return;
    }
    send(res, 200, fleet.setConfig(patch));
    return;
  }
  if (path === '/sim/reset' && method === 'POST') {
    await fleet.reset();
    api.reset();
    send(res, 200, { status: 'reset', config: fleet.getConfig() });
    return;
  }
  send(res, 404, {
    error: `no route ${method} ${path}`,
    routes: ['GET /_health_check', 'GET /nodes/{instanceId}/_health_check', 'GET /nodes/{instanceId}/api/v1/health/readiness', 'GET /sim/state', 'GET|POST /sim/config', 'POST /sim/reset', 'GET /sim/runs', '/api/v2/... (tfe-api.ts)'],
  });
}
