// `SANDBOX_WORLD=fdo make demo`, as a person runs it (scripts/demo.ts: sandbox up, the operator,
// examples/tfecluster-fdo.yaml applied, watched until Ready), on a sandbox of its own in a
// temporary folder: the FDO single node reaches Active/Active with 2 nodes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../sandbox/controlplane-bin.ts';
import { freePort } from '../sandbox/ports.ts';

const run = (cmd: string, args: string[], env: Record<string, string>) =>
  new Promise<{ code: number; out: string }>((resolve) =>
    execFile(cmd, args, { cwd: repoRoot, env: { ...process.env, ...env }, timeout: 600_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    ),
  );

test('SANDBOX_WORLD=fdo: the demo takes the FDO single node to Active/Active with 2 nodes', async () => {
  const dir = mkdtempSync(join(repoRoot, '.sandbox-demo-fdo-'));
  const env = { SANDBOX_DIR: dir, SANDBOX_ENV: '', SANDBOX_WORLD: 'fdo', SANDBOX_SIM_PORT: '0', SANDBOX_OPERATOR_PORT: String(await freePort()) };
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], env);
    assert.equal(r.code, 0, r.out.slice(-3000));
    assert.match(r.out, /\[Ready\/Done\] Active\/Active: 2 of 2 nodes healthy/);
    assert.match(r.out, /scale history\s+1 -> 0 -> 1 -> 0 -> 2/);
    assert.match(r.out, /\(Active\/Active, FDO 1\.2\.2\)/);
  } finally {
    await run('make', ['sandbox-down'], env);
    rmSync(dir, { recursive: true, force: true });
  }
});
