// Day 2 safety, end to end: enc_password must never change under a running TFE (its data
// would become undecryptable). Changing the Secret after Ready is refused with a message that
// says what to do, and nothing rolls, not even a spec change that would otherwise repave.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SECRET_VALUES } from '../sandbox/world.ts';
import { secretName } from '../../src/migration/targets.ts';
import { mergePatch } from '../../src/kube/client.ts';
import { describeAsg, eventsOf } from './support.ts';
import {
  asgMark,
  assertQuiet,
  callMark,
  condition,
  countCalls,
  handAws,
  k,
  migrate,
  NAME,
  NS,
  patchSpec,
  scalesSince,
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

before(async () => {
  const ready = await migrate('day2-encryption');
  fingerprint = ready.status!.encryptionPasswordFingerprint!;
  assert.match(fingerprint, /^sha256:[0-9a-f]{32}$/);
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
    /^the enc_password in the Secret changed \(fingerprint sha256:[0-9a-f]+, expected sha256:[0-9a-f]+\); refusing to roll it out because TFE could no longer decrypt its data\. Restore the previous value in the Secret; to really rotate it, follow HashiCorp's re-keying procedure/,
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
