// The install kinds (./kind.ts) and how to find the one for a spec, an install or a script.

import type { InstallKindName } from '../api/types.ts';
import { docker } from './docker.ts';
import type { AnyInstall, InstallKind } from './kind.ts';
import { healthPath, type Release } from './releases.ts';
import { replicated } from './replicated.ts';

export const KINDS: readonly InstallKind[] = [replicated, docker];

export function kindNamed(name: InstallKindName | undefined): InstallKind {
  return name === 'Docker' ? docker : replicated;
}

export function kindOf(install: AnyInstall): InstallKind {
  return KINDS.find((k) => k.owns(install))!;
}

export function renderInstall(install: AnyInstall): string {
  return kindOf(install).render(install);
}

/** Reads an operator-written script of any kind back; ForeignUserDataError for anything else. */
export function parseInstall(script: string): AnyInstall {
  const kind = KINDS.find((k) => k !== replicated && k.recognises(script)) ?? replicated;
  return kind.parse(script);
}

export function releaseOf(install: AnyInstall | undefined): Release | undefined {
  return install ? kindOf(install).releaseOf(install) : undefined;
}

/** The node health path of a release: FDO's readiness endpoint where the release has it. */
export function nodeHealthPath(release: Release | undefined): string {
  return release?.kind === 'Docker' ? healthPath(release.tag) : '/_health_check';
}

/**
 * The release a script the operator did not write appears to install: "ReleaseSequence": N in its
 * replicated.conf (also inside base64), or the terraform-enterprise image tag it runs. A hint
 * for checks that need the running release of an adopted install; never rendered from.
 */
export function scanRelease(texts: string[]): Release | undefined {
  for (const t of texts) {
    const seq = /"ReleaseSequence"\s*:\s*(\d+)/.exec(t);
    if (seq) return { kind: 'Replicated', sequence: Number(seq[1]) };
    const tag = /hashicorp\/terraform-enterprise:(v\d{6}-\d+|\d+\.\d+\.\d+)\b/.exec(t);
    if (tag) return { kind: 'Docker', tag: tag[1]! };
  }
  return undefined;
}

export type { AnyInstall, InstallKind };
