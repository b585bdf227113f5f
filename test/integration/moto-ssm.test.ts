// The AWS emulator's SSM Run Command patch (test/sandbox/moto/patch_ssm_commands.py), with the AWS
// SDK: SendCommand refuses an instance whose SSM agent is not online (InvalidInstanceId, AWS's
// message); an invocation is Pending until the agent fetches it (/_sandbox/ssm/pending), then
// InProgress, then what the agent reports (Success with its output, Failed with its exit code,
// TimedOut), in GetCommandInvocation, ListCommandInvocations and ListCommands alike; a moto reset
// forgets the agents. Starts its own moto on a free port.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { resetMoto, setSsmAgents, ssmPending, ssmResult, type Moto } from '../sandbox/moto.ts';
import { ownMoto } from './own-moto.ts';

const own = ownMoto('moto-ssm-');
let moto: Moto;
let ssm: SSMClient;

before(async () => {
  ({ moto } = await own.start());
  ssm = own.client(SSMClient);
});

const send = (instance: string, commands: string[], extra: Record<string, string[]> = {}) =>
  ssm.send(new SendCommandCommand({ InstanceIds: [instance], DocumentName: 'AWS-RunShellScript', Comment: `drain ${instance}`, Parameters: { commands, ...extra } }));

test('SendCommand to an instance whose agent is not online: InvalidInstanceId', async () => {
  await resetMoto(moto.endpoint);
  await setSsmAgents(moto.endpoint, { 'i-0000000000000off': false });
  for (const id of ['i-0000000000000off', 'i-00000000never00']) {
    await assert.rejects(send(id, ['true']), (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(err.name, 'InvalidInstanceId');
      assert.equal(err.message, `Instances [[${id}]] not in a valid state for account 123456789012`);
      assert.equal(err.$metadata?.httpStatusCode, 400);
      return true;
    });
  }
});

test('an online instance: Pending, InProgress once fetched, then Success, Failed or TimedOut', async () => {
  await resetMoto(moto.endpoint);
  const id = 'i-0000000000000on1';
  assert.deepEqual(await setSsmAgents(moto.endpoint, { [id]: true }), { [id]: true });

  const ok = (await send(id, ['echo draining', 'replicated admin node-drain'], { executionTimeout: ['600'] })).Command!;
  const fail = (await send(id, ['exit 3'])).Command!;
  const slow = (await send(id, ['sleep 100'], { executionTimeout: ['1'] })).Command!;
  assert.equal(ok.Status, 'Pending');
  const pending = await ssm.send(new GetCommandInvocationCommand({ CommandId: ok.CommandId, InstanceId: id }));
  assert.equal(pending.Status, 'Pending');
  assert.equal(pending.ResponseCode, -1);
  assert.equal(pending.ExecutionStartDateTime, '');

  const fetched = await ssmPending(moto.endpoint);
  assert.deepEqual(
    fetched.map((f) => [f.commandId, f.instanceId, f.documentName, f.commands, f.executionTimeout]),
    [
      [ok.CommandId, id, 'AWS-RunShellScript', ['echo draining', 'replicated admin node-drain'], 600],
      [fail.CommandId, id, 'AWS-RunShellScript', ['exit 3'], 3600],
      [slow.CommandId, id, 'AWS-RunShellScript', ['sleep 100'], 1],
    ],
  );
  assert.deepEqual(await ssmPending(moto.endpoint), [], 'fetched once');
  const running = await ssm.send(new ListCommandInvocationsCommand({ CommandId: ok.CommandId, Details: true }));
  assert.equal(running.CommandInvocations![0]!.Status, 'InProgress');
  assert.equal((await ssm.send(new ListCommandsCommand({ CommandId: ok.CommandId }))).Commands![0]!.Status, 'InProgress');

  await ssmResult(moto.endpoint, { commandId: ok.CommandId!, instanceId: id, status: 'Success', responseCode: 0, stdout: 'draining\nNode drained\n', stderr: '' });
  await ssmResult(moto.endpoint, { commandId: fail.CommandId!, instanceId: id, status: 'Failed', responseCode: 3, stdout: '', stderr: 'x'.repeat(9000) });
  await ssmResult(moto.endpoint, { commandId: slow.CommandId!, instanceId: id, status: 'TimedOut', responseCode: -1, stdout: '', stderr: '' });

  const done = await ssm.send(new ListCommandInvocationsCommand({ CommandId: ok.CommandId, Details: true }));
  const inv = done.CommandInvocations![0]!;
  assert.equal(inv.Status, 'Success');
  assert.equal(inv.Comment, `drain ${id}`);
  assert.equal(inv.CommandPlugins![0]!.Output, 'draining\nNode drained\n');
  assert.equal(inv.CommandPlugins![0]!.ResponseCode, 0);
  assert.ok(inv.CommandPlugins![0]!.ResponseFinishDateTime instanceof Date);
  const brief = await ssm.send(new ListCommandInvocationsCommand({ InstanceId: id }));
  assert.equal(brief.CommandInvocations!.length, 3);
  assert.ok(brief.CommandInvocations!.every((c) => c.CommandPlugins!.length === 0), 'Details false: no plugins');

  const failed = await ssm.send(new GetCommandInvocationCommand({ CommandId: fail.CommandId, InstanceId: id }));
  assert.equal(failed.Status, 'Failed');
  assert.equal(failed.ResponseCode, 3);
  assert.equal(failed.StandardErrorContent!.length, 8000, 'stderr: the first 8,000 characters, as AWS');
  assert.notEqual(failed.ExecutionEndDateTime, '');
  const timedOut = await ssm.send(new GetCommandInvocationCommand({ CommandId: slow.CommandId, InstanceId: id }));
  assert.equal(timedOut.Status, 'TimedOut');
  assert.equal(timedOut.StatusDetails, 'ExecutionTimedOut');

  const commands = (await ssm.send(new ListCommandsCommand({ InstanceId: id }))).Commands!;
  const byId = new Map(commands.map((c) => [c.CommandId, c]));
  assert.deepEqual([ok, fail, slow].map((c) => byId.get(c.CommandId)!.Status), ['Success', 'Failed', 'TimedOut']);
  assert.deepEqual([ok, fail, slow].map((c) => [byId.get(c.CommandId)!.CompletedCount, byId.get(c.CommandId)!.ErrorCount]), [[1, 0], [1, 1], [1, 1]]);
  assert.equal(byId.get(ok.CommandId)!.Comment, `drain ${id}`);

  await resetMoto(moto.endpoint);
  await assert.rejects(send(id, ['true']), /not in a valid state/, 'a reset forgets the agents');
});
