// Benchmark (not a test): the sandbox migration's wall time against the sum of the waits the
// simulator makes unavoidable (each wave of nodes installs for installDelayMs: one node, then
// the scale-out), as a ratio (goal <= 1.2), and the AWS calls the operator made per step.
// Also the outage: the seconds the load balancer had no healthy node (sampled every 50 ms),
// against the same unavoidable install waits (both waves start from 0 nodes, as the runbook's
// scale 0 -> 1 and 0 -> N do), and the seconds spent draining (each SSM SendCommand to the
// capacity change that followed it).
//
//   node --import tsx bench/migration.ts [--install-delay-ms 8000] [--runs 1]
//
// Starts its own sandbox in .sandbox-bench-migration (or uses SANDBOX_ENV), resets the world per run.

import { report } from './report.ts';
import { parseArgs } from 'node:util';
import { benchSandbox } from './sandbox.ts';
import { isReadOperation } from '../src/aws/clients.ts';
import { awsCalls, clearAwsCalls, type AwsCall } from '../test/sandbox/moto.ts';

const { values } = parseArgs({ options: { 'install-delay-ms': { type: 'string', default: '8000' }, runs: { type: 'string', default: '1' }, keep: { type: 'boolean', default: false } } });
const installDelayMs = Number(values['install-delay-ms']);
const runs = Number(values.runs);

const sandbox = await benchSandbox('migration');
const harness = await import('../test/harness.ts');
const support = await import('../test/e2e/support.ts');
const k = support.kube();

interface StepMark {
  step: string;
  at: number;
}

const rows: Array<{ run: number; wallMs: number; waitMs: number; outageMs: number; drainMs: number; calls: AwsCall[]; marks: StepMark[]; start: number }> = [];

/** Samples the load balancer every 50 ms until stopped; returns the milliseconds it served no healthy node. */
function watchOutage(): { stop: () => Promise<number> } {
  let down = 0;
  let running = true;
  const loop = (async () => {
    let last = Date.now();
    while (running) {
      const ok = await fetch(`${process.env.TFE_SIM_URL}/_health_check`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false);
      const now = Date.now();
      if (!ok) down += now - last;
      last = now;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return { stop: async () => ((running = false), await loop, down) };
}

/** Each drain (SendCommand) to the first capacity change after it (UpdateAutoScalingGroup / SetDesiredCapacity). */
function drainingMs(calls: AwsCall[]): number {
  let total = 0;
  for (const c of calls.filter((x) => x.action === 'SendCommand')) {
    const next = calls.find((x) => x.seq > c.seq && (x.action === 'UpdateAutoScalingGroup' || x.action === 'SetDesiredCapacity'));
    if (next) total += Date.parse(next.ts) - Date.parse(c.ts);
  }
  return total;
}
for (let run = 1; run <= runs; run++) {
  await harness.resetWorld();
  await fetch(`${process.env.TFE_SIM_URL}/sim/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ installDelayMs }) });
  // The seeded node must be healthy before the clock starts (a real standalone install is).
  for (let i = 0; i < 200; i++) {
    const s = (await (await fetch(`${process.env.TFE_SIM_URL}/sim/state`)).json()) as { nodes: Array<{ state: string }> };
    if (s.nodes.some((n) => n.state === 'healthy')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const op = await support.operator(`bench-${run}`);
  await op.waitForLog((l) => String(l.msg).startsWith('watch cache synced'), 120_000);
  await clearAwsCalls(process.env.AWS_ENDPOINT_URL!);
  const c = support.exampleCluster((x) => {
    x.spec.health = { ...x.spec.health, interval: '250ms' } as never;
  });
  const start = Date.now();
  const outage = watchOutage();
  await support.createCluster(k, c);
  const marks: StepMark[] = [];
  for (;;) {
    const now = await support.getCluster(k, 'tfe', 'tfe');
    const step = now.status?.step ?? 'Pending';
    if (marks.at(-1)?.step !== step) marks.push({ step, at: Date.now() });
    if (support.isReady(now)) break;
    if (now.status?.phase === 'Degraded') throw new Error(`Degraded: ${now.status.message}`);
    if (Date.now() - start > 10 * 60_000) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
  const wallMs = Date.now() - start;
  const outageMs = await outage.stop();
  const calls = (await awsCalls(process.env.AWS_ENDPOINT_URL!)).filter((x) => (x.userAgent ?? '').includes(`tfe-operator/bench-${run}`) || (x.amzUserAgent ?? '').includes(`tfe-operator/bench-${run}`));
  rows.push({ run, wallMs, waitMs: 2 * installDelayMs, outageMs, drainMs: drainingMs(calls), calls, marks, start });
  await op.stop();
}

const out: string[] = [];
out.push(`\nMigration wall time vs unavoidable simulator waits (install delay ${installDelayMs} ms, 2 waves: 1 node, then the scale-out)`);
out.push('run  wall (s)  unavoidable (s)  ratio');
for (const r of rows) out.push(`${String(r.run).padStart(3)}  ${(r.wallMs / 1000).toFixed(1).padStart(8)}  ${(r.waitMs / 1000).toFixed(1).padStart(15)}  ${(r.wallMs / r.waitMs).toFixed(2).padStart(5)}`);

out.push(`\nOutage: seconds with no healthy node behind the load balancer, vs the unavoidable install waits (2 waves from 0 nodes); seconds spent draining`);
out.push('run  outage (s)  unavoidable (s)  ratio  draining (s)');
for (const r of rows) {
  out.push(
    `${String(r.run).padStart(3)}  ${(r.outageMs / 1000).toFixed(1).padStart(10)}  ${(r.waitMs / 1000).toFixed(1).padStart(15)}  ${(r.outageMs / r.waitMs).toFixed(2).padStart(5)}  ${(r.drainMs / 1000).toFixed(1).padStart(12)}`,
  );
}

const last = rows.at(-1)!;
out.push('\nAWS calls per step (last run)');
out.push('step          reads  writes  operations');
const bounds = last.marks.map((m, i) => ({ step: m.step, from: m.at, to: last.marks[i + 1]?.at ?? Infinity }));
for (const b of bounds) {
  const inStep = last.calls.filter((x) => {
    const t = Date.parse(x.ts);
    return t >= b.from && t < b.to;
  });
  const writes = inStep.filter((x) => !isReadOperation(x.action ?? ''));
  const ops = [...new Set(writes.map((x) => x.action))].join(', ');
  out.push(`${b.step.padEnd(12)}  ${String(inStep.length - writes.length).padStart(5)}  ${String(writes.length).padStart(6)}  ${ops}`);
}
out.push(`total         ${last.calls.length} calls`);

report(out);

await sandbox.stop(values.keep!);
process.exit(0);
