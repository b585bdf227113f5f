import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSpec } from './validate.ts';

const valid = {
  aws: { region: 'us-east-1', roleArn: 'arn:aws:iam::123456789012:role/tfe-operator' },
  autoScalingGroupName: 'tfe',
  launchTemplate: { id: 'lt-0123456789abcdef0' },
  release: { sequence: 620 },
  settings: { configMapRef: { name: 'tfe-settings' }, licenseSecretRef: { name: 'tfe-license', key: 'license.rli' } },
  encryptionPasswordSecretRef: { name: 'tfe-secrets', key: 'enc_password' },
  redis: { external: { host: 'redis.example.com', port: 6380, passwordSecretRef: { name: 'tfe-redis', key: 'password' } } },
  health: { url: 'https://tfe.example.com/_health_check', timeout: '20m', interval: '500ms' },
};

test('a valid spec has no problems', () => {
  assert.deepEqual(checkSpec(valid), []);
});

test('problems carry the same messages as the API server', () => {
  const table: Array<[string, object, string, RegExp]> = [
    ['nodes', { nodes: 9 }, 'spec.nodes', /spec\.nodes must be between 2 and 5/],
    ['sequence', { release: { sequence: 527 } }, 'spec.release.sequence', /v202104-1/],
    ['region', { aws: { region: 'us-east-1a' } }, 'spec.aws.region', /AWS region code/],
    ['duration', { health: { timeout: '15 minutes' } }, 'spec.health.timeout', /must be a duration such as 90s/],
    ['duration bounds', { health: { interval: '2h' } }, 'spec.health.interval', /between 100ms and 1h/],
    ['enum', { rollout: { approval: 'auto' } }, 'spec.rollout.approval', /./],
    ['missing', { autoScalingGroupName: undefined }, 'spec.autoScalingGroupName', /required/i],
    ['port', { redis: { external: { host: 'r', port: 70000 } } }, 'spec.redis.external.port', /between 1 and 65535/],
  ];
  for (const [name, patch, path, message] of table) {
    const problems = checkSpec({ ...valid, ...patch });
    const p = problems.find((x) => x.path === path);
    assert.ok(p, `${name}: no problem at ${path}: ${JSON.stringify(problems)}`);
    assert.match(p.message, message, name);
  }
});
