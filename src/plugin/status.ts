// `kubectl tfe status`: one TfeCluster's status as a tree a person reads at a glance. Pure:
// (TfeCluster, now) -> text, from the object's status only (no AWS call), so it works with
// nothing but read access to TfeClusters and can be table-tested.

import { ANNOTATION_ABORT, ANNOTATION_APPROVE, type Condition, type TfeCluster } from '../api/types.ts';
import { parseDuration } from '../api/defaults.ts';

/** The migration's steps, in order, and the condition each one turns True. */
export const MIGRATION_STEPS = [
  { step: 'Validate', condition: 'Validated' },
  { step: 'Redis', condition: 'RedisReady' },
  { step: 'SingleNode', condition: 'SingleNodeHealthy' },
  { step: 'ScaleOut', condition: 'ScaledOut' },
  { step: 'Done', condition: 'Ready' },
] as const;

export const MARK = { done: '✓', current: '▶', pending: '·', failed: '✗' } as const;

export interface RenderOptions {
  /** Milliseconds since the epoch; default Date.now(). */
  now?: number;
  /** ANSI colours (only for a terminal). */
  color?: boolean;
}

type Paint = (s: string) => string;
interface Palette {
  bold: Paint;
  dim: Paint;
  green: Paint;
  yellow: Paint;
  red: Paint;
  cyan: Paint;
}

function palette(on: boolean): Palette {
  const c = (code: string): Paint => (s) => (on ? `\u001b[${code}m${s}\u001b[0m` : s);
  return { bold: c('1'), dim: c('2'), green: c('32'), yellow: c('33'), red: c('31'), cyan: c('36') };
}

/**
 * Text from elsewhere (health check bodies, Redis and AWS errors, messages in status) made
 * safe for a terminal: ANSI/VT escape sequences (CSI, OSC, DCS, ...) removed whole, then every
 * other C0 control but newline and tab, DEL, C1 controls and the bidirectional overrides
 * (which can make a line read differently from what it holds).
 */
export function stripControl(text: string): string {
  return text
    .replace(/\u001b\[[0-?]*[ -/]*[@-~]/g, '') // CSI ... final byte
    .replace(/\u001b[\]PX^_][\s\S]*?(?:\u0007|\u001b\\|$)/g, '') // OSC, DCS, SOS, PM, APC ... BEL or ST
    .replace(/\u009b[0-?]*[ -/]*[@-~]/g, '') // 8-bit CSI
    .replace(/[\u009d\u0090\u0098\u009e\u009f][\s\S]*?(?:\u0007|\u009c|$)/g, '') // 8-bit OSC, DCS, SOS, PM, APC
    .replace(/\u001b[ -/]*[0-~]?/g, '') // any other escape
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '');
}

/** A copy of a value with every string in it passed through stripControl. */
function stripAll<T>(value: T): T {
  if (typeof value === 'string') return stripControl(value) as T;
  if (Array.isArray(value)) return value.map(stripAll) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [stripControl(k), stripAll(v)])) as T;
  return value;
}

/** "1h02m", "3m05s", "42s". */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '0s';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/**
 * How long the operator waits before it gives up on a wait (status.wait.id), per the spec;
 * undefined when that wait has no deadline. Mirrors the planner's deadlines: node and load
 * balancer health use spec.health.timeout; Redis and draining use spec.rollout.stepDeadline.
 */
export function waitDeadlineMs(cluster: TfeCluster, waitId: string): number | undefined {
  const kind = waitId.split(':')[0];
  try {
    if (['healthy', 'lb', 'validate'].includes(kind)) return parseDuration(cluster.spec.health?.timeout ?? '15m');
    if (['redis', 'drain'].includes(kind)) return parseDuration(cluster.spec.rollout?.stepDeadline ?? '30m');
  } catch {
    return undefined;
  }
  return undefined;
}

function phaseColour(p: Palette, phase: string | undefined): Paint {
  switch (phase) {
    case 'Ready':
      return p.green;
    case 'Degraded':
    case 'RolledBack':
    case 'RollingBack':
      return p.red;
    case 'Paused':
    case 'WaitingForApproval':
      return p.yellow;
    default:
      return p.cyan;
  }
}

/** A tree: each node is a line and children. */
interface TreeNode {
  text: string;
  children?: TreeNode[];
}

function drawTree(nodes: TreeNode[], prefix = ''): string[] {
  const out: string[] = [];
  nodes.forEach((n, i) => {
    const last = i === nodes.length - 1;
    const [first, ...more] = n.text.split('\n');
    out.push(`${prefix}${last ? '└─ ' : '├─ '}${first}`);
    const inner = `${prefix}${last ? '   ' : '│  '}`;
    for (const line of more) out.push(`${inner}${line}`);
    if (n.children?.length) out.push(...drawTree(n.children, inner));
  });
  return out;
}

export function renderStatus(remote: TfeCluster, opts: RenderOptions = {}): string {
  // Everything in the object came from somewhere else: no control character reaches the terminal.
  const cluster = stripAll(remote);
  const now = opts.now ?? Date.now();
  const p = palette(!!opts.color);
  const ns = cluster.metadata.namespace ?? 'default';
  const name = cluster.metadata.name ?? '?';
  const s = cluster.status;
  const conds = new Map<string, Condition>((s?.conditions ?? []).map((c) => [c.type, c]));
  const annotations = cluster.metadata.annotations ?? {};
  const kubectlRef = `${name} -n ${ns}`;

  const head: string[] = [];
  const phase = s?.phase ?? 'Unknown';
  const gen = cluster.metadata.generation;
  head.push(
    `${p.bold(`TfeCluster ${ns}/${name}`)}  ${phaseColour(p, s?.phase)(phase)}` +
      (s?.step ? `  step ${s.step}` : '') +
      (gen !== undefined ? p.dim(`  generation ${gen}${s?.observedGeneration !== undefined ? `, observed ${s.observedGeneration}` : ''}`) : ''),
  );
  if (!s || !s.phase) {
    head.push(
      `No status yet: the operator has not reconciled this TfeCluster. Is it running, leading, and watching namespace ${ns}? (kubectl get lease -A; the operator's /v1/status)`,
    );
    return head.join('\n');
  }
  if (s.message) head.push(s.message);
  if (gen !== undefined && s.observedGeneration !== undefined && s.observedGeneration < gen) {
    head.push(p.yellow(`! the spec changed (generation ${gen}); this status is for generation ${s.observedGeneration}: the operator has not caught up yet`));
  }

  const tree: TreeNode[] = [];

  // --- Problems first: what an on-call person must see.
  const degraded = conds.get('Degraded');
  if (degraded?.status === 'True') {
    tree.push({ text: `${p.red(`${MARK.failed} Degraded`)}  ${degraded.reason}: ${degraded.message}` });
  }
  if (annotations[ANNOTATION_ABORT] === 'true') {
    tree.push({
      text: `${p.red('Abort requested')}  annotation ${ANNOTATION_ABORT}=true: the operator rolls back; remove the annotation (kubectl annotate tfe ${kubectlRef} ${ANNOTATION_ABORT}-) before retrying`,
    });
  }

  // --- Steps.
  const stepIdx = MIGRATION_STEPS.findIndex((x) => x.step === s.step);
  const failed = s.phase === 'Degraded';
  const stepNodes: TreeNode[] = MIGRATION_STEPS.map(({ step, condition }, i) => {
    const c = conds.get(condition);
    let mark: string;
    if (stepIdx >= 0) {
      if (i < stepIdx) mark = c?.status === 'False' ? p.red(MARK.failed) : p.green(MARK.done);
      else if (i === stepIdx) {
        if (failed) mark = p.red(MARK.failed);
        else if (step === 'Done' && s.phase === 'Ready') mark = p.green(MARK.done);
        else mark = p.cyan(MARK.current);
      } else mark = p.dim(MARK.pending);
    } else {
      // A Day-2 step (Upgrade, Scale, Rollback): the migration steps read their conditions.
      mark = c?.status === 'True' ? p.green(MARK.done) : p.dim(MARK.pending);
    }
    let message = c?.message ?? '';
    if (i === stepIdx && (!c || c.reason === 'NotStarted')) message = conds.get('Progressing')?.message ?? '';
    else if (stepIdx >= 0 && i > stepIdx) message = c?.status === 'True' ? message : p.dim('not started');
    else if (step === 'Done' && c?.status !== 'True') message = '';
    let text = `${mark} ${step.padEnd(10)}  ${message}`.trimEnd();
    if (step === 'ScaleOut' && conds.get('ReplicatedUIDisabled')?.reason === 'Disabled' && c?.status !== 'True') {
      text += p.dim(` (Replicated UI disabled)`);
    }
    if (i === stepIdx && s.wait) text += `  ${waitText(cluster, now, p)}`;
    return { text };
  });
  if (stepIdx < 0 && s.step) {
    const finished = s.phase === 'Ready' || s.phase === 'RolledBack';
    const mark = failed ? p.red(MARK.failed) : finished ? p.green(MARK.done) : p.cyan(MARK.current);
    stepNodes.push({ text: `${mark} ${s.step.padEnd(10)}  ${s.message ?? ''}${s.wait ? `  ${waitText(cluster, now, p)}` : ''}` });
  }
  tree.push({ text: p.bold('Steps'), children: stepNodes });

  // --- Nodes.
  const nodes = s.nodes;
  if (nodes) {
    const instances = nodes.instances ?? [];
    const ready = nodes.ready ?? instances.filter((i) => i.healthy).length;
    const desired = nodes.desired ?? 0;
    const summary = `${ready} ready of ${desired} desired` + (instances.length !== desired ? `, ${instances.length} running` : '');
    tree.push({
      text: `${p.bold('Nodes')}  ${ready === desired && instances.length === desired ? p.green(summary) : summary}`,
      children: instances.length
        ? instances.map((i) => ({
            text:
              `${i.healthy ? p.green(MARK.done) : p.red(MARK.failed)} ${i.id}  ${i.healthy ? 'healthy  ' : 'unhealthy'}  launch template v${i.launchTemplateVersion || '?'}` +
              (!i.healthy && i.message ? `  ${p.dim(i.message)}` : ''),
          }))
        : [{ text: p.dim('no instance running') }],
    });
  }

  // --- Redis.
  const r = s.redis;
  if (r && (r.endpoint || r.replicationGroupId)) {
    const where = r.endpoint ? `${r.endpoint}:${r.port ?? 6379}` : p.dim('endpoint not known yet');
    const what = r.replicationGroupId ? `ElastiCache ${r.replicationGroupId}${r.managed ? ', created by the operator' : ', not created by the operator'}` : 'external Redis';
    tree.push({ text: `${p.bold('Redis')}  ${where}  ${p.dim(`(${what})`)}` });
  } else {
    tree.push({ text: `${p.bold('Redis')}  ${p.dim('not provisioned yet')}` });
  }

  // --- Launch template.
  const lt = s.launchTemplate;
  if (lt) {
    const parts = [`baseline v${lt.baselineVersion ?? '?'}`, `current v${lt.currentVersion ?? '?'}`];
    if (lt.lastGoodVersion !== undefined) parts.push(`last good v${lt.lastGoodVersion}`);
    tree.push({ text: `${p.bold('Launch template')}  ${lt.id ?? '?'}: ${parts.join(', ')}` });
  }

  // --- Holds: approval and pause.
  if (s.approval) {
    const approved = annotations[ANNOTATION_APPROVE] === s.approval.waitingFor;
    tree.push({
      text:
        `${p.yellow('Approval')}  waiting for ${p.bold(s.approval.waitingFor)}${s.approval.description ? `: ${s.approval.description}` : ''}\n` +
        (approved ? p.dim('approved; the operator has not picked it up yet') : `approve: kubectl tfe approve ${kubectlRef}`),
    });
  }
  if (cluster.spec.rollout?.paused) {
    tree.push({ text: `${p.yellow('Paused')}  spec.rollout.paused is true; resume: kubectl tfe resume ${kubectlRef}` });
  }
  const drifted = conds.get('Drifted');
  if (drifted?.status === 'True') tree.push({ text: `${p.yellow('Drift')}  ${drifted.message}` });

  // --- Last action.
  if (s.lastAction) {
    const age = s.lastAction.time ? ` ${formatAge(now - Date.parse(s.lastAction.time))} ago` : '';
    tree.push({ text: `${p.bold('Last action')}  ${s.lastAction.kind}${age}${s.lastAction.message ? `: ${s.lastAction.message}` : ''}` });
  }

  return [...head, ...drawTree(tree)].join('\n');
}

function waitText(cluster: TfeCluster, now: number, p: Palette): string {
  const w = cluster.status!.wait!;
  const waited = now - Date.parse(w.since);
  const limit = waitDeadlineMs(cluster, w.id);
  const policy = cluster.spec.rollout?.failurePolicy ?? 'Pause';
  return p.dim(limit === undefined ? `(waiting ${formatAge(waited)})` : `(waiting ${formatAge(waited)} of ${formatAge(limit)}, then ${policy === 'Rollback' ? 'roll back' : 'stop'})`);
}

/** One line per TfeCluster, for `kubectl tfe status` without a name. */
export function renderList(remote: TfeCluster[], opts: { allNamespaces?: boolean } = {}): string {
  if (remote.length === 0) return 'No TfeCluster found.';
  const clusters = stripAll(remote);
  const rows = clusters.map((c) => [
    ...(opts.allNamespaces ? [c.metadata.namespace ?? ''] : []),
    c.metadata.name ?? '',
    c.status?.phase ?? '-',
    c.status?.step ?? '-',
    c.status?.nodes ? `${c.status.nodes.ready ?? 0}/${c.status.nodes.desired ?? 0}` : '-',
    c.status?.approval?.waitingFor ?? '',
    c.status?.message ?? '',
  ]);
  const header = [...(opts.allNamespaces ? ['NAMESPACE'] : []), 'NAME', 'PHASE', 'STEP', 'NODES', 'APPROVAL', 'MESSAGE'];
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return all.map((r) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
}
