// `tfe-operator render`: the launch template user data the operator will write for a
// TfeCluster, from the TfeCluster and the live world alone (also before any migration, on an
// install the operator did not build), and how it differs from the script the Auto Scaling
// Group's nodes run today. Reads only. No secret value is in either script the operator
// writes; the current script is the user's own launch template, shown as AWS holds it.

import { DescribeLaunchTemplateVersionsCommand } from '@aws-sdk/client-ec2';
import { createTwoFilesPatch } from 'diff';
import { decodeUserData } from '../aws/launchtemplates.ts';
import { renderInstall } from '../install/index.ts';
import type { Preview } from './preview.ts';

export type Stage = 'single' | 'full';

export interface Rendered {
  stage: Stage;
  script: string;
  /** The version the ASG launches now, and its user data. */
  current?: { version: number; script: string };
  /** Unified diff from the current script to `script`. */
  diff?: string;
  notes: string[];
}

/** The next script the operator writes: the single-node one, unless the ASG already runs it. */
export function nextStage(preview: Preview): Stage {
  const t = preview.plan.targets;
  const current = preview.obs.launchTemplate?.versions.find((v) => v.number === preview.obs.asg?.launchTemplateVersion);
  if (!t || !current?.description) return 'single';
  return current.description.includes(t.single.hash) || current.description.includes(t.full.hash) ? 'full' : 'single';
}

export async function renderPreview(preview: Preview, stage = nextStage(preview)): Promise<Rendered | { nothing: string }> {
  const t = preview.plan.targets;
  if (!t) return { nothing: preview.plan.message };
  const target = stage === 'single' ? t.single : t.full;
  const script = renderInstall(target.install);
  const notes = [`stage ${stage}: ${target.description}`];
  if (!t.redisKnown) notes.push('the Redis endpoint is a placeholder until the ElastiCache replication group exists');
  const lt = preview.obs.launchTemplate;
  const version = preview.obs.asg?.launchTemplateVersion;
  if (!lt || version === undefined) return { stage, script, notes };
  const out = await preview.aws.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: lt.id, Versions: [String(version)] }));
  const current = decodeUserData(out.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.UserData);
  const diff = createTwoFilesPatch(`launch template ${lt.name} version ${version}`, `tfe-operator (${stage})`, current, script, undefined, undefined, { context: 3 });
  return { stage, script, current: { version, script: current }, diff, notes };
}
