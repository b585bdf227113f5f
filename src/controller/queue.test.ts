import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from './queue.ts';

const tick = () => new Promise((r) => setImmediate(r));

/** A queue whose reconciles finish when told to; `ran` lists keys in the order they started. */
function gatedQueue(workers: number, result: (key: string) => { requeueAfterMs?: number; background?: boolean } = () => ({})) {
  const ran: string[] = [];
  const gates: Array<() => void> = [];
  const q = new WorkQueue(
    (key) =>
      new Promise((resolve) => {
        ran.push(key);
        gates.push(() => resolve(result(key)));
      }),
    { workers },
  );
  const finishOne = async () => {
    gates.shift()?.();
    await tick();
  };
  return { q, ran, finishOne };
}

test('a change goes ahead of periodic re-observations already waiting', async () => {
  const { q, ran, finishOne } = gatedQueue(1);
  q.add('busy');
  for (const k of ['r1', 'r2', 'r3']) q.add(k, 'background');
  q.add('changed');
  assert.equal(q.depth, 4);
  for (let i = 0; i < 5; i++) await finishOne();
  assert.deepEqual(ran, ['busy', 'changed', 'r1', 'r2', 'r3']);
});

test('a key waiting in the background lane moves up when it changes, and runs once', async () => {
  const { q, ran, finishOne } = gatedQueue(1);
  q.add('busy');
  for (const k of ['r1', 'r2', 'r3']) q.add(k, 'background');
  q.add('r3');
  q.add('r3', 'background'); // a later resync of a key already queued does not move it back
  assert.equal(q.depth, 3);
  for (let i = 0; i < 5; i++) await finishOne();
  assert.deepEqual(ran, ['busy', 'r3', 'r1', 'r2']);
});

test('a background result requeues into the background lane; a wait into the first lane', async () => {
  const { q, ran, finishOne } = gatedQueue(1, (key) => (key === 'settled' ? { requeueAfterMs: 0, background: true } : key === 'migrating' ? { requeueAfterMs: 0 } : {}));
  const timers = () => new Promise((r) => setTimeout(r, 5));
  q.add('settled');
  q.add('migrating');
  q.add('blocker');
  await finishOne(); // settled: requeued in the background lane; migrating starts
  await timers();
  await finishOne(); // migrating: requeued in the first lane; blocker starts
  await timers();
  await finishOne(); // blocker: the worker takes migrating before settled
  await finishOne();
  assert.deepEqual(ran, ['settled', 'migrating', 'blocker', 'migrating', 'settled']);
  const down = q.shutdown();
  await finishOne();
  await down;
});
