import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from './metrics.ts';

async function series(m: Metrics, name: string) {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (metric?.values ?? []) as Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>;
}

test('step gauge: one series per TfeCluster; the step duration is observed when the step changes', async () => {
  const m = new Metrics();
  m.clusterAt('ns/a', 'Validate', 'Migrating', 0);
  m.clusterAt('ns/a', 'Redis', 'Migrating', 2_000);
  m.clusterAt('ns/a', 'Redis', 'WaitingForApproval', 5_000); // phase change, same step: no duration yet
  m.clusterAt('ns/a', 'SingleNode', 'Migrating', 9_000);
  m.clusterAt('ns/b', 'Done', 'Ready', 9_000);
  const steps = await series(m, 'tfe_operator_cluster_step');
  assert.deepEqual(
    steps.map((s) => [s.labels.tfecluster, s.labels.step, s.labels.phase, s.value]).sort(),
    [
      ['ns/a', 'SingleNode', 'Migrating', 1],
      ['ns/b', 'Done', 'Ready', 1],
    ],
  );
  const durations = await series(m, 'tfe_operator_step_duration_seconds');
  const sum = (step: string) => durations.find((d) => d.metricName === 'tfe_operator_step_duration_seconds_sum' && d.labels.step === step)?.value;
  assert.equal(sum('Validate'), 2);
  assert.equal(sum('Redis'), 7);
  assert.equal(sum('SingleNode'), undefined);

  m.forget('ns/b');
  assert.deepEqual((await series(m, 'tfe_operator_cluster_step')).map((s) => s.labels.tfecluster), ['ns/a']);
  m.forgetAll();
  assert.deepEqual(await series(m, 'tfe_operator_cluster_step'), []);
});

test('queue gauges read the queue at scrape time; counters start at 0', async () => {
  const m = new Metrics();
  const q = { depth: 3, inFlight: 1 };
  m.bindQueue(q);
  assert.equal((await series(m, 'tfe_operator_queue_depth'))[0].value, 3);
  q.depth = 0;
  assert.equal((await series(m, 'tfe_operator_queue_depth'))[0].value, 0);
  assert.equal((await series(m, 'tfe_operator_reconciles_in_flight'))[0].value, 1);
  const reconciles = await series(m, 'tfe_operator_reconcile_total');
  assert.deepEqual(reconciles.map((r) => [r.labels.result, r.value]).sort(), [['conflict', 0], ['error', 0], ['ok', 0]]);
  m.reconciled('ns/a', 'ok', 120);
  m.awsCall('elasticache', 'CreateReplicationGroup', 'ok');
  m.watchRestarted('relist');
  assert.equal((await series(m, 'tfe_operator_reconcile_total')).find((r) => r.labels.result === 'ok')?.value, 1);
  assert.deepEqual((await series(m, 'tfe_operator_aws_calls_total')).map((r) => [r.labels.operation, r.labels.outcome, r.value]), [['CreateReplicationGroup', 'ok', 1]]);
  assert.equal((await series(m, 'tfe_operator_watch_restarts_total')).find((r) => r.labels.reason === 'relist')?.value, 1);
});
