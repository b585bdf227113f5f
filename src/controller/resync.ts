// When a Ready (or otherwise settled) TfeCluster is re-observed next. Each re-observation
// costs about ten AWS read calls; AWS throttles reads per account and region, and the
// account's other tools (Terraform runs, consoles) share that budget. So: every `resyncMs`,
// but with many clusters no more than `maxPerSecond` re-observations per second in total,
// which stretches the period to clusters / maxPerSecond seconds. A +-10% jitter spreads
// clusters that were reconciled together (e.g. all of them after a restart).

export const DEFAULT_RESYNC_RATE = 5;

/** The re-observation period without jitter. */
export function resyncPeriodMs(resyncMs: number, clusters: number, maxPerSecond: number): number {
  if (!(resyncMs > 0)) throw new Error(`--resync must be a number of milliseconds > 0, got ${resyncMs}`);
  if (!(maxPerSecond > 0)) throw new Error(`--resync-rate must be a number of re-observations per second > 0, got ${maxPerSecond}`);
  return Math.max(resyncMs, (Math.max(clusters, 1) / maxPerSecond) * 1000);
}

/** The delay before the next re-observation of one cluster: the period, +-10%. */
export function resyncDelayMs(resyncMs: number, clusters: number, maxPerSecond: number, random: () => number = Math.random): number {
  return Math.round(resyncPeriodMs(resyncMs, clusters, maxPerSecond) * (0.9 + 0.2 * random()));
}
