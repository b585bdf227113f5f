// spec.validation, end to end: the operator queues a real run through TFE's API (the
// simulator's stand-in on the load balancer's address) once each stage's nodes serve, and the
// stage passes only when the run finishes. The run is real work on a node: Active/Active nodes
// push it through the sandbox redis-server, so a Redis the nodes cannot reach errors the run.

import { ANNOTATION_ALLOWED_TFECLUSTERS } from '../../src/security/secret-access.ts';
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TfeCluster } from '../../src/api/types.ts';
import { createCluster, eventsOf, exampleCluster, simState } from './support.ts';
import { callMark, condition, freshWorld, k, mutationsSince, NAME, NS, simConfig, startOperator, stopOperator, waitFor, waitReady } from './day2.ts';
import { startPart, stopPart } from '../faults/sandbox-parts.ts';

const sim = () => process.env.TFE_SIM_URL!;
const TOKEN = () => process.env.TFE_SIM_API_TOKEN!;

interface SimRun {
  id: string;
  message: string;
  planOnly: boolean;
  status: string;
  node: string | null;
  error: string | null;
  history: { status: string; node: string | null }[];
}

async function simRuns(): Promise<SimRun[]> {
  const r = await fetch(`${sim()}/sim/runs`);
  assert.equal(r.status, 200);
  return ((await r.json()) as { runs: SimRun[] }).runs.filter((x) => x.message.startsWith(`tfe-operator validation of ${NS}/${NAME}:`));
}

afterEach(async () => {
  await stopOperator();
  await simConfig({ runsHang: false, runStepMs: 250 });
});

/** A fresh world, the API token Secret, an operator, and the example with spec.validation. */
async function start(
  id: string,
  opts: { token?: string; workspace?: string; mutate?: (c: TfeCluster) => void; sim?: Parameters<typeof simConfig>[0]; before?: () => Promise<void> } = {},
) {
  await freshWorld(); // (resets the simulator's config too)
  if (opts.sim) await simConfig(opts.sim);
  await opts.before?.();
  await k.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'tfe-api', annotations: { [ANNOTATION_ALLOWED_TFECLUSTERS]: '*' } }, stringData: { token: opts.token ?? TOKEN() } } });
  await startOperator(id);
  const mark = await callMark();
  await createCluster(
    k,
    exampleCluster((c) => {
      c.spec.validation = {
        address: sim(),
        organization: process.env.TFE_SIM_API_ORGANIZATION!,
        workspace: opts.workspace ?? process.env.TFE_SIM_API_WORKSPACE!,
        tokenSecretRef: { name: 'tfe-api', key: 'token' },
      };
      opts.mutate?.(c);
    }),
  );
  return mark;
}

test('validation: Ready after one passed run per stage, each on a node of that stage; status and Events link the run; the token appears nowhere', async () => {
  await start('validation-ok');
  const c = await waitReady('Ready with validation');
  const runs = await simRuns();
  assert.equal(runs.length, 2, JSON.stringify(runs, null, 2));
  assert.ok(runs.every((r) => r.status === 'planned_and_finished' && r.planOnly), JSON.stringify(runs));
  // Each run ran on a node of its stage: the single node (version 2), then one of the Active/Active ones (version 3).
  const nodes = (await simState()).nodes;
  const [first, second] = runs;
  assert.match(first!.message, /stage v2x1-/);
  assert.match(second!.message, /stage v3x2-/);
  assert.equal(c.status?.validation?.runId, second!.id);
  assert.equal(c.status?.validation?.status, 'planned_and_finished');
  assert.equal(c.status?.validation?.url, `${sim()}/app/${process.env.TFE_SIM_API_ORGANIZATION}/workspaces/${process.env.TFE_SIM_API_WORKSPACE}/runs/${second!.id}`);
  const onV3 = nodes.filter((n) => n.version === 3).map((n) => n.id);
  assert.ok(onV3.includes(second!.node!), `run ${second!.id} ran on ${second!.node}, not a version-3 node (${onV3})`);
  const events = await eventsOf(k, NS, NAME);
  const passed = events.filter((e) => e.reason === 'ValidationPassed');
  assert.equal(passed.length, 2, events.map((e) => `${e.reason}: ${e.message}`).join('\n'));
  assert.ok(events.some((e) => e.reason === 'QueueValidationRun' && e.message!.includes(first!.id)));
  const everything = JSON.stringify([c, events]);
  assert.ok(!everything.includes(TOKEN()), 'the API token leaked into status or Events');
});

test('validation: a wrong token is Degraded ValidationUnauthorized before any AWS write', async () => {
  const mark = await start('validation-401', { token: 'not-the-token' });
  const c = await waitFor((x) => x.status?.phase === 'Degraded', 'Degraded');
  assert.equal(condition(c, 'Degraded')?.reason, 'ValidationUnauthorized', c.status?.message);
  assert.match(c.status!.message!, /spec\.validation\.tokenSecretRef/);
  assert.deepEqual((await mutationsSince(mark)).map((x) => x.action), []);
  assert.equal((await simRuns()).length, 0);
});

test('validation: an unknown workspace is Degraded ValidationWorkspaceNotFound before any AWS write', async () => {
  const mark = await start('validation-404', { workspace: 'no-such-workspace' });
  const c = await waitFor((x) => x.status?.phase === 'Degraded', 'Degraded');
  assert.equal(condition(c, 'Degraded')?.reason, 'ValidationWorkspaceNotFound', c.status?.message);
  assert.match(c.status!.message!, /no-such-workspace/);
  assert.deepEqual((await mutationsSince(mark)).map((x) => x.action), []);
});

test('validation: Redis unreachable from the nodes errors the run; once TFE answers again the stage fails and failurePolicy Rollback rolls back', async () => {
  await start('validation-redis', {
    sim: { runStepMs: 2000 },
    mutate: (c) => (c.spec.rollout = { ...c.spec.rollout, failurePolicy: 'Rollback' } as never),
  });
  // The single node's run is queued and handed to a node; then Redis goes away.
  const deadline = Date.now() + 180_000;
  let queued: SimRun | undefined;
  while (!(queued = (await simRuns()).find((r) => r.status === 'plan_queued'))) {
    assert.ok(Date.now() < deadline, 'no run reached plan_queued');
    await new Promise((r) => setTimeout(r, 100));
  }
  await stopPart('redis');
  let errored: SimRun | undefined;
  try {
    while (!(errored = (await simRuns()).find((r) => r.id === queued!.id && r.status === 'errored'))) {
      assert.ok(Date.now() < deadline, 'the run did not error while Redis was down');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(errored.error!, /Redis/);
  } finally {
    // Redis comes back: TFE answers again (no serving node meant 503), and the operator reads
    // the errored run; the stage fails although the node turns healthy again.
    await startPart('redis');
  }
  await simConfig({ runStepMs: 250 });
  const c = await waitFor((x) => x.status?.phase === 'RolledBack', 'RolledBack');
  assert.equal(condition(c, 'Degraded')?.reason, 'ValidationRunFailed');
  assert.match(condition(c, 'Degraded')!.message, new RegExp(`validation run ${queued.id} .* ended errored \\(${sim().replace(/[.:/]/g, '\\$&')}/app/`));
  const failed = (await eventsOf(k, NS, NAME)).filter((e) => e.reason === 'ValidationFailed');
  assert.equal(failed.length, 1);
});

test('validation: a run that never finishes fails the stage at spec.health.timeout, naming the run', async () => {
  await start('validation-hang', {
    sim: { runsHang: true },
    mutate: (c) => {
      c.spec.health = { ...c.spec.health, timeout: '20s' } as never;
      c.spec.rollout = { ...c.spec.rollout, failurePolicy: 'Pause' } as never;
    },
  });
  const c = await waitFor((x) => x.status?.phase === 'Degraded', 'Degraded', 240_000);
  assert.equal(condition(c, 'Degraded')?.reason, 'ProgressDeadlineExceeded', c.status?.message);
  const [run] = await simRuns();
  assert.equal(run?.status, 'planning');
  assert.match(c.status!.message!, new RegExp(`validation run ${run!.id} in workspace .* is planning .*gave up after 20s`));
});

test('validation token of a site admin: the first roll waits until the standalone node works on no run (it has no drain), so no run is cut off', async () => {
  // A user's run on the standalone node, queued before the TfeCluster exists and long enough
  // that a roll without the wait would cut it off.
  let runId = '';
  await start('validation-quiesce', {
    sim: { runPlanMs: 6000 },
    before: async () => {
      const h = { authorization: `Bearer ${TOKEN()}`, 'content-type': 'application/vnd.api+json' };
      const ws = (await (await fetch(`${sim()}/api/v2/organizations/${process.env.TFE_SIM_API_ORGANIZATION}/workspaces/${process.env.TFE_SIM_API_WORKSPACE}`, { headers: h })).json()) as {
        data: { id: string };
      };
      const r = await fetch(`${sim()}/api/v2/runs`, {
        method: 'POST',
        headers: h,
        body: JSON.stringify({ data: { type: 'runs', attributes: { message: 'a user run', 'plan-only': true }, relationships: { workspace: { data: { type: 'workspaces', id: ws.data.id } } } } }),
      });
      assert.equal(r.status, 201);
      runId = ((await r.json()) as { data: { id: string } }).data.id;
    },
  });
  await waitReady('Ready with validation');
  const all = ((await (await fetch(`${sim()}/sim/runs`)).json()) as { runs: SimRun[] }).runs;
  assert.equal(all.find((x) => x.id === runId)?.status, 'planned_and_finished', JSON.stringify(all));
  const departures = ((await (await fetch(`${sim()}/sim/state`)).json()) as { departures: Array<{ id: string; unfinishedRuns: string[] }> }).departures;
  assert.deepEqual(departures.filter((d) => d.unfinishedRuns.length), [], 'a node left with a run in flight');
});

test('validation: TFE refusing to queue the run (422: a workspace it cannot plan) is Degraded TfeRefused with its words, not a retry loop', async () => {
  await start('validation-422', { sim: { runsRefused: true } });
  const c = await waitFor((x) => x.status?.phase === 'Degraded', 'Degraded', 180_000);
  assert.equal(condition(c, 'Degraded')?.reason, 'TfeRefused', c.status?.message);
  assert.match(c.status!.message!, /TFE refused to queue a plan-only run in TFE workspace .*HTTP 422 \(invalid attribute: Configuration version is missing\)/);
  assert.equal((await simRuns()).length, 0);
});
