// The TfeCluster API against a real kube-apiserver: the CRD installs, defaults apply, the
// examples are accepted, bad input is refused with the message a user can act on,
// encryptionPasswordSecretRef cannot change, status is a subresource, and
// `kubectl get tfe` shows the printer columns.
//
// Uses KUBECONFIG from the environment (test/run.ts exports the sandbox's). Without it,
// starts a control plane of its own (etcd + kube-apiserver) and stops it afterwards.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { specWithDefaults } from '../../src/api/defaults.ts';
import { kubectlPath } from '../sandbox/controlplane-bin.ts';
import { API_VERSION, CRD_FILE, CRD_NAME, KIND } from '../../src/api/types.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ns = `tfe-api-test-${randomBytes(3).toString('hex')}`;
const kubectlBin = kubectlPath();

let kubeconfig = process.env.KUBECONFIG ?? '';
let stopOwnControlPlane: (() => Promise<void>) | undefined;
let ownDir: string | undefined;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function kubectl(args: string[], input?: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(kubectlBin, ['--kubeconfig', kubeconfig, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

type Obj = Record<string, any>;

/** A valid TfeCluster using ElastiCache; every invalid case below breaks exactly one thing. */
function validCluster(name = 'tfe'): Obj {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, namespace: ns },
    spec: {
      nodes: 3,
      aws: { region: 'us-east-1', roleArn: 'arn:aws:iam::123456789012:role/tfe-operator' },
      autoScalingGroupName: 'tfe',
      launchTemplate: { name: 'tfe' },
      release: { sequence: 620 },
      settings: {
        configMapRef: { name: 'tfe-settings' },
        licenseSecretRef: { name: 'tfe-license', key: 'license.rli' },
        secretSettings: [{ setting: 'pg_password', secretKeyRef: { name: 'tfe-secrets', key: 'pg_password' } }],
      },
      encryptionPasswordSecretRef: { name: 'tfe-secrets', key: 'enc_password' },
      redis: {
        elastiCache: {
          replicationGroupId: 'tfe-redis',
          nodeType: 'cache.t3.medium',
          engineVersion: '7.1',
          subnetGroupName: 'tfe-redis',
          securityGroupIds: ['sg-0123456789abcdef0'],
          preferredAvailabilityZones: ['us-east-1a', 'us-east-1b'],
          authTokenSecretRef: { name: 'tfe-redis', key: 'token' },
        },
      },
      network: { mode: 'Verify', nodeSecurityGroupIds: ['sg-0aaaaaaaaaaaaaaaa'] },
      health: { url: 'https://tfe.example.com/_health_check', nodeUrlTemplate: 'https://{privateIp}/_health_check', timeout: '15m', interval: '10s' },
      validation: {
        address: 'https://tfe.example.com',
        organization: 'acme',
        workspace: 'canary',
        tokenSecretRef: { name: 'tfe-api', key: 'token' },
      },
      rollout: { approval: 'Manual', failurePolicy: 'Rollback', driftPolicy: 'Report', stepDeadline: '45m' },
      deletionPolicy: 'Retain',
    },
  };
}

/** A valid TfeCluster using an existing Redis, with only what is required. */
function validExternal(name = 'tfe-external'): Obj {
  const o = validCluster(name);
  const { spec } = o;
  o.spec = {
    aws: { region: 'eu-west-2' },
    autoScalingGroupName: spec.autoScalingGroupName,
    launchTemplate: { id: 'lt-0123456789abcdef0' },
    release: { sequence: 528 },
    settings: { configMapRef: spec.settings.configMapRef, licenseSecretRef: spec.settings.licenseSecretRef },
    encryptionPasswordSecretRef: spec.encryptionPasswordSecretRef,
    redis: {
      external: {
        host: 'redis.example.com',
        port: 6380,
        passwordSecretRef: { name: 'tfe-redis', key: 'password' },
        caSecretRef: { name: 'tfe-redis', key: 'ca.crt' },
      },
    },
  };
  return o;
}

/** Minimal ElastiCache cluster: everything else comes from defaults. */
function minimalCluster(name = 'tfe-minimal'): Obj {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, namespace: ns },
    spec: {
      aws: { region: 'us-east-1' },
      autoScalingGroupName: 'tfe',
      launchTemplate: { name: 'tfe' },
      release: { sequence: 528 },
      settings: { configMapRef: { name: 'tfe-settings' }, licenseSecretRef: { name: 'tfe-license', key: 'license.rli' } },
      encryptionPasswordSecretRef: { name: 'tfe-secrets', key: 'enc_password' },
      redis: {
        elastiCache: { replicationGroupId: 'tfe-redis', nodeType: 'cache.t3.medium', subnetGroupName: 'tfe-redis', securityGroupIds: ['sg-0a1b2c3d'] },
      },
    },
  };
}

/** Turns `o` into validExternal() under the same name; returns it for chaining. */
function toExternal(o: Obj): Obj {
  return Object.assign(o, validExternal(o.metadata.name));
}

async function dryRunCreate(obj: Obj): Promise<Result> {
  return kubectl(['create', '--dry-run=server', '-o', 'name', '-f', '-'], JSON.stringify(obj));
}

before(async () => {
  if (!kubeconfig) {
    const { startControlPlane } = await import('../sandbox/controlplane.ts');
    ownDir = mkdtempSync(join(tmpdir(), 'tfe-api-test-'));
    // No CRDs from the sandbox: the first test installs the one under test.
    const cp = await startControlPlane({ dir: ownDir, crdsDir: join(ownDir, 'no-crds'), log: () => {} });
    kubeconfig = cp.kubeconfigPath;
    stopOwnControlPlane = cp.stop;
  }
  await ok(['create', 'namespace', ns]);
});

after(async () => {
  if (kubeconfig) {
    // No controller watches this namespace, but drop finalizers in case one runs beside us.
    const list = await kubectl(['get', 'tfeclusters', '-n', ns, '-o', 'name']);
    for (const name of list.stdout.split('\n').filter(Boolean)) {
      await kubectl(['patch', '-n', ns, name, '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}']);
    }
    // The sandbox runs no namespace controller: delete the objects themselves, then the namespace.
    await kubectl(['delete', 'tfeclusters', '--all', '-n', ns, '--wait=false', '--ignore-not-found']);
    await kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
  }
  await stopOwnControlPlane?.();
  if (ownDir) rmSync(ownDir, { recursive: true, force: true });
});

describe('TfeCluster CRD on a real kube-apiserver', () => {
  test('the generated CRD installs and becomes Established', async () => {
    await ok(['apply', '--server-side', '--force-conflicts', '-f', join(root, CRD_FILE)]);
    // Poll rather than `kubectl wait`: right after creation .status.conditions is null and
    // kubectl 1.32's wait fails on that instead of waiting.
    let crd: Obj = {};
    let conditions: Obj[] = [];
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
      crd = JSON.parse(await ok(['get', 'crd', CRD_NAME, '-o', 'json']));
      conditions = crd.status?.conditions ?? [];
      if (conditions.some((c) => c.type === 'Established' && c.status === 'True')) break;
    }
    assert.equal(conditions.find((c) => c.type === 'Established')?.status, 'True', `CRD not Established: ${JSON.stringify(conditions)}`);
    assert.equal(conditions.find((c) => c.type === 'NonStructuralSchema'), undefined, 'schema must be structural');
    assert.deepEqual(crd.status.acceptedNames.shortNames, ['tfe']);
  });

  test('valid objects are accepted (server-side dry run)', async () => {
    for (const obj of [validCluster(), validExternal(), minimalCluster()]) {
      const r = await dryRunCreate(obj);
      assert.equal(r.code, 0, `${obj.metadata.name} refused: ${r.stderr}`);
    }
  });

  test('every file in examples/ is accepted by kubectl apply --dry-run=server', async (t) => {
    const dir = join(root, 'examples');
    const files: string[] = [];
    const walk = (d: string) => {
      for (const f of readdirSync(d).sort()) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.ya?ml$/.test(f) && !/^kustomization\.ya?ml$/.test(f)) files.push(p);
      }
    };
    if (existsSync(dir)) walk(dir);
    if (files.length === 0) {
      t.diagnostic('examples/ has no YAML files yet; only the built-in valid objects were checked');
      return;
    }
    let clusters = 0;
    for (const file of files) {
      const docs = parseAllDocuments(readFileSync(file, 'utf8'))
        .map((d) => d.toJS() as Obj | null)
        .filter((d): d is Obj => !!d && typeof d === 'object' && !!d.kind);
      // Apply into our own namespace, so examples naming `tfe` need no such namespace here.
      for (const d of docs) {
        if (d.kind === 'Namespace') continue;
        d.metadata = { ...(d.metadata ?? {}), namespace: ns };
        if (d.kind === KIND) clusters++;
      }
      const body = docs.filter((d) => d.kind !== 'Namespace').map((d) => JSON.stringify(d)).join('\n');
      if (!body) continue;
      const r = await kubectl(['apply', '--dry-run=server', '-n', ns, '-f', '-'], body);
      const name = relative(root, file);
      if (r.code !== 0 && /no matches for kind|ensure CRDs are installed/.test(r.stderr) && !r.stderr.includes(KIND)) {
        t.diagnostic(`${name}: skipped kinds whose CRD is not installed here: ${r.stderr.trim()}`);
        continue;
      }
      assert.equal(r.code, 0, `${name} refused by the API server:\n${r.stderr}`);
    }
    t.diagnostic(`${files.length} example file(s), ${clusters} TfeCluster(s) accepted`);
  });

  test('the API server fills in the same defaults as src/api/defaults.ts', async () => {
    const obj = minimalCluster('tfe-defaults');
    await ok(['create', '-f', '-'], JSON.stringify(obj));
    const stored = JSON.parse(await ok(['get', '-n', ns, 'tfecluster', 'tfe-defaults', '-o', 'json']));
    assert.deepEqual(stored.spec, specWithDefaults(obj.spec));
    assert.equal(stored.spec.nodes, 2);
    assert.equal(stored.spec.health.timeout, '15m');
    assert.equal(stored.spec.redis.elastiCache.transitEncryption, true);
  });

  // [what, mutation, expected message(s)]. Each case breaks one thing in a valid object.
  const invalid: Array<[string, (o: Obj) => void, ...Array<string | RegExp>]> = [
    ['too few nodes', (o) => (o.spec.nodes = 1), 'spec.nodes must be between 2 and 5'],
    ['too many nodes', (o) => (o.spec.nodes = 6), 'spec.nodes must be between 2 and 5'],
    ['release before v202104-1 (shared install tokens)', (o) => (o.spec.release.sequence = 527), 'spec.release.sequence must be at least 528: v202104-1 (sequence 528) is the first TFE release whose Active/Active nodes need no shared install tokens'],
    ['a node file outside the allowed prefixes (root code via /etc/cron.d)', (o) => (o.spec.node = { files: [{ path: '/etc/cron.d/tfe', secretKeyRef: { name: 's', key: 'k' } }] }), 'spec.node.files[].path must lie under /etc/tfe/, /var/lib/tfe/, /var/lib/terraform-enterprise/'],
    ['a node file path with ..', (o) => (o.spec.node = { files: [{ path: '/etc/tfe/../cron.d/x', secretKeyRef: { name: 's', key: 'k' } }] }), "spec.node.files[].path must be an absolute path such as /var/lib/terraform-enterprise/certificate.pem (each part starts with a letter, digit or _; no '..')"],
    ['a node file mode that is not octal', (o) => (o.spec.node = { files: [{ path: '/etc/tfe/ca.pem', mode: '644', secretKeyRef: { name: 's', key: 'k' } }] }), 'spec.node.files[].mode must be an octal file mode such as 0600 or 0644'],
    ['an install argument over two lines', (o) => (o.spec.node = { installArgs: ['no-proxy\nrm -rf /'] }), 'every entry of spec.node.installArgs must be one install.sh argument on one line'],
    ['both Redis kinds', (o) => (o.spec.redis.external = { host: 'redis.example.com' }), 'spec.redis must set exactly one of elastiCache'],
    ['no Redis kind', (o) => (o.spec.redis = {}), 'spec.redis must set exactly one of elastiCache'],
    ['launch template name and id', (o) => (o.spec.launchTemplate.id = 'lt-0123456789abcdef0'), 'spec.launchTemplate must set exactly one of name'],
    ['launch template id malformed', (o) => (o.spec.launchTemplate = { id: 'tfe' }), 'spec.launchTemplate.id must be a launch template id such as lt-'],
    ['subnet group and subnets', (o) => (o.spec.redis.elastiCache.subnetIds = ['subnet-0123abcd']), 'spec.redis.elastiCache must set exactly one of subnetGroupName'],
    [
      'auth token without TLS',
      (o) => (o.spec.redis.elastiCache.transitEncryption = false),
      'ElastiCache accepts an auth token only with TLS in transit: set spec.redis.elastiCache.transitEncryption to true or remove authTokenSecretRef',
    ],
    ['failover without replica', (o) => Object.assign(o.spec.redis.elastiCache, { replicasPerNodeGroup: 0, multiAz: false, preferredAvailabilityZones: ['us-east-1a'] }), 'spec.redis.elastiCache.automaticFailover needs at least one replica'],
    ['multi-AZ without failover', (o) => (o.spec.redis.elastiCache.automaticFailover = false), 'spec.redis.elastiCache.multiAz requires automatic failover'],
    ['zone count', (o) => o.spec.redis.elastiCache.preferredAvailabilityZones.push('us-east-1c'), 'spec.redis.elastiCache.preferredAvailabilityZones must list one zone per cache node'],
    ['zone of another region', (o) => (o.spec.redis.elastiCache.preferredAvailabilityZones = ['us-east-1a', 'us-west-2b']), 'must be a zone of spec.aws.region'],
    ['replication group id rules', (o) => (o.spec.redis.elastiCache.replicationGroupId = 'TFE_redis'), 'spec.redis.elastiCache.replicationGroupId must be 1 to 40 lowercase letters'],
    ['replication group id trailing hyphen', (o) => (o.spec.redis.elastiCache.replicationGroupId = 'tfe-redis-'), 'spec.redis.elastiCache.replicationGroupId must be 1 to 40 lowercase letters'],
    ['replication group id too long', (o) => (o.spec.redis.elastiCache.replicationGroupId = `t${'x'.repeat(40)}`), /spec\.redis\.elastiCache\.replicationGroupId: Too long/],
    ['node type', (o) => (o.spec.redis.elastiCache.nodeType = 't3.medium'), "spec.redis.elastiCache.nodeType must be an ElastiCache node type starting with 'cache.'"],
    ['security group by name', (o) => (o.spec.redis.elastiCache.securityGroupIds = ['tfe-redis']), 'every entry of spec.redis.elastiCache.securityGroupIds must be a security group id such as sg-'],
    ['no security group', (o) => (o.spec.redis.elastiCache.securityGroupIds = []), /spec\.redis\.elastiCache\.securityGroupIds: Invalid value: 0: .*should have at least 1 items/],
    ['ElastiCache port', (o) => (o.spec.redis.elastiCache.port = 70000), 'spec.redis.elastiCache.port must be a TCP port between 1 and 65535'],
    ['external port', (o) => toExternal(o) && (o.spec.redis.external.port = 0), 'spec.redis.external.port must be a TCP port between 1 and 65535'],
    ['external host with scheme', (o) => toExternal(o) && (o.spec.redis.external.host = 'rediss://redis.example.com:6380'), 'spec.redis.external.host must be a host name or IP address without scheme or port'],
    ['CA without TLS', (o) => toExternal(o) && (o.spec.redis.external.tls = false), 'spec.redis.external.caSecretRef is only used with TLS'],
    ['Manage external Redis without groups', (o) => toExternal(o) && (o.spec.network = { mode: 'Manage' }), 'spec.network.mode Manage with spec.redis.external needs spec.network.redisSecurityGroupIds'],
    ['region', (o) => (o.spec.aws.region = 'us-east-1a'), 'spec.aws.region must be an AWS region code such as us-east-1'],
    ['role ARN', (o) => (o.spec.aws.roleArn = 'arn:aws:iam::1:role/x'), 'spec.aws.roleArn must be an IAM role ARN such as arn:aws:iam::123456789012:role/tfe-operator'],
    ['duration syntax', (o) => (o.spec.health.timeout = '15 minutes'), 'spec.health.timeout must be a duration such as 90s, 15m or 1h30m'],
    ['duration bounds', (o) => (o.spec.health.interval = '10ms'), 'spec.health.interval must be between 100ms and 1h'],
    ['timeout below interval', (o) => Object.assign(o.spec.health, { timeout: '5s', interval: '30s' }), 'spec.health.timeout must be at least spec.health.interval'],
    ['step deadline below health timeout', (o) => (o.spec.rollout.stepDeadline = '10m'), 'spec.rollout.stepDeadline must be at least spec.health.timeout'],
    ['health URL without scheme', (o) => (o.spec.health.url = 'tfe.example.com/_health_check'), 'spec.health.url must be an http:// or https:// URL'],
    ['node URL without placeholder', (o) => (o.spec.health.nodeUrlTemplate = 'https://tfe.example.com/_health_check'), 'spec.health.nodeUrlTemplate must contain {privateIp} or {instanceId}'],
    ['approval enum', (o) => (o.spec.rollout.approval = 'auto'), 'spec.rollout.approval: Unsupported value: "auto": supported values: "Automatic", "Manual"'],
    ['network mode enum', (o) => (o.spec.network.mode = 'Fix'), 'spec.network.mode: Unsupported value: "Fix": supported values: "Verify", "Manage"'],
    ['deletion policy enum', (o) => (o.spec.deletionPolicy = 'Orphan'), 'spec.deletionPolicy: Unsupported value: "Orphan"'],
    [
      'enc_password as a secret setting',
      (o) => o.spec.settings.secretSettings.push({ setting: 'enc_password', secretKeyRef: { name: 'tfe-secrets', key: 'enc_password' } }),
      'spec.settings.secretSettings must not contain enc_password',
    ],
    ['duplicate secret setting', (o) => o.spec.settings.secretSettings.push({ ...o.spec.settings.secretSettings[0] }), /spec\.settings\.secretSettings\[1\]: Duplicate value/],
    ['same ConfigMap key twice', (o) => (o.spec.settings.settingsKey = 'replicated.conf'), 'spec.settings.replicatedConfKey and spec.settings.settingsKey must be different'],
    ['Secret name', (o) => (o.spec.encryptionPasswordSecretRef.name = 'TFE Secrets'), "spec.encryptionPasswordSecretRef.name must be the name of a Secret in the TfeCluster's namespace"],
    ['missing enc_password reference', (o) => delete o.spec.encryptionPasswordSecretRef, /spec\.encryptionPasswordSecretRef: Required value/],
    ['missing spec', (o) => delete o.spec, /spec: Required value/],
    // Install kind Docker (FDO).
    ['Docker with a release sequence', (o) => (o.spec.install = 'Docker'), 'spec.release needs tag (e.g. 1.2.2) for install Docker, and sequence (e.g. 811) for install Replicated'],
    ['Docker with tag and sequence', (o) => Object.assign(o.spec, { install: 'Docker', release: { tag: '1.2.2', sequence: 811 } }), 'spec.release takes tag only with install Docker and sequence only with install Replicated'],
    ['Replicated with a tag', (o) => (o.spec.release = { tag: '1.2.2' }), 'spec.release needs tag (e.g. 1.2.2) for install Docker, and sequence (e.g. 811) for install Replicated'],
    ['an image tag that is no TFE tag', (o) => Object.assign(o.spec, { install: 'Docker', release: { tag: 'latest' } }), 'spec.release.tag must be a Terraform Enterprise image tag such as v202503-1 or 1.2.2'],
    ['install kind enum', (o) => (o.spec.install = 'Podman'), 'spec.install: Unsupported value: "Podman": supported values: "Replicated", "Docker"'],
    ['Docker with a Replicated setting name', (o) => Object.assign(o.spec, { install: 'Docker', release: { tag: '1.2.2' } }), 'spec.settings.secretSettings[].setting must be a TFE_ variable (e.g. TFE_DATABASE_PASSWORD) with install Docker'],
    [
      'Docker with install.sh arguments',
      (o) => Object.assign(o.spec, { install: 'Docker', release: { tag: '1.2.2' }, settings: { ...o.spec.settings, secretSettings: [] }, node: { installArgs: ['no-proxy'] } }),
      "spec.node.installArgs and spec.node.installerSha256 are for Replicated's install.sh",
    ],
    ['the operator\'s FDO variable as a secret setting', (o) => o.spec.settings.secretSettings.push({ setting: 'TFE_ENCRYPTION_PASSWORD', secretKeyRef: { name: 's', key: 'k' } }), 'spec.settings.secretSettings must not contain enc_password'],
  ];

  test(`${invalid.length} invalid TfeClusters are refused with a message naming the field and the fix`, async () => {
    assert.ok(invalid.length >= 15);
    const failures: string[] = [];
    for (const [what, mutate, ...expected] of invalid) {
      const obj = validCluster(`bad-${what.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`.slice(0, 60).replace(/-$/, ''));
      mutate(obj);
      const r = await dryRunCreate(obj);
      if (r.code === 0) {
        failures.push(`${what}: accepted, expected refusal`);
        continue;
      }
      for (const e of expected) {
        const hit = typeof e === 'string' ? r.stderr.includes(e) : e.test(r.stderr);
        if (!hit) failures.push(`${what}: message ${JSON.stringify(String(e))} not in:\n${r.stderr}`);
      }
      if (/evaluation error|estimated rule cost|no such key/.test(r.stderr)) failures.push(`${what}: a CEL rule errored instead of answering:\n${r.stderr}`);
    }
    assert.deepEqual(failures, []);
  });

  test('encryptionPasswordSecretRef cannot change after creation', async () => {
    await ok(['create', '-f', '-'], JSON.stringify(validCluster('tfe-immutable')));
    const patch = (p: object) => kubectl(['patch', '-n', ns, 'tfecluster', 'tfe-immutable', '--type', 'merge', '-p', JSON.stringify(p)]);
    for (const ref of [{ key: 'enc_password_v2' }, { name: 'other-secret' }]) {
      const r = await patch({ spec: { encryptionPasswordSecretRef: ref } });
      assert.notEqual(r.code, 0, `changing encryptionPasswordSecretRef to ${JSON.stringify(ref)} was accepted`);
      assert.match(r.stderr, /spec\.encryptionPasswordSecretRef is immutable: enc_password encrypts all TFE data and changing it makes existing data undecryptable/);
    }
    const removed = await patch({ spec: { encryptionPasswordSecretRef: null } });
    assert.notEqual(removed.code, 0, 'removing encryptionPasswordSecretRef was accepted');
    // The same value and other fields still change freely.
    assert.equal((await patch({ spec: { encryptionPasswordSecretRef: { name: 'tfe-secrets', key: 'enc_password' }, nodes: 4 } })).code, 0);
    const stored = JSON.parse(await ok(['get', '-n', ns, 'tfecluster', 'tfe-immutable', '-o', 'json']));
    assert.equal(stored.spec.nodes, 4);
    assert.deepEqual(stored.spec.encryptionPasswordSecretRef, { name: 'tfe-secrets', key: 'enc_password' });
  });

  test('status is a subresource with a checked shape, and kubectl get tfe shows the printer columns', async () => {
    await ok(['create', '-f', '-'], JSON.stringify(validCluster('tfe-columns')));
    const status = {
      observedGeneration: 1,
      phase: 'Migrating',
      step: 'SingleNode',
      message: 'waiting for i-0abc to become healthy',
      nodes: { desired: 1, ready: 1, instances: [{ id: 'i-0abc', healthy: true, launchTemplateVersion: '3' }] },
      redis: { endpoint: 'master.tfe-redis.abc123.use1.cache.amazonaws.com', port: 6379, replicationGroupId: 'tfe-redis', managed: true },
      conditions: [{ type: 'Ready', status: 'False', reason: 'Migrating', message: 'step SingleNode', lastTransitionTime: '2025-01-01T00:00:00Z', observedGeneration: 1 }],
    };
    await ok(['patch', '-n', ns, 'tfecluster', 'tfe-columns', '--subresource=status', '--type', 'merge', '-p', JSON.stringify({ status })]);

    // Through the main resource, status is ignored.
    await ok(['patch', '-n', ns, 'tfecluster', 'tfe-columns', '--type', 'merge', '-p', '{"status":{"phase":"Ready"}}']);
    const stored = JSON.parse(await ok(['get', '-n', ns, 'tfecluster', 'tfe-columns', '-o', 'json']));
    assert.equal(stored.status.phase, 'Migrating');

    // The status schema is enforced too.
    const bad = await kubectl(['patch', '-n', ns, 'tfecluster', 'tfe-columns', '--subresource=status', '--type', 'merge', '-p', '{"status":{"phase":"Broken"}}']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /status\.phase: Unsupported value: "Broken"/);

    const out = await ok(['get', 'tfe', '-n', ns, 'tfe-columns']);
    const [header, row] = out.trim().split('\n');
    assert.deepEqual(header.split(/\s+/), ['NAME', 'PHASE', 'STEP', 'READY', 'DESIRED', 'REDIS', 'AGE']);
    const cells = row.split(/\s+/);
    assert.deepEqual(cells.slice(0, 6), ['tfe-columns', 'Migrating', 'SingleNode', '1', '3', status.redis.endpoint]);

    const wide = await ok(['get', 'tfe', '-n', ns, 'tfe-columns', '-o', 'wide']);
    assert.match(wide.split('\n')[0], /INSTALL\s+RELEASE\s+TAG\s+MESSAGE\s+AGE/);
    assert.match(wide, /620\s+waiting for i-0abc to become healthy/);
  });
});
