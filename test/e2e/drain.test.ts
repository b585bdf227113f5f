// Drain before a node goes away, end to end, with runs in flight: users' runs are queued through
// TFE's API (the simulator's stand-in) and take seconds on the nodes; the operator sends TFE's
// node drain through SSM Run Command (moto, patched to deliver commands to the simulator, which
// runs them on the node with bash: `replicated admin node-drain` waits until the node's runs are
// done). The simulator's log says which nodes left, whether they were drained first, and whether
// any run was cut off.

import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { describeAsg } from './support.ts';
import { condition, migrate, patchSpec, simConfig, stopOperator, waitFor, waitReady } from './day2.ts';

const sim = () => process.env.TFE_SIM_URL!;

interface SimRunView {
  id: string;
  message: string;
  status: string;
  node: string | null;
  error: string | null;
}
interface Departure {
  id: string;
  drainRequested: boolean;
  drained: boolean;
  unfinishedRuns: string[];
}
interface SsmEntry {
  instanceId: string;
  commands: string[];
  status: string;
}

async function state(): Promise<{ departures: Departure[]; ssm: SsmEntry[]; nodes: Array<{ id: string; state: string; draining?: boolean }> }> {
  return (await (await fetch(`${sim()}/sim/state`)).json()) as never;
}

async function runs(): Promise<SimRunView[]> {
  return ((await (await fetch(`${sim()}/sim/runs`)).json()) as { runs: SimRunView[] }).runs;
}

/** A user's run, as TFE's API takes it. */
async function queueUserRun(n: number): Promise<string> {
  const h = { authorization: `Bearer ${process.env.TFE_SIM_API_TOKEN}`, 'content-type': 'application/vnd.api+json' };
  const ws = (await (await fetch(`${sim()}/api/v2/organizations/${process.env.TFE_SIM_API_ORGANIZATION}/workspaces/${process.env.TFE_SIM_API_WORKSPACE}`, { headers: h })).json()) as {
    data: { id: string };
  };
  const r = await fetch(`${sim()}/api/v2/runs`, {
    method: 'POST',
    headers: h,
    body: JSON.stringify({ data: { type: 'runs', attributes: { message: `user run ${n}`, 'plan-only': true }, relationships: { workspace: { data: { type: 'workspaces', id: ws.data.id } } } } }),
  });
  assert.equal(r.status, 201, await r.clone().text());
  return ((await r.json()) as { data: { id: string } }).data.id;
}

/** Waits until each run has a node and is past the queue (in flight on a node). */
async function inFlight(ids: string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const all = await runs();
    if (ids.every((id) => ['planning', 'plan_queued'].includes(all.find((r) => r.id === id)?.status ?? ''))) return;
    assert.ok(Date.now() < deadline, `runs not in flight: ${JSON.stringify(all.filter((r) => ids.includes(r.id)))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

afterEach(async () => {
  await stopOperator();
  await simConfig({ runsHang: false, runPlanMs: 0, ssmAgent: true });
});

test('drain: with runs in flight, a release upgrade and a scale-in drain every leaving node first and cut off no run', async () => {
  await migrate('drain-upgrade');
  await simConfig({ runPlanMs: 4000 });
  const before = (await state()).departures.length;
  const users = await Promise.all([1, 2, 3].map(queueUserRun));
  await inFlight(users);

  // A repave: both Active/Active nodes go.
  await patchSpec({ release: { sequence: 550 } });
  await waitReady('Ready on release 550');
  // A scale-in while runs are in flight again: 2 -> 3 -> 2.
  await patchSpec({ nodes: 3 });
  await waitReady('Ready with 3 nodes');
  const more = await Promise.all([4, 5, 6].map(queueUserRun));
  await inFlight(more);
  await patchSpec({ nodes: 2 });
  const c = await waitReady('Ready with 2 nodes again');
  assert.equal(c.status?.nodes?.ready, 2);

  const s = await state();
  const left = s.departures.slice(before);
  assert.ok(left.length >= 3, `expected the two repaved nodes and one scaled-in node to leave: ${JSON.stringify(left)}`);
  for (const d of left) {
    assert.ok(d.drainRequested && d.drained, `node ${d.id} left without being drained: ${JSON.stringify(d)}`);
    assert.deepEqual(d.unfinishedRuns, [], `node ${d.id} left with runs in flight`);
    assert.ok(
      s.ssm.some((x) => x.instanceId === d.id && x.commands.join('\n').includes('node-drain') && x.status === 'Success'),
      `no successful SSM drain command for ${d.id}: ${JSON.stringify(s.ssm)}`,
    );
  }
  // Runs on the nodes that stayed may still be planning: wait for every one to end.
  let all = await runs();
  for (const deadline = Date.now() + 60_000; [...users, ...more].some((id) => !['planned_and_finished', 'errored'].includes(all.find((x) => x.id === id)?.status ?? '')); ) {
    assert.ok(Date.now() < deadline, `runs did not end: ${JSON.stringify(all)}`);
    await new Promise((r) => setTimeout(r, 200));
    all = await runs();
  }
  for (const id of [...users, ...more]) {
    const r = all.find((x) => x.id === id)!;
    assert.equal(r.status, 'planned_and_finished', `run ${id}: ${JSON.stringify(r)}`);
  }
  assert.deepEqual(all.filter((r) => /killed/.test(r.error ?? '')), [], 'a run was killed');
  const g = await describeAsg();
  assert.ok((g.Instances ?? []).every((i) => !i.ProtectedFromScaleIn), 'the scale-in protection was lifted');
});

test('drain: a node whose run never ends hits drainTimeout (DrainTimeout) and nothing is scaled; once its run ends, a retry repaves', async () => {
  await migrate('drain-timeout');
  await patchSpec({ rollout: { drainTimeout: '15s' } });
  await waitReady('Ready with drainTimeout 15s');
  await simConfig({ runsHang: true });
  const [id] = await Promise.all([queueUserRun(1)]);
  await inFlight([id!]);
  const busy = (await runs()).find((r) => r.id === id)!.node!;
  const desired = (await describeAsg()).DesiredCapacity;
  await patchSpec({ release: { sequence: 550 } });
  const c = await waitFor((x) => x.status?.phase === 'Degraded', 'Degraded DrainTimeout', 180_000);
  assert.equal(condition(c, 'Degraded')?.reason, 'DrainTimeout', c.status?.message);
  // The operator's wait (15s) or, on a loaded machine, SSM's own execution timeout (twice that) ends it.
  assert.match(c.status!.message!, new RegExp(`${busy}.*(not drained after 15s|timed out in SSM).*nothing was scaled`));
  assert.equal((await describeAsg()).DesiredCapacity, desired, 'capacity changed although a node was not drained');
  assert.deepEqual((await state()).departures.filter((d) => d.unfinishedRuns.length > 0), []);
  // Degraded holds: the deadline is not restarted by the next reconcile.
  await new Promise((r) => setTimeout(r, 3_000));
  assert.equal(condition(await waitFor(() => true, 'status'), 'Degraded')?.reason, 'DrainTimeout');
  // The run ends; a spec change (the retry docs/day2.md names) sends the drain again and the repave goes on.
  await simConfig({ runsHang: false });
  await patchSpec({ rollout: { drainTimeout: '2m' } });
  await waitReady('Ready on release 550 after the run ended', 240_000);
  assert.equal((await runs()).find((r) => r.id === id)!.status, 'planned_and_finished');
});

test('drain: nodes without an SSM agent are refused by SSM (InvalidInstanceId): Degraded with AWS words and the fix; drain Skip goes on', async () => {
  await migrate('drain-no-agent');
  await simConfig({ ssmAgent: false });
  await patchSpec({ release: { sequence: 550 } });
  const c = await waitFor((x) => x.status?.phase === 'Degraded', 'Degraded', 120_000);
  assert.match(c.status!.message!, /InvalidInstanceId/);
  assert.match(c.status!.message!, /AmazonSSMManagedInstanceCore.*spec\.rollout\.drain: Skip/);
  await patchSpec({ rollout: { drain: 'Skip' } });
  await waitReady('Ready on release 550 without draining', 240_000);
});
