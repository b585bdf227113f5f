import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareReleases, compareTags, healthPath, needsQuietPeriod, releaseLabel, SEQUENCE_TO_TAG, sequenceOfTag } from './releases.ts';

test('tags order: monthly releases by date and number, then semantic versions', () => {
  const sorted = ['v202309-1', 'v202401-2', 'v202409-3', 'v202410-1', 'v202503-1', 'v202507-1', '1.0.0', '1.1.0', '1.2.2', '1.10.0', '2.0.0'];
  const shuffled = [...sorted].reverse();
  assert.deepEqual(shuffled.sort(compareTags), sorted);
  assert.equal(compareTags('1.2.2', '1.2.2'), 0);
});

test('the sequence-to-tag table: v202401-1 (751) to v202503-1 (811), the last Replicated release; v202404-1 was withdrawn', () => {
  assert.equal(SEQUENCE_TO_TAG[811], 'v202503-1');
  assert.equal(SEQUENCE_TO_TAG[751], 'v202401-1');
  assert.equal(SEQUENCE_TO_TAG[764], 'v202404-2');
  assert.equal(sequenceOfTag('v202503-1'), 811);
  assert.equal(sequenceOfTag('1.0.0'), undefined);
  // The table rises with the sequence.
  const seqs = Object.keys(SEQUENCE_TO_TAG).map(Number).sort((a, b) => a - b);
  for (let i = 1; i < seqs.length; i++) assert.ok(compareTags(SEQUENCE_TO_TAG[seqs[i - 1]!]!, SEQUENCE_TO_TAG[seqs[i]!]!) < 0, `${seqs[i]}`);
});

test('releases compare across kinds through the table; a sequence before it is older than every tag, one after it cannot be placed', () => {
  assert.equal(compareReleases({ kind: 'Replicated', sequence: 811 }, { kind: 'Docker', tag: 'v202503-1' }), 0);
  assert.ok(compareReleases({ kind: 'Replicated', sequence: 811 }, { kind: 'Docker', tag: '1.0.0' })! < 0);
  assert.ok(compareReleases({ kind: 'Replicated', sequence: 528 }, { kind: 'Docker', tag: 'v202309-1' })! < 0);
  assert.ok(compareReleases({ kind: 'Docker', tag: 'v202401-1' }, { kind: 'Replicated', sequence: 528 })! > 0);
  assert.equal(compareReleases({ kind: 'Replicated', sequence: 900 }, { kind: 'Docker', tag: '1.0.0' }), undefined);
  assert.ok(compareReleases({ kind: 'Replicated', sequence: 528 }, { kind: 'Replicated', sequence: 550 })! < 0);
  assert.equal(releaseLabel({ kind: 'Replicated', sequence: 811 }), 'release sequence 811 (v202503-1)');
  assert.equal(releaseLabel({ kind: 'Docker', tag: '2.0.0' }), 'image tag 2.0.0');
});

test('health path and the 2.0 quiet period by release', () => {
  assert.equal(healthPath('v202503-1'), '/_health_check');
  assert.equal(healthPath('1.2.0'), '/_health_check'); // readiness answers 301 without TFE_HOSTNAME as Host (fixed in 1.2.1)
  assert.equal(healthPath('1.2.1'), '/api/v1/health/readiness');
  assert.equal(healthPath('2.0.0'), '/api/v1/health/readiness');
  assert.deepEqual(['v202507-1', '1.2.2', '2.0.0', '2.1.3'].map(needsQuietPeriod), [false, false, true, true]);
});
