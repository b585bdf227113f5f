// High availability for the operator: leader election on a Lease, a member registry,
// and the wiring with the status server. Overview and wiring: docs/ha.md.

import { CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Authorizer } from '../server/auth.ts';
import { startStatusServer, type StatusServer } from '../server/http.ts';
import type { HaConfig } from './config.ts';
import type { LeaseApi } from './kube.ts';
import { LeaderElector, type LeadershipTerm, type StoppedLeading } from './leader.ts';
import { MemberRegistry, type PortRange } from './members.ts';
import { registerHaMetrics } from './metrics.ts';

export * from './config.ts';
export { LeaderElector, NotLeaderError, LEADER_ADDRESS_ANNOTATION } from './leader.ts';
export type { LeaderInfo, LeadershipTerm, StoppedLeading, LeaderElectorOptions } from './leader.ts';
export { TermFence, isNotLeaderError, type TermSource } from './fence.ts';
export { MemberRegistry, memberLeaseName, parsePortRange, validPeerAddress, MEMBER_LABEL, MEMBER_ADDRESS_ANNOTATION } from './members.ts';
export type { Member, PortRange } from './members.ts';
export type { LeaseApi } from './kube.ts';

export function leaseApi(kubeConfig: KubeConfig): LeaseApi {
  return kubeConfig.makeApiClient(CoordinationV1Api);
}

export interface StartHaOptions {
  kubeConfig: KubeConfig;
  config: HaConfig;
  logger?: Logger;
  registry?: Registry;
  /** Status server bind address and port (the advertised `config.address` must reach it). */
  host?: string;
  port: number;
  /** Who may read /v1/* (see StatusServerOptions.auth). */
  auth?: Authorizer;
  watchNamespace?: string;
  /** Ports a peer's status API may use in a redirect; default the port of the advertised address. */
  peerPorts?: PortRange;
  ready?: () => boolean | Promise<boolean>;
  statusProvider?: (q: { namespace?: string }) => unknown | Promise<unknown>;
  onStartedLeading?: (term: LeadershipTerm) => void;
  onStoppedLeading?: (info: StoppedLeading) => void;
}

export interface HaRuntime {
  elector: LeaderElector;
  members: MemberRegistry;
  server: StatusServer;
  /**
   * Graceful shutdown, after the work loop has stopped: step down (and release the Lease so
   * a follower takes over at once), remove the member Lease, close the server.
   */
  stop(opts?: { release?: boolean }): Promise<void>;
}

/** Starts the status server, the member heartbeat and the election, in that order. */
export async function startHa(opts: StartHaOptions): Promise<HaRuntime> {
  const api = leaseApi(opts.kubeConfig);
  const elector = new LeaderElector({
    api,
    config: opts.config,
    logger: opts.logger,
    onStartedLeading: opts.onStartedLeading,
    onStoppedLeading: opts.onStoppedLeading,
  });
  const members = new MemberRegistry({ api, config: opts.config, leader: elector, logger: opts.logger, peerPorts: opts.peerPorts });
  if (opts.registry) registerHaMetrics(opts.registry, elector);
  const server = await startStatusServer({
    host: opts.host,
    port: opts.port,
    auth: opts.auth,
    watchNamespace: opts.watchNamespace,
    leader: elector,
    members,
    registry: opts.registry,
    ready: opts.ready,
    statusProvider: opts.statusProvider,
    logger: opts.logger,
  });
  members.start();
  elector.start();
  return {
    elector,
    members,
    server,
    async stop(o = {}) {
      await elector.stop({ release: o.release ?? true });
      await members.stop({ remove: true });
      await server.close();
    },
  };
}
