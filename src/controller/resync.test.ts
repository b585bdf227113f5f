import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resyncDelayMs, resyncPeriodMs } from './resync.ts';

test('few clusters: re-observed every --resync', () => {
  assert.equal(resyncPeriodMs(60_000, 1, 5), 60_000);
  assert.equal(resyncPeriodMs(60_000, 300, 5), 60_000); // 300 / 5 per second = 60 s
  assert.equal(resyncPeriodMs(60_000, 0, 5), 60_000);
});

test('many clusters: the period stretches so that at most --resync-rate are re-observed per second', () => {
  assert.equal(resyncPeriodMs(60_000, 301, 5), 60_200);
  assert.equal(resyncPeriodMs(60_000, 1000, 5), 200_000);
  assert.equal(resyncPeriodMs(60_000, 1000, 50), 60_000);
  // In total: N clusters each every period = N / period per second <= rate.
  for (const n of [1, 10, 299, 300, 301, 1000, 5000]) assert.ok(n / (resyncPeriodMs(60_000, n, 5) / 1000) <= 5, `N=${n}`);
});

test('the delay is the period +-10%, spread by the random source', () => {
  assert.equal(resyncDelayMs(60_000, 1, 5, () => 0), 54_000);
  assert.equal(resyncDelayMs(60_000, 1, 5, () => 0.5), 60_000);
  assert.equal(resyncDelayMs(60_000, 1000, 5, () => 0.999999), 220_000);
  const seen = new Set(Array.from({ length: 50 }, () => resyncDelayMs(60_000, 1, 5)));
  assert.ok(seen.size > 10, 'jitter with Math.random');
  for (const d of seen) assert.ok(d >= 54_000 && d <= 66_000, String(d));
});

test('a period or rate that is not a positive number is refused, naming the flag', () => {
  assert.throws(() => resyncPeriodMs(0, 1, 5), /--resync must be a number of milliseconds > 0/);
  assert.throws(() => resyncPeriodMs(Number.NaN, 1, 5), /--resync must be a number of milliseconds > 0/);
  assert.throws(() => resyncPeriodMs(60_000, 1, 0), /--resync-rate must be a number of re-observations per second > 0/);
  assert.throws(() => resyncPeriodMs(60_000, 1, -1), /--resync-rate must be a number of re-observations per second > 0/);
});
