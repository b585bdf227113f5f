// The HTTP endpoint every replica serves:
//   GET /healthz            200 while the process is alive
//   GET /readyz             200 when ready() says so (the controller: watch cache synced), else 503
//   GET /metrics            the prom-client registry
//   GET /v1/status          the leader answers with statusProvider() as JSON; a follower
//                           answers 307 to <leader address>/v1/status with
//                           { leader: { id, address } }; 503 when no leader is known
//   GET /v1/status/cluster  the members and who leads (any replica)
// /v1/* needs a bearer token the API server accepts and the right to list TfeClusters
// (auth.ts); a follower redirects only to the address the member registry validated
// (members.ts peerAddress), never to one read unchecked from a Lease.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { LeaderInfo } from '../ha/leader.ts';
import type { Member } from '../ha/members.ts';
import type { Access, Authorizer } from './auth.ts';

/** What the server needs from the elector (LeaderElector satisfies it). */
export interface LeaderView {
  readonly identity: string;
  readonly address?: string;
  isLeader(): boolean;
  currentLeader(): LeaderInfo | undefined;
}

/** What the server needs from the member registry (MemberRegistry satisfies it). */
export interface MembersView {
  list(): Promise<Member[]>;
  /** The status API address of a live member that passed the registry's checks, else undefined. */
  peerAddress?(id: string): Promise<string | undefined>;
}

export interface StatusServerOptions {
  /** Port to listen on; 0 picks a free one (see `StatusServer.port`). */
  port: number;
  /** Interface to bind; default all interfaces (`tfe-operator run` binds POD_IP when set). */
  host?: string;
  /**
   * Who may read /v1/*. Without one, /v1/* is open: only for tests and embedding; the
   * operator (`tfe-operator run`) always passes the TokenReview/SubjectAccessReview one.
   */
  auth?: Authorizer;
  /** The namespace the operator watches ("" or undefined: every namespace): where /v1/* callers need `list tfeclusters`. */
  watchNamespace?: string;
  leader: LeaderView;
  members?: MembersView;
  registry?: Registry;
  /** Readiness; default always ready. */
  ready?: () => boolean | Promise<boolean>;
  /** The leader's answer to /v1/status (any JSON-serializable value); `namespace` from `?namespace=`. */
  statusProvider?: (q: { namespace?: string }) => unknown | Promise<unknown>;
  logger?: Logger;
}

export interface StatusServer {
  readonly server: Server;
  readonly port: number;
  /** http://host:port of the bound socket (loopback when bound to all interfaces). */
  readonly url: string;
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json; charset=utf-8';

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const type = typeof body === 'string' ? 'text/plain; charset=utf-8' : JSON_TYPE;
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

export function createStatusHandler(opts: StatusServerOptions) {
  const log = (opts.logger ?? pino({ name: 'tfe-operator' })).child({ component: 'server' });
  const leader = opts.leader;

  async function status(req: IncomingMessage, res: ServerResponse, suffix: string, namespace: string | undefined): Promise<void> {
    if (leader.isLeader()) {
      const body = opts.statusProvider ? await opts.statusProvider({ namespace }) : {};
      send(res, 200, body ?? {}, { 'x-tfe-leader': leader.identity });
      return;
    }
    const current = leader.currentLeader();
    if (!current || current.id === leader.identity) {
      // No live leader (or the record still names us while we no longer lead).
      send(res, 503, { error: 'no leader is known; retry shortly', leader: null });
      return;
    }
    // The leader Lease names who leads; where it is comes only from the member registry (a
    // live member Lease of this operator, an IP address on an allowed port), never from the
    // Lease's address annotation as written.
    const address = opts.members?.peerAddress ? await opts.members.peerAddress(current.id) : undefined;
    if (!address) {
      send(res, 503, { error: `the leader ${current.id} has no validated address yet (a live member Lease with an IP address on an allowed port); retry shortly`, leader: { id: current.id } });
      return;
    }
    const location = `${address}/v1/status${suffix}`;
    send(res, 307, { leader: { id: current.id, address } }, { location, 'x-tfe-leader': current.id });
  }

  async function cluster(res: ServerResponse): Promise<void> {
    const current = leader.currentLeader();
    const members = opts.members ? await opts.members.list() : [];
    send(res, 200, {
      self: { id: leader.identity, ...(leader.address ? { address: leader.address } : {}), leader: leader.isLeader() },
      leader: current ?? null,
      members,
    });
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(res, 405, { error: `method ${req.method} not allowed` }, { allow: 'GET, HEAD' });
        return;
      }
      switch (path) {
        case '/healthz':
          send(res, 200, 'ok');
          return;
        case '/readyz': {
          const ok = opts.ready ? await opts.ready() : true;
          send(res, ok ? 200 : 503, ok ? 'ok' : 'not ready');
          return;
        }
        case '/metrics': {
          if (!opts.registry) {
            send(res, 404, { error: 'metrics are not enabled' });
            return;
          }
          const text = await opts.registry.metrics();
          res.writeHead(200, { 'content-type': opts.registry.contentType });
          res.end(req.method === 'HEAD' ? undefined : text);
          return;
        }
        case '/v1/status':
        case '/v1/status/cluster': {
          // A caller may narrow /v1/status to one namespace (and then needs the right there only).
          const namespace = url.searchParams.get('namespace') || undefined;
          const access: Access = { verb: 'list', namespace: (path === '/v1/status' ? namespace : undefined) ?? opts.watchNamespace ?? '' };
          if (opts.auth) {
            const d = await opts.auth.authorize(req, access);
            if (!d.allowed) {
              send(res, d.status, { error: d.reason }, d.status === 401 ? { 'www-authenticate': 'Bearer realm="tfe-operator"' } : {});
              return;
            }
          }
          if (path === '/v1/status') await status(req, res, url.search, namespace);
          else await cluster(res);
          return;
        }
        default:
          if (path.startsWith('/v1/') && opts.auth) {
            // Unknown /v1 paths answer like known ones to a caller without a token: nothing to probe.
            const d = await opts.auth.authorize(req, { verb: 'list', namespace: opts.watchNamespace ?? '' });
            if (!d.allowed) {
              send(res, d.status, { error: d.reason });
              return;
            }
          }
          send(res, 404, { error: `no route for ${path}` });
      }
    } catch (err) {
      log.warn({ path, err: err instanceof Error ? err.message : String(err) }, 'server: request failed');
      if (!res.headersSent) send(res, 503, { error: err instanceof Error ? err.message : String(err) });
      else res.destroy();
    }
  };
}

/** Starts the status server; resolves once it listens. */
export async function startStatusServer(opts: StatusServerOptions): Promise<StatusServer> {
  const handler = createStatusHandler(opts);
  if (!opts.auth) (opts.logger ?? pino({ name: 'tfe-operator' })).child({ component: 'server' }).debug('server: /v1/* without authentication');
  const server = createServer((req, res) => {
    void handler(req, res);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = !opts.host || opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    port: addr.port,
    url: `http://${h}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
