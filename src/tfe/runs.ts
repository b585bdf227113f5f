// The validation run: a small client of TFE's API (JSON:API over HTTPS, bearer token) for the
// three calls a validation needs, and the run statuses that end a run.
//
// Source: TFE's API documentation, "Runs API" and "Workspaces API"
// (https://developer.hashicorp.com/terraform/enterprise/api-docs/run and .../workspaces):
//   GET  /api/v2/organizations/:organization/workspaces/:name   the workspace (its id)
//   GET  /api/v2/workspaces/:workspace_id/runs                  its runs, newest first
//   POST /api/v2/runs                                           queue a run (attributes message,
//                                                               plan-only, auto-apply)
// The token travels only in the Authorization header; no error text here ever includes it.

import http from 'node:http';
import https from 'node:https';

export interface TfeApiOptions {
  /** Base URL of TFE, e.g. https://tfe.example.com. */
  address: string;
  token: string;
  /** PEM CA bundle to trust (a private CA); the system's roots otherwise. */
  ca?: string;
  timeoutMs?: number;
}

export interface TfeRun {
  id: string;
  status: string;
  message: string;
  createdAt?: string;
}

/** TFE answered with an HTTP error (status) or could not be reached (no status). */
export class TfeApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** A refusal that will not go away by asking again: a 4xx other than 408 and 429. */
export function isTerminalTfeError(err: unknown): boolean {
  return err instanceof TfeApiError && err.status !== undefined && err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 429;
}

/** Statuses after which a run does nothing more (TFE's run states). */
export const RUN_SUCCEEDED = new Set(['planned_and_finished', 'applied', 'planned_and_saved']);
export const RUN_FAILED = new Set(['errored', 'canceled', 'force_canceled', 'discarded', 'policy_soft_failed']);
export const runEnded = (status: string) => RUN_SUCCEEDED.has(status) || RUN_FAILED.has(status);

/**
 * A validation run's message names the TfeCluster and the stage, so the operator finds its run
 * again after a crash (by reading the workspace's runs) instead of queueing a second one.
 */
export function validationMessage(owner: string, stage: string): string {
  return `tfe-operator validation of ${owner}: stage ${stage}`;
}

/** The stage of one of `owner`'s validation runs, from its message; undefined for other runs. */
export function validationStageOf(owner: string, message: string): string | undefined {
  const prefix = `tfe-operator validation of ${owner}: stage `;
  return message.startsWith(prefix) ? message.slice(prefix.length).trim() || undefined : undefined;
}

/** The run's page in TFE's UI. */
export function runUrl(address: string, organization: string, workspace: string, runId: string): string {
  return `${address.replace(/\/+$/, '')}/app/${encodeURIComponent(organization)}/workspaces/${encodeURIComponent(workspace)}/runs/${encodeURIComponent(runId)}`;
}

function request(opts: TfeApiOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const timeout = opts.timeoutMs ?? 10_000;
  const url = new URL(opts.address.replace(/\/+$/, '') + path);
  const data = body === undefined ? undefined : JSON.stringify(body);
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      url,
      {
        method,
        timeout,
        agent: false,
        ...(opts.ca ? { ca: opts.ca } : {}),
        headers: {
          authorization: `Bearer ${opts.token}`,
          accept: 'application/vnd.api+json',
          ...(data === undefined ? {} : { 'content-type': 'application/vnd.api+json', 'content-length': Buffer.byteLength(data) }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (text.length < 1 << 20) text += c;
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          if (status >= 200 && status < 300) {
            if (json === undefined) reject(new TfeApiError(`${method} ${path}: HTTP ${status} without a JSON body`, status));
            else resolve(json);
            return;
          }
          reject(new TfeApiError(`${method} ${path}: HTTP ${status}${errorTitle(json)}`, status));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeout} ms`)));
    req.on('error', (err) => reject(new TfeApiError(`${method} ${url.origin}${path}: ${err.message}`)));
    req.end(data);
  });
}

/** JSON:API errors: [{ status, title, detail }]; the first one's words, bounded. */
function errorTitle(json: unknown): string {
  const e = (json as { errors?: { title?: string; detail?: string }[] } | undefined)?.errors?.[0];
  const words = [e?.title, e?.detail].filter(Boolean).join(': ');
  return words ? ` (${words.slice(0, 200)})` : '';
}

interface JsonApiRun {
  id: string;
  attributes?: { status?: string; message?: string; 'created-at'?: string };
}

const toRun = (d: JsonApiRun): TfeRun => ({
  id: d.id,
  status: d.attributes?.status ?? 'unknown',
  message: d.attributes?.message ?? '',
  ...(d.attributes?.['created-at'] ? { createdAt: d.attributes['created-at'] } : {}),
});

export async function findWorkspace(opts: TfeApiOptions, organization: string, name: string): Promise<string> {
  const j = (await request(opts, 'GET', `/api/v2/organizations/${encodeURIComponent(organization)}/workspaces/${encodeURIComponent(name)}`)) as { data?: { id?: string } };
  if (!j.data?.id) throw new TfeApiError(`workspace ${organization}/${name}: the answer has no data.id`);
  return j.data.id;
}

/** The workspace's most recent runs (one page, newest first). */
export async function listRuns(opts: TfeApiOptions, workspaceId: string, pageSize = 50): Promise<TfeRun[]> {
  const j = (await request(opts, 'GET', `/api/v2/workspaces/${encodeURIComponent(workspaceId)}/runs?page%5Bsize%5D=${pageSize}`)) as { data?: JsonApiRun[] };
  return (j.data ?? []).map(toRun);
}

/** Statuses of a run a node is working on (queued for or in a plan or an apply). */
export const RUN_IN_PROGRESS = ['plan_queued', 'planning', 'apply_queued', 'applying'] as const;

/**
 * How many runs the whole installation is working on (Admin Runs API, `GET /api/v2/admin/runs`,
 * developer.hashicorp.com/terraform/enterprise/api-docs/admin/runs); undefined when the token is
 * not a site administrator's (TFE answers 404 then).
 */
export async function runsInProgress(opts: TfeApiOptions): Promise<number | undefined> {
  try {
    const j = (await request(opts, 'GET', `/api/v2/admin/runs?filter%5Bstatus%5D=${RUN_IN_PROGRESS.join(',')}&page%5Bsize%5D=1`)) as {
      data?: unknown[];
      meta?: { pagination?: { 'total-count'?: number } };
    };
    return j.meta?.pagination?.['total-count'] ?? j.data?.length ?? 0;
  } catch (err) {
    if (err instanceof TfeApiError && err.status === 404) return undefined;
    throw err;
  }
}

/** Queue a run: plan-only unless `apply` (then auto-applied, so it needs no confirmation). */
export async function createRun(opts: TfeApiOptions, workspaceId: string, message: string, apply: boolean): Promise<TfeRun> {
  const j = (await request(opts, 'POST', '/api/v2/runs', {
    data: {
      type: 'runs',
      attributes: { message, 'plan-only': !apply, 'auto-apply': apply },
      relationships: { workspace: { data: { type: 'workspaces', id: workspaceId } } },
    },
  })) as { data?: JsonApiRun };
  if (!j.data?.id) throw new TfeApiError('POST /api/v2/runs: the answer has no data.id');
  return toRun(j.data);
}
