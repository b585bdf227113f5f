// The container image: the Dockerfile's shape (LTS base, non-root, no dev dependencies
// in the final stage) and a Docker-free rehearsal of the build on this source tree
// (every COPY source exists after `npm run build`, the final stage starts).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DockerIgnore,
  contextFiles,
  finalStage,
  parseDockerfile,
  rehearseBuild,
  run,
  stageByRef,
  type Dockerfile,
  type StageResult,
} from '../shipping/dockerfile.ts';
import { imageNodeFlags } from '../operator-process.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const df: Dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const ignore = new DockerIgnore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean }>;
};

// Node.js release lines with long-term support and their end of life
// (https://github.com/nodejs/Release). Odd majors are never LTS.
const NODE_LTS_END_OF_LIFE: Record<number, string> = {
  20: '2026-04-30',
  22: '2027-04-30',
  24: '2028-04-30',
};

const final = finalStage(df);
const finalIns = (kw: string) => final.instructions.filter((i) => i.keyword === kw);

describe('Dockerfile', () => {
  test('every stage builds on the same Node.js LTS image (Debian bookworm slim)', () => {
    assert.ok(df.stages.length >= 2, 'multi-stage');
    const bases = new Set(df.stages.map((s) => s.baseImage));
    assert.equal(bases.size, 1, `one base image for all stages, got ${[...bases]}`);
    const image = [...bases][0];
    const m = /^(?:docker\.io\/(?:library\/)?)?node:(\d+)(?:\.\d+){0,2}-bookworm-slim(?:@sha256:[0-9a-f]{64})?$/.exec(image);
    assert.ok(m, `base image ${image} is not node:<major>-bookworm-slim`);
    // Pinned by digest: the tag moves with every patch release (docs/image.md: updating the base image).
    assert.match(image, /@sha256:[0-9a-f]{64}$/, `base image ${image} is not pinned by digest`);
    const major = Number(m[1]);
    const eol = NODE_LTS_END_OF_LIFE[major];
    assert.ok(eol, `Node.js ${major} is not an LTS line (${Object.keys(NODE_LTS_END_OF_LIFE).join(', ')} are)`);
    assert.ok(new Date(eol) > new Date(), `Node.js ${major} reached end of life on ${eol}: move the base image to a supported LTS`);
    // The image must satisfy what package.json promises.
    const engines = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines?: { node?: string } }).engines?.node;
    if (engines) {
      const min = /^>=\s*(\d+)/.exec(engines);
      assert.ok(min && major >= Number(min[1]), `image Node.js ${major} does not satisfy engines.node ${engines}`);
    }
  });

  test('the build stage compiles with npm ci + npm run build', () => {
    const build = df.stages.find((s) => s.instructions.some((i) => i.keyword === 'RUN' && /\bnpm run build\b/.test(i.args)));
    assert.ok(build, 'a stage runs npm run build');
    const runs = build.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    assert.ok(runs.some((r) => /\bnpm ci\b/.test(r)), 'the build stage installs with npm ci (lockfile, reproducible)');
    assert.ok(!runs.some((r) => /\bnpm (install|i)\b/.test(r)), 'npm install would ignore the lockfile');
  });

  test('the final stage runs as a non-root user', () => {
    const users = finalIns('USER');
    assert.ok(users.length > 0, 'final stage sets USER');
    const user = users.at(-1)!.args.trim();
    const [uid, gid] = user.split(':');
    assert.match(uid, /^\d+$/, `USER ${user}: use a numeric uid so the kubelet can enforce runAsNonRoot`);
    assert.notEqual(Number(uid), 0, 'USER must not be root');
    if (gid !== undefined) assert.notEqual(Number(gid), 0, 'group must not be root');
    // The Deployment runs the same uid.
    const deployment = readFileSync(join(ROOT, 'manifests/base/deployment.yaml'), 'utf8');
    assert.match(deployment, new RegExp(`runAsUser: ${uid}\\b`));
  });

  test('ENTRYPOINT is node [memory flags] bin/tfe-operator.js, exec form; the tests use the same flags', () => {
    const eps = finalIns('ENTRYPOINT');
    assert.equal(eps.length, 1);
    assert.ok(eps[0].json, 'exec form (JSON array): node is PID 1 and gets SIGTERM directly');
    const words = eps[0].words;
    assert.equal(words[0], 'node');
    assert.equal(words.at(-1), 'bin/tfe-operator.js');
    const flags = words.slice(1, -1);
    assert.ok(flags.every((f) => f.startsWith('--')), `only node flags between node and the script: ${flags}`);
    assert.ok(flags.some((f) => /^--max-old-space-size=\d+$/.test(f)), 'the old generation is capped under the pod limit');
    assert.deepEqual(imageNodeFlags(), flags, 'test/operator-process.ts starts the operator with the image flags');
  });

  test('the final stage has production dependencies only', () => {
    const runs = finalIns('RUN').map((i) => i.args);
    assert.ok(!runs.some((r) => /\bnpm (ci|install|i)\b/.test(r) && !/--omit=dev\b/.test(r)), 'no dev install in the final stage');
    const copies = finalIns('COPY');
    const nodeModules = copies.filter((c) => c.words.slice(0, -1).some((w) => /node_modules/.test(w)));
    assert.equal(nodeModules.length, 1, 'node_modules is copied exactly once');
    const from = nodeModules[0].flags.from;
    assert.ok(from, 'node_modules comes from a dedicated stage, not the build context');
    const depsStage = stageByRef(df, from);
    assert.ok(depsStage, `stage ${from} exists`);
    const ci = depsStage.instructions.filter((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
    assert.equal(ci.length, 1);
    assert.match(ci[0].args, /--omit=dev\b/, `stage ${from} installs without dev dependencies`);
    assert.match(ci[0].args, /--ignore-scripts\b/, `stage ${from} runs no install scripts`);
    assert.ok(!depsStage.instructions.some((i) => i.keyword === 'RUN' && /npm run build/.test(i.args)));
  });

  test('the final stage copies dist/, bin/, package.json, crds/ and nothing from the source tree', () => {
    const sources = finalIns('COPY').flatMap((c) =>
      c.words.slice(0, -1).map((w) => `${c.flags.from ? c.flags.from + ':' : ''}${w.replace(/^\/app\//, '').replace(/\/$/, '')}`),
    );
    for (const want of ['package.json', 'bin', 'crds']) assert.ok(sources.includes(want), `COPY ${want}`);
    assert.ok(sources.some((s) => /:dist$/.test(s)), 'dist/ comes from the build stage');
    for (const s of sources) {
      assert.ok(!/(^|:)(src|test|\.)(\/|$)/.test(s), `final stage must not copy ${s}`);
    }
  });

  test('no secrets or AWS credentials are baked in', () => {
    const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    assert.doesNotMatch(text, /AWS_(SECRET_ACCESS_KEY|ACCESS_KEY_ID|SESSION_TOKEN)|\.npmrc|NPM_TOKEN/);
  });
});

describe('.dockerignore', () => {
  test('follows Docker semantics on known cases', () => {
    const d = new DockerIgnore('*\n!src\nsrc/**/*.test.ts\n!keep/**\n**/*.log\n');
    assert.equal(d.excludes('node_modules/x/index.js'), true);
    assert.equal(d.excludes('src/main.ts'), false);
    assert.equal(d.excludes('src/a.test.ts'), true, '** matches zero directories');
    assert.equal(d.excludes('src/deep/er/a.test.ts'), true);
    assert.equal(d.excludes('src/deep/a.test.tsx'), false);
    assert.equal(d.excludes('src/x.log'), true, 'later rule wins');
    assert.equal(d.excludes('keep/a/b'), false);
    assert.equal(d.mayIncludeBelow('node_modules'), false);
    assert.equal(d.mayIncludeBelow('keep'), true);
  });

  test('the context has the sources and none of the local state', async () => {
    for (const p of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'bin/tfe-operator.js']) {
      assert.equal(ignore.excludes(p), false, `${p} must be in the context`);
    }
    assert.equal(ignore.excludes('src/main.ts'), false);
    assert.equal(ignore.excludes('crds/tfe.operators.dev_tfeclusters.yaml'), false);
    for (const p of [
      '.git/config',
      'node_modules/typescript/package.json',
      'dist/main.js',
      '.sandbox/env',
      '.cache/bin/etcd',
      'test/run.ts',
      'src/migration/planner.test.ts',
      '.env',
      'manifests/base/deployment.yaml',
    ]) {
      assert.equal(ignore.excludes(p), true, `${p} must stay out of the build context`);
    }
    const files = await contextFiles(ROOT, ignore);
    assert.ok(files.length > 0);
    for (const f of files) {
      assert.match(f, /^(package(-lock)?\.json|tsconfig(\.build)?\.json|(src|bin|crds)\/.+)$/, `unexpected file in the build context: ${f}`);
      assert.doesNotMatch(f, /\.test\.ts$/);
    }
  });
});

describe('build rehearsal (no Docker: each stage is a directory, RUN runs on this machine)', { timeout: 900_000 }, () => {
  let work = '';
  let stages: StageResult[] = [];
  let runtime: StageResult;
  const app = () => join(runtime.root, ...runtime.workdir.split('/'));

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'dockerfile-rehearsal-'));
    stages = await rehearseBuild(df, {
      contextDir: ROOT,
      workDir: work,
      env: { npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
    });
    runtime = stages.at(-1)!;
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('every stage ran and every COPY source existed (after npm run build)', () => {
    assert.equal(stages.length, df.stages.length);
    assert.ok(existsSync(join(app(), 'dist', 'main.js')), 'dist/main.js in the image');
    assert.ok(existsSync(join(app(), 'bin', 'tfe-operator.js')));
    assert.ok(existsSync(join(app(), 'package.json')));
    const crds = readdirSync(join(app(), 'crds')).filter((f) => f.endsWith('.yaml'));
    assert.ok(crds.includes('tfe.operators.dev_tfeclusters.yaml'), `crds/ in the image: ${crds}`);
  });

  test('no test files were compiled into dist/', () => {
    const walk = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
    const tests = walk(join(app(), 'dist')).filter((f) => /\.test\.js$/.test(f));
    assert.deepEqual(tests, []);
  });

  test('node_modules holds every production dependency and no development-only package', () => {
    const nm = join(app(), 'node_modules');
    for (const dep of Object.keys(pkg.dependencies)) assert.ok(existsSync(join(nm, dep, 'package.json')), `missing ${dep}`);
    // A devDependency may also be a production dependency's dependency (@types/node is one of
    // @kubernetes/client-node's); the lockfile's `dev` flag says which packages are dev-only.
    for (const dep of Object.keys(pkg.devDependencies)) {
      if (lock.packages[`node_modules/${dep}`]?.dev) assert.ok(!existsSync(join(nm, dep)), `dev dependency ${dep} in the image`);
    }
    for (const tool of ['typescript', 'tsx']) assert.ok(!existsSync(join(nm, tool)), `${tool} in the image`);
    const devOnly = Object.entries(lock.packages)
      .filter(([path, p]) => path.startsWith('node_modules/') && p.dev === true)
      .map(([path]) => path);
    assert.ok(devOnly.length > 0, 'the lockfile marks development-only packages');
    const leaked = devOnly.filter((p) => existsSync(join(app(), p)));
    assert.deepEqual(leaked, [], 'development-only packages in the image');
  });

  test('the image entrypoint starts from dist/ with production dependencies only', async () => {
    const [cmd, ...args] = runtime.entrypoint!;
    assert.equal(cmd, 'node');
    // --help: commander prints the commands and exits 0 without touching a cluster.
    const home = join(work, 'home');
    const { stdout } = await run(process.execPath, [...args, '--help'], app(), {
      PATH: process.env.PATH,
      HOME: home,
      NODE_ENV: 'production',
      ...runtime.env,
    }, 60_000);
    assert.match(stdout, /\brun\b/, 'the CLI lists its run command');
  });
});
