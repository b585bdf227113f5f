// Leader election metrics on the operator's prom-client registry.

import { Counter, Gauge, type Registry } from 'prom-client';
import type { LeaderElector } from './leader.ts';

export function registerHaMetrics(registry: Registry, elector: LeaderElector): void {
  new Gauge({
    name: 'tfe_operator_ha_is_leader',
    help: '1 when this replica holds the leader Lease and its last renewal is within the renew deadline',
    labelNames: ['identity'],
    registers: [registry],
    collect() {
      this.set({ identity: elector.identity }, elector.isLeader() ? 1 : 0);
    },
  });
  const changes = new Counter({
    name: 'tfe_operator_ha_leadership_changes_total',
    help: 'Times this replica started or stopped leading',
    labelNames: ['identity', 'change'],
    registers: [registry],
  });
  changes.inc({ identity: elector.identity, change: 'started' }, 0);
  changes.inc({ identity: elector.identity, change: 'stopped' }, 0);
  elector.on('startedLeading', () => changes.inc({ identity: elector.identity, change: 'started' }));
  elector.on('stoppedLeading', () => changes.inc({ identity: elector.identity, change: 'stopped' }));
}
