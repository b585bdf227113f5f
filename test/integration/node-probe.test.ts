// The operator's per-node probe (src/tfe/health.ts) against a real simulated node of the test
// sandbox: the node serves /_health_check over HTTPS with a certificate for the TFE hostname,
// signed by the sandbox CA, on its own listener (the node's port 443; here a loopback port, the
// way the operator would reach the node's private IP). The probe passes only with the hostname
// as the name to verify and the CA that signed it; a wrong CA, or no name (the certificate does
// not name the address), fails.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeHealth } from '../../src/tfe/health.ts';
import { createCA } from '../sandbox/certs.ts';

interface NodeView {
  id: string;
  state: string;
  hostname: string | null;
  httpsPort: number | null;
}

async function servingNode(): Promise<NodeView> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const nodes = ((await (await fetch(`${process.env.TFE_SIM_URL}/sim/state`)).json()) as { nodes: NodeView[] }).nodes;
    const n = nodes.find((x) => x.state === 'healthy' && x.httpsPort && x.hostname);
    if (n) return n;
    assert.ok(Date.now() < deadline, `no healthy node with an HTTPS listener: ${JSON.stringify(nodes)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test("the per-node probe verifies the node's certificate against the TFE hostname and the CA", async () => {
  const node = await servingNode();
  const url = `https://127.0.0.1:${node.httpsPort}/_health_check`;
  // The sandbox CA signs the nodes' certificates (and Redis's: REDIS_CA_FILE is the same CA).
  const ca = readFileSync(process.env.REDIS_CA_FILE!, 'utf8');

  const ok = await probeHealth(url, { servername: node.hostname!, ca });
  assert.deepEqual(ok, { healthy: true, detail: 'healthy' });

  const dir = mkdtempSync(join(tmpdir(), 'probe-ca-'));
  try {
    const other = await createCA(dir, 'some other CA');
    const wrongCa = await probeHealth(url, { servername: node.hostname!, ca: readFileSync(other.certFile, 'utf8') });
    assert.equal(wrongCa.healthy, false);
    assert.match(wrongCa.detail, /certificate|self[- ]signed|verify/i);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const noName = await probeHealth(url, { ca });
  assert.equal(noName.healthy, false, 'the certificate names the TFE hostname, not the address');
  assert.match(noName.detail, /altnames|IP: 127\.0\.0\.1/);

  const noCa = await probeHealth(url, { servername: node.hostname! });
  assert.equal(noCa.healthy, false, "the sandbox CA is not among the system's roots");
});
