// Benchmark (not a test): how fast a spec change shows in the status. The seeded TfeCluster is
// migrated to Ready first (not measured); then `spec.rollout.paused` is toggled --changes times
// (each patch bumps metadata.generation) and the time from the patch's answer to the first
// read of `status.observedGeneration` >= the new generation is recorded: median, p95, max.
// A watch (not polling) sees the status change, so the resolution is the API server's.
//
//   node --import tsx bench/reaction.ts [--changes 30] [--gap-ms 300] [--install-delay-ms 300] [--keep]
//
// Starts its own sandbox in .sandbox-bench-reaction (or uses SANDBOX_ENV) and stops it at the
// end (unless --keep). The operator runs with its defaults (4 workers, --resync 60000).

import { pct, report } from './report.ts';
import { parseArgs } from 'node:util';
import { Watch } from '@kubernetes/client-node';
import { benchSandbox } from './sandbox.ts';
import { GROUP, PLURAL, VERSION, type TfeCluster } from '../src/api/types.ts';

const { values } = parseArgs({
  options: {
    changes: { type: 'string', default: '30' },
    'gap-ms': { type: 'string', default: '300' },
    'install-delay-ms': { type: 'string', default: '300' },
    keep: { type: 'boolean', default: false },
  },
});
const changes = Number(values.changes);
const gapMs = Number(values['gap-ms']);
const installDelayMs = Number(values['install-delay-ms']);

const sandbox = await benchSandbox('reaction');
const harness = await import('../test/harness.ts');
const support = await import('../test/e2e/support.ts');
const k = support.kube();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


const results: number[] = [];
let failed = 0;
try {
  await harness.resetWorld();
  await fetch(`${process.env.TFE_SIM_URL}/sim/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ installDelayMs }) });
  const op = await support.operator('bench-reaction');
  try {
    await op.waitForLog((l) => l.msg === 'watch cache synced: ready', 120_000);
    await support.createCluster(k, support.exampleCluster());
    await support.waitFor(k, 'tfe', 'tfe', support.isReady, 10 * 60_000, 'Ready');
    console.log('tfe/tfe is Ready; measuring ...');

    // The latest observedGeneration, kept current by a watch on the one object.
    let observed = 0;
    let wake: (() => void) | undefined;
    const watch = new Watch(k.config);
    const req = await watch.watch(
      `/apis/${GROUP}/${VERSION}/namespaces/tfe/${PLURAL}`,
      { fieldSelector: 'metadata.name=tfe' },
      (_type: string, obj: TfeCluster) => {
        observed = Math.max(observed, obj.status?.observedGeneration ?? 0);
        wake?.();
      },
      () => {},
    );
    let paused = false;
    for (let i = 1; i <= changes; i++) {
      paused = !paused;
      const t0 = performance.now();
      const after = await support.updateSpec(k, 'tfe', 'tfe', { rollout: { paused } });
      const tPatched = performance.now();
      const gen = after.metadata.generation!;
      const deadline = Date.now() + 30_000;
      while (observed < gen && Date.now() < deadline) {
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 1_000);
        });
      }
      if (observed < gen) {
        failed++;
        console.error(`change ${i}: generation ${gen} not observed within 30 s`);
      } else {
        const ms = Math.round(performance.now() - tPatched);
        results.push(ms);
        console.log(`change ${String(i).padStart(2)}/${changes}: paused=${paused} generation ${gen} observed in ${ms} ms (patch took ${Math.round(tPatched - t0)} ms)`);
      }
      await sleep(gapMs);
    }
    req.abort();
    // Leave it unpaused and Ready.
    if (paused) await support.updateSpec(k, 'tfe', 'tfe', { rollout: { paused: false } });
  } finally {
    await op.stop();
  }
} finally {
  await sandbox.stop(values.keep!);
}

const xs = [...results].sort((a, b) => a - b);
const out: string[] = [];
out.push('\nSpec change (spec.rollout.paused toggled) to status.observedGeneration, one Ready TfeCluster, default operator');
out.push('changes  median (ms)  p95 (ms)  max (ms)  min (ms)');
if (xs.length) {
  out.push(`${String(xs.length).padStart(7)}  ${String(pct(xs, 50)).padStart(11)}  ${String(pct(xs, 95)).padStart(8)}  ${String(xs.at(-1)).padStart(8)}  ${String(xs[0]).padStart(8)}`);
}
if (failed) out.push(`\n${failed} change(s) not observed in time`);
report(out);

process.exit(failed ? 1 : 0);
