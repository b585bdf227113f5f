// make sandbox-up: start the sandbox in $SANDBOX_DIR (default .sandbox) unless it already
// runs healthy there; print where everything is.
import { relative } from 'node:path';
import { defaultSandboxDir, sandboxUp } from './lifecycle.ts';

const dir = defaultSandboxDir();
try {
  const { env, reused, ms } = await sandboxUp({ dir });
  const rel = relative(process.cwd(), dir) || '.';
  console.log(`sandbox ${reused ? 'already running' : `up in ${(ms / 1000).toFixed(1)} s`} (${rel}, supervisor pid ${env.SANDBOX_PID}; logs in ${rel}/logs)`);
  console.log(`  Kubernetes     KUBECONFIG=${env.KUBECONFIG}`);
  console.log(`  AWS (moto)     ${env.AWS_ENDPOINT_URL}  region ${env.AWS_REGION}`);
  console.log(`  Redis (TLS)    ${env.REDIS_HOST}:${env.REDIS_PORT}  CA ${env.REDIS_CA_FILE}`);
  console.log(`  TFE simulator  ${env.TFE_SIM_URL}  (GET /sim/state)`);
  console.log(`use it: source ${rel}/env; kubectl get ns ${env.SANDBOX_NAMESPACE}; stop it: make sandbox-down`);
} catch (err) {
  console.error(`sandbox-up failed: ${(err as Error).message}`);
  process.exit(1);
}
