// The TfeCluster watch: client-node's informer wrapped in a watchdog. client-node 1.4's
// informer has no client-side watch timeout and stops for good after any non-410 error, so
// the watchdog restarts it (with backoff) on error and relists on a fixed period, which
// also re-enqueues every object (a periodic resync that re-observes AWS).

import * as k8s from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type TfeCluster, type TfeClusterList } from '../api/types.ts';
import type { Logger } from '../log.ts';

export interface WatchOptions {
  namespace?: string;
  /** Relist (and resync every object) this often, even when the watch looks fine. */
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
    const changed = (obj: TfeCluster) => this.opts.onChange(keyOf(obj), obj);
    informer.on('add', changed);
    informer.on('update', changed);
    informer.on('delete', (obj) => this.opts.onChange(keyOf(obj), undefined));
    // An informer this watchdog stopped (relist, restart) reports its aborted request as an
    // error; only the current one's errors mean the watch broke.
    informer.on('error', (err) => {
      if (!this.retired.has(informer)) this.onError(err);
    });
    this.informer = informer;
    try {
      await informer.start();
    } catch (err) {
      this.onError(err);
      return;
    }
    this.failures = 0;
    if (!this.synced) {
      this.synced = true;
      this.opts.onSynced?.();
    }
    for (const obj of informer.list()) changed(obj);
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
    await this.startInformer();
  }
}
