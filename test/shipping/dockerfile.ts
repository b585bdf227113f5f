// A small Dockerfile reader and a Docker-free rehearsal of a build: enough to check the
// project's own Dockerfile (instructions it uses: ARG, FROM, WORKDIR, COPY, RUN, ENV,
// USER, EXPOSE, ENTRYPOINT, CMD). Not a general BuildKit implementation.
import { execFile } from 'node:child_process';
import { cp, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, posix, relative, resolve, sep } from 'node:path';

export interface Instruction {
  line: number; // 1-based line where the instruction starts
  keyword: string; // upper case
  args: string; // raw arguments, continuation lines joined
  flags: Record<string, string>; // --from=build etc. (COPY/ADD/RUN)
  words: string[]; // args without flags, split on whitespace (shell form) or the JSON array
  json: boolean; // exec (JSON array) form
}

export interface Stage {
  index: number;
  name?: string;
  baseImage: string; // after ARG substitution
  instructions: Instruction[];
}

export interface Dockerfile {
  globalArgs: Record<string, string>;
  stages: Stage[];
}

export function parseDockerfile(text: string): Dockerfile {
  const logical: Array<{ line: number; text: string }> = [];
  const lines = text.split(/\r?\n/);
  let buf = '';
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const trimmed = raw.trim();
    if (buf === '' && (trimmed === '' || trimmed.startsWith('#'))) continue; // comments, parser directives, blank
    if (buf !== '' && trimmed.startsWith('#')) continue; // comment lines inside a continuation are dropped
    if (buf === '') start = i + 1;
    if (/\\\s*$/.test(raw)) {
      buf += raw.replace(/\\\s*$/, '') + ' ';
      continue;
    }
    buf += raw;
    logical.push({ line: start, text: buf.trim() });
    buf = '';
  }
  if (buf.trim()) logical.push({ line: start, text: buf.trim() });

  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const { line, text: t } of logical) {
    const m = /^(\S+)\s*([\s\S]*)$/.exec(t);
    if (!m) continue;
    const keyword = m[1].toUpperCase();
    const args = m[2];
    const ins = toInstruction(line, keyword, args);
    if (keyword === 'FROM') {
      const [image, as, name] = ins.words;
      const baseImage = substitute(image, globalArgs);
      stages.push({
        index: stages.length,
        name: as?.toUpperCase() === 'AS' ? name : undefined,
        baseImage,
        instructions: [],
      });
      continue;
    }
    if (stages.length === 0) {
      if (keyword !== 'ARG') throw new Error(`Dockerfile line ${line}: ${keyword} before the first FROM`);
      const [k, ...rest] = args.split('=');
      globalArgs[k.trim()] = rest.join('=').trim();
      continue;
    }
    stages[stages.length - 1].instructions.push(ins);
  }
  return { globalArgs, stages };
}

function toInstruction(line: number, keyword: string, args: string): Instruction {
  const flags: Record<string, string> = {};
  let rest = args;
  if (['COPY', 'ADD', 'RUN'].includes(keyword)) {
    for (;;) {
      const f = /^--([a-zA-Z-]+)(?:=(\S*))?\s+/.exec(rest);
      if (!f) break;
      flags[f[1]] = f[2] ?? 'true';
      rest = rest.slice(f[0].length);
    }
  }
  let words: string[];
  let json = false;
  if (rest.startsWith('[')) {
    try {
      const parsed = JSON.parse(rest);
      if (Array.isArray(parsed) && parsed.every((w) => typeof w === 'string')) {
        words = parsed;
        json = true;
      } else words = rest.split(/\s+/);
    } catch {
      words = rest.split(/\s+/);
    }
  } else words = rest.split(/\s+/).filter(Boolean);
  return { line, keyword, args: rest, flags, words, json };
}

/** ${VAR}, ${VAR:-default} and $VAR from build args. */
export function substitute(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a, def, b) => {
    const name = a ?? b;
    const v = vars[name];
    return v !== undefined && v !== '' ? v : (def ?? '');
  });
}

export function finalStage(df: Dockerfile): Stage {
  const s = df.stages.at(-1);
  if (!s) throw new Error('Dockerfile has no FROM');
  return s;
}

export function stageByRef(df: Dockerfile, ref: string): Stage | undefined {
  return df.stages.find((s) => s.name === ref) ?? (/^\d+$/.test(ref) ? df.stages[Number(ref)] : undefined);
}

// ---------------------------------------------------------------- .dockerignore

interface IgnoreRule {
  negate: boolean;
  regex: RegExp;
  pattern: string;
}

/**
 * .dockerignore with Docker's semantics (moby/patternmatcher): patterns are cleaned paths
 * relative to the context root; `*` and `?` stop at `/`, `**` spans directories; a pattern
 * also matches everything below a matching directory; the last matching rule wins, and `!`
 * re-includes.
 */
export class DockerIgnore {
  readonly rules: IgnoreRule[];
  constructor(text: string) {
    this.rules = [];
    for (let line of text.split(/\r?\n/)) {
      line = line.trim();
      if (!line || line.startsWith('#')) continue;
      let negate = false;
      if (line.startsWith('!')) {
        negate = true;
        line = line.slice(1).trim();
      }
      let pattern = posix.normalize(line).replace(/^\/+/, '').replace(/\/+$/, '');
      if (pattern === '.') pattern = '';
      this.rules.push({ negate, regex: patternToRegex(pattern), pattern });
    }
  }

  /** Is `path` (relative to the context, `/`-separated) left out of the build context? */
  excludes(path: string): boolean {
    const parents: string[] = [];
    const parts = path.split('/');
    for (let i = 1; i <= parts.length; i++) parents.push(parts.slice(0, i).join('/'));
    let excluded = false;
    for (const rule of this.rules) {
      const hit = parents.some((p) => rule.regex.test(p));
      if (hit) excluded = !rule.negate;
    }
    return excluded;
  }

  /** Could some file below directory `dir` be in the context (so a walk must descend)? */
  mayIncludeBelow(dir: string): boolean {
    if (!this.excludes(dir)) return true;
    return this.rules.some((r) => {
      if (!r.negate) return false;
      const prefix = r.pattern.split(/[*?[\\]/)[0]; // the literal start of the pattern
      return prefix === '' || dir.startsWith(prefix) || prefix.startsWith(dir + '/');
    });
  }
}

function patternToRegex(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') i++;
        re += i + 1 >= pattern.length ? '.*' : '(.*/)?';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]);
    else re += escapeRe(c);
  }
  return new RegExp(re + '$');
}

function escapeRe(c: string): string {
  return /[.+^${}()|[\]\\]/.test(c) ? '\\' + c : c;
}

/** The files of the build context: every file under `root` the .dockerignore leaves in. */
export async function contextFiles(root: string, ignore: DockerIgnore): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    for (const entry of await readdir(join(root, dir), { withFileTypes: true })) {
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (ignore.mayIncludeBelow(rel)) await walk(rel);
      } else if (!ignore.excludes(rel)) out.push(rel);
    }
  }
  await walk('');
  return out.sort();
}

// ---------------------------------------------------------------- rehearsal

export interface RehearsalOptions {
  /** Directory holding the Dockerfile and the build context. */
  contextDir: string;
  /** Scratch directory; each stage gets a root filesystem below it. */
  workDir: string;
  /** Extra environment for RUN (e.g. npm_config_prefer_offline=true). */
  env?: Record<string, string>;
  log?: (line: string) => void;
}

export interface StageResult {
  stage: Stage;
  root: string; // host directory standing in for the stage's `/`
  workdir: string; // container path
  env: Record<string, string>;
  user?: string;
  entrypoint?: string[];
  cmd?: string[];
}

/**
 * Walks the Dockerfile stage by stage without Docker: each stage's filesystem is a host
 * directory that starts EMPTY (the base image's own files are not there; the node binary
 * comes from the host). COPY copies from the filtered build context or an earlier stage,
 * RUN runs through /bin/sh in the stage's WORKDIR. This proves the Dockerfile's COPY
 * sources exist and its build steps work on this source tree; it does not prove anything
 * about the base image.
 */
export async function rehearseBuild(df: Dockerfile, opts: RehearsalOptions): Promise<StageResult[]> {
  const ignoreFile = join(opts.contextDir, '.dockerignore');
  const ignore = new DockerIgnore(existsSync(ignoreFile) ? await readFile(ignoreFile, 'utf8') : '');
  const context = new Set(await contextFiles(opts.contextDir, ignore));
  const results: StageResult[] = [];

  for (const stage of df.stages) {
    const root = join(opts.workDir, `stage-${stage.index}${stage.name ? '-' + stage.name : ''}`);
    await mkdir(root, { recursive: true });
    const st: StageResult = { stage, root, workdir: '/', env: {} };
    const args: Record<string, string> = { ...df.globalArgs };
    const host = (p: string) => join(root, ...posix.resolve(st.workdir, p).split('/'));
    for (const ins of stage.instructions) {
      const where = `Dockerfile:${ins.line} ${ins.keyword}`;
      switch (ins.keyword) {
        case 'ARG': {
          const [k, ...v] = ins.args.split('=');
          if (v.length) args[k.trim()] = v.join('=');
          break;
        }
        case 'ENV': {
          const m = /^(\S+?)(?:=|\s+)(.*)$/.exec(ins.args);
          if (!m) throw new Error(`${where}: cannot read ${ins.args}`);
          st.env[m[1]] = substitute(m[2], { ...args, ...st.env });
          break;
        }
        case 'WORKDIR':
          st.workdir = posix.resolve(st.workdir, substitute(ins.args, { ...args, ...st.env }));
          await mkdir(host('.'), { recursive: true });
          break;
        case 'USER':
          st.user = ins.args.trim();
          break;
        case 'ENTRYPOINT':
          st.entrypoint = ins.json ? ins.words : ['/bin/sh', '-c', ins.args];
          break;
        case 'CMD':
          st.cmd = ins.json ? ins.words : ['/bin/sh', '-c', ins.args];
          break;
        case 'COPY': {
          const dest = ins.words.at(-1)!;
          const sources = ins.words.slice(0, -1);
          if (sources.length === 0) throw new Error(`${where}: no source`);
          const destIsDir = dest.endsWith('/') || sources.length > 1;
          for (const src of sources) {
            let from: string; // host path of the source
            if (ins.flags.from) {
              const other = results.find((r) => r.stage === stageByRef(df, ins.flags.from));
              if (!other) throw new Error(`${where}: --from=${ins.flags.from} is not an earlier stage`);
              from = join(other.root, ...posix.resolve(other.workdir, src).split('/'));
              if (!existsSync(from)) throw new Error(`${where}: ${src} does not exist in stage ${ins.flags.from}`);
            } else {
              const rel = posix.normalize(src).replace(/^\.?\/+/, '').replace(/\/+$/, '');
              const inContext = rel === '' || rel === '.' ? [...context] : [...context].filter((f) => f === rel || f.startsWith(rel + '/'));
              if (inContext.length === 0) {
                const why = existsSync(join(opts.contextDir, rel)) ? ' (it exists but .dockerignore leaves it out)' : '';
                throw new Error(`${where}: COPY source ${src} is not in the build context${why}`);
              }
              // Copy only the context's files (what .dockerignore lets through).
              const isDir = inContext.length > 1 || inContext[0] !== rel;
              for (const f of inContext) {
                const target = isDir
                  ? join(host(dest), ...relative(rel || '.', f).split(sep))
                  : destIsDir
                    ? join(host(dest), posix.basename(f))
                    : host(dest);
                await mkdir(resolve(target, '..'), { recursive: true });
                await cp(join(opts.contextDir, f), target);
              }
              continue;
            }
            const isDir = (await stat(from)).isDirectory();
            const target = isDir ? host(dest) : destIsDir ? join(host(dest), posix.basename(src)) : host(dest);
            await mkdir(resolve(target, '..'), { recursive: true });
            await cp(from, target, { recursive: true, verbatimSymlinks: true });
          }
          break;
        }
        case 'RUN': {
          const command = ins.json ? ins.words.map(shellQuote).join(' ') : ins.args;
          // RUN executes on this machine, not in a container: only the npm steps a Node
          // build needs, never something that could touch the host (rm -rf /usr/..., apt-get).
          for (const part of command.split('&&').map((p) => p.trim())) {
            if (!SAFE_RUN.test(part)) throw new Error(`${where}: the rehearsal will not run "${part}" on the host`);
          }
          opts.log?.(`[${stage.name ?? stage.index}] RUN ${command}`);
          await run('/bin/sh', ['-c', command], host('.'), { ...process.env, ...opts.env, ...st.env });
          break;
        }
        case 'EXPOSE':
        case 'LABEL':
        case 'HEALTHCHECK':
        case 'STOPSIGNAL':
        case 'SHELL':
        case 'VOLUME':
        case 'ONBUILD':
          break;
        default:
          throw new Error(`${where}: the rehearsal does not support ${ins.keyword}`);
      }
    }
    results.push(st);
  }
  return results;
}

const SAFE_RUN = /^npm (ci|run [\w:.-]+|cache clean)( --?[\w-]+(=[\w.-]+)?)*$/;

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = 600_000,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    execFile(cmd, args, { cwd, env, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed in ${cwd}: ${err.message}\n${stdout}\n${stderr}`));
      else resolvePromise({ stdout, stderr });
    });
  });
}
