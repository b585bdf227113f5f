// What a TFE node (and its Auto Scaling group) looks like from the AWS APIs, read from the
// emulator with the AWS SDK v3: the groups and their instances, the launch template
// version each instance was launched from and its user data, and Secrets Manager values.

import { AutoScalingClient, paginateDescribeAutoScalingGroups } from '@aws-sdk/client-auto-scaling';
import {
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { GetInstanceProfileCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetBucketLocationCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';

export interface BucketFacts {
  exists: boolean;
  region?: string;
  error?: string;
}

export interface InstanceRef {
  id: string;
  lifecycleState: string;
  /** As the group reports it; Version may be a number or "$Latest" / "$Default". */
  launchTemplate?: { id?: string; name?: string; version?: string };
}

export interface GroupView {
  name: string;
  desired: number;
  instances: InstanceRef[];
}

export interface LaunchInfo {
  launchTemplateId: string | null;
  version: number | null;
  /** Decoded user data, as the instance metadata service would serve it. */
  userData: string;
  /** Set when the sources disagree (e.g. the instance's user data is not its version's). */
  note?: string;
}

/** What the instance metadata service tells a node about itself. */
export interface InstanceFacts {
  instanceId: string;
  privateIp: string;
  availabilityZone: string;
  instanceType: string;
  imageId: string;
  /** ARN of the instance profile, when the instance has one. */
  instanceProfileArn?: string;
}

/** Temporary credentials of the instance profile's role, as IMDS serves them. */
export interface RoleCredentials {
  roleName: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

/** A node's health as its load balancer target groups see it: which ports answer healthily. */
export interface TargetReport {
  state: 'initial' | 'healthy' | 'unhealthy';
  ports: number[];
  reason?: string;
}

/** An SSM command invocation for a node's agent (the moto launcher's GET /_sandbox/ssm/pending). */
export interface SsmInvocation {
  commandId: string;
  instanceId: string;
  documentName: string;
  /** AWS-RunShellScript's commands parameter: the lines of one script. */
  commands: string[];
  /** Seconds (the document's executionTimeout), or null for none. */
  executionTimeout: number | null;
}

/** How an invocation ended (POST /_sandbox/ssm/result). */
export interface SsmResult {
  commandId: string;
  instanceId: string;
  status: 'Success' | 'Failed' | 'TimedOut';
  responseCode: number;
  stdout: string;
  stderr: string;
}

/** One change of a group's desired capacity, from the moto launcher's /_sandbox/asg-history. */
export interface AsgChange {
  ts: string;
  asg: string;
  from: number | null;
  to: number | null;
}

const LT_ID_TAG = 'aws:ec2launchtemplate:id';
const LT_VERSION_TAG = 'aws:ec2launchtemplate:version';

export class AwsView {
  private readonly asg: AutoScalingClient;
  private readonly ec2: EC2Client;
  private readonly iam: IAMClient;
  private readonly sts: STSClient;
  private readonly s3: S3Client;
  /** Bucket answers, shared by the nodes for a second (the scale benchmark's 2000 nodes name one bucket). */
  private readonly buckets = new Map<string, { at: number; answer: Promise<BucketFacts> }>();
  /** Launch template versions never change: cache their user data. */
  private readonly versionUserData = new Map<string, string>();

  constructor(private readonly endpoint: string, region: string) {
    const cfg = {
      endpoint,
      region,
      credentials: {
        accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'testing',
        secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'testing',
      },
      maxAttempts: 2,
      // Tells the simulator's calls apart in moto's /_sandbox/calls (never "tfe-operator").
      customUserAgent: 'tfe-node-simulator',
    };
    this.asg = new AutoScalingClient(cfg);
    this.ec2 = new EC2Client(cfg);
    this.iam = new IAMClient(cfg);
    this.sts = new STSClient(cfg);
    this.s3 = new S3Client({ ...cfg, forcePathStyle: true });
  }

  /** Whether the bucket exists (HeadBucket) and where (GetBucketLocation), with the simulator's own credentials. */
  bucket(name: string): Promise<BucketFacts> {
    const hit = this.buckets.get(name);
    if (hit && Date.now() - hit.at < 1000) return hit.answer;
    const answer = (async (): Promise<BucketFacts> => {
      try {
        await this.s3.send(new HeadBucketCommand({ Bucket: name }));
      } catch (err) {
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; message?: string };
        if (e.$metadata?.httpStatusCode === 404 || e.name === 'NotFound' || e.name === 'NoSuchBucket') return { exists: false };
        return { exists: false, error: `${e.name ?? 'Error'}: ${e.message ?? String(err)}` };
      }
      const loc = await this.s3.send(new GetBucketLocationCommand({ Bucket: name })).catch(() => undefined);
      return { exists: true, region: loc ? loc.LocationConstraint || 'us-east-1' : undefined };
    })();
    this.buckets.set(name, { at: Date.now(), answer });
    return answer;
  }

  async groups(): Promise<GroupView[]> {
    const out: GroupView[] = [];
    for await (const page of paginateDescribeAutoScalingGroups({ client: this.asg }, {})) {
      for (const g of page.AutoScalingGroups ?? []) {
        out.push({
          name: g.AutoScalingGroupName!,
          desired: g.DesiredCapacity ?? 0,
          instances: (g.Instances ?? []).map((i) => ({
            id: i.InstanceId!,
            lifecycleState: String(i.LifecycleState ?? 'InService'),
            launchTemplate: i.LaunchTemplate
              ? { id: i.LaunchTemplate.LaunchTemplateId, name: i.LaunchTemplate.LaunchTemplateName, version: i.LaunchTemplate.Version }
              : g.LaunchTemplate
                ? { id: g.LaunchTemplate.LaunchTemplateId, name: g.LaunchTemplate.LaunchTemplateName, version: g.LaunchTemplate.Version }
                : undefined,
          })),
        });
      }
    }
    return out;
  }

  /**
   * The launch template version an instance runs and its user data. AWS tags every
   * instance launched from a template with aws:ec2launchtemplate:id/version (the resolved
   * number); without the tags, "$Latest"/"$Default" are resolved now, which is what AWS did
   * at launch as long as nobody published a version in between. The instance's own user
   * data (DescribeInstanceAttribute, what IMDS serves the node) wins if the two differ.
   */
  async launchOf(inst: InstanceRef): Promise<LaunchInfo> {
    const tags = await this.instanceTags(inst.id);
    let ltId = tags[LT_ID_TAG] ?? inst.launchTemplate?.id ?? null;
    let version: number | null = tags[LT_VERSION_TAG] !== undefined ? Number(tags[LT_VERSION_TAG]) : null;
    let ltUserData: string | undefined;
    if (ltId || inst.launchTemplate?.name) {
      const spec = version !== null ? String(version) : (inst.launchTemplate?.version ?? '$Default');
      const v = await this.launchTemplateVersion(ltId, inst.launchTemplate?.name, spec);
      ltId = v.id;
      version = v.number;
      ltUserData = v.userData;
    }
    const own = await this.instanceUserData(inst.id);
    if (own !== undefined && own !== '' && ltUserData !== undefined && own !== ltUserData) {
      return {
        launchTemplateId: ltId,
        version,
        userData: own,
        note: `the instance's user data differs from launch template ${ltId} version ${version}; using the instance's (what the node reads from IMDS)`,
      };
    }
    return { launchTemplateId: ltId, version, userData: ltUserData ?? own ?? '' };
  }

  private async instanceTags(id: string): Promise<Record<string, string>> {
    const res = await this.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    const inst = res.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === id);
    return Object.fromEntries((inst?.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  }

  private async instanceUserData(id: string): Promise<string | undefined> {
    try {
      const res = await this.ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'userData' }));
      const b64 = res.UserData?.Value;
      return b64 ? Buffer.from(b64, 'base64').toString('utf8') : '';
    } catch {
      return undefined;
    }
  }

  private async launchTemplateVersion(
    id: string | null,
    name: string | undefined,
    spec: string,
  ): Promise<{ id: string; number: number; userData: string }> {
    const numeric = /^\d+$/.test(spec);
    const key = `${id ?? name}@${spec}`;
    if (numeric && this.versionUserData.has(key)) {
      return { id: id!, number: Number(spec), userData: this.versionUserData.get(key)! };
    }
    const res = await this.ec2.send(
      new DescribeLaunchTemplateVersionsCommand({
        ...(id ? { LaunchTemplateId: id } : { LaunchTemplateName: name }),
        Versions: [spec],
      }),
    );
    const v = res.LaunchTemplateVersions?.[0];
    if (!v) throw new Error(`launch template ${id ?? name} has no version ${spec}`);
    const b64 = v.LaunchTemplateData?.UserData;
    const userData = b64 ? Buffer.from(b64, 'base64').toString('utf8') : '';
    const number = v.VersionNumber!;
    this.versionUserData.set(`${v.LaunchTemplateId}@${number}`, userData);
    return { id: v.LaunchTemplateId!, number, userData };
  }

  /** The instance as EC2 knows it: what IMDS serves under meta-data/. */
  async instanceFacts(id: string): Promise<InstanceFacts> {
    const res = await this.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    const inst = res.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === id);
    if (!inst) throw new Error(`EC2 does not know instance ${id}`);
    return {
      instanceId: id,
      privateIp: inst.PrivateIpAddress ?? '',
      availabilityZone: inst.Placement?.AvailabilityZone ?? '',
      instanceType: inst.InstanceType ?? '',
      imageId: inst.ImageId ?? '',
      ...(inst.IamInstanceProfile?.Arn ? { instanceProfileArn: inst.IamInstanceProfile.Arn } : {}),
    };
  }

  /**
   * What EC2 does for an instance with an instance profile: assume the profile's role and hand
   * the session's credentials to IMDS. Undefined when the profile has no role.
   */
  async roleCredentials(instanceProfileArn: string, sessionName: string): Promise<RoleCredentials | undefined> {
    const name = instanceProfileArn.split('/').pop()!;
    const profile = await this.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name }));
    const role = profile.InstanceProfile?.Roles?.[0];
    if (!role?.Arn || !role.RoleName) return undefined;
    const out = await this.sts.send(new AssumeRoleCommand({ RoleArn: role.Arn, RoleSessionName: sessionName, DurationSeconds: 3600 }));
    const c = out.Credentials!;
    return { roleName: role.RoleName, accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken!, expiration: c.Expiration! };
  }

  /** moto launcher's desired-capacity log; undefined when this moto has no such endpoint. */
  async asgHistory(): Promise<AsgChange[] | undefined> {
    try {
      const res = await fetch(`${this.endpoint}/_sandbox/asg-history`, { signal: AbortSignal.timeout(5_000) });
      if (!res.ok) return undefined;
      return (await res.json()) as AsgChange[];
    } catch {
      return undefined;
    }
  }

  /**
   * Tells the load balancer side of the emulator (the moto launcher's /_sandbox/target-health)
   * how each node answers its health checks. A launcher without that endpoint is ignored.
   */
  async pushTargetHealth(nodes: Record<string, TargetReport | null>): Promise<void> {
    try {
      await fetch(`${this.endpoint}/_sandbox/target-health`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(nodes),
        signal: AbortSignal.timeout(5_000),
      });
    } catch {
      /* the next change pushes again */
    }
  }

  /** Whose SSM agent is online (the moto launcher's /_sandbox/ssm/agents, patch_ssm_commands.py). */
  async ssmAgents(agents: Record<string, boolean>): Promise<void> {
    await this.sandboxJson('/_sandbox/ssm/agents', agents);
  }

  /** Pending SSM command invocations of online agents; each is InProgress from then on. */
  async ssmPending(): Promise<SsmInvocation[]> {
    return (await this.sandboxJson('/_sandbox/ssm/pending')) as SsmInvocation[];
  }

  /** How an SSM command invocation ended. */
  async ssmResult(result: SsmResult): Promise<void> {
    await this.sandboxJson('/_sandbox/ssm/result', result, [404, 409]);
  }

  private async sandboxJson(path: string, body?: unknown, tolerated: number[] = []): Promise<unknown> {
    const res = await fetch(`${this.endpoint}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(5_000),
    });
    if (!res.ok && !tolerated.includes(res.status)) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
    return res.json();
  }

  destroy(): void {
    this.asg.destroy();
    this.ec2.destroy();
    this.iam.destroy();
    this.sts.destroy();
    this.s3.destroy();
  }
}
