// Terraform Enterprise releases for the Flexible Deployment Options (FDO), the operator's own
// reading of HashiCorp's release notes (hashicorp/web-unified-docs,
// content/terraform-enterprise/v202503-1/docs/enterprise/releases/index.mdx: the Replicated tab
// lists each release sequence next to its name; .../2.0.x/.../releases/1.2.x and 2.0.x:
// readiness and /_health_check by release, the 2.0 startup check). docs/fdo.md has the tables.

/**
 * Replicated release sequence -> FDO image tag, for the releases that shipped both ways
 * (v202401-1 .. v202503-1; v202503-1, sequence 811, was the last Replicated release).
 */
export const SEQUENCE_TO_TAG: Readonly<Record<number, string>> = {
  751: 'v202401-1', 757: 'v202401-2', 759: 'v202402-1', 760: 'v202402-2', 764: 'v202404-2',
  772: 'v202405-1', 776: 'v202406-1', 779: 'v202407-1', 781: 'v202408-1', 787: 'v202409-1',
  789: 'v202409-2', 791: 'v202409-3', 798: 'v202410-1', 804: 'v202411-1', 805: 'v202411-2',
  806: 'v202501-1', 808: 'v202502-1', 810: 'v202502-2', 811: 'v202503-1',
};

/** The Replicated sequence of an FDO tag that also shipped as Replicated. */
export function sequenceOfTag(tag: string): number | undefined {
  const hit = Object.entries(SEQUENCE_TO_TAG).find(([, t]) => t === tag);
  return hit ? Number(hit[0]) : undefined;
}

type Parsed = { calver: true; year: number; month: number; n: number } | { calver: false; major: number; minor: number; patch: number };

export function parseTag(tag: string): Parsed | undefined {
  let m = /^v(\d{4})(\d{2})-(\d+)$/.exec(tag);
  if (m) return { calver: true, year: Number(m[1]), month: Number(m[2]), n: Number(m[3]) };
  m = /^(\d+)\.(\d+)\.(\d+)$/.exec(tag);
  if (m) return { calver: false, major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
  return undefined;
}

/** Order of two tags: monthly releases (vYYYYMM-N) come before the semantic versions (1.0.0 on). */
export function compareTags(a: string, b: string): number {
  const x = parseTag(a);
  const y = parseTag(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  if (x.calver !== y.calver) return x.calver ? -1 : 1;
  const key = (p: Parsed) => (p.calver ? [p.year, p.month, p.n] : [p.major, p.minor, p.patch]);
  const [kx, ky] = [key(x), key(y)];
  for (let i = 0; i < 3; i++) if (kx[i] !== ky[i]) return kx[i]! - ky[i]!;
  return 0;
}

/** Whether the tag is a semantic version of at least major.minor.patch. */
export function tagAtLeast(tag: string, major: number, minor = 0, patch = 0): boolean {
  const p = parseTag(tag);
  return !!p && !p.calver && compareTags(tag, `${major}.${minor}.${patch}`) >= 0;
}

/**
 * The per-node health path of a release: /api/v1/health/readiness from 1.2.1 (1.2.0 added it but
 * answers 301 unless Host is TFE_HOSTNAME, fixed in 1.2.1; /_health_check is deprecated in 1.2
 * and answers 410 from 2.0), /_health_check before.
 */
export function healthPath(tag: string): string {
  return tagAtLeast(tag, 1, 2, 1) ? '/api/v1/health/readiness' : '/_health_check';
}

/**
 * From 2.0, TFE's startup checks fail while a node of another version ran in the last 10 seconds
 * (2.0.0 release notes): every old node must be gone, and 10 seconds more, before a new one starts.
 */
export function needsQuietPeriod(tag: string): boolean {
  return tagAtLeast(tag, 2);
}
export const VERSION_QUIET_PERIOD_MS = 10_000;

/** A TFE release: a Replicated release sequence, or an FDO image tag. */
export type Release = { kind: 'Replicated'; sequence: number } | { kind: 'Docker'; tag: string };

export function releaseLabel(r: Release): string {
  return r.kind === 'Replicated' ? `release sequence ${r.sequence}${SEQUENCE_TO_TAG[r.sequence] ? ` (${SEQUENCE_TO_TAG[r.sequence]})` : ''}` : `image tag ${r.tag}`;
}

/**
 * Order of two releases; across kinds through SEQUENCE_TO_TAG (a Replicated release older than
 * the table is older than every FDO tag; one newer than the table cannot be placed: undefined).
 */
export function compareReleases(a: Release, b: Release): number | undefined {
  if (a.kind === 'Replicated' && b.kind === 'Replicated') return a.sequence - b.sequence;
  if (a.kind === 'Docker' && b.kind === 'Docker') return compareTags(a.tag, b.tag);
  const asTag = (r: Release): string | null | undefined => {
    if (r.kind === 'Docker') return r.tag;
    if (SEQUENCE_TO_TAG[r.sequence]) return SEQUENCE_TO_TAG[r.sequence];
    return r.sequence < Math.min(...Object.keys(SEQUENCE_TO_TAG).map(Number)) ? null : undefined;
  };
  const [x, y] = [asTag(a), asTag(b)];
  if (x === undefined || y === undefined) return undefined;
  if (x === null) return y === null ? 0 : -1;
  if (y === null) return 1;
  return compareTags(x, y);
}
