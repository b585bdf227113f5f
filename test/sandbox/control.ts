// The supervisor's control endpoint (loopback HTTP, `SANDBOX_CONTROL_URL` in the env file):
// fault tests stop and start sandbox parts in place while the operator runs.
//
//   GET  /parts                    [{ name, running, pid }]
//   POST /parts/<name>/stop        stops it; the supervisor does not treat that as a crash
//   POST /parts/<name>/start       starts it again (same address, data, password); 200 once ready
//   POST /parts/<name>/restart
//
// Parts: redis, postgres, etcd, kube-apiserver. Every answer is JSON; errors carry { error }.
// test/faults/sandbox-parts.ts is the client.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Restartable } from './restartable.ts';

export interface ControlServer {
  url: string;
  stop(): Promise<void>;
}

export async function startControlServer(parts: Restartable[], log: (m: string) => void): Promise<ControlServer> {
  const byName = new Map(parts.map((p) => [p.name, p]));
  const describe = (p: Restartable) => ({ name: p.name, running: p.running(), pid: p.current()?.pid ?? null });
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      const data = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
      res.end(data);
    };
    const url = new URL(req.url ?? '/', 'http://control');
    if (req.method === 'GET' && url.pathname === '/parts') return send(200, parts.map(describe));
    const m = /^\/parts\/([^/]+)\/(stop|start|restart)$/.exec(url.pathname);
    if (!m || req.method !== 'POST') return send(404, { error: `no such endpoint ${req.method} ${url.pathname}` });
    const part = byName.get(decodeURIComponent(m[1]!));
    if (!part) return send(404, { error: `no part ${m[1]}; parts: ${[...byName.keys()].join(', ')}` });
    const op = m[2] as 'stop' | 'start' | 'restart';
    const t = Date.now();
    log(`control: ${op} ${part.name}`);
    part[op]()
      .then(() => {
        log(`control: ${op} ${part.name} done in ${Date.now() - t} ms`);
        send(200, { ...describe(part), ms: Date.now() - t });
      })
      .catch((err: Error) => {
        log(`control: ${op} ${part.name} failed: ${err.message}`);
        send(500, { ...describe(part), error: err.message });
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
