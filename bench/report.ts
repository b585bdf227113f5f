// What a benchmark prints at the end: its tables, on stdout and, when $BENCH_REPORT names a
// file, appended there as well (`make bench` gathers every script's tables into one report,
// headed by the machine they were measured on).
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { cpus, loadavg, totalmem } from 'node:os';

export function report(lines: string[]): void {
  const text = lines.join('\n');
  console.log(text);
  if (process.env.BENCH_REPORT) appendFileSync(process.env.BENCH_REPORT, `${text}\n`);
}

/** The p-th percentile of ascending `sorted` (nearest rank). */
export function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** One line about the machine: cores, memory, Node.js, load average now. */
export function machine(): string {
  const c = cpus();
  return `${c.length} cores (${c[0]?.model.trim() ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node.js ${process.version}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`;
}

// `node --import tsx bench/report.ts --start`: begins $BENCH_REPORT with the date and the machine.
if (process.argv[1]?.endsWith('report.ts') && process.argv[2] === '--start') {
  const file = process.env.BENCH_REPORT;
  if (!file) throw new Error('BENCH_REPORT is not set');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `tfe-operator benchmarks, ${new Date().toISOString()}\n${machine()}\n\n`);
}
