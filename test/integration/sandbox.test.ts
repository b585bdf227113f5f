// The sandbox platform itself: a real kube-apiserver (token auth, RBAC, CRDs), a real
// redis-server (TLS only, password required), and `make sandbox-up` / `make sandbox-down`.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { request } from 'node:https';
import { parse as parseYaml } from 'yaml';
import { kubectl, kubectlResult, sandboxEnv } from '../harness.ts';
import { repoRoot } from '../sandbox/controlplane-bin.ts';
import { readEnv } from '../sandbox/env.ts';
import { sandboxDown, sandboxPids } from '../sandbox/lifecycle.ts';
import { freePort } from '../sandbox/ports.ts';
import { groupAlive, pidAlive, sleep } from '../sandbox/procs.ts';
import { redisRaw } from '../sandbox/redis.ts';

const env = sandboxEnv();

describe('control plane', () => {
  test('kube-apiserver answers with the built version and is ready', async () => {
    const v = JSON.parse(await kubectl(['version', '-o', 'json']));
    assert.match(v.serverVersion.gitVersion, /^v1\.32\./);
    assert.equal((await kubectl(['get', '--raw', '/readyz'])).trim(), 'ok');
  });

  test('it listens on loopback only and refuses anonymous and wrong-token requests', async () => {
    const kc = parseYaml(readFileSync(env.KUBECONFIG, 'utf8'));
    const server: string = kc.clusters[0].cluster.server;
    assert.match(server, /^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString();
    const status = (token?: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${server}/api/v1/namespaces`, { ca, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    assert.equal(await status(kc.users[0].user.token), 200);
    assert.equal(await status('not-the-token'), 401);
    assert.equal(await status(), 403); // anonymous: authenticated as system:anonymous, denied by RBAC
  });

  test('RBAC is enforced: an unprivileged user may not, the admin may', async () => {
    const no = await kubectlResult(['auth', 'can-i', 'create', 'secrets', '-n', 'tfe', '--as', 'someone']);
    assert.equal(no.stdout.trim(), 'no');
    assert.equal(no.code, 1);
    const yes = await kubectlResult(['auth', 'can-i', 'create', 'secrets', '-n', 'tfe']);
    assert.equal(yes.stdout.trim(), 'yes');
  });

  test('every CRD in crds/ is installed and Established', async (t) => {
    const dir = join(repoRoot, 'crds');
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)) : [];
    if (!files.length) return t.skip('no CRDs in crds/ yet');
    for (const f of files) {
      const name = parseYaml(readFileSync(join(dir, f), 'utf8'))?.metadata?.name;
      if (!name) continue;
      const established = await kubectl(['get', 'crd', name, '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}']);
      assert.equal(established, 'True', `${name} from ${f}`);
    }
  });
});

describe('redis', () => {
  const r = () => ({ host: env.REDIS_HOST, port: Number(env.REDIS_PORT), caFile: env.REDIS_CA_FILE });

  test('the password works over TLS with the sandbox CA', async () => {
    assert.ok(env.REDIS_PASSWORD, 'REDIS_PASSWORD in the sandbox env');
    assert.deepEqual(await redisRaw(r(), [`AUTH ${env.REDIS_PASSWORD}`, 'PING']), ['+OK', '+PONG']);
  });

  test('a wrong password is refused, and nothing runs without one', async () => {
    const [auth, ping] = await redisRaw(r(), ['AUTH not-the-password', 'PING']);
    assert.match(auth, /^-WRONGPASS/);
    assert.match(ping, /^-NOAUTH/);
  });

  test('plaintext is refused (TLS only)', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      let got = '';
      const s = connect({ host: env.REDIS_HOST, port: Number(env.REDIS_PORT) }, () => s.write(`AUTH ${env.REDIS_PASSWORD}\r\nPING\r\n`));
      s.setEncoding('utf8');
      s.on('data', (d) => (got += d));
      s.on('close', () => resolve(got));
      s.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve(got) : reject(e)));
      s.setTimeout(5_000, () => s.destroy());
    });
    assert.ok(!reply.includes('+PONG') && !reply.includes('+OK'), `plaintext got a reply: ${JSON.stringify(reply)}`);
  });
});

describe('make sandbox-up / sandbox-down', () => {
  // A second sandbox of its own: its own dir and simulator port, so the test sandbox is untouched.
  const dir = mkdtempSync(join(repoRoot, '.sandbox-selftest-'));
  const make = (target: string, extra: Record<string, string> = {}) =>
    new Promise<{ code: number; out: string }>((resolve) => {
      const e: NodeJS.ProcessEnv = { ...process.env, SANDBOX_DIR: dir, ...extra };
      delete e.SANDBOX_ENV;
      execFile('make', ['--no-print-directory', target], { cwd: repoRoot, env: e, timeout: 10 * 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: unknown }).code) || 1 : 0, out: stdout + stderr }),
      );
    });
  const alive = (pid: number) => pidAlive(pid) || groupAlive(pid);

  after(async () => {
    await sandboxDown({ dir }).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  test('a taken simulator port fails fast with a message naming it, leaving no process', { timeout: 120_000 }, async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await make('sandbox-up', { SANDBOX_SIM_PORT: String(port) });
      assert.notEqual(r.code, 0, r.out);
      assert.match(r.out, new RegExp(`port 127\\.0\\.0\\.1:${port} is not available`));
      for (const pid of sandboxPids(dir)) assert.ok(!alive(pid), `pid ${pid} left running`);
    } finally {
      blocker.close();
    }
    assert.equal((await make('sandbox-down')).code, 0);
  });

  test('up, up again (reused), stale after a crash (restarted), down (nothing left)', { timeout: 15 * 60_000 }, async () => {
    const simPort = String(await freePort());
    const first = await make('sandbox-up', { SANDBOX_SIM_PORT: simPort });
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /sandbox up in/);
    const e1 = readEnv(dir)!;
    assert.ok(e1, 'env written');
    assert.equal(e1.TFE_SIM_URL, `http://127.0.0.1:${simPort}`);
    assert.ok(alive(Number(e1.SANDBOX_PID)));
    const pids1 = sandboxPids(dir);
    assert.ok(pids1.length >= 5, `supervisor + etcd, kube-apiserver, moto, redis: ${pids1}`);

    // The env file is what a shell sources.
    const sourced = await new Promise<string>((resolve, reject) =>
      execFile('bash', ['-c', `source '${dir}/env' && kubectl get ns "$SANDBOX_NAMESPACE" -o name`], (err, out) => (err ? reject(err) : resolve(out))),
    );
    assert.equal(sourced.trim(), 'namespace/tfe');

    const again = await make('sandbox-up', { SANDBOX_SIM_PORT: simPort });
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /already running/);
    assert.equal(readEnv(dir)!.SANDBOX_PID, e1.SANDBOX_PID);

    // The supervisor dies hard: its children are orphans, the env is stale. up cleans and restarts.
    process.kill(Number(e1.SANDBOX_PID), 'SIGKILL');
    while (pidAlive(Number(e1.SANDBOX_PID))) await sleep(50);
    const third = await make('sandbox-up', { SANDBOX_SIM_PORT: simPort });
    assert.equal(third.code, 0, third.out);
    assert.match(third.out, /sandbox up in/);
    for (const pid of pids1) assert.ok(!alive(pid), `old pid ${pid} survived the restart`);
    const e3 = readEnv(dir)!;
    assert.notEqual(e3.SANDBOX_PID, e1.SANDBOX_PID);

    const pids3 = sandboxPids(dir);
    const down = await make('sandbox-down');
    assert.equal(down.code, 0, down.out);
    for (const pid of pids3) assert.ok(!alive(pid), `pid ${pid} still running after sandbox-down`);
    assert.ok(!existsSync(dir), `${dir} still exists`);
    const res = await fetch(`http://127.0.0.1:${simPort}/sim/state`).then(() => 'answered', () => 'refused');
    assert.equal(res, 'refused');
  });
});
