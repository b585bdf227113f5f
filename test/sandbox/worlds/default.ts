// The default world (../world.ts) behind the WorldDef interface.
import { kubeObjects, NAMESPACE, seedAws } from '../world.ts';
import type { WorldDef } from './types.ts';

export const defaultWorld: WorldDef = {
  name: 'default',
  summary: 'one node in tfe-operator\'s own user data format',
  async seedAws(ctx) {
    const w = await seedAws(ctx.awsEndpoint);
    return { ...w, world: 'default', namespace: NAMESPACE };
  },
  kubeObjects: (redis) => kubeObjects(redis),
};
