// A fault-injecting HTTP proxy between the operator and the AWS emulator (moto). The
// operator's AWS_ENDPOINT_URL points at it; it forwards every request to moto unless a
// rule says otherwise, and then answers the way AWS does when it is in trouble:
//
//   throttle   not forwarded; the service's own throttling error (query-protocol XML
//              `RequestLimitExceeded` for EC2, `Throttling` for Auto Scaling and
//              ElastiCache; JSON `ThrottlingException` for Secrets Manager)
//   error500   not forwarded; HTTP 500 with the service's internal-error shape
//   slow       waits delayMs, then forwards (unless the client gave up meanwhile)
//   drop       the connection is closed before the request reaches moto
//   dropAfter  the request reaches moto and is carried out; the connection is closed
//              before the answer reaches the client (a lost response)
//
// Rules pick operations by name (the `Action` form field of query APIs, the `X-Amz-Target`
// header of JSON APIs), by group ('mutating' / 'reading'), or '*'. Counters tell what was
// seen, forwarded and injected per operation, so a test can prove its faults really fired.
import { isReadOperation } from '../../src/aws/clients.ts';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';

export type FaultKind = 'throttle' | 'error500' | 'slow' | 'drop' | 'dropAfter' | 'refuse';

export type Protocol = 'query' | 'json' | 'rest-xml';

/** One AWS API call as the proxy sees it. */
export interface AwsOp {
  /** From the SigV4 credential scope: ec2, autoscaling, elasticache, secretsmanager ... */
  service: string;
  action: string;
  protocol: Protocol;
  /** The SDK's attempt number (amz-sdk-request: attempt=N), 1 for the first try. */
  attempt: number;
}

export type OperationSelector = '*' | 'mutating' | 'reading' | string;

export interface FaultRule {
  /** Shown in counters and the call log. Default: `<kind>#<n>`. */
  name?: string;
  kind: FaultKind;
  /** Operation names ('CreateLaunchTemplateVersion'), groups ('mutating', 'reading') or '*'. */
  operations: OperationSelector[];
  /** Only calls of these services (default: any). */
  services?: string[];
  /** Let this many matching calls through before the rule starts firing (default 0). */
  skip?: number;
  /** Fire on every n-th matching call after `skip` (default 1: each one). */
  every?: number;
  /** Fire at most this many times (default: no limit). */
  times?: number;
  /** 'slow': how long to hold the request (default 2000 ms). */
  delayMs?: number;
  /**
   * 'refuse': not forwarded; a 4xx refusal in the service's own error shape, for refusals AWS
   * makes and moto does not (e.g. InvalidParameterValue for a cache node type AWS does not offer).
   */
  refusal?: { code: string; message: string; status?: number };
}

export interface CallRecord {
  seq: number;
  ts: string;
  service: string;
  action: string;
  attempt: number;
  /** The rule that fired, if any. */
  fault?: { rule: string; kind: FaultKind };
  /** HTTP status the client got; null when the connection was dropped. */
  status: number | null;
}

export interface ProxyStats {
  /** Calls seen per action. */
  seen: Record<string, number>;
  /** Calls that reached moto per action. */
  forwarded: Record<string, number>;
  /** Faults injected per rule name. */
  fired: Record<string, number>;
  /** Faults injected per kind and action: { throttle: { CreateSecret: 2 } }. */
  injected: Partial<Record<FaultKind, Record<string, number>>>;
}

export const isReadAction = isReadOperation;

function matches(rule: FaultRule, op: AwsOp): boolean {
  if (rule.services && !rule.services.includes(op.service)) return false;
  return rule.operations.some((sel) =>
    sel === '*' ? true : sel === 'mutating' ? !isReadAction(op.action) : sel === 'reading' ? isReadAction(op.action) : sel === op.action,
  );
}

// --- Error bodies, in each protocol's shape ------------------------------------------------

const XML_NS: Record<string, string> = {
  autoscaling: 'http://autoscaling.amazonaws.com/doc/2011-01-01/',
  elasticache: 'http://elasticache.amazonaws.com/doc/2015-02-02/',
};

interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The error AWS sends for `kind` ('throttle' | 'error500' | 'refuse') on this operation's protocol. */
export function errorAnswer(kind: 'throttle' | 'error500' | 'refuse', op: Pick<AwsOp, 'service' | 'protocol'>, refusal?: FaultRule['refusal']): ErrorAnswer {
  const requestId = randomUUID();
  if (kind === 'refuse' && !refusal) throw new Error('a refuse rule needs its refusal (code, message)');
  const refused = (status: number): [string, string, number] => [refusal!.code, refusal!.message, refusal!.status ?? status];
  if (op.protocol === 'json') {
    const [type, message, status] =
      kind === 'refuse' ? refused(400) : kind === 'throttle' ? ['ThrottlingException', 'Rate exceeded', 400] : ['InternalServiceError', 'An error occurred on the server side.', 500];
    return {
      status,
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': `${type}:`, 'x-amzn-requestid': requestId },
      body: JSON.stringify({ __type: type, message }),
    };
  }
  if (op.protocol === 'rest-xml') {
    // S3's own errors: <Error><Code>; throttling is 503 SlowDown.
    const [code, message, status] =
      kind === 'refuse' ? refused(400) : kind === 'throttle' ? ['SlowDown', 'Please reduce your request rate.', 503] : ['InternalError', 'We encountered an internal error. Please try again.', 500];
    return {
      status,
      headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
      body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${requestId}</RequestId></Error>`,
    };
  }
  if (op.service === 'ec2') {
    // EC2's own query protocol: <Response><Errors><Error>; throttling is 503 RequestLimitExceeded.
    const [code, message, status] =
      kind === 'refuse' ? refused(400) : kind === 'throttle' ? ['RequestLimitExceeded', 'Request limit exceeded.', 503] : ['InternalError', 'An internal error has occurred', 500];
    return {
      status,
      headers: { 'content-type': 'text/xml;charset=UTF-8' },
      body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
    };
  }
  // awsQuery (Auto Scaling, ElastiCache): <ErrorResponse><Error><Type/><Code/><Message/>.
  const [type, code, message, status] =
    kind === 'refuse'
      ? ['Sender', ...refused(400)]
      : kind === 'throttle'
        ? ['Sender', 'Throttling', 'Rate exceeded', 400]
        : ['Receiver', 'InternalFailure', 'An internal error occurred.', 500];
  const ns = XML_NS[op.service] ? ` xmlns="${XML_NS[op.service]}"` : '';
  return {
    status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body: `<ErrorResponse${ns}>\n  <Error>\n    <Type>${type}</Type>\n    <Code>${code}</Code>\n    <Message>${message}</Message>\n  </Error>\n  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`,
  };
}

// --- Reading a request ------------------------------------------------------------------------

export function identify(headers: IncomingMessage['headers'], body: Buffer, method = 'POST', url = '/'): AwsOp {
  const auth = String(headers.authorization ?? '');
  const scope = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(auth);
  if (scope?.[1] === 's3') {
    // S3 is REST: the operation is the method and the sub-resource (path-style requests).
    const attempt = Number(/attempt=(\d+)/.exec(String(headers['amz-sdk-request'] ?? ''))?.[1] ?? 1);
    const u = new URL(url, 'http://s3');
    const bucketOnly = u.pathname.split('/').filter(Boolean).length <= 1;
    const action =
      method === 'HEAD' && bucketOnly ? 'HeadBucket'
      : method === 'GET' && u.searchParams.has('location') ? 'GetBucketLocation'
      : method === 'GET' && u.searchParams.has('encryption') ? 'GetBucketEncryption'
      : method === 'GET' && u.pathname === '/' ? 'ListBuckets'
      : `${method[0]}${method.slice(1).toLowerCase()}Object`;
    return { service: 's3', action, protocol: 'rest-xml', attempt };
  }
  const target = headers['x-amz-target'];
  const attemptHeader = /attempt=(\d+)/.exec(String(headers['amz-sdk-request'] ?? ''));
  const attempt = attemptHeader ? Number(attemptHeader[1]) : 1;
  if (typeof target === 'string' && target.includes('.')) {
    return { service: scope?.[1] ?? target.split('.')[0]!.toLowerCase(), action: target.slice(target.lastIndexOf('.') + 1), protocol: 'json', attempt };
  }
  const action = new URLSearchParams(body.toString('utf8')).get('Action') ?? 'Unknown';
  return { service: scope?.[1] ?? 'unknown', action, protocol: 'query', attempt };
}

// --- The proxy ----------------------------------------------------------------------------------

interface ActiveRule extends FaultRule {
  name: string;
  matched: number;
  fired: number;
}

export interface AwsFaultProxyOptions {
  /** Where moto listens, e.g. process.env.AWS_ENDPOINT_URL. */
  target: string;
  port?: number;
}

export class AwsFaultProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private rules: ActiveRule[] = [];
  private ruleCount = 0;
  private seq = 0;
  private stats: ProxyStats = { seen: {}, forwarded: {}, fired: {}, injected: {} };
  readonly calls: CallRecord[] = [];
  url = '';

  constructor(private readonly opts: AwsFaultProxyOptions) {}

  async start(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    // Longer than any client idle time: a keep-alive socket closing under a reused request would
    // show up as an ECONNRESET that AWS did not cause.
    server.keepAliveTimeout = 120_000;
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: this.opts.port ?? 0 }, () => resolve());
    });
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Adds a rule (rules are tried in order; the first that fires wins). Returns its name. */
  addRule(rule: FaultRule): string {
    const name = rule.name ?? `${rule.kind}#${++this.ruleCount}`;
    this.rules.push({ ...rule, name, matched: 0, fired: 0 });
    return name;
  }

  removeRule(name: string): void {
    this.rules = this.rules.filter((r) => r.name !== name);
  }

  clearRules(): void {
    this.rules = [];
  }

  counters(): ProxyStats {
    return structuredClone(this.stats);
  }

  /** How many times faults fired in total (all rules). */
  totalFired(): number {
    return Object.values(this.stats.fired).reduce((a, b) => a + b, 0);
  }

  resetCounters(): void {
    this.stats = { seen: {}, forwarded: {}, fired: {}, injected: {} };
    this.calls.length = 0;
    for (const r of this.rules) {
      r.matched = 0;
      r.fired = 0;
    }
  }

  private pick(op: AwsOp): ActiveRule | undefined {
    for (const r of this.rules) {
      if (!matches(r, op)) continue;
      r.matched++;
      const n = r.matched - (r.skip ?? 0);
      if (n <= 0) continue;
      if ((n - 1) % (r.every ?? 1) !== 0) continue;
      if (r.times !== undefined && r.fired >= r.times) continue;
      r.fired++;
      return r;
    }
    return undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const op = identify(req.headers, body, req.method, req.url);
    const bump = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);
    bump(this.stats.seen, op.action);
    const rule = this.pick(op);
    const record: CallRecord = { seq: ++this.seq, ts: new Date().toISOString(), service: op.service, action: op.action, attempt: op.attempt, status: null };
    this.calls.push(record);
    if (rule) {
      record.fault = { rule: rule.name, kind: rule.kind };
      bump(this.stats.fired, rule.name);
      bump((this.stats.injected[rule.kind] ??= {}), op.action);
    }
    const kind = rule?.kind;
    if (kind === 'throttle' || kind === 'error500' || kind === 'refuse') {
      const a = errorAnswer(kind, op, rule!.refusal);
      res.writeHead(a.status, { ...a.headers, 'content-length': Buffer.byteLength(a.body) });
      res.end(a.body);
      record.status = a.status;
      return;
    }
    if (kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (kind === 'slow') {
      // Hold the request; stop holding when the client gives up (or the proxy closes).
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, rule!.delayMs ?? 2_000);
        req.socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (req.socket.destroyed) return; // the client gave up: like AWS, never carry it out
    }
    bump(this.stats.forwarded, op.action);
    try {
      const answer = await this.forward(req, body);
      if (kind === 'dropAfter') {
        req.socket.destroy();
        return;
      }
      if (req.socket.destroyed) return;
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
      record.status = answer.status;
    } catch (err) {
      const msg = `aws-proxy: cannot reach ${this.opts.target}: ${(err as Error).message}`;
      if (!res.headersSent && !req.socket.destroyed) {
        res.writeHead(502, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(msg) });
        res.end(msg);
        record.status = 502;
      }
    }
  }

  private forward(req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
    const target = new URL(this.opts.target);
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers };
      delete headers.connection;
      const out = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent: false },
        (up) => {
          const parts: Buffer[] = [];
          up.on('data', (c: Buffer) => parts.push(c));
          up.on('end', () => {
            const h: Record<string, string | string[]> = {};
            for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && k !== 'connection' && k !== 'transfer-encoding') h[k] = v;
            const b = Buffer.concat(parts);
            h['content-length'] = String(b.length);
            resolve({ status: up.statusCode ?? 502, headers: h, body: b });
          });
          up.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });
  }
}

export async function startAwsFaultProxy(opts: AwsFaultProxyOptions): Promise<AwsFaultProxy> {
  return new AwsFaultProxy(opts).start();
}
