// Builds (or finds) kube-apiserver and etcd; prints where they are and how long it took.
import { cacheDir, ensureBinaries, versions } from './controlplane-bin.ts';

const v = versions();
const r = await ensureBinaries();
const how = r.built.length ? `built ${r.built.join(', ')}` : 'already present, nothing built';
console.log(`control plane kube-apiserver ${v.kubernetes}, etcd ${v.etcd}: ${how} in ${(r.ms / 1000).toFixed(1)} s`);
console.log(`  kube-apiserver ${r.kubeApiserver}\n  etcd           ${r.etcd}\n  kubectl        ${r.kubectl}\n  cache          ${cacheDir()}`);
