// A node's network, as its user data sees it. The node's environment points http_proxy and
// https_proxy at this node's own listener (loopback, a free port), and no_proxy at this
// machine's loopback, where the AWS emulator is. Through it the node reaches exactly two
// things, the stand-ins the issue allows:
//   - the instance metadata service, http://169.254.169.254/ (IMDSv2: PUT a token first,
//     then GETs with it; IMDSv1 GETs are refused, as on an instance with HttpTokens=required);
//   - the installer downloads (standins.ts: https://install.terraform.io/ptfe/stable), over
//     TLS with a certificate from the sandbox CA, which the node trusts like a corporate AMI;
//   - the other sites an install kind answers (standins.ts: HashiCorp's container registry
//     https://images.releases.hashicorp.com for FDO), over TLS the same way.
// Anything else answers 502: the sandbox has no internet.
//
// IMDS paths follow the EC2 user guide ("Instance metadata categories").

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { InstanceFacts, RoleCredentials } from './aws.ts';
import { installerFor, servesHost, siteFor } from './standins.ts';

export const IMDS_HOST = '169.254.169.254';

export interface NodeIdentity {
  facts(): Promise<InstanceFacts>;
  credentials(): Promise<RoleCredentials | undefined>;
  userData(): string;
  region: string;
}

export interface NodeNetwork {
  port: number;
  /** The environment entries that put the node on this network. */
  env: string[];
  /** Every request the node made, for /sim/state ("GET http://169.254.169.254/latest/meta-data/local-ipv4 200"). */
  requests: string[];
  close(): Promise<void>;
}

/** The TLS side of the installer download, shared by every node of a simulator. */
export interface InstallerSite {
  server: https.Server;
}

export function installerSite(tls: { cert: string; key: string }): InstallerSite {
  const server = https.createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const site = siteFor(host);
    if (site) {
      const a = site(req.method ?? 'GET', (req.url ?? '/').split('?')[0]!, req.headers);
      res.writeHead(a.status, { 'content-length': Buffer.byteLength(a.body), ...a.headers });
      res.end(req.method === 'HEAD' ? undefined : a.body);
      return;
    }
    const installer = installerFor(host, req.url ?? '/');
    if (!installer || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no such download in the sandbox: https://${host}${req.url}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/x-shellscript', 'content-length': Buffer.byteLength(installer.script) });
    res.end(req.method === 'HEAD' ? undefined : installer.script);
  });
  return { server };
}

const TOKEN_TTL_MAX = 21600;

export async function openNodeNetwork(id: NodeIdentity, site: InstallerSite): Promise<NodeNetwork> {
  const tokens = new Map<string, number>(); // token -> expiry (ms)
  const requests: string[] = [];
  const note = (line: string) => {
    if (requests.length < 200) requests.push(line);
  };

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`${err.message}\n`);
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('this is a proxy: absolute URLs only\n');
      return;
    }
    const done = (status: number, body: string, type = 'text/plain') => {
      note(`${req.method} ${url.href} ${status}`);
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) }).end(body);
    };
    if (url.hostname !== IMDS_HOST) {
      done(502, `no route to ${url.host}: the sandbox node has no internet\n`);
      return;
    }
    if (req.method === 'PUT' && url.pathname === '/latest/api/token') {
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > TOKEN_TTL_MAX) {
        done(400, 'missing or invalid X-aws-ec2-metadata-token-ttl-seconds\n');
        return;
      }
      const token = randomBytes(24).toString('base64url');
      tokens.set(token, Date.now() + ttl * 1000);
      done(200, token);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      done(405, 'method not allowed\n');
      return;
    }
    const token = req.headers['x-aws-ec2-metadata-token'];
    const expiry = typeof token === 'string' ? tokens.get(token) : undefined;
    if (expiry === undefined || expiry < Date.now()) {
      done(401, ''); // IMDSv2 required: no or expired token
      return;
    }
    const answer = await metadata(url.pathname);
    if (answer === undefined) done(404, 'Not Found\n');
    else done(200, answer.body, answer.type);
  }

  async function metadata(path: string): Promise<{ body: string; type?: string } | undefined> {
    if (path === '/latest/user-data') return { body: id.userData() };
    const f = await id.facts();
    const region = id.region;
    if (path === '/latest/dynamic/instance-identity/document') {
      const doc = { instanceId: f.instanceId, privateIp: f.privateIp, availabilityZone: f.availabilityZone, region, instanceType: f.instanceType, imageId: f.imageId };
      return { body: JSON.stringify(doc, null, 2), type: 'application/json' };
    }
    const m = /^\/latest\/meta-data\/?(.*)$/.exec(path);
    if (!m) return undefined;
    const key = m[1]!.replace(/\/$/, '');
    const plain: Record<string, string> = {
      'instance-id': f.instanceId,
      'local-ipv4': f.privateIp,
      'local-hostname': `ip-${f.privateIp.replace(/\./g, '-')}.ec2.internal`,
      hostname: `ip-${f.privateIp.replace(/\./g, '-')}.ec2.internal`,
      'instance-type': f.instanceType,
      'ami-id': f.imageId,
      'placement/region': region,
      'placement/availability-zone': f.availabilityZone,
    };
    if (key in plain) return { body: plain[key]! };
    if (key === '') return { body: ['ami-id', 'hostname', 'iam/', 'instance-id', 'instance-type', 'local-hostname', 'local-ipv4', 'placement/'].join('\n') };
    if (key === 'placement') return { body: 'availability-zone\nregion' };
    if (!key.startsWith('iam')) return undefined;
    if (!f.instanceProfileArn) return undefined; // no instance profile: no iam/ category
    if (key === 'iam') return { body: 'info\nsecurity-credentials/' };
    if (key === 'iam/info') {
      return { body: JSON.stringify({ Code: 'Success', LastUpdated: new Date().toISOString(), InstanceProfileArn: f.instanceProfileArn }), type: 'application/json' };
    }
    const creds = await id.credentials();
    if (!creds) return undefined;
    if (key === 'iam/security-credentials') return { body: creds.roleName };
    if (key === `iam/security-credentials/${creds.roleName}`) {
      return {
        body: JSON.stringify({
          Code: 'Success',
          LastUpdated: new Date().toISOString(),
          Type: 'AWS-HMAC',
          AccessKeyId: creds.accessKeyId,
          SecretAccessKey: creds.secretAccessKey,
          Token: creds.sessionToken,
          Expiration: creds.expiration.toISOString(),
        }),
        type: 'application/json',
      };
    }
    return undefined;
  }

  // HTTPS through the proxy: CONNECT host:443. Only the installer downloads exist.
  server.on('connect', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    const [host, port] = (req.url ?? '').split(':');
    if (port !== '443' || !servesHost(host ?? '')) {
      note(`CONNECT ${req.url} 502`);
      socket.end(`HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\n\r\nno route to ${req.url}: the sandbox node has no internet\n`);
      return;
    }
    note(`CONNECT ${req.url} 200`);
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length) socket.unshift(head);
    site.server.emit('connection', socket);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const proxy = `http://127.0.0.1:${port}`;
  return {
    port,
    env: [`http_proxy=${proxy}`, `https_proxy=${proxy}`, `HTTP_PROXY=${proxy}`, `HTTPS_PROXY=${proxy}`, 'no_proxy=127.0.0.1,localhost', 'NO_PROXY=127.0.0.1,localhost'],
    requests,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
