// The TfeCluster watch: client-node's informer wrapped in a watchdog. client-node 1.4's
// informer has no client-side watch timeout and stops for good after any non-410 error, so
// the watchdog restarts it (with backoff) on error and relists on a fixed period. A relist
// passes on only the objects that changed (or went away) while the watch was down; the
// periodic re-observation of AWS is the reconciler's resync timer (resync.ts).

import * as k8s from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type TfeCluster, type TfeClusterList } from '../api/types.ts';
import type { Logger } from '../log.ts';

export interface WatchOptions {
  namespace?: string;
  /** Relist this often, even when the watch looks fine. */
  relistMs?: number;
  onChange: (key: string, obj: TfeCluster | undefined) => void;
  onSynced?: () => void;
  /** The watch was restarted: after an error, or the periodic relist. */
  onRestart?: (reason: 'error' | 'relist') => void;
  log: Logger;
}

export function keyOf(obj: { metadata?: { namespace?: string; name?: string } }): string {
  return `${obj.metadata?.namespace}/${obj.metadata?.name}`;
}

export class ClusterWatch {
  private informer?: k8s.Informer<TfeCluster> & k8s.ObjectCache<TfeCluster>;
  private relistTimer?: NodeJS.Timeout;
  private restartTimer?: NodeJS.Timeout;
  private failures = 0;
  private readonly retired = new WeakSet<object>();
  private stopped = false;
  /** resourceVersion of every object last passed to onChange: a relist only passes on what changed. */
  private readonly seen = new Map<string, string | undefined>();
  synced = false;
  restarts = 0;

  constructor(
    private readonly kc: k8s.KubeConfig,
    private readonly opts: WatchOptions,
  ) {}

  private path(): string {
    return this.opts.namespace ? `/apis/${GROUP}/${VERSION}/namespaces/${this.opts.namespace}/${PLURAL}` : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.startInformer();
  }

  get(namespace: string, name: string): TfeCluster | undefined {
    return this.informer?.get(name, namespace);
  }

  /** How many TfeClusters the watch knows. */
  get size(): number {
    return this.seen.size;
  }

  list(): TfeCluster[] {
    return [...(this.informer?.list() ?? [])];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.relistTimer);
    clearTimeout(this.restartTimer);
    if (this.informer) this.retired.add(this.informer);
    await this.informer?.stop().catch(() => {});
  }

  private async startInformer(): Promise<void> {
    const custom = this.kc.makeApiClient(k8s.CustomObjectsApi);
    const ns = this.opts.namespace;
    const list = async () =>
      (ns
        ? await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL })
        : await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as TfeClusterList;
    const informer = k8s.makeInformer<TfeCluster>(this.kc, this.path(), list as never);
    const changed = (obj: TfeCluster) => {
      const key = keyOf(obj);
      // A relist (a fresh informer) hands over every object again: only the ones that changed
      // while the watch was down are news. The others are re-observed on their resync timer;
      // re-observing 1000 clusters at every relist would cost 10 000 AWS reads.
      if (this.seen.has(key) && this.seen.get(key) === obj.metadata.resourceVersion) return;
      this.seen.set(key, obj.metadata.resourceVersion);
      this.opts.onChange(key, obj);
    };
    const deleted = (key: string) => {
      this.seen.delete(key);
      this.opts.onChange(key, undefined);
    };
    informer.on('add', changed);
    informer.on('update', changed);
    informer.on('delete', (obj) => deleted(keyOf(obj)));
    // An informer this watchdog stopped (relist, restart) reports its aborted request as an
    // error; only the current one's errors mean the watch broke.
    // client-node's start() resolves even when its list failed (it reports the failure as an
    // 'error' event first): such a start has synced nothing.
    let failed = false;
    informer.on('error', (err) => {
      failed = true;
      if (!this.retired.has(informer)) this.onError(err);
    });
    this.informer = informer;
    try {
      await informer.start();
    } catch (err) {
      this.onError(err);
      return;
    }
    if (failed) return; // onError restarts it
    if (this.stopped || this.informer !== informer) {
      // stop() (or another restart) came while this one was listing: it must not live on.
      this.retired.add(informer);
      await informer.stop().catch(() => {});
      return;
    }
    this.failures = 0;
    if (!this.synced) {
      this.synced = true;
      this.opts.onSynced?.();
    }
    const present = new Set<string>();
    for (const obj of informer.list()) {
      present.add(keyOf(obj));
      changed(obj);
    }
    // Deleted while the watch was down: no delete event came.
    for (const key of [...this.seen.keys()]) if (!present.has(key)) deleted(key);
    this.scheduleRelist();
  }

  private scheduleRelist() {
    clearTimeout(this.relistTimer);
    const every = this.opts.relistMs ?? 5 * 60_000;
    this.relistTimer = setTimeout(() => void this.restart('periodic relist'), every);
    this.relistTimer.unref?.();
  }

  private onError(err: unknown) {
    if (this.stopped) return;
    this.failures++;
    const delay = Math.min(30_000, 500 * 2 ** Math.min(this.failures - 1, 6));
    this.opts.log.warn({ err: (err as Error)?.message ?? String(err), retryInMs: delay }, 'watch: informer stopped; restarting');
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.restart('error'), delay);
    this.restartTimer.unref?.();
  }

  private async restart(why: string) {
    if (this.stopped) return;
    this.restarts++;
    this.opts.onRestart?.(why === 'error' ? 'error' : 'relist');
    this.opts.log.debug({ why }, 'watch: relisting');
    const old = this.informer;
    if (old) this.retired.add(old);
    await old?.stop().catch(() => {});
    if (this.stopped) return; // stop() came while the old informer was stopping
    await this.startInformer();
  }
}
