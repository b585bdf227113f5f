// Issue 15 (sec-b): the Secrets opt-in annotation, the operator policy, the STS names, and the
// HMAC fingerprints with their upgrade from the salted SHA-256 of older operators.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { annotationWith, ANNOTATION_ALLOWED_TFECLUSTERS, secretAllows, secretNotAllowedMessage } from '../../src/security/secret-access.ts';
import { endpointHostsFromEnv, endpointProblems, endpointMessage } from '../../src/security/endpoints.ts';
import { evaluatePolicy, globMatch, parsePolicy, stsName, type Policy } from '../../src/security/policy.ts';
import { assumeRoleParams } from '../../src/aws/clients.ts';
import { encPasswordTagFingerprint, fingerprint, fingerprintMatches, legacyFingerprint } from '../../src/migration/targets.ts';
import { plan } from '../../src/migration/planner.ts';
import { TAG } from '../../src/migration/observation.ts';
import { cluster, KEY, world } from './planner-fixture.ts';

test('a Secret allows a TfeCluster only by name or with *', () => {
  assert.equal(secretAllows(undefined, 'tfe'), false);
  assert.equal(secretAllows({}, 'tfe'), false);
  assert.equal(secretAllows({ [ANNOTATION_ALLOWED_TFECLUSTERS]: 'tfe' }, 'tfe'), true);
  assert.equal(secretAllows({ [ANNOTATION_ALLOWED_TFECLUSTERS]: 'a, tfe ,b' }, 'tfe'), true);
  assert.equal(secretAllows({ [ANNOTATION_ALLOWED_TFECLUSTERS]: 'tfe-2' }, 'tfe'), false);
  assert.equal(secretAllows({ [ANNOTATION_ALLOWED_TFECLUSTERS]: '*' }, 'anything'), true);
  assert.equal(secretAllows({ [ANNOTATION_ALLOWED_TFECLUSTERS]: '' }, 'tfe'), false);
  assert.equal(annotationWith('a,b', 'tfe'), 'a,b,tfe');
  assert.equal(annotationWith(undefined, 'tfe'), 'tfe');
});

test('the SecretNotAllowed message names each Secret, the field and the kubectl annotate fix', () => {
  const m = secretNotAllowedMessage('team', 'tfe', [
    { name: 'other-app', what: 'spec.redis.external.passwordSecretRef' },
    { name: 'other-app', what: 'spec.encryptionPasswordSecretRef', current: 'x' },
    { name: 'lic', what: 'spec.settings.licenseSecretRef', current: 'x' },
  ]);
  assert.match(m, /Secret team\/other-app \(spec\.redis\.external\.passwordSecretRef, spec\.encryptionPasswordSecretRef\): kubectl annotate secret other-app -n team --overwrite tfe\.operators\.dev\/allowed-tfeclusters=tfe/);
  assert.match(m, /Secret team\/lic \(spec\.settings\.licenseSecretRef\): kubectl annotate secret lic -n team --overwrite tfe\.operators\.dev\/allowed-tfeclusters=x,tfe/);
});

test('globs: * and ? only, everything else literal', () => {
  assert.ok(globMatch('tfe-*', 'tfe-prod'));
  assert.ok(!globMatch('tfe-*', 'xtfe-prod'));
  assert.ok(globMatch('arn:aws:iam::111122223333:role/tfe-*', 'arn:aws:iam::111122223333:role/tfe-a'));
  assert.ok(!globMatch('arn:aws:iam::111122223333:role/tfe-*', 'arn:aws:iam::999999999999:role/tfe-a'));
  assert.ok(!globMatch('a.b', 'axb'));
  assert.ok(globMatch('eu-?est-1', 'eu-west-1'));
  assert.ok(globMatch('*.EXAMPLE.com', 'redis.example.com', true));
});

const POLICY = `
rules:
  - name: platform
    namespaces: [tfe, "tfe-*"]
    roleArns: ["arn:aws:iam::111122223333:role/tfe-*"]
    externalId: tfe-operator-platform
    regions: [us-east-1]
    autoScalingGroups: ["tfe*"]
    redisHosts: ["*.cache.amazonaws.com", "redis.internal.example.com"]
  - namespaces: [sandbox]
`;

function policy(): Policy {
  const p = parsePolicy(POLICY);
  assert.ok(p.ok, JSON.stringify(p));
  return p.policy;
}

test('policy: parse errors name the rule and field', () => {
  assert.match((parsePolicy('rules: [{namespaces: a}]') as { error: string }).error, /rules\[0\]\.namespaces must be a list of strings/);
  assert.match((parsePolicy('rules: [{namespaces: [a], roles: [x]}]') as { error: string }).error, /rules\[0\]\.roles is not a policy field/);
  assert.match((parsePolicy('rules: [{roleArns: [x]}]') as { error: string }).error, /rules\[0\]\.namespaces/);
  assert.match((parsePolicy('{') as { error: string }).error, /not YAML/);
  assert.match((parsePolicy('rules: [{namespaces: [a], externalId: "a b"}]') as { error: string }).error, /externalId/);
});

test('policy: one refusal per dimension, each naming the rule and the field', () => {
  const ok = cluster({ aws: { region: 'us-east-1', roleArn: 'arn:aws:iam::111122223333:role/tfe-a' } } as never);
  const d = evaluatePolicy(policy(), ok, 'ConfigMap op/p');
  assert.deepEqual(d, { allowed: true, rule: 'rule "platform"', externalId: 'tfe-operator-platform' });
  const cases: Array<[string, (c: ReturnType<typeof cluster>) => void, string]> = [
    ['role', (c) => (c.spec.aws.roleArn = 'arn:aws:iam::999999999999:role/admin'), 'spec.aws.roleArn'],
    ['no role', (c) => delete c.spec.aws.roleArn, 'spec.aws.roleArn'],
    ['region', (c) => (c.spec.aws.region = 'eu-west-1'), 'spec.aws.region'],
    ['ASG', (c) => (c.spec.autoScalingGroupName = 'payroll-asg'), 'spec.autoScalingGroupName'],
    ['Redis host', (c) => (c.spec.redis = { external: { host: 'attacker.example.net', port: 6379, tls: true } } as never), 'spec.redis.external.host'],
    ['namespace', (c) => (c.metadata.namespace = 'payroll'), 'metadata.namespace'],
  ];
  for (const [what, mutate, field] of cases) {
    const c = structuredClone(ok);
    mutate(c);
    const r = evaluatePolicy(policy(), c, 'ConfigMap op/p');
    assert.equal(r.allowed, false, what);
    if (r.allowed) continue;
    assert.equal(r.field, field, what);
    assert.match(r.message, new RegExp(field.replace(/\./g, '\\.')), what);
    if (what !== 'namespace') assert.match(r.message, /rule "platform" for namespace tfe/, what);
  }
  // A rule with only namespaces allows anything there; an allowed external host passes.
  const sandbox = structuredClone(ok);
  sandbox.metadata.namespace = 'sandbox';
  sandbox.spec.aws.region = 'eu-west-1';
  assert.equal(evaluatePolicy(policy(), sandbox, 'p').allowed, true);
  const ext = structuredClone(ok);
  ext.spec.redis = { external: { host: 'REDIS.internal.example.com', port: 6379, tls: true } } as never;
  assert.equal(evaluatePolicy(policy(), ext, 'p').allowed, true);
});

test('STS names: the TfeCluster in the characters AWS allows, at most 64', () => {
  const h = (s: string) => createHash('sha256').update(s).digest('hex');
  assert.equal(stsName('tfe', 'tfe', h), 'tfe@tfe');
  const long = stsName('a'.repeat(63), 'b'.repeat(253), h);
  assert.ok(long.length <= 64 && long.length >= 2);
  assert.match(long, /^[\w+=,.@-]+$/);
  assert.notEqual(long, stsName('a'.repeat(63), `${'b'.repeat(252)}c`, h), 'two long names stay apart');
  assert.deepEqual(assumeRoleParams({ region: 'us-east-1', roleArn: 'arn:aws:iam::1:role/x', sessionName: 'tfe@tfe', externalId: 'ext-1' }), {
    RoleArn: 'arn:aws:iam::1:role/x',
    RoleSessionName: 'tfe@tfe',
    SourceIdentity: 'tfe@tfe',
    ExternalId: 'ext-1',
  });
});

test('fingerprints are HMACs with the operator key; the old salted SHA-256 is recognised', () => {
  const a = fingerprint('pw', 'salt', KEY);
  assert.match(a, /^hmac-sha256:[0-9a-f]{32}$/);
  assert.notEqual(a, fingerprint('pw', 'salt', Buffer.alloc(32, 8)), 'another key, another fingerprint');
  assert.equal(fingerprint(Buffer.from('pw'), 'salt', KEY), a, 'text and its bytes agree');
  assert.equal(fingerprintMatches(a, 'pw', 'salt', KEY), 'current');
  assert.equal(fingerprintMatches(legacyFingerprint('pw', 'salt'), 'pw', 'salt', KEY), 'legacy');
  assert.equal(fingerprintMatches(legacyFingerprint('other', 'salt'), 'pw', 'salt', KEY), false);
  assert.equal(fingerprintMatches(a, 'other', 'salt', KEY), false);
  assert.equal(fingerprintMatches('md5:x', 'pw', 'salt', KEY), false);
});

test('an older operator\'s status fingerprint (sha256:) is accepted and rewritten as the HMAC', () => {
  const o = world();
  const c = cluster();
  c.status = { encryptionPasswordFingerprint: legacyFingerprint(o.inputs.secrets.encPassword!, 'salt') } as never;
  const p = plan({ cluster: c, obs: o, salt: 'salt', fingerprintKey: KEY });
  assert.notEqual(p.phase, 'Degraded', p.message);
  assert.equal(p.encryptionPasswordFingerprint, fingerprint(o.inputs.secrets.encPassword!, 'salt', KEY));
  // A wrong value in the old form is still refused.
  c.status = { encryptionPasswordFingerprint: legacyFingerprint('another', 'salt') } as never;
  const q = plan({ cluster: c, obs: world(), salt: 'salt', fingerprintKey: KEY });
  assert.equal(q.failure?.reason, 'EncryptionPasswordChanged');
});

test('an older operator\'s ASG tag (sha256:) is verified with the old function, then rewritten', () => {
  const o = world();
  const enc = o.inputs.secrets.encPassword!;
  o.asg!.tags[TAG.owner] = 'tfe/tfe';
  o.asg!.tags[TAG.baselineVersion] = '1';
  o.asg!.tags[TAG.encPasswordFingerprint] = legacyFingerprint(enc, 'asg:tfe');
  const p = plan({ cluster: cluster(), obs: o, salt: 'salt', fingerprintKey: KEY });
  assert.equal(p.action?.kind, 'TagAsg', p.message);
  assert.deepEqual((p.action as { tags: Record<string, string> }).tags, { [TAG.encPasswordFingerprint]: encPasswordTagFingerprint(enc, 'tfe', KEY) });
  o.asg!.tags[TAG.encPasswordFingerprint] = legacyFingerprint('not-it', 'asg:tfe');
  assert.equal(plan({ cluster: cluster(), obs: o, salt: 'salt', fingerprintKey: KEY }).failure?.reason, 'EncryptionPasswordMismatch');
});

test('a Secrets Manager secret of the operator\'s name owned by another TfeCluster or Kubernetes cluster is never written', () => {
  const setup = (secret: { owner?: string; clusterId?: string }) => {
    const o = world();
    o.asg!.tags[TAG.owner] = 'tfe/tfe';
    o.asg!.tags[TAG.baselineVersion] = '1';
    o.asg!.tags[TAG.encPasswordFingerprint] = encPasswordTagFingerprint(o.inputs.secrets.encPassword!, 'tfe', KEY);
    o.replicationGroup = { id: 'tfe-redis', status: 'available', endpoint: 'master.x.cache.amazonaws.com', port: 6379, clusterEnabled: false, transitEncryption: true, atRestEncryption: true, authTokenEnabled: true, ownedByUs: true };
    const name = 'tfe-operator/tfe/tfe/enc_password';
    o.awsSecrets[name] = { name, ...secret };
    return plan({ cluster: cluster(), obs: o, salt: 'salt', fingerprintKey: KEY, clusterId: 'uid-here' });
  };
  for (const s of [{ owner: 'tfe/tfe', clusterId: 'uid-elsewhere' }, { owner: 'other/tfe', clusterId: 'uid-here' }, {}]) {
    const p = setup(s);
    assert.equal(p.failure?.reason, 'SecretOwnedElsewhere', `${JSON.stringify(s)}: ${p.message}`);
    assert.equal(p.action, undefined);
  }
  // Ours (or an older operator's, without the cluster id): written, with both tags.
  for (const s of [{ owner: 'tfe/tfe', clusterId: 'uid-here' }, { owner: 'tfe/tfe' }]) {
    const p = setup(s);
    assert.equal(p.action?.kind, 'PutSecrets', `${JSON.stringify(s)}: ${p.message}`);
    const put = (p.action as { secrets: Array<{ tags: Record<string, string> }> }).secrets[0]!;
    assert.equal(put.tags[TAG.owner], 'tfe/tfe');
    assert.equal(put.tags[TAG.clusterId], 'uid-here');
  }
});

// --- Where the operator may send requests (src/security/endpoints.ts) ----------------------


test('endpoints: nodes by {privateIp}, the load balancer and the TFE API at the TFE hostname; anything else only when the administrator allows its host', () => {
  const ok = { health: { url: 'https://TFE.example.com/_health_check', nodeUrlTemplate: 'https://{privateIp}/_health_check' }, validation: { address: 'https://tfe.example.com' } };
  assert.deepEqual(endpointProblems(ok, 'tfe.example.com', []), []);
  const imds = { health: { url: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/', nodeUrlTemplate: 'http://169.254.169.254/{instanceId}' }, validation: { address: 'https://evil.example.net' } };
  const p = endpointProblems(imds, 'tfe.example.com', []);
  assert.deepEqual(p.map((x) => [x.field, x.host]), [
    ['spec.health.nodeUrlTemplate', '169.254.169.254'],
    ['spec.health.url', '169.254.169.254'],
    ['spec.validation.address', 'evil.example.net'],
  ]);
  assert.match(endpointMessage(p, 'tfe.example.com'), /spec\.health\.url \(http:\/\/169\.254\.169\.254\/.*\) names host 169\.254\.169\.254.*TFE_OPERATOR_ENDPOINT_HOSTS/);
  // userinfo does not hide the host; a template must name the node itself.
  assert.equal(endpointProblems({ health: { url: 'https://tfe.example.com@169.254.169.254/' } }, 'tfe.example.com', [])[0]?.host, '169.254.169.254');
  assert.equal(endpointProblems({ health: { nodeUrlTemplate: 'https://{privateIp}.evil.example.net/' } }, undefined, []).length, 1);
  // The administrator's list (e.g. the load balancer's DNS name).
  const lb = { health: { url: 'https://tfe-lb-123.elb.us-east-1.amazonaws.com/_health_check' } };
  assert.equal(endpointProblems(lb, 'tfe.example.com', []).length, 1);
  assert.deepEqual(endpointProblems(lb, 'tfe.example.com', endpointHostsFromEnv({ TFE_OPERATOR_ENDPOINT_HOSTS: ' TFE-LB-123.elb.us-east-1.amazonaws.com , x ' })), []);
  // Set (the shipped Deployment sets it empty): no loopback; not set at all (a hand-run operator beside the sandbox): loopback.
  const sim = { health: { url: 'http://127.0.0.1:18080/_health_check' } };
  assert.equal(endpointProblems(sim, 'tfe.example.com', endpointHostsFromEnv({ TFE_OPERATOR_ENDPOINT_HOSTS: '' })).length, 1);
  assert.deepEqual(endpointProblems(sim, 'tfe.example.com', endpointHostsFromEnv({})), []);
});
