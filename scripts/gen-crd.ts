// Writes crds/tfe.operators.dev_tfeclusters.yaml from src/api/schema.ts.
//   node --import tsx scripts/gen-crd.ts           write the file
//   node --import tsx scripts/gen-crd.ts --check   exit 1 when the committed file is stale
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRD_FILE, renderCrdYaml } from '../src/api/crd.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const file = join(root, CRD_FILE);
const want = renderCrdYaml();

if (process.argv.includes('--check')) {
  let have = '';
  try {
    have = readFileSync(file, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (have !== want) {
    console.error(`${CRD_FILE} is out of date with src/api/schema.ts: run \`make crds\` (npm run gen:crd) and commit it`);
    process.exit(1);
  }
  console.log(`${CRD_FILE} is up to date`);
} else {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, want);
  console.log(`wrote ${CRD_FILE}`);
}
