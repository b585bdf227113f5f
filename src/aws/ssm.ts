// TFE's node drain, run on the nodes through AWS Systems Manager Run Command.
//
// TFE's Active/Active admin commands (https://www.terraform.io/docs/enterprise/admin/active-active.html,
// "node-drain"): `tfe-admin node-drain` (an alias of `replicated admin node-drain`) "will
// quiesce the current node and remove it from service. It will allow current work to complete
// and safely stop the node from picking up any new jobs from the Redis queue". It acts on the
// node it runs on only, so it is sent to each leaving node with SendCommand
// (AWS-RunShellScript); the invocation ends Success once the node is drained. FDO's is
// `tfectl node drain` inside the container; each install kind names its command (src/install/).

import { ListCommandInvocationsCommand, ListCommandsCommand, SendCommandCommand, type Command } from '@aws-sdk/client-ssm';
import type { AwsClients } from './clients.ts';
import type { ObservedDrain } from '../migration/observation.ts';


export async function sendDrain(aws: AwsClients, instanceIds: string[], command: string, comment: string, timeoutSeconds: number): Promise<string> {
  const out = await aws.ssm.send(
    new SendCommandCommand({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: instanceIds,
      Comment: comment,
      Parameters: { commands: [command], executionTimeout: [String(Math.max(1, Math.round(timeoutSeconds)))] },
    }),
  );
  return out.Command?.CommandId ?? '';
}

/** How far back the operator looks for its drain commands (a drain older than a week is sent again). */
const LOOKBACK_MS = 7 * 24 * 3600_000;

/** The latest operator drain of each instance: its command, status and output. */
export async function describeDrains(aws: AwsClients, comment: string): Promise<Record<string, ObservedDrain>> {
  const ours: Command[] = [];
  let token: string | undefined;
  do {
    // Only recent shell commands: SSM keeps 30 days of every command in the account.
    const page = await aws.ssm.send(
      new ListCommandsCommand({
        NextToken: token,
        Filters: [
          { key: 'DocumentName', value: 'AWS-RunShellScript' },
          { key: 'InvokedAfter', value: new Date(Date.now() - LOOKBACK_MS).toISOString() },
        ],
      }),
    );
    ours.push(...(page.Commands ?? []).filter((c) => c.Comment === comment));
    token = page.NextToken;
  } while (token);
  ours.sort((a, b) => (a.RequestedDateTime?.getTime() ?? 0) - (b.RequestedDateTime?.getTime() ?? 0));
  const out: Record<string, ObservedDrain> = {};
  for (const c of ours) {
    const page = await aws.ssm.send(new ListCommandInvocationsCommand({ CommandId: c.CommandId, Details: true }));
    for (const inv of page.CommandInvocations ?? []) {
      if (!inv.InstanceId) continue;
      const plugin = inv.CommandPlugins?.[0];
      const output = (plugin?.Output ?? '').trim();
      out[inv.InstanceId] = {
        commandId: c.CommandId ?? '',
        status: inv.Status ?? 'Pending',
        ...(output ? { output: output.slice(-300) } : {}),
      };
    }
  }
  return out;
}
