// TFE on Docker (FDO), end to end, on a sandbox of its own that is an FDO single node shaped
// like HashiCorp's HVD module builds it (SANDBOX_WORLD=fdo; test/sandbox/worlds/fdo.ts). From
// examples/tfecluster-fdo.yaml alone the operator takes it to Active/Active with 2 nodes, then
// upgrades it to 2.0.0, a release whose startup check refuses to start while a node of another
// version ran in the last 10 seconds and whose /_health_check answers 410.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeLaunchTemplateVersionsCommand } from '@aws-sdk/client-ec2';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { GROUP, PLURAL, VERSION, type TfeCluster } from '../../src/api/types.ts';
import { mergePatch } from '../../src/kube/client.ts';
import { startWorldSandbox, type WorldSandbox } from '../integration/hashicorp-sandbox.ts';
import { asgHistory } from '../sandbox/moto.ts';
import { LICENSE, NAMES, SECRET_VALUES, type FdoWorldInfo } from '../sandbox/worlds/fdo.ts';
import { ROOT, startOperator, type OperatorProcess } from '../operator-process.ts';
import type { Departure } from '../sandbox/simulator/fleet.ts';
import type { NodeView } from '../sandbox/simulator/node.ts';
import { freePort } from '../sandbox/ports.ts';

let sb: WorldSandbox<FdoWorldInfo>;
let op: OperatorProcess | undefined;
let custom: CustomObjectsApi;
let core: CoreV1Api;
const NS = 'tfe';
const NAME = 'tfe';

const sim = async (): Promise<{ nodes: NodeView[]; departures: Departure[] }> => (await (await fetch(`${sb.env.TFE_SIM_URL}/sim/state`)).json()) as never;
const getCluster = async () => (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: NAME })) as TfeCluster;

async function waitReady(what: string, timeoutMs = 240_000): Promise<TfeCluster> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await getCluster();
    if (c.status?.phase === 'Ready' && c.status.observedGeneration === c.metadata.generation) return c;
    assert.ok(Date.now() < deadline, `${what}: not Ready: ${JSON.stringify({ phase: c.status?.phase, message: c.status?.message })}\n${op?.lines.slice(-15).join('\n')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function userData(version: number): Promise<string> {
  const out = await sb.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: NAMES.launchTemplate, Versions: [String(version)] }));
  return Buffer.from(out.LaunchTemplateVersions![0]!.LaunchTemplateData!.UserData ?? '', 'base64').toString('utf8');
}

before(async () => {
  sb = await startWorldSandbox<FdoWorldInfo>('fdo', 'fdo');
  const kc = new KubeConfig();
  kc.loadFromFile(sb.env.KUBECONFIG);
  custom = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  const env = Object.fromEntries(Object.entries(sb.env).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  op = await startOperator({ id: 'fdo', port: await freePort(), env, args: ['--resync', '1000'], logFile: join(sb.dir, 'logs', 'operator-fdo.log') });
  const c = parseYaml(readFileSync(join(ROOT, 'examples/tfecluster-fdo.yaml'), 'utf8')) as TfeCluster;
  const simUrl = sb.env.TFE_SIM_URL;
  c.spec.health = { ...c.spec.health, url: `${simUrl}/_health_check`, nodeUrlTemplate: `${simUrl}/nodes/{instanceId}/_health_check`, interval: '500ms' } as TfeCluster['spec']['health'];
  await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, body: c });
});

after(async () => {
  await op?.stop();
  await sb?.stop();
});

test('an FDO single node reaches Active/Active with 2 nodes: every secret read at boot, readiness asked per node, every Active/Active node drained before it left', async () => {
  const ready = await waitReady('the move to Active/Active');
  const s = await sim();
  assert.equal(s.nodes.length, 2);
  for (const n of s.nodes) {
    assert.equal(n.state, 'healthy', JSON.stringify(n));
    assert.deepEqual([n.installKind, n.fdo?.mode, n.fdo?.tag], ['docker', 'active-active', '1.2.2']);
    // The operator asks each node TFE's readiness endpoint, which 1.2.1 and later have.
    assert.ok((n.healthAsked['/api/v1/health/readiness'] ?? 0) > 0, JSON.stringify(n.healthAsked));
    assert.equal(n.healthAsked['/_health_check'] ?? 0, 0, `the deprecated /_health_check was asked of ${n.id}`);
  }
  assert.deepEqual((await asgHistory(sb.env.AWS_ENDPOINT_URL, NAMES.asg)).map((h) => h.to), [1, 0, 1, 0, 2]);

  // The module's launch template has the database password in clear; none of the operator's has any secret.
  const lt = ready.status!.launchTemplate!;
  assert.ok((await userData(1)).includes(SECRET_VALUES.dbPassword), 'the world is the module\'s: its version 1 holds the database password');
  const redisPassword = sb.env.REDIS_PASSWORD!;
  for (let v = 2; v <= lt.currentVersion!; v++) {
    const script = await userData(v);
    assert.match(script, /^#!\/bin\/bash\n# tfe-operator:docker-user-data v1\n/);
    for (const secret of [SECRET_VALUES.dbPassword, SECRET_VALUES.encPassword, LICENSE, redisPassword]) assert.ok(!script.includes(secret), `launch template version ${v} holds a secret`);
  }

  // Nor in the operator's log, the TfeCluster's status or the Events.
  const events = JSON.stringify((await core.listNamespacedEvent({ namespace: NS })).items.map((e) => [e.reason, e.message]));
  const seen = [op!.lines.join('\n'), JSON.stringify(ready.status), events];
  for (const secret of [SECRET_VALUES.dbPassword, SECRET_VALUES.encPassword, LICENSE, redisPassword]) assert.ok(!seen.some((t) => t.includes(secret)), 'a secret in the log, the status or an Event');
  assert.match(events, /CreateLaunchTemplateVersion|DrainNodes/, 'the Events were read');

  // Who left: the module's node in external mode (no drain before Active/Active; no run in
  // flight), then the validated single node, drained with tfectl through SSM.
  const [standalone, ...activeActive] = s.departures;
  assert.equal(standalone!.drained, false);
  assert.deepEqual(standalone!.unfinishedRuns, []);
  assert.ok(activeActive.length >= 1);
  for (const d of activeActive) assert.ok(d.drained && d.unfinishedRuns.length === 0, `node ${d.id} left undrained: ${JSON.stringify(d)}`);
});

test('an upgrade to 2.0.0 repaves with no overlap of versions: every 1.2.2 node gone (and 10 s more) before the first 2.0.0 node starts', async () => {
  const before = (await sim()).departures.length;
  const mark = (await asgHistory(sb.env.AWS_ENDPOINT_URL, NAMES.asg)).at(-1)!.seq;
  await custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: NAME, body: { spec: { release: { tag: '2.0.0' } } } }, mergePatch);
  await waitReady('the upgrade to 2.0.0');
  const s = await sim();
  for (const n of s.nodes) {
    assert.deepEqual([n.state, n.fdo?.tag], ['healthy', '2.0.0']);
    // /_health_check answers 410 in 2.0: readiness is the only health a node has.
    const gone = await fetch(`${sb.env.TFE_SIM_URL}/nodes/${n.id}/_health_check`);
    assert.equal(gone.status, 410);
  }
  assert.deepEqual((await asgHistory(sb.env.AWS_ENDPOINT_URL, { asg: NAMES.asg, since: mark })).map((h) => h.to), [0, 1, 2]);
  const old = s.departures.slice(before);
  assert.equal(old.length, 2);
  for (const d of old) {
    assert.equal(d.release, '1.2.2');
    assert.ok(d.drained && d.unfinishedRuns.length === 0, `node ${d.id} left undrained`);
  }
  const lastOld = Math.max(...old.map((d) => Date.parse(d.at)));
  const firstNew = Math.min(...s.nodes.map((n) => Date.parse(n.bootedAt)));
  assert.ok(firstNew - lastOld >= 10_000, `the first 2.0.0 node booted ${firstNew - lastOld} ms after the last 1.2.2 node left`);
});
