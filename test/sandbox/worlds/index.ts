// The sandbox's worlds, by name: `SANDBOX_WORLD=<name> make sandbox-up`. Each is a
// pre-migration Terraform Enterprise install; `default` is today's (../world.ts).
import { resetMoto } from '../moto.ts';
import { applyKubeObjects, clearKube, resetSimulator, type WorldContext } from '../world.ts';
import type { SeedContext, WorldDatabase, WorldDef, WorldInfo } from './types.ts';

const WORLDS: Record<string, { summary: string; load(): Promise<WorldDef> }> = {
  default: {
    summary: 'one node rendered in tfe-operator\'s own user data format, numeric launch template versions, no load balancer',
    load: async () => (await import('./default.ts')).defaultWorld,
  },
  hashicorp: {
    summary: 'built the way HashiCorp\'s Terraform modules build it: their user data shape, $Latest, target groups 443/8800 with ELB health checks, their security groups, binary license, TLS files',
    load: async () => (await import('./hashicorp.ts')).hashicorpWorld,
  },
  fdo: {
    summary: 'Terraform Enterprise on Docker (FDO), one node in external mode, shaped like HashiCorp\'s HVD module: docker compose with TFE_* variables, secrets read at boot, ALB on 443 with ELB health checks',
    load: async () => (await import('./fdo.ts')).fdoWorld,
  },
};

export const WORLD_NAMES = Object.keys(WORLDS);

export function worldName(): string {
  return process.env.SANDBOX_WORLD || 'default';
}

export async function loadWorld(name = worldName()): Promise<WorldDef> {
  const w = WORLDS[name];
  if (!w) throw new Error(`SANDBOX_WORLD=${name} is not a sandbox world; the worlds are: ${WORLD_NAMES.map((n) => `${n} (${WORLDS[n]!.summary})`).join('; ')}`);
  return w.load();
}

/** Every world's database (the sandbox PostgreSQL holds them all, so tests may switch worlds). */
export async function worldDatabases(): Promise<WorldDatabase[]> {
  return Promise.all(WORLD_NAMES.map(async (n) => (await loadWorld(n)).database));
}

/** Back to a named world's pre-migration state: TfeClusters gone, moto reset and reseeded, namespace refilled, simulator reset. */
export async function resetNamedWorld(ctx: WorldContext & { seed: SeedContext }, name = worldName()): Promise<WorldInfo> {
  const world = await loadWorld(name);
  await clearKube(ctx.kubeconfigPath);
  await resetMoto(ctx.awsEndpoint);
  const info = await world.seedAws(ctx.seed);
  await applyKubeObjects(ctx.kubeconfigPath, world.kubeObjects(ctx.redis, info));
  if (ctx.simUrl) await resetSimulator(ctx.simUrl);
  return info;
}
