// Launch template adapter: read every version with its user data parsed, and create a new
// version copied from a source version with new user data (UserData base64, as AWS wants).

import {
  CreateLaunchTemplateVersionCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  type LaunchTemplateVersion,
  type RequestLaunchTemplateData,
} from '@aws-sdk/client-ec2';
import type { AwsClients } from './clients.ts';
import type { ObservedLaunchTemplate, ObservedTemplateVersion } from '../migration/observation.ts';
import { parseInstall, renderInstall, scanRelease, type AnyInstall } from '../install/index.ts';
import { userDataTexts } from '../tfe/userdata-scan.ts';

export interface LaunchTemplateRef {
  id?: string;
  name?: string;
}

function isNotFound(err: unknown): boolean {
  const name = (err as Error)?.name ?? '';
  return /NotFound|InvalidLaunchTemplateName|InvalidLaunchTemplateId/.test(name) || /does not exist|not found/i.test((err as Error)?.message ?? '');
}

export async function describeLaunchTemplate(aws: AwsClients, ref: LaunchTemplateRef): Promise<ObservedLaunchTemplate & { defaultVersion: number } | undefined> {
  let t;
  try {
    const out = await aws.ec2.send(
      new DescribeLaunchTemplatesCommand(ref.id ? { LaunchTemplateIds: [ref.id] } : { LaunchTemplateNames: [ref.name!] }),
    );
    t = out.LaunchTemplates?.[0];
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  if (!t) return undefined;
  const versions: ObservedTemplateVersion[] = [];
  let token: string | undefined;
  do {
    const out = await aws.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: t.LaunchTemplateId, NextToken: token }));
    for (const v of out.LaunchTemplateVersions ?? []) versions.push(toObserved(v));
    token = out.NextToken;
  } while (token);
  versions.sort((a, b) => a.number - b.number);
  return {
    id: t.LaunchTemplateId!,
    name: t.LaunchTemplateName!,
    latestVersion: t.LatestVersionNumber ?? versions.at(-1)?.number ?? 1,
    defaultVersion: t.DefaultVersionNumber ?? 1,
    versions,
  };
}

export function decodeUserData(raw: string | undefined): string {
  if (!raw) return '';
  return Buffer.from(raw, 'base64').toString('utf8');
}

function toObserved(v: LaunchTemplateVersion): ObservedTemplateVersion {
  const data = v.LaunchTemplateData ?? {};
  const groups = [...(data.SecurityGroupIds ?? []), ...(data.NetworkInterfaces ?? []).flatMap((n) => n.Groups ?? [])];
  const observed: ObservedTemplateVersion = { number: v.VersionNumber!, description: v.VersionDescription, securityGroupIds: groups };
  const profile = data.IamInstanceProfile;
  if (profile?.Arn || profile?.Name) observed.instanceProfile = { ...(profile.Arn ? { arn: profile.Arn } : {}), ...(profile.Name ? { name: profile.Name } : {}) };
  const script = decodeUserData(data.UserData);
  try {
    observed.install = parseInstall(script);
  } catch (err) {
    observed.foreignReason = (err as Error).message;
    const release = scanRelease(userDataTexts(script));
    if (release) observed.foreignRelease = release;
    const args = installLineArgs(script);
    if (args) observed.foreignInstallArgs = args;
  }
  return observed;
}

/**
 * The arguments after install.sh on the line (with its backslash continuations) that runs it,
 * up to a pipe or redirection: shown to a person adopting an install, never acted on.
 */
export function installLineArgs(script: string): string | undefined {
  const joined = script.replace(/\\\r?\n/g, ' ');
  for (const line of joined.split(/\r?\n/)) {
    if (/^\s*#/.test(line)) continue;
    const m = /(?:^|[\s;&|])(?:bash|sh|sudo bash)?\s*\S*install\.sh['"]?\s+([^|>;&]*)/.exec(line);
    if (m && !/\b(curl|wget)\b/.test(line)) {
      const args = m[1]!.replace(/\s+/g, ' ').trim();
      if (args) return args.slice(0, 300);
    }
  }
  return undefined;
}

/** The decoded user data of one version ('' when it has none). Kept out of the Observation: it may hold secrets. */
export async function readUserData(aws: AwsClients, launchTemplateId: string, version: number): Promise<string> {
  const out = await aws.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: launchTemplateId, Versions: [String(version)] }));
  return decodeUserData(out.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.UserData);
}

/** Resolve '$Latest', '$Default' or a number string to a version number. */
export function resolveVersion(t: { latestVersion: number; defaultVersion: number } | undefined, v: string | undefined): number | undefined {
  if (!v) return t?.defaultVersion;
  if (v === '$Latest') return t?.latestVersion;
  if (v === '$Default') return t?.defaultVersion;
  const n = Number(v);
  return Number.isInteger(n) ? n : undefined;
}

/**
 * Create a version with the source version's data and new user data. The full data is
 * copied rather than using SourceVersion, which some implementations ignore.
 */
export async function createVersionFrom(
  aws: AwsClients,
  launchTemplateId: string,
  sourceVersion: number,
  description: string,
  install: AnyInstall,
): Promise<number> {
  const src = await aws.ec2.send(
    new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: launchTemplateId, Versions: [String(sourceVersion)] }),
  );
  const data = (src.LaunchTemplateVersions?.[0]?.LaunchTemplateData ?? {}) as RequestLaunchTemplateData;
  const out = await aws.ec2.send(
    new CreateLaunchTemplateVersionCommand({
      LaunchTemplateId: launchTemplateId,
      VersionDescription: description,
      LaunchTemplateData: { ...data, UserData: Buffer.from(renderInstall(install)).toString('base64') },
    }),
  );
  return out.LaunchTemplateVersion!.VersionNumber!;
}
