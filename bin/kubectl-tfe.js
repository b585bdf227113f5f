#!/usr/bin/env node
// kubectl-tfe: the kubectl plugin (`kubectl tfe ...`). kubectl finds plugins on PATH by the
// exact name `kubectl-tfe`: `npm install -g` creates that name from package.json's "bin";
// from a checkout, link it: ln -s "$PWD/bin/kubectl-tfe.js" ~/.local/bin/kubectl-tfe
// Runs the compiled plugin when it exists (dist/), else the TypeScript source through tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'plugin', 'main.js');
if (existsSync(compiled)) {
  await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src', 'plugin', 'main.ts')).href);
}
