// The TfeCluster watch (src/controller/informer.ts) against the real kube-apiserver: the first
// list hands over every object; a relist (a fresh informer) hands over only the objects that
// changed since, and reports the ones deleted meanwhile. Re-observing every cluster at every
// relist would cost ~10 AWS reads per cluster every 5 minutes, past the resync pacing.
import { kubeClients } from '../harness.ts';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ClusterWatch } from '../../src/controller/informer.ts';
import { makeLogger } from '../../src/log.ts';
import { GROUP, PLURAL, VERSION, type TfeCluster } from '../../src/api/types.ts';
import { exampleCluster } from '../e2e/support.ts';
import { clearNamespace } from '../faults/world-extra.ts';
import { kube } from '../e2e/support.ts';

const NS = 'watch-test';
const k = kubeClients();
const crd = { group: GROUP, version: VERSION, namespace: NS, plural: PLURAL };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  await k.core.createNamespace({ body: { metadata: { name: NS } } }).catch((err) => {
    if ((err as { code?: number }).code !== 409) throw err;
  });
  await clearNamespace(kube(), NS);
});
after(async () => clearNamespace(kube(), NS));

test('a relist passes on only what changed or went away while the watch was down', async () => {
  for (const name of ['a', 'b', 'c']) {
    await k.custom.createNamespacedCustomObject({ ...crd, body: exampleCluster((c) => Object.assign(c.metadata, { name, namespace: NS })) });
  }
  const calls: string[] = [];
  let restarts = 0;
  const watch = new ClusterWatch(k.kc, {
    namespace: NS,
    relistMs: 400,
    log: makeLogger({}, 'silent'),
    onChange: (key, obj) => calls.push(`${obj ? 'change' : 'gone'} ${key}`),
    onRestart: () => restarts++,
  });
  await watch.start();
  try {
    for (let i = 0; i < 50 && restarts < 3; i++) await sleep(100);
    assert.ok(restarts >= 3, `relisted ${restarts} times`);
    // Every object once, however many relists.
    assert.deepEqual([...calls].sort(), ['change watch-test/a', 'change watch-test/b', 'change watch-test/c']);

    calls.length = 0;
    await watch.stop(); // the watch is down: what happens now arrives with the next list
    await k.custom.patchNamespacedCustomObject(
      { ...crd, name: 'b', body: [{ op: 'add', path: '/spec/nodes', value: 3 }] },
    );
    await k.custom.deleteNamespacedCustomObject({ ...crd, name: 'c' });
    await watch.start();
    const deadline = Date.now() + 10_000;
    while (calls.length < 2 && Date.now() < deadline) await sleep(50);
    await sleep(1000); // more relists: nothing else
    assert.deepEqual([...calls].sort(), ['change watch-test/b', 'gone watch-test/c']);
    assert.equal(watch.list().length, 2);
  } finally {
    await watch.stop();
  }
});
