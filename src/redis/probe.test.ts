// probeRedis against servers that answer but are not Redis, and a closed port: each gets its
// own reason (no Redis needed; the sandbox e2e tests probe a real redis-server).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { probeRedis } from './probe.ts';

const servers: Server[] = [];
async function serve(s: Server): Promise<number> {
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return (s.address() as AddressInfo).port;
}
after(() => servers.forEach((s) => s.close()));

test('an HTTP server is NotRedis, not Unreachable', async () => {
  const port = await serve(createHttpServer((_q, r) => r.writeHead(404).end('nope')) as unknown as Server);
  const r = await probeRedis({ host: '127.0.0.1', port, tls: false });
  assert.equal(r.reason, 'NotRedis', r.message);
  assert.match(r.message, /does not speak the Redis protocol/);
});

test('a server with a banner of another protocol is NotRedis', async () => {
  const port = await serve(createTcpServer((c) => c.on('error', () => {}).end('SSH-2.0-OpenSSH_9.2p1\r\n')));
  const r = await probeRedis({ host: '127.0.0.1', port, tls: false });
  assert.equal(r.reason, 'NotRedis', r.message);
});

test('a server that accepts and never answers is NotRedis (with the TLS hint)', async () => {
  const port = await serve(createTcpServer((c) => void c.on('error', () => {})));
  const r = await probeRedis({ host: '127.0.0.1', port, tls: false, timeoutMs: 500 });
  assert.equal(r.reason, 'NotRedis', r.message);
  assert.match(r.message, /spec\.redis\.external\.tls/);
});

test('a closed port is Unreachable', async () => {
  const s = createTcpServer();
  const port = await serve(s);
  await new Promise<void>((resolve) => s.close(() => resolve()));
  const r = await probeRedis({ host: '127.0.0.1', port, tls: false });
  assert.equal(r.reason, 'Unreachable', r.message);
});

test('a server that closes the connection before answering is Unreachable (a Redis restarting does that)', async () => {
  const port = await serve(createTcpServer((c) => void setTimeout(() => c.destroy(), 50)));
  const r = await probeRedis({ host: '127.0.0.1', port, tls: false });
  assert.equal(r.reason, 'Unreachable', r.message);
  assert.match(r.message, /closed the connection before answering/);
});
