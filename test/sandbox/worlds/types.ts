// What a sandbox world is: a pre-migration Terraform Enterprise install, seeded into the AWS
// emulator and a Kubernetes namespace. `SANDBOX_WORLD=<name> make sandbox-up` picks one
// (worlds/index.ts lists them); the default is today's world (../world.ts).
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { CA } from '../certs.ts';

export interface SeedContext {
  awsEndpoint: string;
  /** The sandbox CA (PEM files): worlds issue their TFE TLS certificates from it. */
  ca: CA;
  /** A folder of the sandbox state where a world may write files (keys, certs). */
  dir: string;
}

export interface RedisInfo {
  host: string;
  port: number;
  password: string;
  caFile?: string;
}

/** What a world seeded, written to .sandbox/world.json. Worlds add their own fields. */
export interface WorldInfo {
  world: string;
  seed: number;
  region: string;
  accountId: string;
  vpcId: string;
  subnetIds: string[];
  asgName: string;
  launchTemplateId: string;
  launchTemplateName: string;
  instanceIds: string[];
  namespace: string;
  [key: string]: unknown;
}

/** The PostgreSQL database a world's settings name (pg_dbname, pg_user, pg_password): the sandbox PostgreSQL has it. */
export interface WorldDatabase {
  dbname: string;
  user: string;
  password: string;
}

export interface WorldDef {
  name: string;
  database: WorldDatabase;
  /** One line for `make sandbox-up` and the docs. */
  summary: string;
  seedAws(ctx: SeedContext): Promise<WorldInfo>;
  /** The Kubernetes side (settings ConfigMap, Secrets) in the world's namespace. */
  kubeObjects(redis: RedisInfo, info: WorldInfo): { configMaps: V1ConfigMap[]; secrets: V1Secret[] };
}
