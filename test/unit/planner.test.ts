// Table tests of the planner: every step of the migration, Day 2 paths, and every failure.
// Pure: a tiny in-memory world applies each action the way AWS would.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authTokenProblem, earlierRefusal, plan, refusalMessage, refusedPlan, type Plan } from '../../src/migration/planner.ts';
import type { Action } from '../../src/migration/actions.ts';
import type { Observation, ObservedTemplateVersion } from '../../src/migration/observation.ts';
import type { DockerInstall } from '../../src/install/docker-userdata.ts';
import { TAG } from '../../src/migration/observation.ts';
import { encPasswordTagFingerprint, operatorSecretNames } from '../../src/migration/targets.ts';
import type { TfeCluster } from '../../src/api/types.ts';
import type { NodeInstall } from '../../src/tfe/userdata.ts';
import { buildStatus } from '../../src/controller/record.ts';
import { BASE_CONF, BASE_INSTALL, BASE_SETTINGS, baselineVersion, cluster, KEY, world } from './planner-fixture.ts';

let nextInstance = 1;
/** Every instance a scale-in removed, and whether its drain had finished. */
const departed: { id: string; drained: boolean; healthy: boolean }[] = [];
/** Drains never finish (a run that never ends on the node). */
let drainsHang = false;

/** Apply an action to the in-memory world, as AWS would (instances start unhealthy). */
function apply(obs: Observation, a: Action): void {
  const asg = obs.asg!;
  switch (a.kind) {
    case 'TagAsg':
      for (const [k, v] of Object.entries(a.tags)) v === '' ? delete asg.tags[k] : (asg.tags[k] = v);
      return;
    case 'CreateReplicationGroup':
      obs.replicationGroup = {
        id: a.params.id,
        status: 'available',
        endpoint: `master.${a.params.id}.cache.amazonaws.com`,
        port: a.params.port,
        clusterEnabled: false,
        transitEncryption: a.params.transitEncryption,
        atRestEncryption: a.params.atRestEncryption,
        authTokenEnabled: a.params.authToken,
        ownedByUs: true,
      };
      return;
    case 'PutSecrets':
      for (const x of a.secrets) obs.awsSecrets[x.name] = { name: x.name, hash: x.hash, owner: x.tags[TAG.owner], ...(x.tags[TAG.clusterId] ? { clusterId: x.tags[TAG.clusterId] } : {}) };
      return;
    case 'CreateLaunchTemplateVersion': {
      const lt = obs.launchTemplate!;
      lt.latestVersion += 1;
      lt.versions.push({ number: lt.latestVersion, description: a.description, install: a.install, securityGroupIds: ['sg-nodes'] });
      // As AWS resolves it: an ASG on $Latest launches from the new version at once.
      if (asg.launchTemplateVersionSpec === '$Latest') asg.launchTemplateVersion = lt.latestVersion;
      return;
    }
    case 'RollAsg':
      for (const [k, v] of Object.entries(a.tags)) v === '' ? delete asg.tags[k] : (asg.tags[k] = v);
      asg.launchTemplateVersion = a.version;
      asg.launchTemplateVersionSpec = String(a.version);
      asg.min = asg.max = asg.desired = a.capacity;
      return;
    case 'ScaleAsg':
      asg.min = asg.max = asg.desired = a.capacity;
      return;
    case 'AuthorizeIngress':
      obs.securityGroups.find((g) => g.id === a.groupId)!.ingress.push(a.rule);
      return;
    case 'RevokeIngress': {
      const g = obs.securityGroups.find((x) => x.id === a.groupId)!;
      // As AWS does: the named sources of the rule go; a rule left with none goes too.
      g.ingress = g.ingress
        .map((r) =>
          r.protocol === a.rule.protocol && r.fromPort === a.rule.fromPort && r.toPort === a.rule.toPort
            ? { ...r, groups: r.groups.filter((x) => !a.rule.groups.includes(x)), cidrs: r.cidrs.filter((x) => !a.rule.cidrs.includes(x)) }
            : r,
        )
        .filter((r) => r.groups.length + r.cidrs.length > 0);
      return;
    }
    case 'DrainNodes':
      // As SSM and TFE do: the drain is in progress at first; tick() finishes it.
      for (const id of a.instanceIds) obs.drains![id] = { commandId: `cmd-${id}`, status: 'InProgress' };
      return;
    case 'ProtectInstances':
      for (const i of asg.instances) if (a.instanceIds.includes(i.id)) i.protectedFromScaleIn = a.protect;
      asg.tags[TAG.protected] = a.protect ? a.instanceIds.join(',') : '';
      if (!a.protect) delete asg.tags[TAG.protected];
      return;
    case 'QueueValidationRun':
      // As TFE does: the run is pending at first; the test moves it on (see validatedWalk).
      obs.validation!.runs.unshift({ id: `run-${obs.validation!.runs.length + 1}`, status: 'pending', stage: a.message.replace(/^.*: stage /, '') });
      return;
    case 'SetAsgVersion':
      asg.launchTemplateVersion = a.version;
      asg.launchTemplateVersionSpec = String(a.version);
      return;
    case 'SuspendProcesses':
      asg.tags[TAG.suspended] = a.processes.join(',');
      asg.suspendedProcesses = [...new Set([...(asg.suspendedProcesses ?? []), ...a.processes])];
      return;
    case 'ResumeProcesses':
      asg.suspendedProcesses = (asg.suspendedProcesses ?? []).filter((p) => !a.processes.includes(p));
      delete asg.tags[TAG.suspended];
      return;
  }
}

/** One tick of time: instances converge to desired; new ones turn healthy a tick later. */
function tick(obs: Observation, healthy = true): void {
  const asg = obs.asg!;
  for (const d of Object.values(obs.drains ?? {})) if (d.status === 'InProgress' && !drainsHang) d.status = 'Success';
  for (const i of asg.instances) if (healthy && obs.nodeHealth[i.id]?.detail === 'installing') obs.nodeHealth[i.id] = { healthy: true, detail: 'healthy' };
  while (asg.instances.length > asg.desired) {
    // As the ASG does: a scale-in removes unprotected instances only.
    const idx = asg.instances.map((i) => !i.protectedFromScaleIn).lastIndexOf(true);
    assert.ok(idx >= 0, 'a scale-in with every instance protected');
    const [gone] = asg.instances.splice(idx, 1);
    departed.push({ id: gone!.id, drained: obs.drains?.[gone!.id]?.status === 'Success', healthy: !!obs.nodeHealth[gone!.id]?.healthy });
    delete obs.nodeHealth[gone!.id];
  }
  while (asg.instances.length < asg.desired) {
    const id = `i-${nextInstance++}`;
    asg.instances.push({ id, lifecycleState: 'InService', launchTemplateVersion: String(asg.launchTemplateVersion) });
    obs.nodeHealth[id] = { healthy: false, detail: 'installing' };
  }
  obs.now += 1000;
}

/** Plan once and record the status the way the operator does (conditions, wait, fingerprint ...). */
function step(c: TfeCluster, obs: Observation): Plan {
  const p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  c.status = buildStatus(c, p, new Date(obs.now));
  return p;
}

interface Walk {
  actions: Action[];
  scale: number[];
  last: Plan;
}

/** Run the planner against the in-memory world until it stops acting and waiting. */
function walk(c: TfeCluster, obs: Observation, opts: { max?: number; healthy?: boolean } = {}): Walk {
  const actions: Action[] = [];
  const scale = [obs.asg!.desired];
  let last!: Plan;
  for (let i = 0; i < (opts.max ?? 100); i++) {
    last = step(c, obs);
    if (last.action) {
      actions.push(last.action);
      apply(obs, last.action);
      if (obs.asg!.desired !== scale.at(-1)) scale.push(obs.asg!.desired);
    } else if (last.requeueAfterMs === undefined) {
      return { actions, scale, last };
    }
    tick(obs, opts.healthy ?? true);
  }
  return { actions, scale, last };
}

test('a fresh migration walks every step to Ready: 1 -> 0 -> 1 -> 0 -> 2', () => {
  const c = cluster();
  const obs = world();
  const w = walk(c, obs);
  assert.equal(w.last.phase, 'Ready', w.last.message);
  assert.equal(w.last.step, 'Done');
  assert.deepEqual(w.scale, [1, 0, 1, 0, 2]);
  assert.deepEqual(
    w.actions.map((a) => a.kind),
    [
      'TagAsg',
      'CreateReplicationGroup',
      'PutSecrets',
      'CreateLaunchTemplateVersion',
      'RollAsg',
      'ScaleAsg',
      'CreateLaunchTemplateVersion',
      // The single node runs on Redis (Active/Active mode): TFE's drain first. The standalone
      // baseline node has no drain command.
      'DrainNodes',
      'RollAsg',
      'ScaleAsg',
      'TagAsg',
    ],
  );
  const [single, full] = obs.launchTemplate!.versions.slice(1).map((v) => ({ ...v, install: v.install as NodeInstall }));
  assert.equal(single.install!.settings.enable_active_active.value, '1');
  assert.equal(single.install!.settings.redis_host.value, 'master.tfe-redis.cache.amazonaws.com');
  assert.equal(single.install!.settings.redis_use_tls.value, '1');
  assert.equal(single.install!.settings.redis_use_password_auth.value, '1');
  assert.ok(!single.install!.installArgs.includes('disable-replicated-ui'));
  assert.ok(full.install!.installArgs.includes('disable-replicated-ui'));
  assert.equal(full.install!.replicatedConf.ReleaseSequence, 528);
  assert.equal(obs.asg!.tags[TAG.lastGoodVersion], String(full.number));
  for (const t of ['Validated', 'RedisReady', 'SingleNodeHealthy', 'ReplicatedUIDisabled', 'ScaledOut', 'Ready']) {
    assert.equal(w.last.conditions.find((x) => x.type === t)?.status, 'True', t);
  }
  assert.equal(w.last.conditions.find((x) => x.type === 'Degraded')?.status, 'False');
  // Ready is stable: planning again asks for nothing.
  const again = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  assert.equal(again.action, undefined);
  assert.equal(again.phase, 'Ready');
});

test('each step resumes from the world alone: re-planning after every action never repeats it', () => {
  const c = cluster();
  const obs = world();
  for (let i = 0; i < 60; i++) {
    const p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
    if (!p.action && p.requeueAfterMs === undefined) break;
    if (p.action) {
      apply(obs, p.action);
      // A restarted operator has an empty status: plan again from the world only.
      const fresh = cluster();
      const q = plan({ cluster: fresh, obs, salt: 'salt', fingerprintKey: KEY });
      if (q.action) assert.notDeepEqual(q.action, p.action, `repeated ${p.action.kind}`);
    }
    tick(obs);
  }
  assert.equal(plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY }).phase, 'Ready');
});

test('an already Active/Active cluster with a new release repaves 2 -> 0 -> 1 -> 2 (canary)', () => {
  const c = cluster();
  const obs = world();
  walk(c, obs);
  c.spec.release.sequence = 550;
  c.metadata.generation = 2;
  const w = walk(c, obs);
  assert.equal(w.last.phase, 'Ready', w.last.message);
  assert.deepEqual(w.scale, [2, 0, 1, 2]);
  assert.deepEqual(w.actions.map((a) => a.kind), ['CreateLaunchTemplateVersion', 'DrainNodes', 'RollAsg', 'ScaleAsg', 'ScaleAsg', 'TagAsg']);
  assert.equal((obs.launchTemplate!.versions.at(-1)!.install as NodeInstall).replicatedConf.ReleaseSequence, 550);
});

test('a downgrade is refused', () => {
  const c = cluster({ release: { sequence: 550 } });
  const obs = world();
  walk(c, obs);
  c.spec.release.sequence = 534;
  const p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  assert.equal(p.phase, 'Degraded');
  assert.equal(p.failure?.reason, 'DowngradeRefused');
  assert.match(p.message, /older than the running release sequence 550/);
  assert.equal(p.action, undefined);
});

test('nodes 2 -> 3 -> 2 scales directly, without a repave', () => {
  const c = cluster();
  const obs = world();
  walk(c, obs);
  c.spec.nodes = 3;
  let w = walk(c, obs);
  assert.deepEqual(w.scale, [2, 3]);
  assert.equal(w.last.phase, 'Ready');
  c.spec.nodes = 2;
  w = walk(c, obs);
  assert.deepEqual(w.scale, [3, 2]);
  assert.ok(w.actions.every((a) => a.kind !== 'RollAsg' && a.kind !== 'CreateLaunchTemplateVersion'));
});

test('paused: stops before the next action and says so', () => {
  const c = cluster({ rollout: { paused: true, approval: 'Automatic', failurePolicy: 'Pause' } } as never);
  const p = plan({ cluster: c, obs: world(), salt: 'salt', fingerprintKey: KEY });
  assert.equal(p.phase, 'Paused');
  assert.equal(p.action, undefined);
  assert.equal(p.conditions.find((x) => x.type === 'Paused')?.status, 'True');
});

test('manual approval: stops before each disruptive action until the annotation names it', () => {
  const c = cluster({ rollout: { approval: 'Manual', failurePolicy: 'Pause' } } as never);
  const obs = world();
  let w = walk(c, obs);
  assert.equal(w.last.phase, 'WaitingForApproval');
  assert.equal(w.actions.at(-1)!.kind, 'CreateLaunchTemplateVersion');
  const ids: string[] = [];
  for (let i = 0; i < 10 && w.last.phase === 'WaitingForApproval'; i++) {
    ids.push(w.last.approval!.waitingFor);
    c.metadata.annotations = { 'tfe.operators.dev/approve': w.last.approval!.waitingFor };
    w = walk(c, obs);
  }
  assert.equal(w.last.phase, 'Ready');
  assert.equal(ids.length, 4, `gates: ${ids.join(', ')}`); // roll to 0, scale to 1, roll to 0, scale out
});

test('a node that never turns healthy: Pause stops Degraded past the deadline, nothing more changes', () => {
  const c = cluster({ health: { nodeUrlTemplate: 'http://x/{instanceId}', timeout: '30s', interval: '1s' } } as never);
  const obs = world();
  const w = walk(c, obs, { healthy: false, max: 200 });
  assert.equal(w.last.phase, 'Degraded');
  assert.equal(w.last.failure?.reason, 'ProgressDeadlineExceeded');
  assert.match(w.last.message, /waiting for 1 healthy node/);
  assert.deepEqual(w.scale, [1, 0, 1]);
});

test('a node that never turns healthy: Rollback returns to the baseline version with one node', () => {
  const c = cluster({ health: { nodeUrlTemplate: 'http://x/{instanceId}', timeout: '30s', interval: '1s' }, rollout: { failurePolicy: 'Rollback', approval: 'Automatic' } } as never);
  const obs = world();
  // The baseline node is healthy again once it runs the baseline version.
  const w = walk(c, obs, { healthy: false, max: 200 });
  assert.equal(w.actions.at(-1)!.kind, 'ScaleAsg');
  assert.equal(obs.asg!.launchTemplateVersion, 1);
  for (const i of obs.asg!.instances) obs.nodeHealth[i.id] = { healthy: true, detail: 'healthy' };
  const end = walk(c, obs);
  assert.equal(end.last.phase, 'RolledBack', end.last.message);
  assert.equal(obs.asg!.desired, 1);
  assert.equal(obs.asg!.launchTemplateVersion, 1);
  // Not retried until the spec changes.
  assert.equal(plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY }).action, undefined);
});

test('abort annotation rolls back', () => {
  const c = cluster();
  const obs = world();
  for (let i = 0; i < 9; i++) {
    const p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
    if (p.action) apply(obs, p.action);
    tick(obs);
  }
  c.metadata.annotations = { 'tfe.operators.dev/abort': 'true' };
  const p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  assert.equal(p.action?.kind, 'RollAsg');
  assert.equal((p.action as { version: number }).version, 1);
});

test('abort with approval Manual: its scale to 0 waits for its own approval (an approval of the roll forward does not count)', () => {
  const c = cluster({ rollout: { approval: 'Manual' } } as never);
  const obs = world();
  let p!: Plan;
  // Walk the migration, approving each gate, until a node on a new version is being waited for.
  for (let i = 0; i < 30; i++) {
    p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
    if (p.approval) {
      c.metadata.annotations = { ...c.metadata.annotations, 'tfe.operators.dev/approve': p.approval.waitingFor };
      continue;
    }
    if (p.wait?.id.startsWith('healthy:')) break;
    if (p.action) apply(obs, p.action);
    tick(obs, false);
  }
  assert.ok((obs.asg?.launchTemplateVersion ?? 0) > 1, 'the migration rolled forward');
  const forwardApproval = c.metadata.annotations!['tfe.operators.dev/approve'];
  c.metadata.annotations = { ...c.metadata.annotations, 'tfe.operators.dev/abort': 'true' };
  p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  assert.equal(p.action, undefined, 'no scale to 0 without approval');
  assert.equal(p.phase, 'WaitingForApproval', p.message);
  assert.equal(p.approval?.waitingFor, 'rollback-to-v1');
  assert.notEqual(p.approval?.waitingFor, forwardApproval);
  assert.match(p.message, /kubectl tfe approve/);
  c.metadata.annotations = { ...c.metadata.annotations, 'tfe.operators.dev/approve': 'rollback-to-v1' };
  p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  assert.equal(p.action?.kind, 'RollAsg');
  assert.deepEqual([(p.action as { version: number }).version, (p.action as { capacity: number }).capacity], [1, 0]);
  assert.equal(p.phase, 'RollingBack');
});

test('manage mode fixes the network one rule at a time', () => {
  const c = cluster({ network: { mode: 'Manage' } } as never);
  const obs = world();
  obs.securityGroups[0].ingress.push({ protocol: 'tcp', fromPort: 8800, toPort: 8800, groups: [], cidrs: ['10.0.0.0/8'] });
  obs.securityGroups[0].ingress = obs.securityGroups[0].ingress.filter((r) => r.fromPort !== 8201);
  const first = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  assert.equal(first.action?.kind, 'AuthorizeIngress');
  apply(obs, first.action!);
  const second = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  assert.equal(second.action?.kind, 'RevokeIngress');
  apply(obs, second.action!);
  assert.equal(plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY }).action?.kind, 'TagAsg');
});

test('enc_password guard: a changed value is refused and nothing rolls', () => {
  const c = cluster();
  const obs = world();
  walk(c, obs);
  obs.inputs.secrets.encPassword = 'a-different-password';
  const p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  assert.equal(p.failure?.reason, 'EncryptionPasswordChanged');
  assert.match(p.message, /refusing to roll it out/);
  assert.equal(p.action, undefined);
  assert.ok(!p.message.includes('a-different-password'));
});

type Breaker = (o: Observation, c: TfeCluster) => void;
const broken: Array<[string, Breaker, string]> = [
  ['ASG missing', (o) => delete o.asg, 'AutoScalingGroupNotFound'],
  ['launch template missing', (o) => delete o.launchTemplate, 'LaunchTemplateNotFound'],
  ['input missing', (o) => o.inputs.missing.push('Secret tfe/tfe-secrets key enc_password'), 'InputMissing'],
  ['broken JSON', (o) => (o.inputs.settingsText = '{"hostname": '), 'InvalidJson'],
  ['value not a string', (o) => (o.inputs.settingsText = JSON.stringify({ ...BASE_SETTINGS, capacity_concurrency: { value: 10 } })), 'SettingValueNotString'],
  ['spec.release.sequence below 528 (v202104-1; the CRD refuses it first)', (_o, c) => (c.spec.release.sequence = 527), 'ReleaseSequenceTooLow'],
  ['ReleaseSequence not an integer', (o) => (o.inputs.replicatedConfText = JSON.stringify({ ...BASE_CONF, ReleaseSequence: '504' })), 'ReleaseSequenceNotInteger'],
  ['not external services', (o) => (o.inputs.settingsText = JSON.stringify({ ...BASE_SETTINGS, production_type: { value: 'disk' } })), 'NotExternalServices'],
  ['enc_password in the ConfigMap', (o) => (o.inputs.settingsText = JSON.stringify({ ...BASE_SETTINGS, enc_password: { value: 'x' } })), 'SecretInPlainSettings'],
  ['enc_password empty', (o) => (o.inputs.secrets.encPassword = ''), 'EncryptionPasswordMissing'],
  ['foreign user data without spec.node.installArgs', (o) => (o.launchTemplate!.versions = [baselineVersion(true)]), 'InstallArgsRequired'],
  ['server-path TLS without the files in spec.node.files', (o) => (o.inputs.replicatedConfText = JSON.stringify({ ...BASE_CONF, TlsBootstrapType: 'server-path', TlsBootstrapCert: '/etc/tfe/cert.pem', TlsBootstrapKey: '/etc/tfe/key.pem' })), 'TlsFilesMissing'],
  ['a launch template without an instance profile', (o) => delete o.launchTemplate!.versions[0]!.instanceProfile, 'NodeProfileMissing'],
  ['a node role that may not read the operator\'s secrets (IAM policy simulation)', (o) => {
    o.nodeAccess = { profile: 'tfe-node', role: 'arn:aws:iam::123456789012:role/tfe-node', denied: ['tfe-operator/tfe/tfe/license'] };
  }, 'NodeSecretAccessDenied'],
  ['the operator may not simulate the node role\'s policies', (o) => {
    o.nodeAccess = { profile: 'tfe-node', denied: [], error: 'AccessDenied: User: arn:aws:sts::1:assumed-role/op/x is not authorized to perform: iam:SimulatePrincipalPolicy' };
  }, 'NodeAccessUnchecked'],
  ['LicenseFileLocation where the operator does not write files (/etc/cron.d)', (o) => (o.inputs.replicatedConfText = JSON.stringify({ ...BASE_CONF, LicenseFileLocation: '/etc/cron.d/tfe' })), 'NodeFilePathNotAllowed'],
  ['a node file written over the license', (o, c) => {
    o.inputs.replicatedConfText = JSON.stringify({ ...BASE_CONF, LicenseFileLocation: '/etc/tfe/license.rli' });
    c.spec.node = { files: [{ path: '/etc/tfe/license.rli', mode: '0600', secretKeyRef: { name: 'f', key: 'k' } }] };
    o.inputs.secrets.files['/etc/tfe/license.rli'] = Buffer.from('x');
  }, 'NodeFileConflict'],
  ['several instances before the migration', (o) => {
    o.asg!.desired = 2;
    o.asg!.instances.push({ id: 'i-extra', lifecycleState: 'InService', launchTemplateVersion: '1' });
  }, 'NotStandalone'],
  ['8800 open', (o) => o.securityGroups[0].ingress.push({ protocol: 'tcp', fromPort: 8800, toPort: 8800, groups: [], cidrs: ['0.0.0.0/0'] }), 'NetworkNotReady'],
  ['8201 closed', (o) => (o.securityGroups[0].ingress = o.securityGroups[0].ingress.filter((r) => r.fromPort !== 8201)), 'NetworkNotReady'],
  ['Redis port closed', (o) => (o.securityGroups[1].ingress = []), 'NetworkNotReady'],
  ['security group missing', (o) => o.securityGroups.pop(), 'SecurityGroupNotFound'],
  ['ASG owned by another TfeCluster', (o) => (o.asg!.tags[TAG.owner] = 'other/tfe'), 'OwnedElsewhere'],
  ['replication group in cluster mode', (o) => {
    o.replicationGroup = { id: 'tfe-redis', status: 'available', endpoint: 'x', port: 6379, clusterEnabled: true, transitEncryption: true, atRestEncryption: true, authTokenEnabled: true, ownedByUs: false };
    o.asg!.tags[TAG.owner] = 'tfe/tfe';
    o.asg!.tags[TAG.baselineVersion] = '1';
    o.asg!.tags[TAG.encPasswordFingerprint] = encPasswordTagFingerprint(o.inputs.secrets.encPassword!, 'tfe', KEY);
  }, 'RedisClusterMode'],
  ['external Redis: wrong password', (o, c) => {
    c.spec.redis = { external: { host: 'redis', port: 6379, tls: true, passwordSecretRef: { name: 'r', key: 'p' } } } as never;
    c.spec.network = { mode: 'Verify', redisSecurityGroupIds: ['sg-redis'] } as never;
    o.externalRedis = { ok: false, reason: 'AuthFailed', message: 'Redis refused the password' };
    o.asg!.tags[TAG.owner] = 'tfe/tfe';
    o.asg!.tags[TAG.baselineVersion] = '1';
    o.asg!.tags[TAG.encPasswordFingerprint] = encPasswordTagFingerprint(o.inputs.secrets.encPassword!, 'tfe', KEY);
  }, 'RedisAuthFailed'],
  ['external Redis that is not Redis: refused before any change (not even the ownership tags)', (o, c) => {
    c.spec.redis = { external: { host: 'redis', port: 6379, tls: false } } as never;
    o.externalRedis = { ok: false, reason: 'NotRedis', message: 'redis:6379 does not speak the Redis protocol' };
  }, 'RedisNotRedis'],
  ['Redis auth token ElastiCache would refuse: refused before CreateReplicationGroup', (o) => {
    o.inputs.secrets.redisPassword = 'has a space and @ in it';
    o.asg!.tags[TAG.owner] = 'tfe/tfe';
    o.asg!.tags[TAG.baselineVersion] = '1';
    o.asg!.tags[TAG.encPasswordFingerprint] = encPasswordTagFingerprint(o.inputs.secrets.encPassword!, 'tfe', KEY);
  }, 'RedisAuthTokenInvalid'],
  ['Redis auth token shorter than 16 characters', (o) => {
    o.inputs.secrets.redisPassword = 'short-token';
    o.asg!.tags[TAG.owner] = 'tfe/tfe';
    o.asg!.tags[TAG.baselineVersion] = '1';
    o.asg!.tags[TAG.encPasswordFingerprint] = encPasswordTagFingerprint(o.inputs.secrets.encPassword!, 'tfe', KEY);
  }, 'RedisAuthTokenInvalid'],
  ['replication group create-failed', (o) => {
    o.replicationGroup = { id: 'tfe-redis', status: 'create-failed', clusterEnabled: false, transitEncryption: true, atRestEncryption: true, authTokenEnabled: true, ownedByUs: undefined };
    o.asg!.tags[TAG.owner] = 'tfe/tfe';
    o.asg!.tags[TAG.baselineVersion] = '1';
    o.asg!.tags[TAG.encPasswordFingerprint] = encPasswordTagFingerprint(o.inputs.secrets.encPassword!, 'tfe', KEY);
  }, 'RedisCreateFailed'],
  ['user data over 16 KB', (o) => {
    o.inputs.settingsText = JSON.stringify({ ...BASE_SETTINGS, ca_certs: { value: 'x'.repeat(17_000) } });
    o.asg!.tags[TAG.owner] = 'tfe/tfe';
    o.asg!.tags[TAG.baselineVersion] = '1';
    o.asg!.tags[TAG.encPasswordFingerprint] = encPasswordTagFingerprint(o.inputs.secrets.encPassword!, 'tfe', KEY);
  }, 'UserDataTooLarge'],
  ['external Redis: cluster mode', (o, c) => {
    c.spec.redis = { external: { host: 'redis', port: 6379, tls: true } } as never;
    o.externalRedis = { ok: false, reason: 'ClusterMode', message: 'cluster mode' };
    o.asg!.tags[TAG.owner] = 'tfe/tfe';
    o.asg!.tags[TAG.baselineVersion] = '1';
    o.asg!.tags[TAG.encPasswordFingerprint] = encPasswordTagFingerprint(o.inputs.secrets.encPassword!, 'tfe', KEY);
  }, 'RedisClusterMode'],
];

// Step 1's external services (observe checks them until Ready): each problem has its own reason, before any write.
const rdsHost = 'tfe.aaaaaaaaaa.us-east-1.rds.amazonaws.com';
const okDb = { outcome: 'ok' as const, message: 'PostgreSQL 15.4 at db:5432 accepted pg_user tfe on pg_dbname tfe (sslmode=require)' };
const external = (o: Observation, ext: NonNullable<Observation['externalServices']>) => (o.externalServices = { bucket: { name: 'b', exists: true, region: 'us-east-1' }, database: okDb, ...ext });
broken.push(
  ['s3_bucket does not exist (HeadBucket 404)', (o) => external(o, { bucket: { name: 'b', exists: false } }), 'BucketNotFound'],
  ['s3_bucket in another region than s3_region', (o) => external(o, { bucket: { name: 'b', exists: true, region: 'eu-west-1' } }), 'BucketRegionMismatch'],
  ['the bucket\'s default encryption key is disabled', (o) => external(o, { bucket: { name: 'b', exists: true, region: 'us-east-1', kmsKey: { id: 'arn:aws:kms:us-east-1:1:key/k', state: 'Disabled' } } }), 'BucketKmsKeyUnusable'],
  ['the bucket\'s default encryption key is pending deletion', (o) => external(o, { bucket: { name: 'b', exists: true, region: 'us-east-1', kmsKey: { id: 'k', state: 'PendingDeletion' } } }), 'BucketKmsKeyUnusable'],
  ['the operator may not look at the bucket', (o) => external(o, { bucket: { name: 'b', exists: true, error: 'AccessDenied: Access Denied' } }), 'BucketUnchecked'],
  ['pg_netloc an RDS endpoint no instance has', (o) => external(o, { dbInstance: { host: rdsHost, found: false } }), 'DatabaseNotFound'],
  ['the RDS instance is stopped', (o) => external(o, { dbInstance: { host: rdsHost, found: true, id: 'tfe', status: 'stopped', backupRetentionDays: 7 } }), 'DatabaseNotAvailable'],
  ['the RDS instance keeps no backups', (o) => external(o, { dbInstance: { host: rdsHost, found: true, id: 'tfe', status: 'available', backupRetentionDays: 0 } }), 'DatabaseBackupsOff'],
  ['the operator may not describe RDS instances', (o) => external(o, { dbInstanceError: 'AccessDenied: not authorized to perform: rds:DescribeDBInstances' }), 'DatabaseUnchecked'],
  ['PostgreSQL refuses pg_password', (o) => external(o, { database: { outcome: 'authFailed', message: 'PostgreSQL at db:5432 refused pg_user tfe on pg_dbname tfe: password authentication failed for user "tfe" (SQLSTATE 28P01)' } }), 'DatabaseAuthFailed'],
  ['nothing listens at pg_netloc', (o) => external(o, { database: { outcome: 'refused', message: 'PostgreSQL at db:5432 refused the connection: connect ECONNREFUSED (ECONNREFUSED)' } }), 'DatabaseUnreachable'],
  ['pg_dbname does not exist', (o) => external(o, { database: { outcome: 'failed', message: 'PostgreSQL at db:5432 has no database pg_dbname tfe' } }), 'DatabaseConnectFailed'],
);

test('external services: a database the operator cannot reach (timeout) is no failure: Validated says so, the nodes decide', () => {
  const c = cluster();
  const obs = world();
  external(obs, { database: { outcome: 'unreachable', message: 'no answer from db:5432 within 5000 ms (ETIMEDOUT); private subnets?' } });
  const p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  assert.notEqual(p.phase, 'Degraded', p.message);
  assert.ok(p.action, 'the migration goes on');
  const validated = p.conditions.find((x) => x.type === 'Validated');
  assert.equal(validated?.status, 'True');
  assert.match(validated!.message, /PostgreSQL not checked from the operator: no answer from db:5432 .*the nodes' health decides/);
});

test('external services: the messages name the setting and the fix, never the password', () => {
  const c = cluster();
  const obs = world();
  external(obs, { database: { outcome: 'authFailed', message: 'PostgreSQL at db:5432 refused pg_user tfe on pg_dbname tfe: password authentication failed for user "tfe" (SQLSTATE 28P01)' } });
  let p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  assert.match(p.message, /Correct pg_password \(Secret tfe\/tfe-secrets key pg_password\)/);
  assert.ok(!JSON.stringify(p).includes('pg-secret'));
  external(obs, { bucket: { name: 'b', exists: true, region: 'eu-west-1' } });
  p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  assert.match(p.message, /set s3_region to eu-west-1/);
  external(obs, { dbInstance: { host: rdsHost, found: true, id: 'tfe', status: 'available', backupRetentionDays: 0 } });
  p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  assert.match(p.message, /--backup-retention-period 7/);
  // Not checked (Ready for this generation): no external services in the observation, nothing refused.
  delete obs.externalServices;
  assert.notEqual(plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY }).phase, 'Degraded');
});

for (const [name, breakIt, reason] of broken) {
  test(`broken world: ${name} -> Degraded ${reason}, no action`, () => {
    const c = cluster();
    const obs = world();
    breakIt(obs, c);
    const p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
    assert.equal(p.phase, 'Degraded', p.message);
    assert.equal(p.failure?.reason, reason, p.message);
    assert.equal(p.action, undefined);
    assert.equal(p.conditions.find((x) => x.type === 'Degraded')?.status, 'True');
    assert.ok(p.message.length > 20);
  });
}

void BASE_INSTALL;

test('existing Redis unreachable (an outage): Degraded, probed again at the health interval; bad Redis waits for the resync', () => {
  const c = cluster();
  c.spec.redis = { external: { host: 'redis', port: 6379, tls: false } } as never;
  const obs = world();
  obs.externalRedis = { ok: false, reason: 'Unreachable', message: 'cannot reach Redis at redis:6379 (connect ECONNREFUSED)' };
  let p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  assert.equal(p.failure?.reason, 'RedisUnreachable');
  assert.equal(p.action, undefined, 'no change in AWS (not even the ownership tags) while Redis is unusable');
  assert.equal(p.requeueAfterMs, 1000);
  obs.externalRedis = { ok: false, reason: 'NotRedis', message: 'redis:6379 does not speak the Redis protocol' };
  p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  assert.equal(p.failure?.reason, 'RedisNotRedis');
  assert.equal(p.requeueAfterMs, undefined);
});

test('drift: a hand-set ASG size or launch template version is restored (Correct) or only reported (Report)', () => {
  const c = cluster();
  const obs = world();
  walk(c, obs);
  const fullV = obs.asg!.launchTemplateVersion!;
  obs.asg!.desired = 1;
  obs.asg!.min = 1;
  let p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  assert.deepEqual(p.action, { kind: 'ScaleAsg', capacity: 2 });
  assert.equal(p.conditions.find((x) => x.type === 'Drifted')?.status, 'True');
  apply(obs, p.action!);
  obs.asg!.launchTemplateVersion = 1;
  p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  assert.deepEqual(p.action, { kind: 'SetAsgVersion', version: fullV });
  c.spec.rollout = { ...c.spec.rollout, driftPolicy: 'Report' } as never;
  p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  assert.equal(p.action, undefined);
  assert.equal(p.conditions.find((x) => x.type === 'Drifted')?.reason, 'DriftReported');
});

// --- Day 2 safety details, found while running them end to end in the sandbox -----------------

const cond = (p: Plan, type: string) => p.conditions.find((x) => x.type === type);

/** Walk to Ready and return the full (Active/Active) version. */
function ready(c: TfeCluster, obs: Observation): number {
  const w = walk(c, obs);
  assert.equal(w.last.phase, 'Ready', w.last.message);
  return obs.asg!.launchTemplateVersion!;
}

test('paused during a wait: the Paused condition is True at once, the wait goes on, the next action does not start', () => {
  const c = cluster();
  const obs = world();
  // Walk until the single node is installing (a wait for health).
  let p!: Plan;
  for (let i = 0; i < 20; i++) {
    p = step(c, obs);
    if (p.wait?.id.startsWith('healthy:')) break;
    if (p.action) apply(obs, p.action);
    tick(obs, false);
  }
  assert.match(p.wait!.id, /^healthy:2:1$/);
  c.spec.rollout = { ...c.spec.rollout, paused: true } as never;
  c.metadata.generation = 2;
  p = step(c, obs);
  assert.equal(p.phase, 'Migrating');
  assert.equal(p.action, undefined);
  assert.equal(cond(p, 'Paused')?.status, 'True');
  tick(obs); // the node turns healthy
  p = step(c, obs);
  assert.equal(p.phase, 'Paused');
  assert.equal(p.action, undefined);
  assert.match(p.message, /before the next action: create launch template version "tfe-operator active\/active/);
  // Ready and paused: still says paused.
  c.spec.rollout = { ...c.spec.rollout, paused: false } as never;
  ready(c, obs);
  c.spec.rollout = { ...c.spec.rollout, paused: true } as never;
  p = step(c, obs);
  assert.equal(p.phase, 'Ready');
  assert.equal(cond(p, 'Paused')?.status, 'True');
});

test('manual approval: the hint names the namespace, so the command works from any kubectl context', () => {
  const c = cluster({ rollout: { approval: 'Manual', failurePolicy: 'Pause' } } as never);
  const w = walk(c, world());
  assert.equal(w.last.phase, 'WaitingForApproval');
  assert.match(w.last.message, /run 'kubectl tfe approve tfe -n tfe' \(sets annotation tfe\.operators\.dev\/approve=roll-v2-to-0\)/);
});

const rollbackSpec = { health: { nodeUrlTemplate: 'http://x/{instanceId}', timeout: '30s', interval: '1s' }, rollout: { failurePolicy: 'Rollback', approval: 'Automatic' } } as never;

/** Walk a migration whose nodes never turn healthy until the rollback is under way; then heal. */
function rolledBack(c: TfeCluster, obs: Observation): Plan[] {
  const seen: Plan[] = [];
  for (let i = 0; i < 200; i++) {
    const p = step(c, obs);
    seen.push(p);
    if (p.action) apply(obs, p.action);
    else if (p.requeueAfterMs === undefined) break;
    // The old version works: nodes heal once the rollback started.
    tick(obs, obs.asg!.tags[TAG.rollout]?.endsWith(':rollback:1') ?? false);
  }
  return seen;
}

test('Rollback: the roll back is phase RollingBack, and why it happened stays in the Degraded condition through RolledBack', () => {
  const c = cluster(rollbackSpec);
  const obs = world();
  const seen = rolledBack(c, obs);
  const roll = seen.find((p) => p.action?.kind === 'RollAsg' && (p.action as { mode: string }).mode === 'rollback')!;
  assert.equal(roll.phase, 'RollingBack');
  assert.equal(cond(roll, 'Degraded')?.reason, 'ProgressDeadlineExceeded');
  const after = seen.slice(seen.indexOf(roll) + 1);
  assert.ok(after.some((p) => p.phase === 'RollingBack'));
  for (const p of after) {
    assert.equal(cond(p, 'Degraded')?.status, 'True', `${p.phase}: ${p.message}`);
    assert.equal(cond(p, 'Degraded')?.reason, 'ProgressDeadlineExceeded');
  }
  const end = seen.at(-1)!;
  assert.equal(end.phase, 'RolledBack');
  assert.match(cond(end, 'Degraded')!.message, /gave up after 30s/);
});

test('RolledBack holds while the spec is the same (pausing included), and a spec change retries the rollout', () => {
  const c = cluster(rollbackSpec);
  const obs = world();
  rolledBack(c, obs);
  assert.equal(step(c, obs).phase, 'RolledBack');
  // Pausing and resuming, or changing the deletion policy, is not a retry.
  c.spec.rollout = { ...c.spec.rollout, paused: true } as never;
  c.spec.deletionPolicy = 'Delete';
  let p = step(c, obs);
  assert.equal(p.phase, 'RolledBack');
  assert.equal(p.action, undefined);
  c.spec.rollout = { ...c.spec.rollout, paused: false } as never;
  // A longer health timeout is: the same target is rolled out again, and ends Ready.
  c.spec.health = { ...c.spec.health, timeout: '5m' } as never;
  c.metadata.generation = 2;
  p = step(c, obs);
  assert.equal(p.action?.kind, 'RollAsg');
  assert.equal((p.action as { mode: string }).mode, 'single');
  apply(obs, p.action!);
  const w = walk(c, obs);
  assert.equal(w.last.phase, 'Ready', w.last.message);
  assert.equal(cond(w.last, 'Degraded')?.status, 'False');
  // Recording the last good state forgets the rollback.
  assert.equal(obs.asg!.tags[TAG.rolledBackFrom], undefined);
});

test('a rollback tag written by an older operator (target hash only) still holds', () => {
  const c = cluster(rollbackSpec);
  const obs = world();
  rolledBack(c, obs);
  obs.asg!.tags[TAG.rolledBackFrom] = obs.asg!.tags[TAG.rolledBackFrom].split(':')[0];
  c.spec.health = { ...c.spec.health, timeout: '5m' } as never;
  assert.equal(step(c, obs).phase, 'RolledBack');
});

test('Pause: past the deadline it stays Degraded; a spec change restarts the wait', () => {
  const c = cluster({ health: { nodeUrlTemplate: 'http://x/{instanceId}', timeout: '30s', interval: '1s' } } as never);
  const obs = world();
  const w = walk(c, obs, { healthy: false, max: 200 });
  assert.equal(w.last.failure?.reason, 'ProgressDeadlineExceeded');
  assert.match(w.last.message, /change the spec \(e\.g\. spec\.health\.timeout\) to restart the wait/);
  tick(obs, false);
  assert.equal(step(c, obs).phase, 'Degraded', 'the same spec keeps the old start');
  c.spec.rollout = { ...c.spec.rollout, stepDeadline: '31m' } as never;
  c.metadata.generation = 2;
  const p = step(c, obs);
  assert.equal(p.phase, 'Migrating', p.message);
  assert.equal(p.wait?.since, new Date(obs.now).toISOString());
  tick(obs, false);
  assert.equal(step(c, obs).phase, 'Migrating', 'the restarted wait is kept');
});

test('drift: Drifted stays True while the restore runs, then reads False/DriftRestored (kept) once Ready', () => {
  const c = cluster();
  const obs = world();
  ready(c, obs);
  obs.asg!.desired = obs.asg!.min = 1;
  obs.asg!.instances.pop();
  let p = step(c, obs);
  assert.deepEqual(p.action, { kind: 'ScaleAsg', capacity: 2 });
  assert.equal(cond(p, 'Drifted')?.reason, 'DriftCorrected');
  apply(obs, p.action!);
  tick(obs, false); // the new node installs
  p = step(c, obs);
  assert.ok(p.wait, p.message);
  assert.equal(cond(p, 'Drifted')?.status, 'True');
  assert.equal(cond(p, 'Drifted')?.reason, 'DriftCorrected');
  tick(obs);
  p = step(c, obs);
  assert.equal(p.phase, 'Ready');
  assert.equal(cond(p, 'Drifted')?.status, 'False');
  assert.equal(cond(p, 'Drifted')?.reason, 'DriftRestored');
  assert.match(cond(p, 'Drifted')!.message, /desired 1, not 2 \(restored\)/);
  assert.equal(step(c, obs).conditions.find((x) => x.type === 'Drifted')?.reason, 'DriftRestored');
});

test('drift: a hand scale to 0 of a Ready cluster is drift (Report leaves it, Correct restores it), not a rollout step', () => {
  const c = cluster({ rollout: { approval: 'Manual', failurePolicy: 'Pause', driftPolicy: 'Report' } } as never);
  const obs = world();
  for (let i = 0; i < 10; i++) {
    const w = walk(c, obs);
    if (w.last.phase !== 'WaitingForApproval') break;
    c.metadata.annotations = { 'tfe.operators.dev/approve': w.last.approval!.waitingFor };
  }
  assert.equal(step(c, obs).phase, 'Ready');
  obs.asg!.desired = obs.asg!.min = obs.asg!.max = 0;
  tick(obs);
  let p = step(c, obs);
  assert.equal(p.action, undefined, 'driftPolicy Report must not scale a hand-stopped TFE back up');
  assert.equal(cond(p, 'Drifted')?.reason, 'DriftReported');
  c.spec.rollout = { ...c.spec.rollout, driftPolicy: 'Correct' } as never;
  p = step(c, obs);
  assert.deepEqual(p.action, { kind: 'ScaleAsg', capacity: 2 });
  assert.equal(cond(p, 'Drifted')?.reason, 'DriftCorrected');
});

test('drift: the ASG pointed by hand at the old single-node version is restored, never scaled to 1', () => {
  const c = cluster();
  const obs = world();
  const fullV = ready(c, obs);
  obs.asg!.launchTemplateVersion = 2; // the operator's own single-node version
  const p = step(c, obs);
  assert.deepEqual(p.action, { kind: 'SetAsgVersion', version: fullV });
  assert.equal(cond(p, 'Drifted')?.reason, 'DriftCorrected');
});

test('security group drift after Ready: Manage closes 8800 and says Drifted; Verify reports it (Drifted, Degraded)', () => {
  const c = cluster({ network: { mode: 'Manage' } } as never);
  const obs = world();
  ready(c, obs);
  const rule = { protocol: 'tcp', fromPort: 8800, toPort: 8800, groups: [], cidrs: ['0.0.0.0/0'] };
  obs.securityGroups[0].ingress.push(rule);
  let p = step(c, obs);
  assert.equal(p.action?.kind, 'RevokeIngress');
  assert.equal(cond(p, 'Drifted')?.status, 'True');
  assert.equal(cond(p, 'Drifted')?.reason, 'DriftCorrected');
  assert.match(cond(p, 'Drifted')!.message, /port 8800 \(Replicated admin console\) is open on sg-nodes/);
  apply(obs, p.action!);
  p = step(c, obs);
  assert.equal(p.phase, 'Ready');
  assert.equal(cond(p, 'Drifted')?.reason, 'DriftRestored');

  c.spec.network = { mode: 'Verify' } as never;
  obs.securityGroups[0].ingress.push(rule);
  p = step(c, obs);
  assert.equal(p.action, undefined);
  assert.equal(p.failure?.reason, 'NetworkNotReady');
  assert.equal(cond(p, 'Drifted')?.status, 'True');
  assert.equal(cond(p, 'Drifted')?.reason, 'DriftReported');
  obs.securityGroups[0].ingress = obs.securityGroups[0].ingress.filter((r) => r !== rule);
  p = step(c, obs);
  assert.equal(p.phase, 'Ready');
  assert.equal(cond(p, 'Drifted')?.reason, 'NoDrift');
});

test('security group problems before the first Ready are not drift (the migration fixes or reports them)', () => {
  const c = cluster({ network: { mode: 'Manage' } } as never);
  const obs = world();
  obs.securityGroups[0].ingress.push({ protocol: 'tcp', fromPort: 8800, toPort: 8800, groups: [], cidrs: ['0.0.0.0/0'] });
  const p = step(c, obs);
  assert.equal(p.action?.kind, 'RevokeIngress');
  assert.equal(cond(p, 'Drifted')?.status, 'False');
});

test('enc_password guard: the message says how to restore, and how to really rotate', () => {
  const c = cluster();
  const obs = world();
  ready(c, obs);
  obs.inputs.secrets.encPassword = 'a-different-password';
  const p = step(c, obs);
  assert.equal(p.failure?.reason, 'EncryptionPasswordChanged');
  assert.match(p.message, /Restore the previous value in the Secret/);
  assert.match(p.message, /kubectl patch tfecluster tfe -n tfe --subresource=status --type=merge -p '\{"status":\{"encryptionPasswordFingerprint":null\}\}'/);
  // A release change meanwhile does not roll either.
  c.spec.release.sequence = 550;
  assert.equal(step(c, obs).action, undefined);
});

test('abort on a Ready cluster: nothing to roll back, so nothing is repaved; Degraded says to remove the annotation', () => {
  const c = cluster();
  const obs = world();
  ready(c, obs);
  c.metadata.annotations = { 'tfe.operators.dev/abort': 'true' };
  const p = step(c, obs);
  assert.equal(p.action, undefined);
  assert.equal(p.failure?.reason, 'Aborted');
  assert.match(p.message, /nothing to roll back\. Remove the annotation tfe\.operators\.dev\/abort to carry on/);
});

test('abort mid-migration rolls back to the baseline, holds RolledBack (reason Aborted); a later spec change with the annotation left does not repave the baseline again', () => {
  const c = cluster();
  const obs = world();
  let p!: Plan;
  for (let i = 0; i < 20; i++) {
    p = step(c, obs);
    if (p.wait?.id.startsWith('healthy:')) break;
    if (p.action) apply(obs, p.action);
    tick(obs, false);
  }
  c.metadata.annotations = { 'tfe.operators.dev/abort': 'true' };
  const w = walk(c, obs);
  assert.equal(w.last.phase, 'RolledBack', w.last.message);
  assert.equal(cond(w.last, 'Degraded')?.reason, 'Aborted');
  assert.equal(obs.asg!.launchTemplateVersion, 1);
  assert.deepEqual(w.scale, [1, 0, 1]);
  c.spec.health = { ...c.spec.health, timeout: '20m' } as never;
  p = step(c, obs);
  assert.equal(p.action, undefined, 'the annotation left in place must not repave the baseline node');
  assert.equal(p.failure?.reason, 'Aborted');
});

test('a wait that times out on the last good state itself (e.g. after a drift restore) does not repave the healthy nodes', () => {
  const c = cluster(rollbackSpec);
  const obs = world();
  ready(c, obs);
  obs.asg!.instances.pop();
  tick(obs, false); // a replacement node that never turns healthy
  const w = walk(c, obs, { healthy: false, max: 100 });
  assert.equal(w.last.failure?.reason, 'ProgressDeadlineExceeded', w.last.message);
  assert.match(w.last.message, /nothing to roll back/);
  assert.ok(w.actions.every((a) => a.kind !== 'RollAsg'), JSON.stringify(w.actions));
  // It stays so (the wait keeps its start), rather than starting the wait over.
  tick(obs, false);
  const again = step(c, obs);
  assert.equal(again.phase, 'Degraded', again.message);
  assert.equal(again.wait?.since, w.last.wait?.since);
});

test('auth token rules: what ElastiCache takes, and why it refuses the rest', () => {
  assert.equal(authTokenProblem('a'.repeat(16)), undefined);
  assert.equal(authTokenProblem('Ab1!&#$^<>-xxxxxxxxx'), undefined);
  assert.match(authTokenProblem('a'.repeat(15))!, /15 characters long, fewer than 16/);
  assert.match(authTokenProblem('a'.repeat(129))!, /more than 128/);
  assert.match(authTokenProblem('aaaaaaaaaaaaaaaa@ /')!, /\("@", U\+0020, "\/"\)/);
  assert.match(authTokenProblem('aaaaaaaaaaaaaaaaé')!, /U\+00E9/);
});

test('a replication group that is creating is waited for (its owner unknown); modifying after Ready stays Ready', () => {
  const c = cluster();
  const obs = world();
  const w = walk(c, obs);
  assert.equal(w.last.phase, 'Ready');
  const managed = c.status?.redis?.managed;
  assert.equal(managed, true);
  // An engine patch or a backup: AWS answers no tagging call, the group keeps serving.
  for (const status of ['modifying', 'snapshotting']) {
    obs.replicationGroup = { ...obs.replicationGroup!, status, ownedByUs: undefined };
    const p = step(c, obs);
    assert.equal(p.phase, 'Ready', `${status}: ${p.message}`);
    assert.equal(p.action, undefined);
    assert.equal(c.status?.redis?.managed, true, 'still known as ours from the last status');
  }
  const fresh = world();
  const c2 = cluster();
  fresh.replicationGroup = { id: 'tfe-redis', status: 'creating', clusterEnabled: false, transitEncryption: true, atRestEncryption: true, authTokenEnabled: true, ownedByUs: undefined };
  fresh.asg!.tags[TAG.owner] = 'tfe/tfe';
  fresh.asg!.tags[TAG.baselineVersion] = '1';
  fresh.asg!.tags[TAG.encPasswordFingerprint] = encPasswordTagFingerprint(fresh.inputs.secrets.encPassword!, 'tfe', KEY);
  const p = plan({ cluster: c2, obs: fresh, salt: 'salt', fingerprintKey: KEY });
  assert.equal(p.action, undefined);
  assert.match(p.message, /waiting for replication group tfe-redis to become available \(now creating\)/);
});

test('Terminating instances still run: they block "no instance left" and never count as healthy nodes of their version', () => {
  const c = cluster();
  const obs = world();
  // Walk until the single-node roll scaled the group to 0.
  for (let i = 0; i < 30 && obs.asg!.desired !== 0; i++) {
    const p = step(c, obs);
    if (p.action) apply(obs, p.action);
  }
  assert.equal(obs.asg!.desired, 0);
  const old = obs.asg!.instances[0]!;
  old.lifecycleState = 'Terminating:Wait'; // a lifecycle hook holds it
  const p = step(c, obs);
  assert.equal(p.action, undefined, 'nothing launches while the old node still runs');
  assert.match(p.message, /waiting for 1 instance\(s\) to terminate/);
  // A terminating instance of the right version is no healthy node of that version.
  const standalone = world();
  standalone.asg!.instances.push({ id: 'i-leaving', lifecycleState: 'Terminating', launchTemplateVersion: '1' });
  standalone.nodeHealth['i-leaving'] = { healthy: true, detail: 'healthy' };
  const q = plan({ cluster: cluster(), obs: standalone, salt: 'salt', fingerprintKey: KEY });
  assert.notEqual(q.failure?.reason, 'NotStandalone', 'a leaving instance is not a second node');
});

test('an ASG on $Latest (HashiCorp\'s module) is pinned to its numeric baseline before the first new version: 1 -> 0 -> 1 -> 0 -> 2', () => {
  const c = cluster();
  const obs = world();
  obs.asg!.launchTemplateVersionSpec = '$Latest';
  const w = walk(c, obs);
  assert.equal(w.last.phase, 'Ready', w.last.message);
  assert.deepEqual(w.scale, [1, 0, 1, 0, 2]);
  const kinds = w.actions.map((a) => a.kind);
  assert.ok(kinds.indexOf('SetAsgVersion') >= 0 && kinds.indexOf('SetAsgVersion') < kinds.indexOf('CreateLaunchTemplateVersion'), kinds.join());
  assert.deepEqual(w.actions.find((a) => a.kind === 'SetAsgVersion'), { kind: 'SetAsgVersion', version: 1 });
  assert.match(obs.asg!.launchTemplateVersionSpec!, /^\d+$/);
});

test('ELB health checks: ReplaceUnhealthy and AZRebalance suspended before the first node is replaced, resumed once Ready; a process the user suspended stays suspended', () => {
  const c = cluster();
  const obs = world();
  obs.asg!.healthCheckType = 'ELB';
  obs.asg!.healthCheckGracePeriod = 900;
  obs.asg!.suspendedProcesses = ['AlarmNotification']; // the user's own
  const w = walk(c, obs);
  assert.equal(w.last.phase, 'Ready', w.last.message);
  assert.deepEqual(w.scale, [1, 0, 1, 0, 2]);
  const kinds = w.actions.map((a) => a.kind);
  assert.ok(kinds.indexOf('SuspendProcesses') < kinds.indexOf('RollAsg'), kinds.join());
  assert.equal(kinds.filter((k) => k === 'SuspendProcesses').length, 1);
  assert.equal(kinds.at(-1), 'ResumeProcesses');
  assert.deepEqual(w.actions.at(-1), { kind: 'ResumeProcesses', processes: ['ReplaceUnhealthy', 'AZRebalance'] });
  assert.deepEqual(obs.asg!.suspendedProcesses, ['AlarmNotification']);
  assert.equal(obs.asg!.tags[TAG.suspended], undefined);
});

test('after a crash between the tag and the suspension, the tag still says what to resume', () => {
  const c = cluster();
  const obs = world();
  obs.asg!.healthCheckType = 'ELB';
  obs.asg!.healthCheckGracePeriod = 900;
  obs.asg!.tags[TAG.suspended] = 'ReplaceUnhealthy,AZRebalance'; // tagged, then the operator died
  const w = walk(c, obs);
  assert.equal(w.last.phase, 'Ready');
  assert.deepEqual(obs.asg!.suspendedProcesses, []);
});

test('ELB health checks with a grace period shorter than spec.health.timeout: refused before any change, with the fix', () => {
  const c = cluster();
  const obs = world();
  obs.asg!.healthCheckType = 'ELB';
  obs.asg!.healthCheckGracePeriod = 300;
  const p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  assert.equal(p.failure?.reason, 'GracePeriodTooShort');
  assert.equal(p.action, undefined);
  assert.match(p.message, /grace period of 300s, shorter than spec\.health\.timeout \(\d+s\).*--health-check-grace-period/);
  obs.asg!.healthCheckType = 'EC2';
  assert.notEqual(plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY }).failure?.reason, 'GracePeriodTooShort');
});

test('adoption: user data the operator did not write is taken from the TfeCluster (install args, TLS files, pre-install script) and the migration reaches Ready', () => {
  const c = cluster();
  const cert = '/var/lib/terraform-enterprise/certificate.pem';
  const key = '/var/lib/terraform-enterprise/key.pem';
  c.spec.node = {
    installArgs: ['fast-timeouts', 'no-proxy', 'private-address=${PRIVATE_IP}'],
    files: [
      { path: cert, mode: '0644', secretKeyRef: { name: 'tls', key: 'tls.crt' } },
      { path: key, mode: '0600', secretKeyRef: { name: 'tls', key: 'tls.key' } },
    ],
    preInstallScriptRef: { name: 'node', key: 'pre-install.sh' },
  };
  const obs = world();
  obs.launchTemplate!.versions = [{ ...baselineVersion(true), foreignInstallArgs: 'fast-timeouts no-proxy' }];
  obs.inputs.replicatedConfText = JSON.stringify({ ...BASE_CONF, TlsBootstrapType: 'server-path', TlsBootstrapCert: cert, TlsBootstrapKey: key });
  obs.inputs.secrets.files = { [cert]: Buffer.from('-----BEGIN CERTIFICATE-----\n'), [key]: Buffer.from([0x2d, 0x00, 0xff]) };
  obs.inputs.preInstallScript = 'echo monitoring agent';
  const w = walk(c, obs);
  assert.equal(w.last.phase, 'Ready', w.last.message);
  assert.deepEqual(w.scale, [1, 0, 1, 0, 2]);
  const puts = w.actions.flatMap((a) => (a.kind === 'PutSecrets' ? a.secrets.map((x) => x.name) : []));
  assert.ok(puts.includes(`tfe-operator/tfe/tfe/file${cert}`) && puts.includes(`tfe-operator/tfe/tfe/file${key}`), puts.join(', '));
  const versions = w.actions.flatMap((a) => (a.kind === 'CreateLaunchTemplateVersion' ? [a.install as NodeInstall] : []));
  assert.equal(versions.length, 2);
  for (const v of versions) {
    assert.deepEqual(v.installArgs.filter((a) => a !== 'disable-replicated-ui'), c.spec.node.installArgs);
    assert.deepEqual(v.files.map((f) => [f.path, f.mode]), [[cert, '0644'], [key, '0600']]);
    assert.equal(v.preInstallScript, 'echo monitoring agent\n');
  }
  // The new versions are the operator's: its own parser reads them back.
  assert.ok(versions.every((v) => v.files.every((f) => f.secretId.startsWith('tfe-operator/tfe/tfe/file/'))));
});

test('adoption: without spec.node.installArgs the message shows what the foreign script passes to install.sh', () => {
  const c = cluster();
  const obs = world();
  obs.launchTemplate!.versions = [{ ...baselineVersion(true), foreignInstallArgs: 'fast-timeouts bypass-firewalld-warning no-proxy' }];
  const p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  assert.equal(p.failure?.reason, 'InstallArgsRequired');
  assert.match(p.message, /appears to run install.sh fast-timeouts bypass-firewalld-warning no-proxy/);
  assert.match(p.message, /spec\.node\.installArgs/);
});

test('an 8800 target group (HashiCorp module) is detached, behind the approval gate, before 8800 is closed or the console disabled; the 443 group stays', () => {
  const c = cluster();
  c.spec.rollout = { ...c.spec.rollout, approval: 'Manual' };
  c.spec.network = { mode: 'Manage' } as never;
  const obs = world();
  const tg = (port: number) => ({ arn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg-${port}/0123`, name: `tg-${port}`, port, healthCheckPort: 'traffic-port' });
  obs.asg!.targetGroupArns = [tg(8800).arn, tg(443).arn];
  obs.targetGroups = [tg(8800), tg(443)];
  // The load balancer may reach 8800: in Manage mode that rule is revoked, but only after the detach.
  obs.securityGroups[0]!.ingress.push({ protocol: 'tcp', fromPort: 8800, toPort: 8800, groups: ['sg-lb'], cidrs: [] });
  const p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  assert.equal(p.phase, 'WaitingForApproval', p.message);
  assert.equal(p.approval?.waitingFor, 'detach-console-target-groups');
  assert.equal(p.action, undefined);
  c.metadata.annotations = { 'tfe.operators.dev/approve': 'detach-console-target-groups' };
  const approved = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  assert.deepEqual(approved.action, { kind: 'DetachTargetGroups', arns: [tg(8800).arn], names: ['tg-8800'] });
  obs.asg!.targetGroupArns = [tg(443).arn];
  const next = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  assert.equal(next.action?.kind, 'RevokeIngress', next.message);
  // A health check on 8800 (traffic on 443) counts too.
  obs.targetGroups = [{ ...tg(443), healthCheckPort: '8800' }];
  c.metadata.annotations = { 'tfe.operators.dev/approve': 'detach-console-target-groups' };
  assert.deepEqual(plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY }).action, { kind: 'DetachTargetGroups', arns: [tg(443).arn], names: ['tg-443'] });
});

test('node access: the refusal names the role, the secrets and the statement to add; nothing is created before it', () => {
  const c = cluster();
  const obs = world();
  obs.nodeAccess = { profile: 'tfe-node', role: 'arn:aws:iam::123456789012:role/tfe-node', denied: ['tfe-operator/tfe/tfe/license', 'tfe-operator/tfe/tfe/enc_password'] };
  const w = walk(c, obs);
  assert.equal(w.last.failure?.reason, 'NodeSecretAccessDenied');
  assert.ok(!w.actions.some((a) => a.kind === 'CreateLaunchTemplateVersion' || a.kind === 'RollAsg'), w.actions.map((a) => a.kind).join(', '));
  assert.match(w.last.message, /role arn:aws:iam::123456789012:role\/tfe-node \(instance profile tfe-node\) may not secretsmanager:GetSecretValue on tfe-operator\/tfe\/tfe\/license, tfe-operator\/tfe\/tfe\/enc_password/);
  assert.match(w.last.message, /"Resource":"arn:aws:secretsmanager:us-east-1:123456789012:secret:tfe-operator\/tfe\/tfe\/\*"/);
  obs.nodeAccess = { ...obs.nodeAccess, denied: [] };
  assert.equal(walk(c, obs).last.phase, 'Ready');
});

test('a failed release upgrade with failurePolicy Rollback does not roll back across releases: Degraded RollbackWouldDowngrade, nothing rolled', () => {
  const c = cluster({ health: { nodeUrlTemplate: 'http://x/{instanceId}', timeout: '30s', interval: '1s' }, rollout: { failurePolicy: 'Rollback', approval: 'Automatic' } } as never);
  const obs = world();
  assert.equal(walk(c, obs).last.phase, 'Ready');
  const readyVersion = obs.asg!.launchTemplateVersion;
  c.spec.release.sequence = 550;
  c.metadata.generation = 2;
  const w = walk(c, obs, { healthy: false, max: 200 });
  assert.equal(w.last.failure?.reason, 'RollbackWouldDowngrade', w.last.message);
  assert.match(w.last.message, new RegExp(`rolling back to launch template version ${readyVersion} would install release sequence 528 over a database that release sequence 550 .* may already have migrated`));
  assert.ok(!w.actions.some((a) => a.kind === 'RollAsg' && a.mode === 'rollback'), w.actions.map((a) => a.kind).join(', '));
  // The same failure within one release still rolls back (the migration's own test above).
});

// --- enc_password against the running install (before any write) and the ASG's fingerprint tag ---

const encRows: Array<[string, (o: Observation, c: TfeCluster) => void, { reason?: string; condition: [string, string]; tags?: string[] }]> = [
  ['the running install uses another value (read from its user data): refused before the first write', (o) => {
    o.encPasswordInUse = { value: 'the-running-one', source: 'the user data of launch template lt-1 version 1' };
  }, { reason: 'EncryptionPasswordMismatch', condition: ['Degraded', 'True'] }],
  ['the running install uses the same value (from its own secret): the first write records the fingerprint tag', (o) => {
    o.encPasswordInUse = { value: 'enc-secret', source: 'Secrets Manager secret tfe/enc' };
  }, { condition: ['EncryptionPasswordVerified', 'True'], tags: [TAG.owner, TAG.baselineVersion, TAG.encPasswordFingerprint] }],
  ['the running value cannot be found (unknown user data shape): goes on, and says so', (o) => {
    o.encPasswordInUse = { source: 'launch template lt-1 version 1', unknown: 'its user data neither holds enc_password ...' };
  }, { condition: ['EncryptionPasswordVerified', 'Unknown'], tags: [TAG.owner, TAG.baselineVersion, TAG.encPasswordFingerprint] }],
  ['a re-created TfeCluster (no status) whose enc_password differs from the ASG tag: refused', (o) => {
    o.asg!.tags[TAG.owner] = 'tfe/tfe';
    o.asg!.tags[TAG.baselineVersion] = '1';
    o.asg!.tags[TAG.encPasswordFingerprint] = encPasswordTagFingerprint('the-first-one', 'tfe', KEY);
  }, { reason: 'EncryptionPasswordMismatch', condition: ['Degraded', 'True'] }],
  ['an ASG an older operator tagged without the fingerprint: only the fingerprint is added', (o) => {
    o.asg!.tags[TAG.owner] = 'tfe/tfe';
    o.asg!.tags[TAG.baselineVersion] = '1';
    o.encPasswordInUse = { value: 'enc-secret', source: 'Secrets Manager secret tfe-operator/tfe/tfe/enc_password' };
  }, { condition: ['EncryptionPasswordVerified', 'True'], tags: [TAG.encPasswordFingerprint] }],
];

for (const [name, setUp, want] of encRows) {
  test(`enc_password: ${name}`, () => {
    const c = cluster();
    const obs = world();
    setUp(obs, c);
    const p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
    const cond = p.conditions.find((x) => x.type === want.condition[0]);
    assert.equal(cond?.status, want.condition[1], JSON.stringify(p.conditions));
    for (const text of [p.message, ...p.conditions.map((x) => x.message)]) {
      for (const v of ['enc-secret', 'the-running-one', 'the-first-one']) assert.ok(!text.includes(v), `a value in: ${text}`);
    }
    if (want.reason) {
      assert.equal(p.failure?.reason, want.reason, p.message);
      assert.equal(p.encryptionPasswordFingerprint, undefined, 'a refused value must not become the recorded fingerprint');
      assert.equal(p.action, undefined);
      assert.match(p.message, /spec\.encryptionPasswordSecretRef/);
      assert.match(p.message, /nothing was changed/);
    } else {
      assert.equal(p.action?.kind, 'TagAsg', p.message);
      const tags = (p.action as Extract<Action, { kind: 'TagAsg' }>).tags;
      assert.deepEqual(Object.keys(tags).sort(), [...want.tags!].sort());
      assert.equal(tags[TAG.encPasswordFingerprint], encPasswordTagFingerprint('enc-secret', 'tfe', KEY));
      if (want.condition[1] === 'Unknown') assert.match(cond!.message, /could not find the enc_password the running install uses .*going on/);
    }
  });
}

test('enc_password: with the fingerprint tag in place, the running install is not looked at again and a matching value goes on', () => {
  const c = cluster();
  const obs = world();
  obs.asg!.tags[TAG.owner] = 'tfe/tfe';
  obs.asg!.tags[TAG.baselineVersion] = '1';
  obs.asg!.tags[TAG.encPasswordFingerprint] = encPasswordTagFingerprint('enc-secret', 'tfe', KEY);
  const p = plan({ cluster: c, obs, salt: 'salt', fingerprintKey: KEY });
  assert.notEqual(p.phase, 'Degraded', p.message);
  assert.equal(p.conditions.find((x) => x.type === 'EncryptionPasswordVerified')?.reason, 'MatchesRecordedFingerprint');
});

// --- spec.validation: a run per stage, in the in-memory TFE of obs.validation -----------------

const validation = { address: 'https://tfe.example.com', organization: 'acme', workspace: 'canary', tokenSecretRef: { name: 'tfe-api', key: 'token' } };

/** walk(), where each queued run ends `outcome` one tick after it was queued (undefined: never). */
function validatedWalk(c: TfeCluster, obs: Observation, outcome: string | undefined, max = 100): Walk {
  const actions: Action[] = [];
  const scale = [obs.asg!.desired];
  let last!: Plan;
  for (let i = 0; i < max; i++) {
    for (const r of obs.validation!.runs) if (r.status === 'pending' && outcome) r.status = outcome;
    last = step(c, obs);
    if (last.action) {
      actions.push(last.action);
      apply(obs, last.action);
      if (obs.asg!.desired !== scale.at(-1)) scale.push(obs.asg!.desired);
    } else if (last.requeueAfterMs === undefined) break;
    tick(obs, true);
  }
  return { actions, scale, last };
}

test('validation: one run per stage, queued once its nodes are healthy; Ready only after both passed', () => {
  const c = cluster({ validation } as never);
  const obs = world();
  obs.validation = { workspaceId: 'ws-1', runs: [] };
  const w = validatedWalk(c, obs, 'planned_and_finished');
  assert.equal(w.last.phase, 'Ready', w.last.message);
  const kinds = w.actions.map((a) => a.kind);
  assert.deepEqual(kinds.filter((k) => k === 'QueueValidationRun').length, 2);
  // Each run comes after the roll of its stage and before the next step's first action.
  assert.equal(kinds[kinds.indexOf('QueueValidationRun') - 1], 'ScaleAsg');
  assert.equal(kinds.at(-2), 'QueueValidationRun');
  const queued = w.actions.filter((a) => a.kind === 'QueueValidationRun') as Extract<Action, { kind: 'QueueValidationRun' }>[];
  assert.match(queued[0]!.message, /^tfe-operator validation of tfe\/tfe: stage v2x1-[0-9a-f]{12}$/);
  assert.match(queued[1]!.message, /stage v3x2-/);
  assert.equal(queued[0]!.apply, false, 'plan-only by default');
  assert.deepEqual(w.last.validation, { runId: 'run-2', url: 'https://tfe.example.com/app/acme/workspaces/canary/runs/run-2', status: 'planned_and_finished', stage: queued[1]!.message.split('stage ')[1] });
});

test('validation: a run that errors fails its stage: Rollback rolls back, Pause holds Degraded and queues nothing more', () => {
  for (const failurePolicy of ['Rollback', 'Pause']) {
    const c = cluster({ validation, rollout: { failurePolicy, approval: 'Automatic' } } as never);
    const obs = world();
    obs.validation = { workspaceId: 'ws-1', runs: [] };
    const w = validatedWalk(c, obs, 'errored', 30);
    const queued = w.actions.filter((a) => a.kind === 'QueueValidationRun').length;
    assert.equal(queued, 1, failurePolicy);
    if (failurePolicy === 'Rollback') {
      const roll = w.actions.find((a) => a.kind === 'RollAsg' && a.mode === 'rollback');
      assert.ok(roll, 'rolled back');
      assert.equal(cond(w.last, 'Degraded')?.reason, 'ValidationRunFailed');
    } else {
      assert.equal(w.last.phase, 'Degraded');
      assert.equal(w.last.failure?.reason, 'ValidationRunFailed');
      assert.match(w.last.message, /validation run run-1 in workspace acme\/canary ended errored \(https:\/\/tfe\.example\.com\/app\/acme\/workspaces\/canary\/runs\/run-1\)/);
      assert.equal(step(c, obs).action, undefined, 'the same spec does not queue again');
    }
  }
});

test('validation: a run that never finishes hits spec.health.timeout, naming the run', () => {
  const c = cluster({ validation, health: { nodeUrlTemplate: 'http://x/{instanceId}', timeout: '30s', interval: '1s' } } as never);
  const obs = world();
  obs.validation = { workspaceId: 'ws-1', runs: [] };
  const w = validatedWalk(c, obs, undefined, 200);
  assert.equal(w.last.failure?.reason, 'ProgressDeadlineExceeded');
  assert.match(w.last.message, /validation run run-1 in workspace acme\/canary is pending/);
});

test('validation: TFE refusing the token (401) or not knowing the workspace (404) stops before any write', () => {
  for (const [status, reason, field] of [
    [401, 'ValidationUnauthorized', 'spec.validation.tokenSecretRef'],
    [403, 'ValidationUnauthorized', 'spec.validation.tokenSecretRef'],
    [404, 'ValidationWorkspaceNotFound', 'spec.validation.workspace'],
  ] as const) {
    const c = cluster({ validation } as never);
    const obs = world();
    obs.validation = { runs: [], error: { status, detail: `GET /api/v2/organizations/acme/workspaces/canary: HTTP ${status}` } };
    const p = step(c, obs);
    assert.equal(p.action, undefined);
    assert.equal(p.failure?.reason, reason);
    assert.ok(p.message.includes(field), p.message);
  }
});

test('validation: TFE unreachable while nodes are healthy is a wait with its words, not a failure', () => {
  const c = cluster({ validation } as never);
  const obs = world();
  obs.validation = { runs: [], error: { detail: 'GET https://tfe.example.com/api/v2/...: connect ECONNREFUSED' } };
  const w = validatedWalk(c, obs, 'planned_and_finished', 12);
  assert.equal(w.last.phase, 'Migrating');
  assert.match(w.last.message, /cannot queue the validation run in workspace acme\/canary yet: .*ECONNREFUSED/);
});

test('validation: once Ready, TFE is not asked (observe skips it) and the recorded run of the same stage stands', () => {
  const c = cluster({ validation } as never);
  const obs = world();
  obs.validation = { workspaceId: 'ws-1', runs: [] };
  assert.equal(validatedWalk(c, obs, 'planned_and_finished').last.phase, 'Ready');
  obs.validation = undefined;
  for (let i = 0; i < 3; i++) {
    const p = step(c, obs);
    assert.equal(p.phase, 'Ready', p.message);
    assert.equal(p.action, undefined);
  }
  // Other nodes are another stage: the record does not stand for them.
  obs.asg!.instances[0]!.id = 'i-replaced';
  obs.nodeHealth['i-replaced'] = { healthy: true, detail: 'healthy' };
  assert.notEqual(step(c, obs).phase, 'Ready');
});

// --- Drain before capacity goes down ---------------------------------------------------------

test('drain: every serving Active/Active node is drained before a repave takes it down, and none leaves undrained', () => {
  const c = cluster();
  const obs = world();
  ready(c, obs);
  departed.length = 0;
  c.spec.release = { sequence: 530 } as never;
  c.metadata.generation = 2;
  const w = walk(c, obs);
  assert.equal(w.last.phase, 'Ready', w.last.message);
  const drain = w.actions.find((a) => a.kind === 'DrainNodes') as Extract<Action, { kind: 'DrainNodes' }>;
  assert.equal(drain.instanceIds.length, 2);
  assert.equal(drain.timeoutSeconds, 3600, 'SSM may run it twice drainTimeout (30m by default)');
  assert.equal(drain.comment, 'tfe-operator drain tfe/tfe #2');
  const old = departed.filter((d) => drain.instanceIds.includes(d.id));
  assert.equal(old.length, 2);
  assert.ok(old.every((d) => d.drained), JSON.stringify(departed));
});

test('drain: a scale-in protects the nodes that stay, drains and removes exactly the others, then lifts the protection', () => {
  const c = cluster({ nodes: 3 } as never);
  const obs = world();
  ready(c, obs);
  departed.length = 0;
  const before = obs.asg!.instances.map((i) => i.id);
  c.spec.nodes = 2;
  c.metadata.generation = 2;
  const w = walk(c, obs);
  assert.equal(w.last.phase, 'Ready', w.last.message);
  assert.deepEqual(w.actions.map((a) => a.kind), ['ProtectInstances', 'DrainNodes', 'ScaleAsg', 'TagAsg', 'ProtectInstances']);
  const [protect, drain, , , unprotect] = w.actions as [Extract<Action, { kind: 'ProtectInstances' }>, Extract<Action, { kind: 'DrainNodes' }>, Action, Action, Extract<Action, { kind: 'ProtectInstances' }>];
  assert.equal(protect.kind, 'ProtectInstances');
  assert.equal(protect.protect, true);
  assert.equal(drain.kind, 'DrainNodes');
  assert.equal(w.actions[2]!.kind, 'ScaleAsg');
  assert.deepEqual(departed.map((d) => d.id), drain.instanceIds, 'the ASG removed exactly the drained node');
  assert.ok(departed.every((d) => d.drained));
  assert.deepEqual([...protect.instanceIds, ...drain.instanceIds].sort(), before.sort());
  assert.equal(unprotect.kind, 'ProtectInstances');
  assert.equal(unprotect.protect, false);
  assert.ok(obs.asg!.instances.every((i) => !i.protectedFromScaleIn));
  assert.equal(obs.asg!.tags[TAG.protected], undefined);
});

test('drain: a node that never drains stops the repave at drainTimeout (DrainTimeout), with nothing scaled', () => {
  const c = cluster({ rollout: { drainTimeout: '20s', failurePolicy: 'Rollback' } } as never);
  const obs = world();
  ready(c, obs);
  c.spec.release = { sequence: 530 } as never;
  c.metadata.generation = 2;
  drainsHang = true;
  try {
    const desired = obs.asg!.desired;
    const w = walk(c, obs, { max: 100 });
    assert.equal(w.last.failure?.reason, 'DrainTimeout', w.last.message);
    assert.match(w.last.message, /not drained after 20s.*nothing was scaled/);
    // It holds: the next reconciles keep the wait's start, so the deadline is not restarted.
    for (let i = 0; i < 3; i++) {
      tick(obs, true);
      assert.equal(step(c, obs).failure?.reason, 'DrainTimeout');
    }
    assert.equal(obs.asg!.desired, desired);
    assert.ok(!w.actions.some((a) => a.kind === 'RollAsg'));
  } finally {
    drainsHang = false;
  }
});

test('drain: a failed drain, or SSM refusing to list commands, is Degraded with what to do; drain Skip goes on without draining', () => {
  const c = cluster();
  const obs = world();
  ready(c, obs);
  c.spec.release = { sequence: 530 } as never;
  c.metadata.generation = 2;
  let p = step(c, obs); // the new version
  apply(obs, p.action!);
  p = step(c, obs);
  assert.equal(p.action?.kind, 'DrainNodes');
  apply(obs, p.action!);
  const [first] = (p.action as Extract<Action, { kind: 'DrainNodes' }>).instanceIds;
  obs.drains![first!] = { commandId: 'cmd-1', status: 'Failed', output: 'replicated: command not found' };
  p = step(c, obs);
  assert.equal(p.failure?.reason, 'DrainFailed');
  assert.match(p.message, /command not found.*spec\.rollout\.drain: Skip/);
  obs.drains = undefined;
  obs.drainsError = 'AccessDeniedException: not authorized to perform ssm:ListCommands';
  p = step(c, obs);
  assert.equal(p.failure?.reason, 'DrainUnchecked');
  assert.match(p.message, /ssm:ListCommands/);
  c.spec.rollout = { ...c.spec.rollout, drain: 'Skip' } as never;
  p = step(c, obs);
  assert.equal(p.action?.kind, 'RollAsg', p.message);
});

test('drain: a standalone node has no drain command: with an admin token the first roll waits until TFE works on no run; otherwise it says the node goes undrained', () => {
  const c = cluster({ validation } as never);
  const obs = world();
  obs.validation = { workspaceId: 'ws-1', runs: [], runsInProgress: 2 };
  let p!: Plan;
  for (let i = 0; i < 12 && !(p = step(c, obs)).wait?.id.startsWith('quiesce:'); i++) if (p.action) apply(obs, p.action);
  assert.match(p.message, /waiting for the 2 run\(s\) TFE is working on to end before the standalone node i-base goes/);
  assert.equal(p.action, undefined);
  obs.validation.runsInProgress = 0;
  p = step(c, obs);
  assert.equal(p.action?.kind, 'RollAsg');
  assert.match(p.message, /standalone node i-base: TFE works on no run/);
  const d = cluster({ validation } as never);
  const obs2 = world();
  obs2.validation = { workspaceId: 'ws-1', runs: [], runsInProgress: null };
  for (let i = 0; i < 12 && (p = step(d, obs2)).action?.kind !== 'RollAsg'; i++) if (p.action) apply(obs2, p.action);
  assert.match(p.message, /goes undrained: .*token is not a site admin's/);
});

test('DaemonAuthenticationPassword: from its Secret into Secrets Manager, fetched at boot; refused in the ConfigMap', () => {
  const c = cluster();
  c.spec.settings.daemonAuthenticationPasswordSecretRef = { name: 'console', key: 'password' };
  const obs = world();
  obs.inputs.replicatedConfText = JSON.stringify({ ...BASE_CONF, DaemonAuthenticationType: 'password' });
  obs.inputs.secrets.daemonPassword = 'console-secret-pw';
  const w = walk(c, obs);
  assert.equal(w.last.phase, 'Ready', w.last.message);
  const puts = w.actions.flatMap((a) => (a.kind === 'PutSecrets' ? a.secrets : []));
  const put = puts.find((p) => p.name === 'tfe-operator/tfe/tfe/replicated-DaemonAuthenticationPassword');
  assert.deepEqual(put?.source, { kind: 'daemonPassword' });
  const versions = w.actions.flatMap((a) => (a.kind === 'CreateLaunchTemplateVersion' ? [a.install as NodeInstall] : []));
  assert.ok(versions.length > 0);
  for (const v of versions) {
    assert.deepEqual(v.secretReplicatedConf, { DaemonAuthenticationPassword: 'tfe-operator/tfe/tfe/replicated-DaemonAuthenticationPassword' });
    assert.equal(v.replicatedConf.DaemonAuthenticationPassword, undefined);
    assert.ok(!JSON.stringify(v).includes('console-secret-pw'));
  }

  // In the ConfigMap it would land in the launch template in clear: refused before any change.
  const inConfigMap = world();
  inConfigMap.inputs.replicatedConfText = JSON.stringify({ ...BASE_CONF, DaemonAuthenticationType: 'password', DaemonAuthenticationPassword: 'clear-pw' });
  const p = plan({ cluster: cluster(), obs: inConfigMap, salt: 'salt', fingerprintKey: KEY });
  assert.equal(p.action, undefined);
  assert.match(p.message, /DaemonAuthenticationPassword is a secret but is set in the ConfigMap/);
  assert.ok(!p.message.includes('clear-pw'));
});

test('endpoints the operator may not request: Degraded EndpointNotAllowed before any action', () => {
  const c = cluster();
  const obs = world();
  obs.endpointsRefused = [{ field: 'spec.health.url', url: 'http://169.254.169.254/latest/meta-data/', host: '169.254.169.254' }];
  const p = step(c, obs);
  assert.equal(p.action, undefined);
  assert.equal(p.failure?.reason, 'EndpointNotAllowed');
  assert.match(p.message, /spec\.health\.url .* names host 169\.254\.169\.254/);
});

test('a refusal for good: AWS words for AWS actions, TFE words for the validation run; asked again only after a spec change', () => {
  const c = cluster({ validation } as never);
  const obs = world();
  const run: Action = { kind: 'QueueValidationRun', address: 'https://tfe.example.com', workspaceId: 'ws-1', workspace: 'acme/canary', message: 'm', apply: false };
  const message = refusalMessage(run, 'POST /api/v2/runs: HTTP 422 (invalid attribute: Configuration version is missing)');
  assert.match(message, /^TFE refused to queue a plan-only run in TFE workspace acme\/canary: POST \/api\/v2\/runs: HTTP 422 .*configuration version it can plan/);
  const p = refusedPlan(step(c, obs), message);
  assert.equal(p.failure?.reason, 'TfeRefused');
  c.status = buildStatus(c, p, new Date(obs.now));
  assert.equal(earlierRefusal(c, run), message, 'the same action under the same spec: not asked again');
  assert.equal(earlierRefusal(c, { kind: 'ScaleAsg', capacity: 0 }), undefined);
  c.metadata.generation = 2;
  assert.equal(earlierRefusal(c, run), undefined, 'a spec change asks again');
  assert.match(refusalMessage({ kind: 'ScaleAsg', capacity: 0 }, 'ValidationError: x'), /^AWS refused to scale/);
});

// --- Install kind Docker (FDO) ------------------------------------------------------------------

const FDO_ENV = [
  'TFE_HOSTNAME=tfe.example.com',
  'TFE_OPERATIONAL_MODE=external', // a copy of the running install's: the operator renders its own
  'TFE_DATABASE_HOST=db:5432',
  'TFE_DATABASE_NAME=tfe',
  'TFE_DATABASE_USER=tfe',
  'TFE_OBJECT_STORAGE_TYPE=s3',
  'TFE_OBJECT_STORAGE_S3_BUCKET=b',
  'TFE_OBJECT_STORAGE_S3_REGION=us-east-1',
  'TFE_OBJECT_STORAGE_S3_USE_INSTANCE_PROFILE=true',
  'TFE_TLS_CERT_FILE=/etc/ssl/private/terraform-enterprise/cert.pem',
  'TFE_TLS_KEY_FILE=/etc/ssl/private/terraform-enterprise/key.pem',
  '',
].join('\n');
const FDO_LICENSE_TEXT = 'eyJsaWNlbnNlIjoiZmRvIn0.c2ln.0123456789abcdef';
const TLS_FILES = [
  { path: '/etc/tfe/tls/cert.pem', mode: '0644', secretKeyRef: { name: 'tfe-tls', key: 'tls.crt' } },
  { path: '/etc/tfe/tls/key.pem', mode: '0600', secretKeyRef: { name: 'tfe-tls', key: 'tls.key' } },
];

function dockerCluster(tag: string, patch: Partial<TfeCluster['spec']> = {}): TfeCluster {
  return cluster({
    install: 'Docker',
    release: { tag } as TfeCluster['spec']['release'],
    settings: {
      configMapRef: { name: 'tfe-settings' },
      envKey: 'tfe.env',
      licenseSecretRef: { name: 'tfe-license', key: 'license.hclic' },
      secretSettings: [{ setting: 'TFE_DATABASE_PASSWORD', secretKeyRef: { name: 'tfe-secrets', key: 'pg_password' } }],
    } as TfeCluster['spec']['settings'],
    node: { files: TLS_FILES } as TfeCluster['spec']['node'],
    ...patch,
  });
}

/** The Docker inputs, over a world whose running install is `baseline` (a foreign FDO node by default). */
function dockerWorld(baseline: ObservedTemplateVersion = { number: 1, securityGroupIds: ['sg-nodes'], instanceProfile: { name: 'tfe-node' }, foreignReason: 'HVD', foreignRelease: { kind: 'Docker', tag: '1.2.2' } }): Observation {
  const obs = world();
  obs.launchTemplate!.versions = [baseline];
  obs.inputs = {
    envText: FDO_ENV,
    secrets: {
      encPassword: 'enc-secret',
      license: Buffer.from(FDO_LICENSE_TEXT),
      redisPassword: 'redis-secret-token-0001',
      settings: { TFE_DATABASE_PASSWORD: 'pg-secret' },
      files: { '/etc/tfe/tls/cert.pem': Buffer.from('CERT'), '/etc/tfe/tls/key.pem': Buffer.from('KEY') },
    },
    missing: [],
  };
  return obs;
}

const replicatedOn = (sequence: number): ObservedTemplateVersion => ({ ...baselineVersion(), install: { ...BASE_INSTALL, replicatedConf: { ...BASE_CONF, ReleaseSequence: sequence } } });

test('Docker: an FDO single node walks every step to Ready (1 -> 0 -> 1 -> 0 -> 2), drained with tfectl, every secret read at boot', () => {
  const w = walk(dockerCluster('1.2.2'), dockerWorld());
  assert.equal(w.last.phase, 'Ready', w.last.message);
  assert.deepEqual(w.scale, [1, 0, 1, 0, 2]);
  const drain = w.actions.find((a) => a.kind === 'DrainNodes');
  assert.equal(drain?.kind === 'DrainNodes' && drain.command, 'docker exec tfe-tfe-1 tfectl node drain');
  const versions = w.actions.flatMap((a) => (a.kind === 'CreateLaunchTemplateVersion' ? [a] : []));
  assert.equal(versions.length, 2);
  assert.match(versions[0]!.description, /^tfe-operator docker single node on Redis [0-9a-f]{12}$/);
  assert.match(versions[1]!.description, /^tfe-operator docker active\/active [0-9a-f]{12}$/);
  const install = versions[1]!.install as DockerInstall;
  assert.equal(install.image, 'images.releases.hashicorp.com/hashicorp/terraform-enterprise:1.2.2');
  assert.equal(install.env.TFE_OPERATIONAL_MODE, 'active-active');
  assert.equal(install.env.TFE_REDIS_HOST, 'master.tfe-redis.cache.amazonaws.com:6379');
  assert.deepEqual([install.env.TFE_REDIS_USE_TLS, install.env.TFE_REDIS_USE_AUTH], ['true', 'true']);
  assert.deepEqual(install.secretEnv, {
    TFE_ENCRYPTION_PASSWORD: 'tfe-operator/tfe/tfe/enc_password',
    TFE_LICENSE: 'tfe-operator/tfe/tfe/license',
    TFE_REDIS_PASSWORD: 'tfe-operator/tfe/tfe/redis_pass',
    TFE_DATABASE_PASSWORD: 'tfe-operator/tfe/tfe/setting-TFE_DATABASE_PASSWORD',
  });
  for (const v of versions) assert.ok(!/enc-secret|pg-secret|redis-secret|eyJsaWNlbnNl/.test(JSON.stringify(v.install)), 'a secret value in a version');
  assert.equal(w.last.conditions.find((c) => c.type === 'ReplicatedUIDisabled')?.reason, 'NoReplicatedUI');
});

test('Docker: settings refused before any write, each with its field and fix', () => {
  const rows: Array<[string, (o: Observation, c: TfeCluster) => void, string, RegExp]> = [
    ['a secret in the ConfigMap', (o) => (o.inputs.envText = `${FDO_ENV}TFE_DATABASE_PASSWORD=oops\n`), 'SecretInConfigMap', /TFE_DATABASE_PASSWORD: a secret value would end up in the launch template.*spec\.settings\.secretSettings/],
    ['disk mode', (o) => (o.inputs.envText = `${FDO_ENV}TFE_DISK_PATH=/var/lib/tfe\n`), 'NotExternalServices', /TFE_DISK_PATH is set: disk mode/],
    ['no TLS file for TFE_TLS_KEY_FILE', (_o, c) => (c.spec.node = { files: [TLS_FILES[0]!] } as TfeCluster['spec']['node']), 'TlsFilesMissing', /TFE_TLS_KEY_FILE .* no entry of spec\.node\.files writes \/etc\/tfe\/tls\/key\.pem/],
    ['a line that is not NAME=value', (o) => (o.inputs.envText = `${FDO_ENV}export X\n`), 'InvalidSettings', /line 12 is not NAME=value/],
    ['a missing variable', (o) => (o.inputs.envText = FDO_ENV.replace('TFE_DATABASE_USER=tfe\n', '')), 'SettingMissing', /lacks TFE_DATABASE_USER/],
    ['a Replicated license', (o) => (o.inputs.secrets.license = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0xff])), 'FdoLicenseInvalid', /is binary: a Replicated license file \(\.rli\)/],
    ['a license with a trailing newline', (o) => (o.inputs.secrets.license = Buffer.from(`${FDO_LICENSE_TEXT}\n`)), 'FdoLicenseInvalid', /holds whitespace/],
  ];
  for (const [what, mutate, reason, message] of rows) {
    const c = dockerCluster('1.2.2');
    const obs = dockerWorld();
    mutate(obs, c);
    const p = step(c, obs);
    assert.equal(p.failure?.reason, reason, `${what}: ${p.message}`);
    assert.match(p.message, message, what);
    assert.equal(p.action, undefined, what);
  }
});

test('Replicated -> FDO: the same release walks to Ready on FDO and records that an FDO node served; another tag, an upgrade folded in, or a release without an FDO image are refused', () => {
  const w = walk(dockerCluster('v202503-1'), dockerWorld(replicatedOn(811)));
  assert.equal(w.last.phase, 'Ready', w.last.message);
  assert.deepEqual(w.scale, [1, 0, 1, 0, 2]);
  // The standalone Replicated node has no drain; the single FDO node is drained with tfectl.
  const drains = w.actions.flatMap((a) => (a.kind === 'DrainNodes' ? [a.command] : []));
  assert.deepEqual(drains, ['docker exec tfe-tfe-1 tfectl node drain']);
  assert.ok(w.actions.some((a) => a.kind === 'TagAsg' && a.tags[TAG.fdoServed] !== undefined), 'fdo-served recorded');
  const rows: Array<[string, number, string, string, RegExp]> = [
    ['another release', 811, 'v202502-2', 'ReleaseMismatch', /the install runs sequence 811, which is image tag v202503-1/],
    ['an upgrade in the same step', 811, '1.2.2', 'UpgradeDuringMove', /an upgrade folded into the move is not supported/],
    ['a sequence older than FDO', 528, 'v202401-1', 'ReleaseHasNoFdoImage', /release sequence 528 .* has no FDO image tag/],
  ];
  for (const [what, sequence, tag, reason, message] of rows) {
    const p = step(dockerCluster(tag), dockerWorld(replicatedOn(sequence)));
    assert.equal(p.failure?.reason, reason, `${what}: ${p.message}`);
    assert.match(p.message, message, what);
    assert.equal(p.action, undefined, what);
  }
  const back = step(cluster({ node: { installArgs: ['no-proxy'] } as TfeCluster['spec']['node'] }), (() => {
    const o = world();
    o.launchTemplate!.versions = [{ number: 1, securityGroupIds: ['sg-nodes'], instanceProfile: { name: 'tfe-node' }, foreignReason: 'HVD', foreignRelease: { kind: 'Docker', tag: '1.2.2' } }];
    return o;
  })());
  assert.equal(back.failure?.reason, 'NoWayBackToReplicated', back.message);
  assert.equal(back.action, undefined);
});

test('Replicated -> FDO rollback: back to Replicated while no FDO node served; refused once one did', () => {
  // The single FDO node never turns healthy: with failurePolicy Rollback, back to the Replicated baseline.
  const c = dockerCluster('v202503-1', { rollout: { approval: 'Automatic', failurePolicy: 'Rollback' } as TfeCluster['spec']['rollout'], health: { nodeUrlTemplate: 'http://sim/nodes/{instanceId}/_health_check', timeout: '5s', interval: '1s' } as TfeCluster['spec']['health'] });
  const obs = dockerWorld(replicatedOn(811));
  const w = walk(c, obs, { healthy: false, max: 40 });
  const roll = w.actions.find((a) => a.kind === 'RollAsg' && a.mode === 'rollback');
  assert.equal(roll?.kind === 'RollAsg' && roll.version, 1, `no rollback to the Replicated version: ${w.last.message}`);

  // Once an FDO node served (the tag), a failure does not roll back to Replicated.
  const c2 = dockerCluster('v202503-1', { rollout: { approval: 'Automatic', failurePolicy: 'Rollback' } as TfeCluster['spec']['rollout'], health: { nodeUrlTemplate: 'http://sim/nodes/{instanceId}/_health_check', timeout: '5s', interval: '1s' } as TfeCluster['spec']['health'] });
  const obs2 = dockerWorld(replicatedOn(811));
  let p!: Plan;
  for (let i = 0; i < 60; i++) {
    p = step(c2, obs2);
    if (p.action) apply(obs2, p.action);
    // The full stage's nodes never turn healthy.
    const full = obs2.launchTemplate!.versions.find((v) => v.description?.startsWith('tfe-operator docker active/active'));
    tick(obs2, !(full && obs2.asg!.launchTemplateVersion === full.number));
    if (p.failure) break;
  }
  assert.equal(p.failure?.reason, 'RollbackToReplicatedRefused', p.message);
  assert.match(p.message, /an FDO node already served on this install .* Nothing was rolled back/);
});

test('Docker: an upgrade to 2.0 waits 10 s after every earlier node is gone before the first new node starts', () => {
  const c = dockerCluster('1.2.2');
  const obs = dockerWorld();
  assert.equal(walk(c, obs).last.phase, 'Ready');
  c.spec.release = { tag: '2.0.0' } as TfeCluster['spec']['release'];
  c.metadata.generation = 2;
  let quietSince: number | undefined;
  for (let i = 0; i < 60; i++) {
    const p = step(c, obs);
    if (p.wait?.id.startsWith('quiet:')) quietSince ??= obs.now;
    if (p.action?.kind === 'ScaleAsg' && obs.asg!.desired === 0) {
      assert.ok(quietSince !== undefined && obs.now - quietSince >= 10_000, `scaled up ${quietSince === undefined ? 'without the quiet wait' : `${obs.now - quietSince} ms after`}`);
      return;
    }
    if (p.action) apply(obs, p.action);
    tick(obs);
  }
  assert.fail('never scaled up onto 2.0.0');
});

test('every secret the planner stores is one observe reads back and deletionPolicy Delete removes (operatorSecretNames), for both kinds', () => {
  const replicated = cluster({ node: { files: [{ path: '/var/lib/tfe/ca.pem', mode: '0644', secretKeyRef: { name: 's', key: 'ca' } }] } as TfeCluster['spec']['node'] });
  replicated.spec.settings.daemonAuthenticationPasswordSecretRef = { name: 'console', key: 'password' };
  const obs = world();
  obs.inputs.replicatedConfText = JSON.stringify({ ...BASE_CONF, DaemonAuthenticationType: 'password' });
  obs.inputs.secrets.daemonPassword = 'console-secret-pw';
  obs.inputs.secrets.files = { '/var/lib/tfe/ca.pem': Buffer.from('CA') };
  const docker = dockerCluster('1.2.2');
  for (const [c, o] of [[replicated, obs], [docker, dockerWorld()]] as const) {
    const w = walk(c, o);
    assert.equal(w.last.phase, 'Ready', w.last.message);
    const put = w.actions.flatMap((a) => (a.kind === 'PutSecrets' ? a.secrets.map((x) => x.name) : [])).sort();
    assert.deepEqual(put, operatorSecretNames(c.spec, 'tfe', 'tfe').sort());
  }
});
