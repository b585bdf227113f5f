// make sandbox-down: stop everything the sandbox in $SANDBOX_DIR started and remove the dir.
import { existsSync } from 'node:fs';
import { defaultSandboxDir, sandboxDown } from './lifecycle.ts';

const dir = defaultSandboxDir();
try {
  if (!existsSync(dir)) {
    console.log(`no sandbox in ${dir}`);
  } else {
    const t = Date.now();
    const { stopped } = await sandboxDown({ dir, log: (m) => console.log(m) });
    console.log(`sandbox down in ${((Date.now() - t) / 1000).toFixed(1)} s (stopped pids ${stopped.join(', ') || 'none'}; removed ${dir})`);
  }
} catch (err) {
  console.error(`sandbox-down failed: ${(err as Error).message}`);
  process.exit(1);
}
