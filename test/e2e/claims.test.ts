// What a TfeCluster author may not take (issue 15), end to end on the real apiserver and moto:
// an Auto Scaling Group another TfeCluster has claimed (its owner tag), and a license path on
// the nodes outside the allowed places (LicenseFileLocation comes from the settings ConfigMap,
// so the planner checks it in step 1; spec paths are refused by CEL at admission), and URLs the
// operator would request for the author (the instance metadata service).

import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_REPLICATED_CONF, BASE_SETTINGS } from '../sandbox/world.ts';
import { createCluster, exampleCluster, waitFor as waitForCluster } from './support.ts';
import { callMark, freshWorld, k, migrate, mutationsSince, NS, startOperator, stopOperator } from './day2.ts';

afterEach(() => stopOperator());

const degraded = (name: string) => waitForCluster(k, NS, name, (c) => c.status?.phase === 'Degraded', 120_000, `${name} Degraded`);

test('a second TfeCluster on an Auto Scaling Group another one has claimed is refused (OwnedElsewhere), and writes nothing', async () => {
  await migrate('claims-asg');
  const mark = await callMark();
  await createCluster(
    k,
    exampleCluster((c) => {
      c.metadata.name = 'intruder';
    }),
  );
  const c = await degraded('intruder');
  assert.equal(c.status?.conditions?.find((x) => x.type === 'Degraded')?.reason, 'OwnedElsewhere', c.status?.message);
  assert.match(c.status!.message!, /managed by TfeCluster tfe\/tfe/);
  assert.deepEqual((await mutationsSince(mark)).map((x) => x.action), [], 'nothing written for the intruder (and the Ready one writes nothing either)');
});

test('a LicenseFileLocation outside the allowed places (e.g. /etc/cron.d) is refused in step 1, before any write', async () => {
  await freshWorld();
  await startOperator('claims-license-path');
  await k.core.createNamespacedConfigMap({
    namespace: NS,
    body: {
      metadata: { name: 'settings-cron-license' },
      data: {
        'replicated.conf': JSON.stringify({ ...BASE_REPLICATED_CONF, LicenseFileLocation: '/etc/cron.d/tfe-license' }),
        'ptfe-settings.json': JSON.stringify(BASE_SETTINGS),
      },
    },
  });
  const mark = await callMark();
  await createCluster(
    k,
    exampleCluster((c) => {
      c.metadata.name = 'cron';
      c.spec.settings.configMapRef = { name: 'settings-cron-license' };
    }),
  );
  const c = await degraded('cron');
  assert.equal(c.status?.conditions?.find((x) => x.type === 'Degraded')?.reason, 'NodeFilePathNotAllowed', c.status?.message);
  assert.match(c.status!.message!, /\/etc\/cron\.d\/tfe-license/);
  assert.deepEqual((await mutationsSince(mark)).map((x) => x.action), []);
});

test('a health URL at the instance metadata service is refused (EndpointNotAllowed), never requested, before any write', async () => {
  await freshWorld();
  await startOperator('claims-imds');
  const mark = await callMark();
  await createCluster(
    k,
    exampleCluster((c) => {
      c.metadata.name = 'imds';
      c.spec.health = { ...c.spec.health, url: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/' } as never;
    }),
  );
  const c = await degraded('imds');
  assert.equal(c.status?.conditions?.find((x) => x.type === 'Degraded')?.reason, 'EndpointNotAllowed', c.status?.message);
  assert.match(c.status!.message!, /spec\.health\.url \(http:\/\/169\.254\.169\.254\/.*TFE_OPERATOR_ENDPOINT_HOSTS/);
  assert.deepEqual((await mutationsSince(mark)).map((x) => x.action), []);
});
