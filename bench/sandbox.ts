// The sandbox a benchmark runs in: its own in `.sandbox-bench-<name>` unless SANDBOX_ENV names
// one (then that one's variables are loaded). Either way process.env holds the sandbox's
// variables afterwards; stop() stops only a sandbox this started.
import { join } from 'node:path';
import { sandboxDown, sandboxUp } from '../test/sandbox/lifecycle.ts';
import { ROOT } from '../test/operator-process.ts';

export async function benchSandbox(name: string): Promise<{ stop(keep: boolean): Promise<void> }> {
  const dir = join(ROOT, `.sandbox-bench-${name}`);
  if (process.env.SANDBOX_ENV) {
    await import('../test/harness.ts'); // loads SANDBOX_ENV into process.env
    return { stop: async () => {} };
  }
  console.log(`starting a sandbox in .sandbox-bench-${name} ...`);
  const up = await sandboxUp({ dir, simPort: 0, log: () => {} });
  Object.assign(process.env, up.env);
  return {
    stop: async (keep) => {
      if (!keep) await sandboxDown({ dir });
    },
  };
}
