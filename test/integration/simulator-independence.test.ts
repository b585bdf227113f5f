// The simulator is the judge of the operator's user data, so it must not be built from the
// operator's code: no file under test/sandbox/simulator/ may import anything under src/
// (directly or through another sandbox module it imports).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const simulator = join(repo, 'test', 'sandbox', 'simulator');
const src = join(repo, 'src') + sep;

/** Module specifiers of static imports, re-exports, dynamic imports and require() calls. */
export function specifiers(code: string): string[] {
  const out: string[] = [];
  const patterns = [/\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) for (const m of code.matchAll(re)) out.push(m[1]!);
  return out;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? tsFiles(p) : /\.(ts|mts|js|mjs)$/.test(e) ? [p] : [];
  });
}

/** Every file the simulator's files reach through relative imports that lands in src/, as "a -> b". */
export function importsOfSrc(entryFiles: string[], read: (f: string) => string = (f) => readFileSync(f, 'utf8')): string[] {
  const bad: string[] = [];
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of specifiers(read(file))) {
      if (!spec.startsWith('.') && !spec.startsWith('/')) continue; // packages and node: builtins
      const target = resolve(dirname(file), spec);
      if (target.startsWith(src)) bad.push(`${relative(repo, file)} -> ${relative(repo, target)}`);
      else if (/\.(ts|mts)$/.test(target)) {
        try {
          statSync(target);
          visit(target);
        } catch {
          /* not a file: not ours to follow */
        }
      }
    }
  };
  for (const f of entryFiles) visit(f);
  return bad;
}

test('nothing under test/sandbox/simulator/ imports from src/, directly or through what it imports', () => {
  const files = tsFiles(simulator).filter((f) => !f.endsWith('.test.ts'));
  assert.ok(files.length >= 10, `found only ${files.length} simulator files`);
  assert.deepEqual(importsOfSrc(files), []);
});

test('the check finds an import of src/ in every form', () => {
  // A file that would sit in the simulator's folder. The specifiers are built here, so that this
  // test file holds no import of src/ itself, not even as text.
  const fake = join(simulator, 'fake.ts');
  const operator = (path: string) => ['..', '..', '..', 'src', path].join('/');
  for (const code of [
    `import { parseUserData } from '${operator('tfe/userdata.ts')}';`,
    `export * from '${operator('tfe/userdata.ts')}';`,
    `const m = await import('${operator('tfe/userdata.ts')}');`,
    `import type { X } from "${operator('api/types.ts')}";`,
  ]) {
    assert.equal(importsOfSrc([fake], () => code).length, 1, code);
  }
  assert.deepEqual(importsOfSrc([fake], () => "import { x } from './checks.ts'; import http from 'node:http';").filter((b) => b.includes('src/')), []);
});
