// A small pre-migration world as plain data, for planner table tests.

import type { TfeCluster } from '../../src/api/types.ts';
import type { Observation, ObservedTemplateVersion } from '../../src/migration/observation.ts';
import type { NodeInstall } from '../../src/tfe/userdata.ts';

/** The operator's fingerprint HMAC key in these tests. */
export const KEY = Buffer.alloc(32, 7);
export const BASE_CONF = { ImportSettingsFrom: '/etc/ptfe-settings.json', LicenseFileLocation: '/etc/tfe-license.rli', ReleaseSequence: 528 };
export const BASE_SETTINGS = {
  hostname: { value: 'tfe.example.com' },
  installation_type: { value: 'production' },
  production_type: { value: 'external' },
  pg_dbname: { value: 'tfe' },
  pg_netloc: { value: 'db:5432' },
  pg_user: { value: 'tfe' },
  placement: { value: 'placement_s3' },
  s3_bucket: { value: 'b' },
  s3_region: { value: 'us-east-1' },
  aws_instance_profile: { value: '1' },
};
export const BASE_INSTALL: NodeInstall = {
  replicatedConf: BASE_CONF,
  settings: BASE_SETTINGS,
  secretSettings: { enc_password: 'tfe/enc', pg_password: 'tfe/pg' },
  licenseSecretId: 'tfe/license',
  installArgs: ['no-proxy'],
  files: [],
};

export function cluster(patch: Partial<TfeCluster['spec']> = {}, meta: Partial<TfeCluster['metadata']> = {}): TfeCluster {
  return {
    apiVersion: 'tfe.operators.dev/v1alpha1',
    kind: 'TfeCluster',
    metadata: { name: 'tfe', namespace: 'tfe', uid: 'uid-1', generation: 1, ...meta },
    spec: {
      nodes: 2,
      aws: { region: 'us-east-1' },
      autoScalingGroupName: 'tfe',
      launchTemplate: { name: 'tfe' },
      release: { sequence: 528 },
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
          port: 6379,
          subnetGroupName: 'tfe-redis',
          securityGroupIds: ['sg-redis'],
          authTokenSecretRef: { name: 'tfe-redis', key: 'token' },
        },
      },
      network: { mode: 'Verify' },
      health: { nodeUrlTemplate: 'http://sim/nodes/{instanceId}/_health_check', timeout: '15m', interval: '1s' },
      rollout: { approval: 'Automatic', failurePolicy: 'Pause' },
      ...patch,
    } as TfeCluster['spec'],
  };
}

export function baselineVersion(foreign = false): ObservedTemplateVersion {
  return foreign
    ? { number: 1, securityGroupIds: ['sg-nodes'], instanceProfile: { name: 'tfe-node' }, foreignReason: 'no "# tfe-operator:user-data" marker line' }
    : { number: 1, securityGroupIds: ['sg-nodes'], instanceProfile: { name: 'tfe-node' }, install: BASE_INSTALL };
}

export function world(): Observation {
  return {
    now: Date.parse('2026-11-21T10:00:00Z'),
    // The operator's drain commands (none yet); the in-memory SSM of planner.test.ts fills it.
    drains: {},
    inputs: {
      replicatedConfText: JSON.stringify(BASE_CONF),
      settingsText: JSON.stringify(BASE_SETTINGS),
      secrets: { encPassword: 'enc-secret', license: Buffer.from('license-secret'), redisPassword: 'redis-secret-token-0001', settings: { pg_password: 'pg-secret' }, files: {} },
      missing: [],
    },
    asg: {
      name: 'tfe',
      min: 1,
      max: 1,
      desired: 1,
      launchTemplateId: 'lt-1',
      launchTemplateName: 'tfe',
      launchTemplateVersion: 1,
      instances: [{ id: 'i-base', lifecycleState: 'InService', launchTemplateVersion: '1' }],
      tags: {},
    },
    launchTemplate: { id: 'lt-1', name: 'tfe', latestVersion: 1, versions: [baselineVersion()] },
    securityGroups: [
      {
        id: 'sg-nodes',
        ingress: [
          { protocol: 'tcp', fromPort: 443, toPort: 443, groups: [], cidrs: ['0.0.0.0/0'] },
          { protocol: 'tcp', fromPort: 8201, toPort: 8201, groups: ['sg-nodes'], cidrs: [] },
        ],
      },
      { id: 'sg-redis', ingress: [{ protocol: 'tcp', fromPort: 6379, toPort: 6379, groups: ['sg-nodes'], cidrs: [] }] },
    ],
    awsSecrets: {},
    nodeHealth: { 'i-base': { healthy: true, detail: 'healthy' } },
  };
}
