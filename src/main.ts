// tfe-operator: the command line. `run` is the operator; `plan`, `render` and `fdo-env` read the
// live world and print, changing nothing.

import { Command, Option } from 'commander';
import { hostname } from 'node:os';
import { loadKube, type Kube } from './kube/client.ts';
import { makeLogger, type Logger } from './log.ts';
import { defaultNamespace } from './ha/config.ts';
import { clusterIdentity, type SecurityOptions } from './security/index.ts';
import { DEFAULT_POLICY_CONFIGMAP } from './security/policy.ts';
import { DEFAULT_FINGERPRINT_KEY_SECRET, ensureFingerprintKey, fingerprintKeyLoader } from './security/fingerprint-key.ts';
import { Operator } from './controller/operator.ts';
import { DEFAULT_RESYNC_RATE, resyncPeriodMs } from './controller/resync.ts';
import { formatPlan, planJson, previewPlan } from './controller/preview.ts';
import { renderPreview } from './controller/render.ts';
import { fdoEnv } from './controller/fdo-env.ts';
import { startHa, resolveHaConfig, NotLeaderError, parsePortRange, TermFence, type HaRuntime } from './ha/index.ts';
import { startStatusServer } from './server/http.ts';
import { kubeAuthorizer, kubeReviewApi } from './server/auth.ts';

// The AWS SDK warns on stderr (not JSON) that releases after January 2027 need Node 22; the
// container image runs Node 22 and the warning would break JSON log parsing.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const program = new Command();
program.name('tfe-operator').description('Migrates Terraform Enterprise on AWS to Active/Active and keeps it there');

program
  .command('run')
  .description('run the operator')
  .option('--namespace <ns>', 'watch only this namespace (default: all; env WATCH_NAMESPACE)', process.env.WATCH_NAMESPACE)
  .option('--leader-elect', 'run with leader election (several replicas, one acts)', false)
  .option('--id <id>', 'instance identity (default: POD_NAME, else hostname-pid)')
  .option('--address <url>', 'status API address advertised to other replicas')
  .option('--host <host>', 'status API bind address (default: POD_IP, from the downward API; all interfaces, 0.0.0.0, only when POD_IP is unset)')
  .option('--peer-ports <ports>', "ports a peer's status API may use in a follower's redirect, e.g. 8080 or 8080-8090 (default: the --port)")
  .addOption(new Option('--port <port>', 'status API / metrics port').default(8080).argParser(Number))
  .addOption(new Option('--workers <n>', 'reconciles in parallel (different TfeClusters)').default(4).argParser(Number))
  .option('--lease-namespace <ns>', 'namespace of the leader Lease (default: POD_NAMESPACE)')
  .option('--lease-duration <d>', 'leader lease duration', '15s')
  .option('--renew-deadline <d>', 'leader renew deadline', '10s')
  .option('--retry-period <d>', 'leader retry period', '2s')
  .addOption(new Option('--resync <ms>', 're-observe Ready clusters this often (ms)').default(60_000).argParser(Number))
  .addOption(
    new Option('--resync-rate <n>', 'but re-observe at most this many clusters per second in total (~10 AWS reads each): many clusters stretch the period')
      .default(DEFAULT_RESYNC_RATE)
      .argParser(Number),
  )
  .option('--operator-namespace <ns>', "the operator's own namespace: the policy ConfigMap and the fingerprint key Secret (default: POD_NAMESPACE, else the service account's, else default)")
  .option('--cluster-id <id>', "this Kubernetes cluster's identity in the owner tags of Secrets Manager secrets (default: the kube-system namespace's uid). Env TFE_OPERATOR_CLUSTER_ID", process.env.TFE_OPERATOR_CLUSTER_ID)
  .option('--policy-configmap <name>', 'ConfigMap (in the operator namespace) with the operator policy, key policy.yaml; absent: no policy (docs/security.md). Env TFE_OPERATOR_POLICY_CONFIGMAP', process.env.TFE_OPERATOR_POLICY_CONFIGMAP || DEFAULT_POLICY_CONFIGMAP)
  .option('--fingerprint-key-secret <name>', 'Secret (in the operator namespace) holding the fingerprint HMAC key; created once. Env TFE_OPERATOR_FINGERPRINT_KEY_SECRET', process.env.TFE_OPERATOR_FINGERPRINT_KEY_SECRET || DEFAULT_FINGERPRINT_KEY_SECRET)
  .addOption(
    new Option('--secret-opt-in <bool>', 'use a Secret only when its annotation tfe.operators.dev/allowed-tfeclusters allows the TfeCluster; false is weaker (docs/security.md). Env TFE_OPERATOR_SECRET_OPT_IN')
      .default(process.env.TFE_OPERATOR_SECRET_OPT_IN ?? 'true')
      .choices(['true', 'false']),
  )
  .addOption(new Option('--relist <ms>', 'restart the TfeCluster watch with a fresh list this often (ms)').default(5 * 60_000).argParser(Number))
  .action(async (o) => {
    resyncPeriodMs(o.resync, 1, o.resyncRate); // refuses a --resync or --resync-rate that is not a positive number
    const identity = o.id ?? process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
    const log = makeLogger({ id: identity });
    const kube = loadKube();
    let ha: HaRuntime | undefined;
    // With leader election every write is fenced by the elector, and each reconcile is bound to
    // the term it started in (a reconcile from an earlier term is refused even if this replica
    // leads again). Before the elector exists nothing may write.
    const termFence = new TermFence({
      currentTerm: () => ha?.elector.currentTerm(),
      assertLeader: (term) => {
        if (!ha) throw new NotLeaderError(identity, undefined, 'leader election not started');
        ha.elector.assertLeader(term);
      },
    });
    const fence = o.leaderElect ? termFence.check : undefined;
    const inTerm = o.leaderElect ? <T>(fn: () => Promise<T>) => termFence.run(fn) : undefined;
    const operator = new Operator({
      kube,
      log,
      identity,
      namespace: o.namespace || undefined,
      workers: o.workers,
      resyncMs: o.resync,
      resyncRate: o.resyncRate,
      relistMs: o.relist,
      fence,
      inTerm,
      crashAfter: process.env.TFE_OPERATOR_CRASH_AFTER,
      security: securityOptions(kube, o, log),
    });
    const statusProvider = (q: { namespace?: string }) => operator.status(q);
    // The pod IP only: the status API is not reachable on other interfaces of the pod.
    const host: string = o.host ?? (process.env.POD_IP?.trim() || '0.0.0.0');
    if (!o.host && !process.env.POD_IP?.trim()) log.warn('POD_IP is not set: the status API listens on all interfaces (0.0.0.0); set POD_IP (downward API) or --host');
    // /v1/* needs a token the API server accepts and `list tfeclusters` where asked (TokenReview + SubjectAccessReview).
    const auth = kubeAuthorizer(kubeReviewApi(kube.config));
    const watchNamespace = o.namespace || undefined;
    const ready = () => operator.synced;
    let stopping = false;
    let stopServer: () => Promise<void>;
    let resolvedRenewDeadlineMs = 0;
    if (o.leaderElect) {
      const config = resolveHaConfig({
        identity,
        address: o.address,
        namespace: o.leaseNamespace,
        leaseDuration: o.leaseDuration,
        renewDeadline: o.renewDeadline,
        retryPeriod: o.retryPeriod,
        statusPort: o.port,
      });
      resolvedRenewDeadlineMs = config.renewDeadlineMs;
      ha = await startHa({
        kubeConfig: kube.config,
        config,
        logger: log,
        registry: operator.metrics.registry,
        host,
        port: o.port,
        auth,
        watchNamespace,
        peerPorts: o.peerPorts ? parsePortRange(o.peerPorts) : undefined,
        ready,
        statusProvider,
        // A term won while shutting down (a follower's last attempt) does no work: the Lease is
        // handed back by ha.stop() below.
        onStartedLeading: () => {
          if (!stopping) operator.startLeading();
        },
        onStoppedLeading: () => operator.stopLeading(),
      });
      stopServer = async () => {};
    } else {
      const server = await startStatusServer({
        host,
        port: o.port,
        auth,
        watchNamespace,
        leader: { identity, address: o.address, isLeader: () => true, currentLeader: () => ({ id: identity, address: o.address ?? '' }) },
        registry: operator.metrics.registry,
        ready,
        statusProvider,
        logger: log,
      });
      log.info({ url: server.url }, 'status API listening');
      stopServer = () => server.close();
    }
    // Signal handlers before the (possibly slow) first list: a leader must still hand over.
    const within = (p: Promise<unknown>, ms: number) =>
      Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down: finishing in-flight work');
      // Graceful handoff: take no new work, let in-flight reconciles finish while still leading
      // (the elector keeps renewing), then hand the Lease over so a follower takes over within
      // about one retry period instead of a lease duration.
      operator.stopLeading();
      const grace = ha ? ha.elector.isLeader() ? resolvedRenewDeadlineMs : 0 : 10_000;
      let drained = await within(operator.queue.drain(), grace);
      if (ha && !drained) {
        // Too slow: close the fence now (the term ends), so what is still running fails at its
        // next write, and wait for the requests already on the wire.
        log.warn({ inFlight: operator.queue.inFlight }, 'shutting down: in-flight work did not finish in time; stepping down first');
        await ha.elector.stop();
        drained = await within(operator.queue.drain(), resolvedRenewDeadlineMs);
      }
      // Release only when nothing of ours can still reach AWS or the API server: otherwise the
      // next leader waits for the Lease to expire, as after a crash.
      if (ha) await ha.stop({ release: drained });
      if (!drained) log.warn('shutting down: work still in flight; not releasing the Lease (it expires instead)');
      await within(operator.stop(), 2_000);
      await stopServer();
      log.info('stopped');
      process.exit(0);
    };
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
    process.on('SIGINT', () => void shutdown('SIGINT'));
    // Resolves after the first list, or after the first failure (the watchdog keeps retrying
    // and /readyz answers 503 until the cache has synced; the operator logs when it has).
    await operator.start();
    if (!operator.synced) log.warn('watch cache not synced yet: retrying in the background; /readyz answers 503 until it is');
    if (!o.leaderElect && !stopping) operator.startLeading();

  });

program
  .command('plan <name>')
  .description('print what the operator would do next for a TfeCluster, from the live world (changes nothing)')
  .option('-n, --namespace <ns>', 'namespace', 'default')
  .option('-o, --output <fmt>', 'text or json', 'text')
  .action(async (name: string, o) => {
    const preview = await previewPlan(loadKube(), o.namespace, name, 'tfe-operator/plan');
    if (o.output === 'json') console.log(JSON.stringify(planJson(preview.plan), null, 2));
    else console.log(formatPlan(preview));
  });

program
  .command('render <name>')
  .description('print the launch template user data the operator would write for a TfeCluster (no secret values), then how it differs from what the nodes run now')
  .option('-n, --namespace <ns>', 'namespace', 'default')
  .option('--stage <stage>', 'single (one node on the external Redis) or full (Active/Active); default: the next one the operator writes')
  .option('--script-only', 'print only the script (to pipe it)')
  .action(async (name: string, o) => {
    if (o.stage !== undefined && o.stage !== 'single' && o.stage !== 'full') throw new Error(`--stage must be single or full, not ${o.stage}`);
    const preview = await previewPlan(loadKube(), o.namespace, name, 'tfe-operator/render');
    const r = await renderPreview(preview, o.stage);
    if ('nothing' in r) {
      console.error(`nothing to render: ${r.nothing}`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(r.script);
    if (o.scriptOnly) return;
    process.stdout.write(`\n# ---- ${r.notes.join('; ')}\n`);
    if (r.diff) process.stdout.write(`# ---- difference from the script the nodes run now (launch template version ${r.current!.version}):\n${r.diff}`);
  });

program
  .command('fdo-env <name>')
  .description('for a Replicated TfeCluster moving to install Docker (FDO): print the tfe.env and secretSettings written from its Replicated settings (reads Kubernetes only; no secret values)')
  .option('-n, --namespace <ns>', 'namespace', 'default')
  .action(async (name: string, o) => {
    process.stdout.write(await fdoEnv(loadKube(), o.namespace, name));
  });

program.parseAsync(process.argv).catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});

function securityOptions(kube: Kube, o: { operatorNamespace?: string; clusterId?: string; policyConfigmap: string; fingerprintKeySecret: string; secretOptIn: string }, log: Logger): SecurityOptions {
  const operatorNamespace = o.operatorNamespace || defaultNamespace();
  const secretOptIn = o.secretOptIn !== 'false';
  if (!secretOptIn) log.warn('--secret-opt-in=false: the operator uses any Secret a TfeCluster names, whether or not the Secret allows it (docs/security.md)');
  log.info({ operatorNamespace, policyConfigMap: o.policyConfigmap, fingerprintKeySecret: o.fingerprintKeySecret, secretOptIn }, 'security options');
  return {
    secretOptIn,
    operatorNamespace,
    policyConfigMap: o.policyConfigmap,
    fingerprintKey: fingerprintKeyLoader(() => ensureFingerprintKey(kube, operatorNamespace, o.fingerprintKeySecret)),
    clusterId: fingerprintKeyLoader(() => clusterIdentity(kube, o.clusterId || undefined)),
  };
}
