// Secrets Manager adapter: the nodes fetch secret settings at boot from here, so no secret
// sits in a launch template. The value's salted hash is kept as a tag, so the operator can
// tell whether a secret is current without reading its value back.

import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import type { AwsClients } from './clients.ts';
import type { ObservedSecret } from '../migration/observation.ts';
import { TAG } from '../migration/observation.ts';
import { secretOwnedBy } from '../migration/targets.ts';

/**
 * Several of the operator's secrets in one ListSecrets (by their common name prefix) instead of a
 * DescribeSecret each: a reconcile asks Secrets Manager once, which also keeps the SDK's retry
 * budget for the calls that matter when AWS throttles. Secrets pending deletion are not listed.
 */
export async function describeSecrets(aws: AwsClients, names: readonly string[]): Promise<ObservedSecret[]> {
  if (names.length === 0) return [];
  const prefix = names.reduce((p, n) => {
    let i = 0;
    while (i < p.length && i < n.length && p[i] === n[i]) i++;
    return p.slice(0, i);
  });
  const wanted = new Set(names);
  const out: ObservedSecret[] = [];
  let token: string | undefined;
  do {
    const page = await aws.secrets.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [prefix] }], NextToken: token, MaxResults: 100 }));
    for (const s of page.SecretList ?? []) {
      if (!s.Name || !wanted.has(s.Name) || s.DeletedDate) continue;
      const tag = (k: string) => s.Tags?.find((t) => t.Key === k)?.Value;
      const owner = tag(TAG.owner);
      const clusterId = tag(TAG.clusterId);
      out.push({ name: s.Name, arn: s.ARN, hash: tag(TAG.secretHash), ...(owner === undefined ? {} : { owner }), ...(clusterId === undefined ? {} : { clusterId }) });
    }
    token = page.NextToken;
  } while (token);
  return out;
}

/** A secret's SecretString (undefined when it holds none). The value stays in memory: never logged. */
export async function getSecretString(aws: AwsClients, secretId: string): Promise<string | undefined> {
  const out = await aws.secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
  return out.SecretString;
}

/** A secret of the operator's name that it did not find before: someone else created it meanwhile. */
export class SecretAppearedError extends Error {
  constructor(readonly secretName: string) {
    super(`Secrets Manager secret ${secretName} appeared while the operator was creating it; its owner is checked before it is written`);
    this.name = 'SecretAppearedError';
  }
}

/**
 * Text is stored as SecretString, bytes (a binary license) as SecretBinary: exact either way.
 * `exists`: the caller observed the secret and checked its owner tags (secretOwnedBy). A secret
 * that appears between that check and CreateSecret is never written over (SecretAppearedError).
 */
export async function putSecret(aws: AwsClients, name: string, value: string | Uint8Array, tags: Record<string, string>, exists: boolean, kmsKeyId?: string) {
  const Tags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  const body = typeof value === 'string' ? { SecretString: value } : { SecretBinary: value };
  if (!exists) {
    try {
      await aws.secrets.send(new CreateSecretCommand({ Name: name, ...body, Tags, ...(kmsKeyId ? { KmsKeyId: kmsKeyId } : {}) }));
      return;
    } catch (err) {
      const scheduled = (err as Error).name === 'InvalidRequestException' && /scheduled for deletion/i.test((err as Error).message);
      if (!scheduled) {
        if ((err as Error).name === 'ResourceExistsException') throw new SecretAppearedError(name);
        throw err;
      }
      // Deleted with a recovery window (an earlier TfeCluster of this name, deletionPolicy
      // Delete): restore it, but write it only when it is this TfeCluster's.
      const restoredOwner = await describeDeletedOwner(aws, name);
      if (!restoredOwner || !secretOwnedBy(restoredOwner, tags[TAG.owner] ?? '', tags[TAG.clusterId])) throw new SecretAppearedError(name);
      await aws.secrets.send(new RestoreSecretCommand({ SecretId: name }));
    }
  }
  await aws.secrets.send(new PutSecretValueCommand({ SecretId: name, ...body }));
  await aws.secrets.send(new TagResourceCommand({ SecretId: name, Tags }));
}

async function describeDeletedOwner(aws: AwsClients, name: string): Promise<{ owner?: string; clusterId?: string } | undefined> {
  const out = await aws.secrets.send(new DescribeSecretCommand({ SecretId: name }));
  const tag = (k: string) => out.Tags?.find((t) => t.Key === k)?.Value;
  return { owner: tag(TAG.owner), clusterId: tag(TAG.clusterId) };
}

/** Deletes with a recovery window (7..30 days): `aws secretsmanager restore-secret` brings it back meanwhile. Never forced. */
export async function deleteSecret(aws: AwsClients, name: string, recoveryWindowInDays = 30) {
  try {
    await aws.secrets.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: recoveryWindowInDays }));
  } catch (err) {
    if ((err as Error).name !== 'ResourceNotFoundException') throw err;
  }
}
