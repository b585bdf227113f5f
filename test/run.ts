// npm test / make test:  node --import tsx test/run.ts [filter ...]
//
// Starts one test sandbox in .sandbox-test (or uses the one named by SANDBOX_ENV), loads its
// env into process.env, runs every src/**/*.test.ts and test/**/*.test.ts (those whose path
// contains one of the filter words, when given) one file after another with node:test, and
// ends with the line "N passed, N failed". The sandbox is stopped; its logs are kept when
// something failed. When only unit tests (src/) are selected, no sandbox is started.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { repoRoot } from './sandbox/controlplane-bin.ts';
import { readEnvFile, type SandboxEnv } from './sandbox/env.ts';
import { sandboxDown, sandboxProblem, sandboxUp } from './sandbox/lifecycle.ts';

const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', '.cache']);

function findTests(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name) && !e.name.startsWith('.sandbox')) findTests(join(dir, e.name), out);
    } else if (e.name.endsWith('.test.ts')) out.push(join(dir, e.name));
  }
  return out;
}

const order = (f: string) => (f.startsWith('src/') ? 0 : f.startsWith('test/integration/') ? 2 : f.startsWith('test/e2e/') ? 3 : 1);
const filters = process.argv.slice(2);
const files = [...findTests(join(repoRoot, 'src')), ...findTests(join(repoRoot, 'test'))]
  .map((f) => relative(repoRoot, f))
  .filter((f) => !filters.length || filters.some((w) => f.includes(w)))
  .sort((a, b) => order(a) - order(b) || a.localeCompare(b));

if (!files.length) {
  console.log(`no test files match ${filters.join(' ')}`);
  console.log('0 passed, 0 failed');
  process.exit(filters.length ? 1 : 0);
}

// Node 20 is this project's runtime (see DESIGN.md); the SDK's "use Node 22" notice in every test file is noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const needsSandbox = files.some((f) => f.startsWith('test/'));
const dir = resolve(repoRoot, '.sandbox-test');
let owned = false; // did we start the sandbox (and so must stop it)?
let env: SandboxEnv | undefined;

async function teardown(failed: boolean): Promise<void> {
  if (!owned) return;
  owned = false;
  try {
    await sandboxDown({ dir, keepDir: failed });
    if (failed) console.log(`sandbox stopped; its state and logs are kept in ${relative(process.cwd(), dir)}/ (logs/: supervisor, kube-apiserver, etcd, moto, redis, simulator)`);
  } catch (err) {
    console.error(`stopping the test sandbox failed: ${(err as Error).message}`);
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: stopping`);
    void teardown(true).then(() => process.exit(130));
  });
}

if (needsSandbox) {
  if (process.env.SANDBOX_ENV) {
    env = readEnvFile(resolve(process.env.SANDBOX_ENV));
    if (!env) throw new Error(`SANDBOX_ENV=${process.env.SANDBOX_ENV}: no such env file (is the sandbox up?)`);
    const problem = await sandboxProblem(env);
    if (problem) throw new Error(`the sandbox in SANDBOX_ENV=${process.env.SANDBOX_ENV} is not healthy: ${problem}`);
    console.log(`using the sandbox of ${process.env.SANDBOX_ENV}`);
  } else {
    owned = true; // from here on, whatever runs in .sandbox-test is ours to stop (also on Ctrl-C)
    try {
      const up = await sandboxUp({ dir, simPort: 0, log: (m) => console.log(`[sandbox] ${m}`) });
      env = up.env;
      console.log(`test sandbox ${up.reused ? 'reused' : `up in ${(up.ms / 1000).toFixed(1)} s`} (${relative(process.cwd(), dir)})`);
    } catch (err) {
      console.error((err as Error).message);
      await teardown(true);
      console.log('0 passed, 1 failed');
      process.exit(1);
    }
  }
  Object.assign(process.env, env);
}

// End-to-end tests start the operator as a process many times: run the compiled JavaScript
// (built once here) instead of compiling TypeScript through tsx at every start.
if (files.some((f) => f.startsWith('test/e2e/')) && !process.env.TFE_OPERATOR_ENTRY) {
  const t = Date.now();
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: 'inherit' });
  process.env.TFE_OPERATOR_ENTRY = join(repoRoot, 'dist', 'main.js');
  console.log(`built dist/ for the operator processes in ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

console.log(`running ${files.length} test file(s)${filters.length ? ` matching ${filters.join(' ')}` : ''}\n`);
let passed = 0;
let failed = 0;
let skipped = 0;
const failures: string[] = [];
const started = Date.now();
const stream = run({
  files: files.map((f) => join(repoRoot, f)),
  concurrency: 1,
  timeout: Number(process.env.TEST_FILE_TIMEOUT_MS ?? 20 * 60_000),
});
type Ev = { name: string; file?: string; skip?: boolean | string; todo?: boolean | string; details?: { type?: string } };
stream.on('test:pass', (d: Ev) => {
  if (d.details?.type === 'suite') return;
  if (d.skip || d.todo) skipped++;
  else passed++;
});
stream.on('test:fail', (d: Ev) => {
  if (d.details?.type === 'suite') return;
  failed++;
  failures.push(`${d.file ? relative(repoRoot, d.file) : '?'}: ${d.name}`);
});
await new Promise<void>((resolveDone, reject) => {
  const out = stream.compose(new spec());
  out.pipe(process.stdout, { end: false });
  out.on('end', resolveDone);
  out.on('error', reject);
});

await teardown(failed > 0);
console.log(`\n${files.length} file(s) in ${((Date.now() - started) / 1000).toFixed(1)} s${skipped ? `; ${skipped} skipped` : ''}`);
if (failures.length) console.log(`failed:\n${failures.map((f) => `  ${f}`).join('\n')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
