// The default world (../world.ts) behind the WorldDef interface.
import { BASE_SETTINGS, kubeObjects, NAMESPACE, SECRET_VALUES, seedAws } from '../world.ts';
import type { WorldDef } from './types.ts';

export const defaultWorld: WorldDef = {
  name: 'default',
  summary: 'one node in tfe-operator\'s own user data format',
  database: { dbname: BASE_SETTINGS.pg_dbname!.value, user: BASE_SETTINGS.pg_user!.value, password: SECRET_VALUES.pgPassword },
  async seedAws(ctx) {
    const w = await seedAws(ctx.awsEndpoint);
    return { ...w, world: 'default', namespace: NAMESPACE };
  },
  kubeObjects: (redis) => kubeObjects(redis),
};
