// The per-node health probe reaches a node by IP, while the node's certificate names the TFE
// hostname: it verifies against that name (SNI too), with a CA from a Secret, and never skips
// verification unless told to. A real HTTPS server on loopback with a sandbox-CA certificate.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeHealth } from '../../src/tfe/health.ts';
import { createCA, issueCert } from '../sandbox/certs.ts';

const HOST = 'tfe.probe.example';
let dir: string;
let server: Server;
let port: number;
let ca: string;
let otherCa: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'health-probe-'));
  const root = await createCA(join(dir, 'ca'), 'probe test CA');
  const other = await createCA(join(dir, 'other'), 'another CA');
  const cert = await issueCert(root, dir, 'tfe', { dns: [HOST] }); // names the hostname only, not 127.0.0.1
  ca = readFileSync(root.certFile, 'utf8');
  otherCa = readFileSync(other.certFile, 'utf8');
  server = createServer({ cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) }, (req, res) => {
    res.writeHead(req.url === '/_health_check' ? 200 : 404).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});

after(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('by IP with the TFE hostname and the CA: healthy', async () => {
  const h = await probeHealth(`https://127.0.0.1:${port}/_health_check`, { ca, servername: HOST });
  assert.deepEqual(h, { healthy: true, detail: 'healthy' });
});

test('by IP without the hostname: the certificate does not name the IP, so not healthy', async () => {
  const h = await probeHealth(`https://127.0.0.1:${port}/_health_check`, { ca });
  assert.equal(h.healthy, false);
  assert.match(h.detail, /IP: 127\.0\.0\.1 is not in the cert's list|altnames/i);
});

test('a wrong CA: not healthy, with the TLS reason', async () => {
  const h = await probeHealth(`https://127.0.0.1:${port}/_health_check`, { ca: otherCa, servername: HOST });
  assert.equal(h.healthy, false);
  assert.match(h.detail, /self.signed|unable to verify|certificate/i);
});

test('a wrong hostname: not healthy', async () => {
  const h = await probeHealth(`https://127.0.0.1:${port}/_health_check`, { ca, servername: 'other.example' });
  assert.equal(h.healthy, false);
  assert.match(h.detail, /other\.example/);
});

test('the servername is used only for URLs that name an IP address', async () => {
  // A URL by name keeps its own name: localhost is not in the certificate.
  const h = await probeHealth(`https://localhost:${port}/_health_check`, { ca, servername: HOST });
  assert.equal(h.healthy, false);
  assert.match(h.detail, /localhost/);
});
