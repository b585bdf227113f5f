// The fault proxy's answers, read by the real AWS SDK clients: each service's throttling and
// internal errors come out as the error names the SDK classifies (and retries) as such, rules
// pick operations by Action / X-Amz-Target, and the counters say what fired. No sandbox: the
// proxy forwards to a small stub instead of moto.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeLaunchTemplatesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeReplicationGroupsCommand, ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startAwsFaultProxy, type AwsFaultProxy } from './aws-proxy.ts';

let stub: Server;
let proxy: AwsFaultProxy;
let forwarded = 0;

before(async () => {
  // Answers every forwarded call with an empty, valid-enough reply per protocol.
  stub = createServer((req, res) => {
    forwarded++;
    req.resume();
    req.on('end', () => {
      if (req.headers['x-amz-target']) {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ Name: 'x' }));
      } else {
        res.writeHead(200, { 'content-type': 'text/xml' }).end('<Response><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></Response>');
      }
    });
  });
  await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
  proxy = await startAwsFaultProxy({ target: `http://127.0.0.1:${(stub.address() as AddressInfo).port}` });
});
after(async () => {
  await proxy.close();
  stub.close();
});

const config = () => ({
  endpoint: proxy.url,
  region: 'us-east-1',
  credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  maxAttempts: 3,
});

async function failure(p: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number; attempts?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as never;
  }
  throw new Error('the call succeeded; expected the injected fault');
}

test('throttling: each protocol gives the error the SDK treats as throttling, and the SDK retries it', async () => {
  proxy.clearRules();
  proxy.resetCounters();
  proxy.addRule({ name: 'throttle', kind: 'throttle', operations: ['*'] });
  const cases: Array<[string, () => Promise<unknown>, string, number]> = [
    ['ec2', () => new EC2Client(config()).send(new DescribeLaunchTemplatesCommand({})), 'RequestLimitExceeded', 503],
    ['autoscaling', () => new AutoScalingClient(config()).send(new DescribeAutoScalingGroupsCommand({})), 'Throttling', 400],
    ['elasticache', () => new ElastiCacheClient(config()).send(new DescribeReplicationGroupsCommand({})), 'Throttling', 400],
    ['secretsmanager', () => new SecretsManagerClient(config()).send(new DescribeSecretCommand({ SecretId: 'x' })), 'ThrottlingException', 400],
  ];
  for (const [service, call, name, status] of cases) {
    const err = await failure(call());
    assert.equal(err.name, name, `${service}: ${err.name}: ${err.message}`);
    assert.equal(err.$metadata?.httpStatusCode, status, service);
    assert.equal(err.$metadata?.attempts, 3, `${service}: the SDK did not retry a throttling error`);
  }
  assert.equal(proxy.counters().fired.throttle, 12);
  assert.deepEqual(Object.keys(proxy.counters().injected.throttle ?? {}).sort(), ['DescribeAutoScalingGroups', 'DescribeLaunchTemplates', 'DescribeReplicationGroups', 'DescribeSecret']);
});

test('HTTP 500: internal errors in each protocol, retried by the SDK', async () => {
  proxy.clearRules();
  proxy.resetCounters();
  proxy.addRule({ kind: 'error500', operations: ['*'] });
  const cases: Array<[string, () => Promise<unknown>, string]> = [
    ['ec2', () => new EC2Client(config()).send(new DescribeLaunchTemplatesCommand({})), 'InternalError'],
    ['autoscaling', () => new AutoScalingClient(config()).send(new DescribeAutoScalingGroupsCommand({})), 'InternalFailure'],
    ['secretsmanager', () => new SecretsManagerClient(config()).send(new DescribeSecretCommand({ SecretId: 'x' })), 'InternalServiceError'],
  ];
  for (const [service, call, name] of cases) {
    const err = await failure(call());
    assert.equal(err.name, name, `${service}: ${err.name}: ${err.message}`);
    assert.equal(err.$metadata?.httpStatusCode, 500, service);
    assert.equal(err.$metadata?.attempts, 3, `${service}: not retried`);
  }
});

test('rules pick operations (Action, X-Amz-Target, groups), skip/every/times, and drops never reach the target', async () => {
  proxy.clearRules();
  proxy.resetCounters();
  forwarded = 0;
  proxy.addRule({ name: 'writes', kind: 'drop', operations: ['mutating'], times: 1 });
  proxy.addRule({ name: 'second-describe', kind: 'throttle', operations: ['DescribeSecret'], skip: 1, times: 1 });
  const asg = new AutoScalingClient({ ...config(), maxAttempts: 1 });
  const sm = new SecretsManagerClient({ ...config(), maxAttempts: 1 });
  const dropped = await failure(asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'tfe', DesiredCapacity: 0 })));
  assert.match(`${dropped.name} ${dropped.message} ${(dropped as { code?: string }).code}`, /ECONNRESET|socket hang up/);
  assert.equal(forwarded, 0, 'a dropped call reached the target');
  await asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'tfe', DesiredCapacity: 0 }));
  await sm.send(new DescribeSecretCommand({ SecretId: 'x' }));
  assert.equal((await failure(sm.send(new DescribeSecretCommand({ SecretId: 'x' })))).name, 'ThrottlingException');
  await sm.send(new DescribeSecretCommand({ SecretId: 'x' }));
  const c = proxy.counters();
  assert.deepEqual(c.fired, { writes: 1, 'second-describe': 1 });
  assert.deepEqual(c.seen, { UpdateAutoScalingGroup: 2, DescribeSecret: 3 });
  assert.deepEqual(c.forwarded, { UpdateAutoScalingGroup: 1, DescribeSecret: 2 });
  assert.equal(forwarded, 3);
});
