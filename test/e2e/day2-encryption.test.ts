// Day 2 safety, end to end: enc_password must never change under a running TFE (its data
// would become undecryptable). A Secret that does not hold the running install's value is
// refused on the first apply, before any write (the install's value read from the secret its
// user data names). Changing the Secret after Ready is refused with a message that says what to
// do, and nothing rolls, not even a spec change that would otherwise repave. A deleted and
// re-created TfeCluster (its status gone) still knows the value from the ASG's fingerprint tag.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { GetSecretValueCommand, ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import { DescribeLaunchTemplateVersionsCommand } from '@aws-sdk/client-ec2';
import { GROUP, PLURAL, VERSION, type TfeCluster } from '../../src/api/types.ts';
import { TAG } from '../../src/migration/observation.ts';
import { SECRET_IDS, SECRET_VALUES } from '../sandbox/world.ts';
import { secretName } from '../../src/migration/targets.ts';
import { mergePatch } from '../../src/kube/client.ts';
import { createCluster, describeAsg, eventsOf, exampleCluster } from './support.ts';
import {
  asgMark,
  assertQuiet,
  callMark,
  condition,
  countCalls,
  freshWorld,
  handAws,
  k,
  migrate,
  NAME,
  NS,
  operatorCallsSince,
  patchSpec,
  scalesSince,
  sleep,
  startOperator,
  stopOperator,
  waitFor,
  waitReady,
} from './day2.ts';

const CHANGED = 'day2-a-different-enc-password-NOT-A-REAL-SECRET';
let fingerprint: string;

async function setEncPassword(value: string): Promise<void> {
  await k.core.patchNamespacedSecret(
    { name: 'tfe-secrets', namespace: NS, body: { data: { enc_password: Buffer.from(value).toString('base64') } } },
    mergePatch,
  );
}

async function storedEncPassword(): Promise<string | undefined> {
  const out = await handAws().secrets.send(new GetSecretValueCommand({ SecretId: secretName(NS, NAME, 'enc_password') }));
  return out.SecretString;
}

/** What AWS holds that a refusal must leave alone: the ASG, the launch template's versions, Secrets Manager. */
async function awsSnapshot() {
  const hand = handAws();
  const g = await describeAsg();
  const versions = await hand.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: g.LaunchTemplate!.LaunchTemplateId! }));
  const secrets = await hand.secrets.send(new ListSecretsCommand({}));
  return {
    asg: [g.MinSize, g.MaxSize, g.DesiredCapacity, g.LaunchTemplate?.Version, (g.Tags ?? []).map((t) => `${t.Key}=${t.Value}`).sort()],
    versions: (versions.LaunchTemplateVersions ?? []).map((v) => v.VersionNumber).sort(),
    secrets: (secrets.SecretList ?? []).map((x) => x.Name).sort(),
  };
}

/** Waits for the refusal, checks that nothing was written meanwhile and that the value is nowhere to read. */
async function refusedBeforeAnyWrite(calls: number, snapshot: Awaited<ReturnType<typeof awsSnapshot>>, wrong: string): Promise<TfeCluster> {
  const c = await waitFor((x) => condition(x, 'Degraded')?.reason === 'EncryptionPasswordMismatch', 'Degraded EncryptionPasswordMismatch');
  assert.equal(c.status?.phase, 'Degraded');
  assert.match(c.status!.message!, /Secret tfe\/tfe-secrets key enc_password \(spec\.encryptionPasswordSecretRef\)/);
  assert.match(c.status!.message!, /nothing was changed/);
  await assertQuiet(calls, 3_000, 'a wrong enc_password');
  assert.deepEqual(await awsSnapshot(), snapshot, 'AWS changed');
  for (const v of [wrong, SECRET_VALUES.encPassword]) {
    assert.ok(!JSON.stringify(c).includes(v), 'an enc_password value in the TfeCluster');
    assert.ok((await eventsOf(k, NS, NAME)).every((e) => !String(e.message).includes(v)), 'an enc_password value in an Event');
  }
  assert.ok((await eventsOf(k, NS, NAME)).some((e) => e.reason === 'EncryptionPasswordMismatch' && e.type === 'Warning'));
  return c;
}

test('a wrong enc_password on the first apply is refused before any write (compared with the secret the running user data reads); the right one migrates', async () => {
  await freshWorld();
  await setEncPassword(CHANGED);
  const snapshot = await awsSnapshot();
  const calls = await callMark();
  await startOperator('day2-encryption');
  await createCluster(k, exampleCluster());
  const c = await refusedBeforeAnyWrite(calls, snapshot, CHANGED);
  assert.ok(c.status!.message!.includes(`differs from the one the running install uses (read from Secrets Manager secret ${SECRET_IDS.encPassword} (named by the user data of launch template lt-`), c.status!.message);
  assert.ok((await operatorCallsSince(calls)).some((x) => x.action === 'GetSecretValue'), 'the running value was read from Secrets Manager');

  await setEncPassword(SECRET_VALUES.encPassword);
  const ready = await waitReady('Ready once the Secret holds the running value');
  fingerprint = ready.status!.encryptionPasswordFingerprint!;
  assert.match(fingerprint, /^hmac-sha256:[0-9a-f]{32}$/);
  assert.equal(condition(ready, 'EncryptionPasswordVerified')?.reason, 'MatchesRunningInstall');
  const tag = (await describeAsg()).Tags?.find((t) => t.Key === TAG.encPasswordFingerprint)?.Value;
  assert.match(tag ?? '', /^hmac-sha256:[0-9a-f]{32}$/, 'the fingerprint is on the ASG');
});

after(stopOperator);

test('a changed enc_password is refused (Degraded EncryptionPasswordChanged) and nothing rolls, even with a new release pending', async () => {
  const mark = await asgMark();
  const calls = await callMark();
  const before = await describeAsg();
  await setEncPassword(CHANGED);

  let c = await waitFor((x) => x.status?.phase === 'Degraded', 'phase Degraded');
  const degraded = condition(c, 'Degraded')!;
  assert.equal(degraded.reason, 'EncryptionPasswordChanged');
  assert.match(
    c.status!.message!,
    /^the enc_password in the Secret changed \(fingerprint hmac-sha256:[0-9a-f]+, expected hmac-sha256:[0-9a-f]+\); refusing to roll it out because TFE could no longer decrypt its data\. Restore the previous value in the Secret; to really rotate it, follow HashiCorp's re-keying procedure/,
  );
  assert.ok(c.status!.message!.includes(`expected ${fingerprint}`));
  assert.equal(c.status?.encryptionPasswordFingerprint, fingerprint, 'the pinned fingerprint is kept');
  assert.equal(condition(c, 'Ready')?.status, 'False');

  // A release upgrade asked for now must wait: no new version, no scaling.
  await patchSpec({ release: { sequence: 550 } });
  c = await waitFor((x) => x.status?.observedGeneration === x.metadata.generation && x.status?.phase === 'Degraded', 'the new generation observed, still Degraded');
  assert.equal(condition(c, 'Degraded')?.reason, 'EncryptionPasswordChanged');
  await assertQuiet(calls, 4_000, 'enc_password changed');
  assert.deepEqual(await scalesSince(mark), []);
  assert.equal(await countCalls('CreateLaunchTemplateVersion', calls), 0);
  assert.equal(await storedEncPassword(), SECRET_VALUES.encPassword, 'the nodes still fetch the old value');
  const after = await describeAsg();
  assert.equal(after.LaunchTemplate?.Version, before.LaunchTemplate?.Version);

  // The new value is nowhere a person (or a log collector) can read it.
  assert.ok(!JSON.stringify(c).includes(CHANGED));
  const events = await eventsOf(k, NS, NAME);
  assert.ok(events.some((e) => e.reason === 'EncryptionPasswordChanged' && e.type === 'Warning'));
  assert.ok(events.every((e) => !String(e.message).includes(CHANGED)));
});

test('restoring the previous enc_password clears the refusal, without a roll', async () => {
  await patchSpec({ release: { sequence: 528 } });
  const mark = await asgMark();
  await setEncPassword(SECRET_VALUES.encPassword);
  const c = await waitReady('Ready once the value is restored');
  assert.equal(c.status?.encryptionPasswordFingerprint, fingerprint);
  assert.equal(condition(c, 'Degraded')?.status, 'False');
  assert.deepEqual(await scalesSince(mark), []);
});

test('a re-created TfeCluster (status lost) with a different enc_password is refused through the ASG tag; the right one adopts without a roll', async () => {
  // deletionPolicy Retain (the default): the install, its tags and secrets stay.
  await k.custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: NAME });
  for (let i = 0; ; i++) {
    try {
      await k.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: NAME });
    } catch (err) {
      if ((err as { code?: number }).code === 404) break;
      throw err;
    }
    assert.ok(i < 300, 'the TfeCluster was not deleted');
    await sleep(200);
  }
  await setEncPassword(CHANGED);
  const snapshot = await awsSnapshot();
  const calls = await callMark();
  const mark = await asgMark();
  await createCluster(k, exampleCluster());
  const c = await refusedBeforeAnyWrite(calls, snapshot, CHANGED);
  assert.ok(c.status!.message!.includes(`tag ${TAG.encPasswordFingerprint}`), c.status!.message);
  assert.deepEqual((await operatorCallsSince(calls)).filter((x) => x.action === 'GetSecretValue'), [], 'with the tag, the running value is not read again');

  await setEncPassword(SECRET_VALUES.encPassword);
  const ready = await waitReady('Ready again with the install\'s value');
  assert.equal(condition(ready, 'EncryptionPasswordVerified')?.reason, 'MatchesRecordedFingerprint');
  assert.deepEqual(await scalesSince(mark), [], 'adoption rolled the nodes');
  assert.equal(await countCalls('CreateLaunchTemplateVersion', calls), 0);
});
