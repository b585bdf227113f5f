// AWS SDK v3 clients for one TfeCluster's account and region. Config is resolved by small
// pure functions; cross-cutting concerns (the leadership fence, metrics, the user agent) are
// middleware on every client, not sprinkled through calls.

import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { RDSClient } from '@aws-sdk/client-rds';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { MiddlewareStack } from '@smithy/types';

export interface AwsClients {
  asg: AutoScalingClient;
  ec2: EC2Client;
  elasticache: ElastiCacheClient;
  elb: ElasticLoadBalancingV2Client;
  iam: IAMClient;
  secrets: SecretsManagerClient;
  ssm: SSMClient;
  /** Step 1's external services checks (read only): the bucket, its KMS key, the RDS instance. */
  s3: S3Client;
  kms: KMSClient;
  rds: RDSClient;
}

export interface CallHooks {
  /** Throws when this instance must not write (not the leader any more). */
  beforeMutation?: (operation: string) => void;
  /** Called after every call with its outcome ('ok' or the error name). */
  onCall?: (service: string, operation: string, outcome: string) => void;
}

export interface AwsTarget {
  region: string;
  roleArn?: string;
  /**
   * With roleArn: the TfeCluster the session acts for, as AssumeRole's RoleSessionName and
   * SourceIdentity (CloudTrail shows it; a trust policy can require it with sts:SourceIdentity).
   */
  sessionName?: string;
  /** With roleArn: AssumeRole's ExternalId, from the operator policy (src/security/policy.ts). */
  externalId?: string;
}

/** Operations that only read (iam:SimulatePrincipalPolicy evaluates policies, s3:HeadBucket asks whether a bucket exists; neither changes anything). Everything else counts as a mutation and passes the fence. */
export function isReadOperation(operation: string): boolean {
  return /^(Describe|List|Get|SimulatePrincipalPolicy$|HeadBucket$)/.test(operation.replace(/Command$/, ''));
}

/** A positive number from the environment, else the default. */
function envMs(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isFinite(n) && n > 0 ? n : fallback;
}

export function clientConfig(target: AwsTarget, env: NodeJS.ProcessEnv = process.env, userAgent?: string) {
  return {
    region: target.region,
    endpoint: env.AWS_ENDPOINT_URL || undefined,
    maxAttempts: envMs(env.TFE_OPERATOR_AWS_MAX_ATTEMPTS, 5),
    // Without these the SDK waits for an answer for ever: one stalled connection would hold
    // the TfeCluster's reconcile (the queue runs one per key) until the process restarts.
    // A timed-out attempt fails with TimeoutError, which the SDK retries like any transient error.
    requestHandler: {
      connectionTimeout: envMs(env.TFE_OPERATOR_AWS_CONNECT_TIMEOUT_MS, 5_000),
      requestTimeout: envMs(env.TFE_OPERATOR_AWS_REQUEST_TIMEOUT_MS, 30_000),
      throwOnRequestTimeout: true,
    },
    customUserAgent: userAgent,
    credentials: target.roleArn
      ? fromTemporaryCredentials({ params: assumeRoleParams(target), clientConfig: { region: target.region } })
      : undefined,
  };
}

/** AssumeRole's parameters for a TfeCluster's role (roleArn set). */
export function assumeRoleParams(target: AwsTarget) {
  const sessionName = target.sessionName ?? 'tfe-operator';
  return {
    RoleArn: target.roleArn!,
    RoleSessionName: sessionName,
    ...(target.sessionName ? { SourceIdentity: target.sessionName } : {}),
    ...(target.externalId ? { ExternalId: target.externalId } : {}),
  };
}

function instrument(service: string, stack: MiddlewareStack<any, any>, hooks: CallHooks) {
  stack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName ?? 'Unknown').replace(/Command$/, '');
      if (!isReadOperation(operation)) hooks.beforeMutation?.(operation);
      try {
        const out = await next(args);
        hooks.onCall?.(service, operation, 'ok');
        return out;
      } catch (err) {
        hooks.onCall?.(service, operation, (err as Error)?.name ?? 'Error');
        throw err;
      }
    },
    { step: 'initialize', name: 'tfeOperatorInstrument', override: true },
  );
  // The fence again on every attempt, as the last thing before the request goes on the wire:
  // the retry middleware (finalizeRequest step) wraps this one, so a retry that comes after
  // leadership ended (backoff waits, slow first attempts) is refused too, not only the first try.
  stack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName ?? 'Unknown').replace(/Command$/, '');
      if (!isReadOperation(operation)) hooks.beforeMutation?.(operation);
      return next(args);
    },
    { step: 'deserialize', priority: 'low', name: 'tfeOperatorFenceAttempt', override: true },
  );
}

export function makeAwsClients(target: AwsTarget, hooks: CallHooks = {}, userAgent?: string): AwsClients {
  const config = clientConfig(target, process.env, userAgent);
  const clients: AwsClients = {
    asg: new AutoScalingClient(config),
    ec2: new EC2Client(config),
    elasticache: new ElastiCacheClient(config),
    elb: new ElasticLoadBalancingV2Client(config),
    iam: new IAMClient(config),
    secrets: new SecretsManagerClient(config),
    ssm: new SSMClient(config),
    // Path-style addressing works against AWS and against S3-compatible endpoints (AWS_ENDPOINT_URL) alike.
    s3: new S3Client({ ...config, forcePathStyle: !!config.endpoint, followRegionRedirects: true }),
    kms: new KMSClient(config),
    rds: new RDSClient(config),
  };
  for (const [service, client] of Object.entries(clients)) instrument(service, client.middlewareStack, hooks);
  return clients;
}
