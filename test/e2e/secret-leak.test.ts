// Secrets never leak. Full migrations (ElastiCache with an auth token; an existing Redis with
// a password and a CA) and two TfeClusters whose settings put a secret where it does not
// belong; then every place the operator writes is searched for every secret value, in plain,
// JSON-escaped and base64 form: each operator log line, every Event, every TfeCluster object
// (status included), /metrics and the status API, every launch template version's user data,
// the ASGs' tags, and what `kubectl tfe status|plan` and `tfe-operator plan|render` print.

import { ANNOTATION_ALLOWED_TFECLUSTERS } from '../../src/security/secret-access.ts';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeLaunchTemplateVersionsCommand, DescribeLaunchTemplatesCommand } from '@aws-sdk/client-ec2';
import { resetWorld } from '../harness.ts';
import { BASE_REPLICATED_CONF, BASE_SETTINGS, LICENSE, SECRET_VALUES, type World } from '../sandbox/world.ts';
import { clearNamespace, copyWorldObjects, createExtraAsg } from '../faults/world-extra.ts';
import { ROOT, statusAuth, type OperatorProcess } from '../operator-process.ts';
import { aws, createCluster, exampleCluster, getCluster, isReady, kube, operator, waitFor } from './support.ts';
import { GROUP, PLURAL, VERSION, type TfeCluster } from '../../src/api/types.ts';

const k = kube();
const NS = 'tfe';
const OTHER = 'tfe-leak';
let op: OperatorProcess | undefined;
let world: World;

/** Each secret with the forms it could take in text: as is, trimmed, JSON-escaped, base64, cut short. */
function needles(): Array<{ name: string; text: string }> {
  const redisPassword = process.env.REDIS_PASSWORD;
  assert.ok(redisPassword && redisPassword.length >= 16, 'REDIS_PASSWORD (the sandbox Redis password) is not in the environment');
  const secrets: Record<string, string> = {
    enc_password: SECRET_VALUES.encPassword,
    pg_password: SECRET_VALUES.pgPassword,
    // The license is binary: its base64 (how it travels in Kubernetes and AWS) and the text inside it.
    license: LICENSE.toString('base64'),
    'license (payload)': LICENSE.subarray(13, 13 + LICENSE.readUInt32BE(9)).toString('utf8'),
    'redis password': redisPassword,
    // spec.validation's TFE API token (the simulator's, random per sandbox).
    'TFE API token': process.env.TFE_SIM_API_TOKEN!,
  };
  const out: Array<{ name: string; text: string }> = [];
  for (const [name, value] of Object.entries(secrets)) {
    const forms = new Map<string, string>([
      ['plain', value],
      ['trimmed', value.trim()],
      ['JSON-escaped', JSON.stringify(value).slice(1, -1)],
      ['base64', Buffer.from(value).toString('base64')],
      ['base64 of trimmed', Buffer.from(value.trim()).toString('base64')],
      ['base64url', Buffer.from(value).toString('base64url')],
      // Leaks are often cut short (V8 quotes ten characters of bad JSON; messages get sliced).
      ['first 10 characters', value.slice(0, 10)],
    ]);
    const seen = new Set<string>();
    for (const [form, text] of forms) {
      if (seen.has(text) || text.length < 10) continue;
      seen.add(text);
      out.push({ name: `${name} (${form})`, text });
    }
  }
  return out;
}

/** Every hit, as "<where>: <secret> (<form>)", with the secret itself cut out of the context. */
function search(haystacks: Array<{ where: string; text: string }>): string[] {
  const hits: string[] = [];
  for (const n of needles()) {
    for (const h of haystacks) {
      const i = h.text.indexOf(n.text);
      if (i >= 0) {
        const context = `${h.text.slice(Math.max(0, i - 60), i)}<SECRET>${h.text.slice(i + n.text.length, i + n.text.length + 40)}`;
        hits.push(`${h.where}: ${n.name} in …${context.replace(/\s+/g, ' ')}…`);
      }
    }
  }
  return hits;
}

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: `${stdout}\n${stderr}` });
    });
  });
}

before(async () => {
  world = await resetWorld();
  await createExtraAsg(world, 'tfe-b');
  await copyWorldObjects(k, OTHER);
});
after(async () => {
  await op?.stop();
  await clearNamespace(k, OTHER);
  await resetWorld();
});

test('no secret value in logs, Events, status, metrics, user data or plugin output', async () => {
  // Settings that put a secret where it does not belong: the operator must refuse them without repeating them.
  await k.core.createNamespacedConfigMap({
    namespace: NS,
    body: {
      metadata: { name: 'settings-secret-in-broken-json' },
      data: {
        'replicated.conf': JSON.stringify(BASE_REPLICATED_CONF),
        // Broken JSON right at an unquoted secret: V8's parse error would quote it.
        'ptfe-settings.json': `{"hostname": {"value": "tfe.sandbox.example"},\n "pg_password": {"value": ${SECRET_VALUES.pgPassword}}}`,
      },
    },
  });
  await k.core.createNamespacedConfigMap({
    namespace: NS,
    body: {
      metadata: { name: 'settings-secret-plain' },
      data: {
        'replicated.conf': JSON.stringify(BASE_REPLICATED_CONF),
        'ptfe-settings.json': JSON.stringify({ ...BASE_SETTINGS, enc_password: SECRET_VALUES.encPassword }),
      },
    },
  });

  await k.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'tfe-api', annotations: { [ANNOTATION_ALLOWED_TFECLUSTERS]: '*' } }, stringData: { token: process.env.TFE_SIM_API_TOKEN! } } });
  op = await operator('secret-leak');
  // With a validation run per stage: the token goes to TFE's API and nowhere else.
  const elastiCache = exampleCluster((c) => {
    c.spec.validation = {
      address: process.env.TFE_SIM_URL!,
      organization: process.env.TFE_SIM_API_ORGANIZATION!,
      workspace: process.env.TFE_SIM_API_WORKSPACE!,
      tokenSecretRef: { name: 'tfe-api', key: 'token' },
    };
  });
  const external = exampleCluster((c) => {
    c.metadata.namespace = OTHER;
    c.metadata.name = 'external';
    c.spec.autoScalingGroupName = 'tfe-b';
    c.spec.launchTemplate = { name: 'tfe-b' };
    c.spec.redis = {
      external: {
        host: 'localhost',
        port: Number(process.env.REDIS_PORT),
        tls: true,
        passwordSecretRef: { name: 'tfe-redis', key: 'password' },
        caSecretRef: { name: 'tfe-redis', key: 'ca.crt' },
      },
    } as TfeCluster['spec']['redis'];
  });
  const brokenJson = exampleCluster((c) => {
    c.metadata.name = 'secret-in-broken-json';
    c.spec.autoScalingGroupName = 'tfe-none';
    c.spec.settings.configMapRef = { name: 'settings-secret-in-broken-json' };
  });
  const plain = exampleCluster((c) => {
    c.metadata.name = 'secret-in-configmap';
    c.spec.autoScalingGroupName = 'tfe-none';
    c.spec.settings.configMapRef = { name: 'settings-secret-plain' };
  });
  for (const c of [elastiCache, external, brokenJson, plain]) await createCluster(k, c);

  const tail = () => `\noperator log tail:\n${op?.lines.slice(-15).join('\n')}`;
  for (const c of [elastiCache, external]) {
    await waitFor(k, c.metadata.namespace!, c.metadata.name!, isReady, 240_000, `${c.metadata.namespace}/${c.metadata.name} Ready`).catch((err) => {
      throw new Error(`${(err as Error).message}${tail()}`);
    });
  }
  const degraded = (x: TfeCluster) => x.status?.conditions?.find((d) => d.type === 'Degraded' && d.status === 'True')?.reason;
  for (const [c, reason] of [[brokenJson, 'InvalidJson'], [plain, 'SettingNotValueObject']] as const) {
    const got = await waitFor(k, NS, c.metadata.name!, (x) => !!degraded(x), 60_000, `${c.metadata.name} Degraded`);
    assert.equal(degraded(got), reason, `${c.metadata.name}: ${got.status?.message}`);
  }
  await new Promise((r) => setTimeout(r, 2_000)); // let the last Events land

  const haystacks: Array<{ where: string; text: string }> = [];
  const add = (where: string, text: string) => haystacks.push({ where, text });

  // Logs: every line the operator printed (JSON or not).
  op.lines.forEach((l, i) => add(`operator log line ${i + 1}`, l));

  // Events and TfeClusters (status included), both namespaces.
  for (const ns of [NS, OTHER]) {
    const events = await k.core.listNamespacedEvent({ namespace: ns });
    for (const e of events.items) add(`Event ${ns}/${e.metadata?.name} (${e.reason})`, JSON.stringify(e));
    const list = (await k.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL })) as { items: TfeCluster[] };
    for (const c of list.items) add(`TfeCluster ${ns}/${c.metadata.name}`, JSON.stringify(c));
  }

  // The operator's HTTP API.
  for (const path of ['/metrics', '/v1/status', '/v1/status/cluster', '/healthz', '/readyz']) {
    const r = await fetch(`${op.url}${path}`, { headers: statusAuth(), redirect: 'manual' });
    add(`GET ${path}`, await r.text());
  }

  // User data of every launch template version, decoded and as EC2 returns it; ASG tags.
  const ec2 = aws().ec2;
  const templates = (await ec2.send(new DescribeLaunchTemplatesCommand({}))).LaunchTemplates ?? [];
  let versionsSeen = 0;
  for (const t of templates) {
    const versions = (await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: t.LaunchTemplateId }))).LaunchTemplateVersions ?? [];
    for (const v of versions) {
      const raw = v.LaunchTemplateData?.UserData ?? '';
      add(`launch template ${t.LaunchTemplateName} v${v.VersionNumber} user data`, Buffer.from(raw, 'base64').toString('utf8'));
      add(`launch template ${t.LaunchTemplateName} v${v.VersionNumber} (as returned)`, JSON.stringify(v));
      versionsSeen++;
    }
  }
  assert.ok(versionsSeen >= 6, `expected the two migrations' launch template versions, saw ${versionsSeen}`);
  const groups = (await aws().asg.send(new DescribeAutoScalingGroupsCommand({}))).AutoScalingGroups ?? [];
  for (const g of groups) add(`ASG ${g.AutoScalingGroupName}`, JSON.stringify(g));

  // What a person sees: the kubectl plugin and the operator's own CLI.
  const plugin = join(ROOT, 'bin', 'kubectl-tfe.js');
  const cli = ['--import', 'tsx', join(ROOT, 'src', 'main.ts')];
  // [what, argv, exit code (0 unless said)]
  const outputs: Array<[string, string[], number?]> = [
    ['kubectl tfe status -A', [plugin, 'status', '-A']],
    ['kubectl tfe status tfe -n tfe', [plugin, 'status', 'tfe', '-n', NS]],
    ['kubectl tfe status external', [plugin, 'status', 'external', '-n', OTHER]],
    ['kubectl tfe status secret-in-broken-json', [plugin, 'status', 'secret-in-broken-json', '-n', NS]],
    ['kubectl tfe status secret-in-configmap', [plugin, 'status', 'secret-in-configmap', '-n', NS]],
    ['kubectl tfe plan tfe', [plugin, 'plan', 'tfe', '-n', NS]],
    ['kubectl tfe plan external', [plugin, 'plan', 'external', '-n', OTHER]],
    ['kubectl tfe plan secret-in-broken-json', [plugin, 'plan', 'secret-in-broken-json', '-n', NS]],
    ['tfe-operator plan tfe -o json', [...cli, 'plan', 'tfe', '-n', NS, '-o', 'json']],
    ['tfe-operator render external', [...cli, 'render', 'external', '-n', OTHER]],
    ['tfe-operator fdo-env tfe', [...cli, 'fdo-env', 'tfe', '-n', NS]],
    // Its ptfe-settings.json does not parse: refused, and the message quotes no value.
    ['tfe-operator fdo-env secret-in-configmap', [...cli, 'fdo-env', 'secret-in-configmap', '-n', NS], 1],
  ];
  // Three at a time: each is a Node process starting up.
  const results: Array<{ code: number; out: string }> = [];
  for (let i = 0; i < outputs.length; i += 3) {
    results.push(...(await Promise.all(outputs.slice(i, i + 3).map(([, args]) => run(args)))));
  }
  outputs.forEach(([what, , code], i) => {
    // Each must really have run (a failure to start would make the search vacuous).
    assert.equal(results[i]!.code, code ?? 0, `${what} exited ${results[i]!.code}:\n${results[i]!.out.slice(-2000)}`);
    assert.ok(results[i]!.out.trim().length > 0, `${what} printed nothing`);
    add(what, results[i]!.out);
  });
  assert.match(haystacks.find((h) => h.where === 'kubectl tfe status tfe -n tfe')!.text, /Ready/, 'the plugin did not show the migrated cluster');

  const hits = search(haystacks);
  assert.deepEqual(hits, [], `secret values found (${hits.length}):\n${hits.join('\n')}`);

  // The search is not vacuous: the same search finds the secrets where they belong.
  const secret = await k.core.readNamespacedSecret({ name: 'tfe-secrets', namespace: NS });
  assert.ok(search([{ where: 'the Secret itself', text: JSON.stringify(secret) }]).length > 0, 'the search cannot even find the secrets in their Secret');
  const final = await getCluster(k, NS, 'tfe');
  assert.match(final.status?.encryptionPasswordFingerprint ?? '', /^hmac-sha256:/, 'no enc_password fingerprint in status');
});
