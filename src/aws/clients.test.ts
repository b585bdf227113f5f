// The fence middleware: mutating calls are checked before the first attempt AND before every
// retry (a retry after leadership ended must not reach AWS); reads are never fenced.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeAutoScalingGroupsCommand, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { makeAwsClients } from './clients.ts';

class Refused extends Error {
  override name = 'NotLeaderError';
}

test('a retry after the fence closed is refused before it is sent; reads pass', async () => {
  const seen: string[] = [];
  let leading = true;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push(new URLSearchParams(body).get('Action') ?? '?');
      leading = false; // leadership ends while the first attempt is answered with a retryable error
      res.writeHead(500, { 'content-type': 'text/xml' });
      res.end('<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>try again</Message></Error><RequestId>1</RequestId></ErrorResponse>');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const saved = { ...process.env };
  process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  process.env.TFE_OPERATOR_AWS_MAX_ATTEMPTS = '3';
  try {
    const fenced: string[] = [];
    const aws = makeAwsClients({ region: 'us-east-1' }, {
      beforeMutation: (op) => {
        if (!leading) {
          fenced.push(op);
          throw new Refused(`not the leader (${op})`);
        }
      },
    });
    await assert.rejects(aws.asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'tfe', DesiredCapacity: 3 })), { name: 'NotLeaderError' });
    assert.deepEqual(seen, ['UpdateAutoScalingGroup'], 'the retry reached the server after the fence closed');
    assert.deepEqual(fenced, ['UpdateAutoScalingGroup']);
    // Reads are not fenced (they fail here only because the fake server answers 500).
    await assert.rejects(aws.asg.send(new DescribeAutoScalingGroupsCommand({})), (e: Error) => e.name !== 'NotLeaderError');
    assert.equal(seen.filter((a) => a === 'DescribeAutoScalingGroups').length, 3);
  } finally {
    process.env = saved;
    server.close();
  }
});
