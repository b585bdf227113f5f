// TermFence: work carries the term it started in through async calls; a later term refuses it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TermFence, isNotLeaderError } from './fence.ts';
import { NotLeaderError } from './leader.ts';

function fakeElector() {
  const s = { leading: true, term: 1 };
  return {
    s,
    currentTerm: () => (s.leading ? s.term : undefined),
    assertLeader(term?: number) {
      if (!s.leading) throw new NotLeaderError('me', undefined);
      if (term !== undefined && term !== s.term) throw new NotLeaderError('me', undefined, `term ${term} ended; current term is ${s.term}`);
    },
  };
}

test('work started in term 1 is refused in term 2, across awaits; new work runs in term 2', async () => {
  const e = fakeElector();
  const fence = new TermFence(e);
  let resume!: () => void;
  const paused = new Promise<void>((r) => (resume = r));
  const work = fence.run(async () => {
    fence.check(); // term 1: fine
    assert.equal(fence.term, 1);
    await paused;
    await new Promise((r) => setTimeout(r, 5));
    fence.check(); // by now term 2: refused
  });
  e.s.leading = false;
  e.s.leading = true;
  e.s.term = 2;
  resume();
  await assert.rejects(work, (err) => isNotLeaderError(err) && /term 1 ended/.test((err as Error).message));
  await fence.run(async () => fence.check());
  assert.equal(fence.term, undefined, 'no term outside run()');
  fence.check(); // outside any work: only "leading now"
});

test('run() refuses to start work when not leading (a rejection, not a throw); check() refuses outside work too', async () => {
  const e = fakeElector();
  e.s.leading = false;
  const fence = new TermFence(e);
  let ran = false;
  await assert.rejects(fence.run(async () => void (ran = true)), NotLeaderError);
  assert.equal(ran, false);
  assert.throws(() => fence.check(), NotLeaderError);
});
