// The Replicated admin console of one simulated node: a real TCP listener on a free loopback
// port that stands for the node's port 8800 and answers HTTP, as long as install.sh was not
// given disable-replicated-ui.

import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AdminConsole {
  port: number;
  close(): Promise<void>;
}

export function openAdminConsole(instanceId: string): Promise<AdminConsole> {
  const server = http.createServer((req, res) => {
    const body = `<!doctype html><title>Replicated admin console</title><h1>Replicated admin console (simulated) on ${instanceId}</h1>\n`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
