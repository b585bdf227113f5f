import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Condition, TfeCluster, TfeClusterStatus } from '../api/types.ts';
import { formatAge, renderList, renderStatus, waitDeadlineMs } from './status.ts';
import { describeAbort, describeError, UserError } from './commands.ts';

const NOW = Date.parse('2026-01-07T12:00:00Z');

function cond(type: string, status: Condition['status'], reason: string, message: string): Condition {
  return { type, status, reason, message, lastTransitionTime: '2026-01-07T11:00:00Z' };
}

function cluster(status?: Partial<TfeClusterStatus>, patch: (c: TfeCluster) => void = () => {}): TfeCluster {
  const c = {
    apiVersion: 'tfe.operators.dev/v1alpha1',
    kind: 'TfeCluster',
    metadata: { name: 'tfe', namespace: 'prod', generation: 4, annotations: {} },
    spec: {
      nodes: 2,
      health: { timeout: '15m' },
      rollout: { paused: false, approval: 'Manual', failurePolicy: 'Rollback', stepDeadline: '30m' },
    },
    status: status ? { observedGeneration: 4, ...status } : undefined,
  } as unknown as TfeCluster;
  patch(c);
  return c;
}

const lines = (s: string) => s.split('\n');
const lineOf = (s: string, word: string) => lines(s).find((l) => new RegExp(`[✓▶·✗] ${word}\\b`).test(l)) ?? '';

test('no status yet: says the operator has not reconciled it', () => {
  const out = renderStatus(cluster(undefined), { now: NOW });
  assert.match(out, /^TfeCluster prod\/tfe  Unknown/);
  assert.match(out, /No status yet: the operator has not reconciled this TfeCluster/);
});

test('mid-migration, single node step, waiting for health: marks, wait clock and deadline', () => {
  const out = renderStatus(
    cluster({
      phase: 'Migrating',
      step: 'SingleNode',
      message: 'waiting for 1 healthy node(s) on launch template version 2',
      conditions: [
        cond('Validated', 'True', 'ChecksPassed', 'all checks passed'),
        cond('RedisReady', 'True', 'Available', 'Redis at r.example:6379'),
        cond('SingleNodeHealthy', 'False', 'WaitingForHealthy', '0/1 healthy on version 2'),
        cond('ScaledOut', 'Unknown', 'NotStarted', 'not started'),
        cond('Ready', 'False', 'SingleNode', 'waiting'),
        cond('Degraded', 'False', 'AsExpected', 'no failure'),
      ],
      wait: { id: 'healthy:2:1', since: '2026-01-07T11:58:30Z' },
      nodes: { desired: 2, ready: 0, instances: [{ id: 'i-1', healthy: false, launchTemplateVersion: '2', message: 'installing (20s)' }] },
      redis: { endpoint: 'r.example', port: 6379, replicationGroupId: 'tfe-redis', managed: true },
      launchTemplate: { id: 'lt-1', baselineVersion: 1, currentVersion: 2, lastGoodVersion: 1 },
      lastAction: { kind: 'ScaleAsg', message: 'scaled tfe to 1', time: '2026-01-07T11:58:00Z' },
    }),
    { now: NOW },
  );
  assert.match(lines(out)[0], /^TfeCluster prod\/tfe  Migrating  step SingleNode  generation 4, observed 4$/);
  assert.match(lineOf(out, 'Validate'), /✓ Validate\s+all checks passed/);
  assert.match(lineOf(out, 'Redis'), /✓ Redis\s+Redis at r\.example:6379/);
  assert.match(lineOf(out, 'SingleNode'), /▶ SingleNode\s+0\/1 healthy on version 2\s+\(waiting 1m30s of 15m00s, then roll back\)/);
  assert.match(lineOf(out, 'ScaleOut'), /· ScaleOut\s+not started/);
  assert.match(lineOf(out, 'Done'), /· Done\s+not started/);
  assert.match(out, /Nodes  0 ready of 2 desired, 1 running/);
  assert.match(out, /✗ i-1  unhealthy  launch template v2  installing \(20s\)/);
  assert.match(out, /Redis  r\.example:6379  \(ElastiCache tfe-redis, created by the operator\)/);
  assert.match(out, /Launch template  lt-1: baseline v1, current v2, last good v1/);
  assert.match(out, /Last action  ScaleAsg 2m00s ago: scaled tfe to 1/);
  assert.doesNotMatch(out, /Degraded|Approval|Paused/);
  assert.doesNotMatch(out, /\u001b\[/, 'colour without a terminal');
});

test('waiting for approval and paused: the command to run is shown', () => {
  const out = renderStatus(
    cluster(
      {
        phase: 'WaitingForApproval',
        step: 'ScaleOut',
        message: 'waiting for approval',
        conditions: [cond('Progressing', 'True', 'WaitingForApproval', 'approve roll-v3-to-0 to do it'), cond('ScaledOut', 'Unknown', 'NotStarted', 'not started')],
        approval: { waitingFor: 'roll-v3-to-0', description: 'point the Auto Scaling Group at launch template version 3 and scale to 0' },
      },
      (c) => {
        c.spec.rollout!.paused = true;
      },
    ),
    { now: NOW },
  );
  assert.match(lineOf(out, 'ScaleOut'), /▶ ScaleOut\s+approve roll-v3-to-0 to do it/);
  assert.match(out, /Approval  waiting for roll-v3-to-0: point the Auto Scaling Group/);
  assert.match(out, /approve: kubectl tfe approve tfe -n prod/);
  assert.match(out, /Paused  spec\.rollout\.paused is true; resume: kubectl tfe resume tfe -n prod/);
  assert.match(out, /Redis  not provisioned yet/);
});

test('approved but not picked up yet', () => {
  const out = renderStatus(
    cluster({ phase: 'WaitingForApproval', step: 'SingleNode', approval: { waitingFor: 'scale-to-1' } }, (c) => {
      c.metadata.annotations = { 'tfe.operators.dev/approve': 'scale-to-1' };
    }),
    { now: NOW },
  );
  assert.match(out, /approved; the operator has not picked it up yet/);
  assert.doesNotMatch(out, /approve: kubectl tfe approve/);
});

test('degraded: the failure comes first and the failed step is marked', () => {
  const out = renderStatus(
    cluster(
      {
        phase: 'Degraded',
        step: 'Redis',
        message: 'replication group tfe-redis runs in cluster mode',
        conditions: [
          cond('Validated', 'True', 'ChecksPassed', 'ok'),
          cond('RedisReady', 'False', 'RedisClusterMode', 'cluster mode'),
          cond('Degraded', 'True', 'RedisClusterMode', 'replication group tfe-redis runs in cluster mode'),
        ],
      },
      (c) => {
        c.metadata.annotations = { 'tfe.operators.dev/abort': 'true' };
      },
    ),
    { now: NOW },
  );
  const l = lines(out);
  assert.match(l[2], /✗ Degraded  RedisClusterMode: replication group tfe-redis runs in cluster mode/);
  assert.match(l[3], /Abort requested  annotation tfe\.operators\.dev\/abort=true/);
  assert.match(lineOf(out, 'Validate'), /✓ Validate/);
  assert.match(lineOf(out, 'Redis'), /✗ Redis\s+cluster mode/);
  assert.match(lineOf(out, 'SingleNode'), /· SingleNode/);
});

test('ready: every step done', () => {
  const out = renderStatus(
    cluster({
      phase: 'Ready',
      step: 'Done',
      message: 'Active/Active: 2 of 2 nodes healthy',
      conditions: [
        cond('Validated', 'True', 'ChecksPassed', 'ok'),
        cond('RedisReady', 'True', 'Available', 'ok'),
        cond('SingleNodeHealthy', 'True', 'Validated', 'ok'),
        cond('ScaledOut', 'True', 'AllNodesHealthy', '2 of 2'),
        cond('Ready', 'True', 'ActiveActive', 'Active/Active with 2 healthy nodes'),
      ],
      nodes: {
        desired: 2,
        ready: 2,
        instances: [
          { id: 'i-1', healthy: true, launchTemplateVersion: '3' },
          { id: 'i-2', healthy: true, launchTemplateVersion: '3' },
        ],
      },
    }),
    { now: NOW },
  );
  for (const step of ['Validate', 'Redis', 'SingleNode', 'ScaleOut']) assert.match(lineOf(out, step), new RegExp(`✓ ${step}`));
  assert.match(lineOf(out, 'Done'), /✓ Done\s+Active\/Active with 2 healthy nodes/);
  assert.match(out, /Nodes  2 ready of 2 desired\n/);
  assert.equal((out.match(/✓ i-\d  healthy/g) ?? []).length, 2);
});

test('a Day-2 step gets its own line; the migration steps read their conditions', () => {
  const out = renderStatus(
    cluster({
      phase: 'Migrating',
      step: 'Upgrade',
      message: 'repaving onto launch template version 5',
      conditions: [
        cond('Validated', 'True', 'ChecksPassed', 'ok'),
        cond('RedisReady', 'True', 'Available', 'ok'),
        cond('SingleNodeHealthy', 'True', 'Validated', 'ok'),
        cond('ScaledOut', 'False', 'WaitingForHealthy', '0/1 healthy on version 5'),
        cond('Ready', 'False', 'Upgrade', 'upgrading'),
      ],
      wait: { id: 'drain:5', since: '2026-01-07T11:59:00Z' },
    }),
    { now: NOW },
  );
  assert.match(lineOf(out, 'SingleNode'), /✓ SingleNode/);
  assert.match(lineOf(out, 'ScaleOut'), /· ScaleOut/);
  assert.match(lineOf(out, 'Done'), /· Done\s*$/);
  assert.match(lineOf(out, 'Upgrade'), /▶ Upgrade\s+repaving onto launch template version 5\s+\(waiting 1m00s of 30m00s, then roll back\)/);
});

test('a spec change the operator has not seen is flagged', () => {
  const out = renderStatus(cluster({ phase: 'Ready', step: 'Done', observedGeneration: 3 }), { now: NOW });
  assert.match(out, /the spec changed \(generation 4\); this status is for generation 3/);
});

test('colour only when asked', () => {
  const c = cluster({ phase: 'Ready', step: 'Done' });
  assert.match(renderStatus(c, { now: NOW, color: true }), /\u001b\[32mReady\u001b\[0m/);
  assert.doesNotMatch(renderStatus(c, { now: NOW, color: false }), /\u001b\[/);
});

test('formatAge and wait deadlines', () => {
  assert.equal(formatAge(42_000), '42s');
  assert.equal(formatAge(185_000), '3m05s');
  assert.equal(formatAge(3_720_000), '1h02m');
  assert.equal(formatAge(-5), '0s');
  const c = cluster({});
  assert.equal(waitDeadlineMs(c, 'healthy:3:2'), 15 * 60_000);
  assert.equal(waitDeadlineMs(c, 'redis:tfe-redis'), 30 * 60_000);
  assert.equal(waitDeadlineMs(c, 'rollback-healthy:1'), undefined);
});

test('list: one row per TfeCluster', () => {
  const a = cluster({ phase: 'Ready', step: 'Done', nodes: { desired: 2, ready: 2 }, message: 'fine' });
  const b = cluster({ phase: 'WaitingForApproval', step: 'SingleNode', approval: { waitingFor: 'scale-to-1' } }, (c) => {
    c.metadata.name = 'other';
  });
  const out = renderList([a, b]);
  assert.deepEqual(lines(out).map((l) => l.split(/\s{2,}/)[0]), ['NAME', 'tfe', 'other']);
  assert.match(out, /^other\s+WaitingForApproval\s+SingleNode\s+-\s+scale-to-1$/m);
  assert.match(renderList([a], { allNamespaces: true }), /^NAMESPACE\s+NAME/);
});

test('abort explains itself; API errors are reduced to their message', () => {
  const d = describeAbort(cluster({ phase: 'Migrating', step: 'ScaleOut', message: 'scaling out', launchTemplate: { baselineVersion: 1, lastGoodVersion: 1, currentVersion: 3 } }));
  assert.match(d.description, /rolls back to launch template version 1 \(the last good one\)/);
  assert.match(d.description, /It is Migrating \(step ScaleOut\): scaling out/);
  assert.equal(d.alreadyRequested, false);

  const forbidden = Object.assign(new Error('HTTP-Code: 403 Message: Unknown API Status Code! Body: ...'), {
    code: 403,
    body: JSON.stringify({ kind: 'Status', message: 'tfeclusters.tfe.operators.dev "tfe" is forbidden: User "bob" cannot patch resource' }),
  });
  assert.equal(describeError(forbidden), 'Kubernetes API answered 403: tfeclusters.tfe.operators.dev "tfe" is forbidden: User "bob" cannot patch resource (check your RBAC: kubectl auth can-i)');
  assert.equal(describeError(new UserError('nothing to approve')), 'nothing to approve');
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
  assert.match(describeError(refused), /^cannot reach the Kubernetes API server \(ECONNREFUSED\)/);
});

test('remote text reaches the terminal without control characters (escape sequences, C0 but \\n and \\t, C1, bidi overrides)', async () => {
  const { stripControl } = await import('./status.ts');
  const evil = 'ok\u001b[2J\u001b[31mred\u001b[0m\u001b]0;title\u0007\u001b]8;;http://x\u001b\\link\u0007\rover\bback\u0000nul\u009b31mc1\u0085nel\u202eevil\u2066x\u007f\ttab\nline';
  assert.equal(stripControl(evil), 'okredlinkoverbacknulc1nelevilx\ttab\nline');
  const c = {
    apiVersion: 'tfe.operators.dev/v1alpha1',
    kind: 'TfeCluster',
    metadata: { name: 'tfe', namespace: 'tfe', generation: 1 },
    spec: {},
    status: {
      phase: 'Degraded',
      step: 'SingleNode',
      observedGeneration: 1,
      message: 'health body: \u001b]52;c;ZXZpbA==\u0007pwned\u001b[2J',
      conditions: [{ type: 'Degraded', status: 'True', reason: 'RedisUnreachable', message: 'ERR \u001b[1;31mAUTH\u001b[0m failed\u0007', lastTransitionTime: '2026-01-01T00:00:00Z' }],
      nodes: { desired: 1, ready: 0, instances: [{ id: 'i-1', healthy: false, launchTemplateVersion: '2', message: '<html>\u001b[8mhidden\u001b[28m\u009d8;;x\u009c</html>' }] },
    },
  } as never;
  for (const out of [renderStatus(c, { now: Date.parse('2026-01-01T00:01:00Z') }), renderList([c])]) {
    assert.doesNotMatch(out, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/, JSON.stringify(out));
  }
  const out = renderStatus(c, { now: Date.parse('2026-01-01T00:01:00Z') });
  assert.match(out, /health body: pwned/);
  assert.match(out, /ERR AUTH failed/);
  assert.match(out, /<html>hidden<\/html>/);
  // Colours are still ours to add.
  assert.match(renderStatus(c, { color: true }), /\u001b\[31m/);
});
