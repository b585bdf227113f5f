// Member registry without pod-list permission: every replica keeps its own Lease
// `<prefix>-member-<id>` (label tfe.operators.dev/member=true, annotation with its status
// address) and renews it as a heartbeat. Any replica can list the members; the leader
// deletes member Leases that have been stale for a while.

import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { HaConfig } from './config.ts';
import {
  describeError,
  haLogger,
  httpStatus,
  microTime,
  monotonicNow,
  sleep,
  timeKey,
  toMillis,
  withDeadline,
  type LeaseApi,
} from './kube.ts';
import type { LeaderInfo } from './leader.ts';

export const MEMBER_LABEL = 'tfe.operators.dev/member';
/** Separates several operator installations (lease prefixes) in one namespace. */
export const MEMBER_GROUP_LABEL = 'tfe.operators.dev/member-group';
export const MEMBER_ADDRESS_ANNOTATION = 'tfe.operators.dev/address';

export interface Member {
  id: string;
  address: string;
  /** Renewed within its lease duration, by local observation or by its renewTime. */
  healthy: boolean;
  leader: boolean;
  /** Last renewTime written by the member (its own clock), RFC 3339. */
  renewTime?: string;
}

/** What the registry needs from the elector (LeaderElector satisfies it). */
export interface LeaderView {
  readonly identity: string;
  isLeader(): boolean;
  assertLeader(term?: number): void;
  currentLeader(): LeaderInfo | undefined;
}

export interface MemberRegistryOptions {
  api: LeaseApi;
  config: HaConfig;
  leader?: LeaderView;
  logger?: Logger;
  /** Heartbeat (renewal) interval; default leaseDuration / 3. */
  heartbeatMs?: number;
  /** The leader deletes member Leases stale for this long; default 10 x leaseDuration. */
  gcAfterMs?: number;
  /** Ports a peer's status API may listen on (followers redirect there); default the port of `config.address`. */
  peerPorts?: PortRange;
}

export interface PortRange {
  min: number;
  max: number;
}

/** "8080", "8080-8090". */
export function parsePortRange(text: string): PortRange {
  const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5}))?\s*$/.exec(text);
  const min = Number(m?.[1]);
  const max = Number(m?.[2] ?? m?.[1]);
  if (!m || min < 1 || max > 65535 || min > max) throw new Error(`peer ports: "${text}" is not a port or a range of ports (8080, 8080-8090)`);
  return { min, max };
}

/**
 * A peer's status API address as a redirect may name it: http(s), an IP address (no host name
 * for DNS to answer), neither unspecified, link-local (169.254.0.0/16 holds the instance
 * metadata service) nor multicast, a port in `ports`, nothing else (no path, query, user).
 * Returns the normalized base URL, or undefined.
 */
export function validPeerAddress(address: string, ports: PortRange): string | undefined {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const family = isIP(host);
  if (family === 0) return undefined;
  if (family === 4) {
    const [a, b] = host.split('.').map(Number);
    if (a === 0 || (a === 169 && b === 254) || a >= 224) return undefined;
  } else {
    const h = host.toLowerCase();
    if (h === '::' || /^fe[89ab]/.test(h) || h.startsWith('ff') || h.startsWith('::ffff:')) return undefined;
  }
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  if (port < ports.min || port > ports.max) return undefined;
  return `${url.protocol}//${url.host}`;
}


/** A valid Lease name for a member id (ids may carry characters object names may not). */
export function memberLeaseName(prefix: string, id: string): string {
  let s = id.toLowerCase().replace(/[^a-z0-9.-]/g, '-').replace(/^[^a-z0-9]+/, '').replace(/[^a-z0-9]+$/, '');
  if (s !== id || s.length > 180) {
    const hash = createHash('sha256').update(id).digest('hex').slice(0, 8);
    s = `${s.slice(0, 180)}${s ? '-' : ''}${hash}`;
  }
  return `${prefix}-member-${s}`;
}

interface Seen {
  key: string;
  /** Monotonic time the record was seen to change; undefined when only seen once. */
  changedAt: number | undefined;
}

export class MemberRegistry {
  readonly identity: string;
  readonly leaseName: string;
  private readonly api: LeaseApi;
  private readonly cfg: HaConfig;
  private readonly leader: LeaderView | undefined;
  private readonly log: Logger;
  private readonly heartbeatMs: number;
  private readonly gcAfterMs: number;
  private readonly selector: string;
  private readonly peerPorts: PortRange;

  private running = false;
  private stopAc = new AbortController();
  private loop: Promise<void> | undefined;
  private lastBeatOk: number | undefined; // monotonic
  private lastWritten: V1Lease | undefined;
  private lastBeatError = '';
  private seen = new Map<string, Seen>();

  constructor(opts: MemberRegistryOptions) {
    this.api = opts.api;
    this.cfg = opts.config;
    this.leader = opts.leader;
    this.identity = opts.config.identity;
    this.leaseName = memberLeaseName(opts.config.leasePrefix, opts.config.identity);
    this.log = haLogger(opts.logger, opts.config.identity);
    this.heartbeatMs = opts.heartbeatMs ?? Math.max(200, Math.floor(opts.config.leaseDurationMs / 3));
    this.gcAfterMs = opts.gcAfterMs ?? 10 * opts.config.leaseDurationMs;
    this.selector = `${MEMBER_LABEL}=true,${MEMBER_GROUP_LABEL}=${opts.config.leasePrefix}`;
    const own = Number(new URL(opts.config.address || 'http://127.0.0.1:8080').port || 80);
    this.peerPorts = opts.peerPorts ?? { min: own, max: own };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopAc = new AbortController();
    this.loop = this.run().catch((err) => {
      this.log.error({ err: describeError(err) }, 'ha: member heartbeat loop failed');
    });
  }

  /** Stops heartbeating; with `remove` (default true) deletes this replica's member Lease. */
  async stop(opts: { remove?: boolean } = {}): Promise<void> {
    if (this.running) {
      this.running = false;
      this.stopAc.abort();
      await this.loop;
      this.loop = undefined;
    }
    if (opts.remove ?? true) {
      try {
        await withDeadline(this.cfg.renewDeadlineMs, (o) =>
          this.api.deleteNamespacedLease({ name: this.leaseName, namespace: this.cfg.namespace }, o),
        );
      } catch (err) {
        if (httpStatus(err) !== 404) {
          this.log.warn({ err: describeError(err) }, 'ha: failed to remove member lease');
        }
      }
    }
    this.lastBeatOk = undefined;
    this.lastWritten = undefined;
  }

  /** Lists the members (fresh read of the member Leases). Throws when the apiserver cannot be read. */
  async list(): Promise<Member[]> {
    const leases = await this.read();
    return this.toMembers(leases);
  }

  /**
   * Where the member `id` serves its status API, for a redirect: only a live (healthy) member
   * Lease of this operator (its label group), whose name is the one `id` would have (a Lease
   * cannot claim another replica's identity), with an address validPeerAddress accepts.
   */
  async peerAddress(id: string): Promise<string | undefined> {
    const name = memberLeaseName(this.cfg.leasePrefix, id);
    const lease = (await this.read()).find((l) => l.metadata?.name === name && l.spec?.holderIdentity === id);
    if (!lease || this.staleForMs(lease) >= this.durationMs(lease)) return undefined;
    return validPeerAddress(lease.metadata?.annotations?.[MEMBER_ADDRESS_ANNOTATION] ?? '', this.peerPorts);
  }

  // ---------------------------------------------------------------- loop

  private async run(): Promise<void> {
    const stop = this.stopAc.signal;
    while (this.running) {
      const started = monotonicNow();
      await this.heartbeat(stop);
      if (!this.running) break;
      try {
        const leases = await this.read(stop);
        if (this.leader?.isLeader()) await this.collectGarbage(leases, stop);
      } catch (err) {
        if (this.running) this.log.debug({ err: describeError(err) }, 'ha: member list failed');
      }
      await sleep(Math.max(0, started + this.heartbeatMs - monotonicNow()), stop);
    }
  }

  private async heartbeat(stop: AbortSignal): Promise<void> {
    const ref = { name: this.leaseName, namespace: this.cfg.namespace };
    const budget = this.heartbeatMs;
    const sentAt = monotonicNow();
    try {
      // Usually one request: replace our last write (conditional on its resourceVersion);
      // on a conflict or when unknown, read first.
      let current = this.lastWritten;
      this.lastWritten = undefined;
      if (current) {
        try {
          this.lastWritten = await withDeadline(
            budget,
            (o) => this.api.replaceNamespacedLease({ ...ref, body: this.memberLease(current) }, o),
            stop,
          );
        } catch (err) {
          const code = httpStatus(err);
          if (code !== 409 && code !== 404) throw err;
          current = undefined;
        }
      }
      if (!this.lastWritten) {
        try {
          current = await withDeadline(budget, (o) => this.api.readNamespacedLease(ref, o), stop);
        } catch (err) {
          if (httpStatus(err) !== 404) throw err;
        }
        const body = this.memberLease(current);
        this.lastWritten = current
          ? await withDeadline(budget, (o) => this.api.replaceNamespacedLease({ ...ref, body }, o), stop)
          : await withDeadline(budget, (o) => this.api.createNamespacedLease({ namespace: this.cfg.namespace, body }, o), stop);
      }
      this.lastBeatOk = sentAt;
      this.lastBeatError = '';
    } catch (err) {
      if (!this.running) return;
      const msg = describeError(err);
      if (msg !== this.lastBeatError) {
        this.lastBeatError = msg;
        this.log.warn({ err: msg }, 'ha: member heartbeat failed');
      }
    }
  }

  private memberLease(current: V1Lease | undefined): V1Lease {
    const now = microTime();
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        ...(current?.metadata ?? {}),
        name: this.leaseName,
        namespace: this.cfg.namespace,
        labels: {
          ...(current?.metadata?.labels ?? {}),
          [MEMBER_LABEL]: 'true',
          [MEMBER_GROUP_LABEL]: this.cfg.leasePrefix,
        },
        annotations: { ...(current?.metadata?.annotations ?? {}), [MEMBER_ADDRESS_ANNOTATION]: this.cfg.address },
      },
      spec: {
        ...(current?.spec ?? {}),
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.ceil(this.cfg.leaseDurationMs / 1000),
        acquireTime: current?.spec?.acquireTime ?? now,
        renewTime: now,
      },
    };
  }

  private async read(stop?: AbortSignal): Promise<V1Lease[]> {
    const list = await withDeadline(
      this.cfg.renewDeadlineMs,
      (o) => this.api.listNamespacedLease({ namespace: this.cfg.namespace, labelSelector: this.selector }, o),
      stop,
    );
    const now = monotonicNow();
    const names = new Set<string>();
    for (const lease of list.items) {
      const name = lease.metadata?.name ?? '';
      names.add(name);
      const key = `${lease.spec?.holderIdentity ?? ''}|${timeKey(lease.spec?.renewTime)}`;
      const prev = this.seen.get(name);
      if (!prev) this.seen.set(name, { key, changedAt: undefined });
      else if (prev.key !== key) this.seen.set(name, { key, changedAt: now });
    }
    for (const name of this.seen.keys()) if (!names.has(name)) this.seen.delete(name);
    return list.items;
  }

  private durationMs(lease: V1Lease): number {
    return (lease.spec?.leaseDurationSeconds ?? Math.ceil(this.cfg.leaseDurationMs / 1000)) * 1000;
  }

  /** Milliseconds since the member last renewed: the smaller of local observation and its renewTime. */
  private staleForMs(lease: V1Lease): number {
    const name = lease.metadata?.name ?? '';
    if (name === this.leaseName && this.lastBeatOk !== undefined) return monotonicNow() - this.lastBeatOk;
    const seen = this.seen.get(name);
    const local = seen?.changedAt !== undefined ? monotonicNow() - seen.changedAt : Infinity;
    const renew = toMillis(lease.spec?.renewTime);
    const remote = renew !== undefined ? Math.max(0, Date.now() - renew) : Infinity;
    return Math.min(local, remote);
  }

  private toMembers(leases: V1Lease[]): Member[] {
    const leaderId = this.leader?.currentLeader()?.id;
    const members = leases.map((lease): Member => {
      const id = lease.spec?.holderIdentity ?? lease.metadata?.name ?? '';
      const renew = toMillis(lease.spec?.renewTime);
      return {
        id,
        address: lease.metadata?.annotations?.[MEMBER_ADDRESS_ANNOTATION] ?? '',
        healthy: this.staleForMs(lease) < this.durationMs(lease),
        leader: leaderId !== undefined && id === leaderId,
        ...(renew !== undefined ? { renewTime: new Date(renew).toISOString() } : {}),
      };
    });
    return members.sort((a, b) => a.id.localeCompare(b.id));
  }

  private async collectGarbage(leases: V1Lease[], stop: AbortSignal): Promise<void> {
    for (const lease of leases) {
      const name = lease.metadata?.name ?? '';
      if (name === this.leaseName) continue;
      if (this.staleForMs(lease) < this.gcAfterMs) continue;
      try {
        this.leader!.assertLeader();
        await withDeadline(
          this.cfg.renewDeadlineMs,
          (o) =>
            this.api.deleteNamespacedLease(
              {
                name,
                namespace: this.cfg.namespace,
                // Only the version we judged stale: a member that just renewed survives.
                body: { preconditions: { resourceVersion: lease.metadata?.resourceVersion } },
              },
              o,
            ),
          stop,
        );
        this.seen.delete(name);
        this.log.info({ member: lease.spec?.holderIdentity ?? name }, 'ha: removed stale member');
      } catch (err) {
        const code = httpStatus(err);
        if (code !== 404 && code !== 409) {
          this.log.debug({ member: name, err: describeError(err) }, 'ha: stale member removal failed');
        }
        if (!this.leader?.isLeader()) return;
      }
    }
  }
}
