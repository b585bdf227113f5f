// Kubernetes Events on the TfeCluster (core/v1), for `kubectl describe` and `kubectl get events`.

import type { TfeCluster } from '../api/types.ts';
import type { EventSpec } from '../controller/record.ts';
import type { Kube } from './client.ts';

export function eventEmitter(kube: Kube, component: string, instance: string) {
  return async (cluster: TfeCluster, e: EventSpec) => {
    const now = new Date();
    const ns = cluster.metadata.namespace!;
    await kube.core.createNamespacedEvent({
      namespace: ns,
      body: {
        metadata: { generateName: `${cluster.metadata.name}.`, namespace: ns },
        involvedObject: {
          apiVersion: cluster.apiVersion,
          kind: cluster.kind ?? 'TfeCluster',
          name: cluster.metadata.name,
          namespace: ns,
          uid: cluster.metadata.uid,
          resourceVersion: cluster.metadata.resourceVersion,
        },
        type: e.type,
        reason: e.reason,
        message: e.message.slice(0, 1024),
        source: { component, host: instance },
        reportingComponent: component,
        reportingInstance: instance,
        firstTimestamp: now,
        lastTimestamp: now,
        eventTime: undefined,
        count: 1,
      },
    });
  };
}
