// Secrets Manager adapter: the nodes fetch secret settings at boot from here, so no secret
// sits in a launch template. The value's salted hash is kept as a tag, so the operator can
// tell whether a secret is current without reading its value back.

import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import type { AwsClients } from './clients.ts';
import type { ObservedSecret } from '../migration/observation.ts';
import { TAG } from '../migration/observation.ts';

export async function describeSecret(aws: AwsClients, name: string): Promise<ObservedSecret | undefined> {
  try {
    const out = await aws.secrets.send(new DescribeSecretCommand({ SecretId: name }));
    if (out.DeletedDate) return undefined;
    return { name, arn: out.ARN, hash: out.Tags?.find((t) => t.Key === TAG.secretHash)?.Value };
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') return undefined;
    throw err;
  }
}

/** A secret's SecretString (undefined when it holds none). The value stays in memory: never logged. */
export async function getSecretString(aws: AwsClients, secretId: string): Promise<string | undefined> {
  const out = await aws.secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
  return out.SecretString;
}

/** Text is stored as SecretString, bytes (a binary license) as SecretBinary: exact either way. */
export async function putSecret(aws: AwsClients, name: string, value: string | Uint8Array, tags: Record<string, string>, exists: boolean) {
  const Tags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  const body = typeof value === 'string' ? { SecretString: value } : { SecretBinary: value };
  if (!exists) {
    try {
      await aws.secrets.send(new CreateSecretCommand({ Name: name, ...body, Tags }));
      return;
    } catch (err) {
      if ((err as Error).name !== 'ResourceExistsException') throw err;
    }
  }
  await aws.secrets.send(new PutSecretValueCommand({ SecretId: name, ...body }));
  await aws.secrets.send(new TagResourceCommand({ SecretId: name, Tags }));
}

export async function deleteSecret(aws: AwsClients, name: string) {
  try {
    await aws.secrets.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
  } catch (err) {
    if ((err as Error).name !== 'ResourceNotFoundException') throw err;
  }
}
