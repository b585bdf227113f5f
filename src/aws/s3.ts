// The install's object storage bucket, read only: does it exist (HeadBucket), where is it
// (GetBucketLocation), and which KMS key encrypts it by default (GetBucketEncryption, then
// kms:DescribeKey for that key's state).

import { GetBucketEncryptionCommand, GetBucketLocationCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import type { AwsClients } from './clients.ts';
import { awsErrorText, isTransientAwsError } from './errors.ts';
import type { ObservedBucket } from '../migration/observation.ts';

const status = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

export async function describeBucket(aws: AwsClients, name: string): Promise<ObservedBucket> {
  try {
    await aws.s3.send(new HeadBucketCommand({ Bucket: name }));
  } catch (err) {
    const code = status(err);
    if (isTransientAwsError(err)) throw err; // a throttle or a 5xx says nothing about the bucket: ask again
    if (code === 404) return { name, exists: false };
    // 403: it exists but the operator may not see it; 301: elsewhere (followRegionRedirects normally handles it).
    return { name, exists: code === 403, error: awsErrorText(err) };
  }
  const location = await aws.s3.send(new GetBucketLocationCommand({ Bucket: name }));
  // us-east-1 answers no LocationConstraint (and "EU" is eu-west-1's old name).
  const constraint = location.LocationConstraint as string | undefined;
  const region = !constraint ? 'us-east-1' : constraint === 'EU' ? 'eu-west-1' : constraint;
  let kmsKeyId: string | undefined;
  try {
    const enc = await aws.s3.send(new GetBucketEncryptionCommand({ Bucket: name }));
    kmsKeyId = enc.ServerSideEncryptionConfiguration?.Rules?.map((r) => r.ApplyServerSideEncryptionByDefault?.KMSMasterKeyID).find((k) => !!k);
  } catch (err) {
    // No default encryption configured: S3 then encrypts with SSE-S3; nothing to check.
    if ((err as Error).name !== 'ServerSideEncryptionConfigurationNotFoundError') throw err;
  }
  if (!kmsKeyId) return { name, exists: true, region };
  try {
    const key = await aws.kms.send(new DescribeKeyCommand({ KeyId: kmsKeyId }));
    return { name, exists: true, region, kmsKey: { id: kmsKeyId, state: key.KeyMetadata?.KeyState ?? (key.KeyMetadata?.Enabled ? 'Enabled' : 'Disabled') } };
  } catch (err) {
    if (isTransientAwsError(err)) throw err;
    return { name, exists: true, region, kmsKey: { id: kmsKeyId, error: awsErrorText(err) } };
  }
}
