// Additions to the seeded sandbox world for tests that need more than one TfeCluster: a
// second Auto Scaling Group + launch template in moto, and copies of the world's settings
// and Secrets in another namespace. resetWorld() removes the AWS side; clearNamespace()
// the Kubernetes side (namespaces themselves stay: the sandbox has no controller-manager,
// so a deleted namespace would stay Terminating).
import { AutoScalingClient, CreateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand, EC2Client } from '@aws-sdk/client-ec2';
import { PatchStrategy, setHeaderOptions, type V1ConfigMap, type V1Secret } from '@kubernetes/client-node';
import { renderUserData } from '../../src/tfe/userdata.ts';
import { GROUP, PLURAL, VERSION } from '../../src/api/types.ts';
import type { Kube } from '../../src/kube/client.ts';
import { AMI_ID, BASE_INSTALL, INSTANCE_TYPE, awsClientConfig, kubeObjects, type World } from '../sandbox/world.ts';

export interface ExtraAsg {
  asgName: string;
  launchTemplateId: string;
  launchTemplateName: string;
}

/**
 * A launch template `name` (version 1: `userData`, by default the seeded standalone install)
 * and an ASG `name` launching `capacity` instances from it, in the world's subnets.
 */
export async function createExtraAsg(world: World, name: string, opts: { userData?: string; capacity?: number } = {}): Promise<ExtraAsg> {
  const cfg = awsClientConfig(process.env.AWS_ENDPOINT_URL!);
  const ec2 = new EC2Client(cfg);
  const asg = new AutoScalingClient(cfg);
  try {
    const lt = await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: name,
        VersionDescription: 'extra test install',
        LaunchTemplateData: {
          ImageId: AMI_ID,
          InstanceType: INSTANCE_TYPE,
          SecurityGroupIds: [world.nodeSecurityGroupId],
          IamInstanceProfile: { Arn: world.instanceProfileArn }, // the world's node role: its nodes read their secrets
          UserData: Buffer.from(opts.userData ?? renderUserData(BASE_INSTALL), 'utf8').toString('base64'),
        },
      }),
    );
    const capacity = opts.capacity ?? 1;
    const launchTemplateId = lt.LaunchTemplate!.LaunchTemplateId!;
    await asg.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: name,
        MinSize: capacity,
        MaxSize: capacity,
        DesiredCapacity: capacity,
        VPCZoneIdentifier: world.subnetIds.join(','),
        LaunchTemplate: { LaunchTemplateId: launchTemplateId, Version: '1' },
      }),
    );
    return { asgName: name, launchTemplateId, launchTemplateName: name };
  } finally {
    ec2.destroy();
    asg.destroy();
  }
}

const status = (err: unknown) => (err as { code?: number }).code;

/** Creates `namespace` if missing and puts copies of the world's ConfigMap and Secrets in it. */
export async function copyWorldObjects(k: Kube, namespace: string): Promise<void> {
  try {
    await k.core.createNamespace({ body: { metadata: { name: namespace } } });
  } catch (err) {
    if (status(err) !== 409) throw err;
  }
  const redis = {
    host: process.env.REDIS_HOST!,
    port: Number(process.env.REDIS_PORT),
    password: process.env.REDIS_PASSWORD ?? '',
    caFile: process.env.REDIS_CA_FILE,
  };
  const { configMaps, secrets } = kubeObjects(redis);
  for (const cm of configMaps) await k.core.createNamespacedConfigMap({ namespace, body: moveTo(cm, namespace) });
  for (const s of secrets) await k.core.createNamespacedSecret({ namespace, body: moveTo(s, namespace) });
}

function moveTo<T extends V1ConfigMap | V1Secret>(o: T, namespace: string): T {
  return { ...o, metadata: { ...o.metadata, namespace, resourceVersion: undefined } };
}

/** Deletes every TfeCluster (finalizers first: no operator may be running), ConfigMap, Secret and Event in `namespace`. */
export async function clearNamespace(k: Kube, namespace: string): Promise<void> {
  const crd = { group: GROUP, version: VERSION, namespace, plural: PLURAL };
  let items: Array<{ metadata: { name: string; finalizers?: string[] } }> = [];
  try {
    items = ((await k.custom.listNamespacedCustomObject(crd)) as { items: typeof items }).items;
  } catch (err) {
    if (status(err) === 404) return;
    throw err;
  }
  for (const c of items) {
    if (c.metadata.finalizers?.length) {
      await k.custom.patchNamespacedCustomObject({ ...crd, name: c.metadata.name, body: { metadata: { finalizers: null } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    }
    await k.custom.deleteNamespacedCustomObject({ ...crd, name: c.metadata.name }).catch((err) => {
      if (status(err) !== 404) throw err;
    });
  }
  await k.core.deleteCollectionNamespacedConfigMap({ namespace });
  await k.core.deleteCollectionNamespacedSecret({ namespace });
  await k.core.deleteCollectionNamespacedEvent({ namespace });
}
