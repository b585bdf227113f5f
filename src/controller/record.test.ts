import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TfeClusterStatus } from '../api/types.ts';
import { eventsFor } from './record.ts';

const at = '2026-11-21T10:00:00Z';
function status(drifted: { status: 'True' | 'False'; reason: string; message: string }, phase = 'Ready'): TfeClusterStatus {
  return {
    phase,
    step: 'Done',
    conditions: [{ type: 'Drifted', lastTransitionTime: at, ...drifted }],
  } as TfeClusterStatus;
}

test('a Warning Event Drifted when drift is first seen, and when it turns from reported to corrected', () => {
  const none = status({ status: 'False', reason: 'NoDrift', message: 'ok' });
  const reported = status({ status: 'True', reason: 'DriftReported', message: 'the Auto Scaling Group size is min 2 / max 3 / desired 3, not 2' });
  const corrected = status({ status: 'True', reason: 'DriftCorrected', message: 'the Auto Scaling Group size is min 2 / max 3 / desired 3, not 2 (restoring the declared state)' }, 'Migrating');
  const restored = status({ status: 'False', reason: 'DriftRestored', message: '... (restored)' });

  const first = eventsFor(none, reported).filter((e) => e.reason === 'Drifted');
  assert.deepEqual(first, [{ type: 'Warning', reason: 'Drifted', message: reported.conditions![0].message }]);
  assert.deepEqual(eventsFor(reported, reported).filter((e) => e.reason === 'Drifted'), [], 'no repeat while it stays the same');
  assert.equal(eventsFor(reported, corrected).filter((e) => e.reason === 'Drifted').length, 1);
  assert.equal(eventsFor(corrected, corrected).filter((e) => e.reason === 'Drifted').length, 0);
  assert.equal(eventsFor(corrected, restored).filter((e) => e.reason === 'Drifted').length, 0);
});
