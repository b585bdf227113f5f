// kubectl-tfe: the kubectl plugin for TfeClusters. kubectl runs any `kubectl-<name>` on PATH
// for `kubectl <name> ...`, passing every argument after the plugin name (kubectl's own flags
// must not come before it), so this program reads -n / --context / --kubeconfig itself, with
// kubectl's meaning: without -n, the current context's namespace.
//
//   kubectl tfe status [name]     the status tree (no name: every TfeCluster in the namespace)
//   kubectl tfe plan <name>       what the operator would do next, from the live world (read-only)
//   kubectl tfe pause <name>      spec.rollout.paused = true
//   kubectl tfe resume <name>     spec.rollout.paused = false
//   kubectl tfe approve <name>    annotate tfe.operators.dev/approve=<status.approval.waitingFor>
//   kubectl tfe abort <name> --yes  annotate tfe.operators.dev/abort=true (roll back)

import { Command, Option } from 'commander';
import { GROUP, PLURAL, VERSION, type TfeCluster, type TfeClusterList } from '../api/types.ts';
import { contextNamespace, loadKube, type Kube } from '../kube/client.ts';
import { approve, ConfirmationRequired, describeError, mustGet, requestAbort, setPaused } from './commands.ts';
import { renderList, renderStatus, stripControl } from './status.ts';

// The AWS SDK's Node version notice is noise on a person's terminal.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

interface GlobalOptions {
  namespace?: string;
  context?: string;
  kubeconfig?: string;
}

const program = new Command();
program
  .name('kubectl tfe')
  .description('Inspect and steer TfeClusters (tfe-operator): status, plan, pause, resume, approve, abort')
  .option('-n, --namespace <ns>', "namespace (default: the current context's namespace)")
  .option('--context <name>', 'kubeconfig context to use')
  .option('--kubeconfig <file>', 'kubeconfig file to use (default: KUBECONFIG, else ~/.kube/config)')
  .showHelpAfterError()
  .configureOutput({ outputError: (str, write) => write(str) });

function connect(): { kube: Kube; namespace: string } {
  const g = program.opts<GlobalOptions>();
  const kube = loadKube({ kubeconfig: g.kubeconfig, context: g.context });
  return { kube, namespace: g.namespace || contextNamespace(kube.config) };
}

function useColor(): boolean {
  return !!process.stdout.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

async function listClusters(kube: Kube, namespace: string | undefined): Promise<TfeCluster[]> {
  const list = (
    namespace
      ? await kube.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL })
      : await kube.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })
  ) as TfeClusterList;
  return list.items.sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
}

program
  .command('status [name]')
  .description('the status of a TfeCluster as a tree: phase, steps, nodes, Redis, launch template, approval (no name: list them)')
  .option('-A, --all-namespaces', 'list TfeClusters in every namespace')
  .option('-w, --watch', 'keep showing the status as it changes (Ctrl-C to stop)')
  .addOption(new Option('--interval <seconds>', 'how often --watch reads the object').default(2).argParser(Number))
  .action(async (name: string | undefined, o: { allNamespaces?: boolean; watch?: boolean; interval: number }) => {
    const { kube, namespace } = connect();
    const once = async (): Promise<{ text: string; key: string }> => {
      if (!name) {
        const items = await listClusters(kube, o.allNamespaces ? undefined : namespace);
        if (items.length === 1 && !o.allNamespaces) {
          return { text: renderStatus(items[0], { color: useColor() }), key: JSON.stringify([items[0].metadata, items[0].status]) };
        }
        const text = items.length === 0 ? `No TfeCluster found in ${o.allNamespaces ? 'any namespace' : `namespace ${namespace}`}.` : renderList(items, { allNamespaces: o.allNamespaces });
        return { text, key: JSON.stringify(items.map((c) => [c.metadata.name, c.status])) };
      }
      const c = await mustGet(kube, namespace, name);
      return { text: renderStatus(c, { color: useColor() }), key: JSON.stringify([c.metadata, c.status]) };
    };
    if (!o.watch) {
      console.log((await once()).text);
      return;
    }
    const everyMs = Math.max(0.5, o.interval || 2) * 1000;
    let lastKey = '';
    for (;;) {
      const { text, key } = await once();
      if (process.stdout.isTTY) process.stdout.write(`\u001b[H\u001b[2J${text}\n\n(every ${everyMs / 1000}s; Ctrl-C to stop)\n`);
      else if (key !== lastKey) process.stdout.write(`--- ${new Date().toISOString()}\n${text}\n`);
      lastKey = key;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  });

program
  .command('plan <name>')
  .description('what the operator would do next for a TfeCluster, read from the live world (Kubernetes and AWS); changes nothing')
  .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
  .action(async (name: string, o: { output: string }) => {
    const { kube, namespace } = connect();
    // Loaded here: the AWS SDK is only needed by plan, and it is slow to load.
    const { formatPlan, planJson, previewPlan } = await import('../controller/preview.ts');
    const preview = await previewPlan(kube, namespace, name, 'kubectl-tfe/plan');
    if (o.output === 'json') console.log(JSON.stringify(planJson(preview.plan), null, 2));
    else console.log(stripControl(formatPlan(preview, { approveHint: `approve: kubectl tfe approve ${name} -n ${namespace}` })));
  });

program
  .command('pause <name>')
  .description('set spec.rollout.paused: the operator starts no new action until resumed')
  .action(async (name: string) => {
    const { kube, namespace } = connect();
    console.log(stripControl(await setPaused(kube, namespace, name, true)));
  });

program
  .command('resume <name>')
  .description('clear spec.rollout.paused: the operator carries on')
  .action(async (name: string) => {
    const { kube, namespace } = connect();
    console.log(stripControl(await setPaused(kube, namespace, name, false)));
  });

program
  .command('approve <name>')
  .description('approve the step the TfeCluster waits for (spec.rollout.approval Manual): sets annotation tfe.operators.dev/approve to status.approval.waitingFor')
  .action(async (name: string) => {
    const { kube, namespace } = connect();
    console.log(stripControl(await approve(kube, namespace, name)));
  });

program
  .command('abort <name>')
  .description('stop the rollout and roll back to the last good launch template version (annotation tfe.operators.dev/abort=true)')
  .option('--yes', 'really abort (without it, only explains what abort would do)')
  .action(async (name: string, o: { yes?: boolean }) => {
    const { kube, namespace } = connect();
    console.log(stripControl(await requestAbort(kube, namespace, name, !!o.yes)));
  });

program.parseAsync(process.argv).catch((err) => {
  console.error(stripControl(err instanceof ConfirmationRequired ? err.message : `error: ${describeError(err)}`));
  process.exit(1);
});
