// CLI for the TFE node simulator:
//   node --import tsx test/sandbox/simulator/main.ts --port 18080 \
//     --aws-endpoint http://127.0.0.1:5000 --redis-host 127.0.0.1 --redis-port 6380 --redis-ca-file ca.crt
// Every option falls back to the sandbox env names (AWS_ENDPOINT_URL, AWS_REGION, REDIS_HOST,
// REDIS_PORT, REDIS_CA_FILE, TFE_SIM_PORT, TFE_SIM_INSTALL_DELAY_MS, SANDBOX_DIR).
// Logs JSON lines (pino) to stdout; stops cleanly on SIGTERM / SIGINT.

import { Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { startSimulator } from './index.ts';

// The AWS SDK warns on stderr (not JSON) that releases after January 2027 need Node 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number >= 0`);
  return n;
};

const env = process.env;
const program = new Command('tfe-node-simulator')
  .description('Stands in for Terraform Enterprise nodes: reads each ASG instance\'s user data from the AWS emulator and reports health as a real node would')
  .option('--port <n>', 'HTTP port on 127.0.0.1', int('--port'), Number(env.TFE_SIM_PORT ?? 18080))
  .option('--aws-endpoint <url>', 'AWS emulator endpoint', env.AWS_ENDPOINT_URL)
  .option('--region <name>', 'AWS region', env.AWS_REGION ?? 'us-east-1')
  .option('--redis-host <host>', 'where *.cache.amazonaws.com hosts lead (sandbox redis-server)', env.REDIS_HOST)
  .option('--redis-port <n>', 'port of the sandbox redis-server', int('--redis-port'), env.REDIS_PORT ? Number(env.REDIS_PORT) : undefined)
  .option('--redis-ca-file <file>', 'CA the nodes trust for Redis TLS', env.REDIS_CA_FILE)
  .option('--pg-host <host>', 'where *.rds.amazonaws.com and *.internal database hosts lead (sandbox PostgreSQL)', env.PG_HOST)
  .option('--pg-port <n>', 'port of the sandbox PostgreSQL', int('--pg-port'), env.PG_PORT ? Number(env.PG_PORT) : undefined)
  .option('--pg-ca-file <file>', 'CA the nodes trust for PostgreSQL TLS', env.PG_CA_FILE)
  .option('--install-delay-ms <n>', 'how long an install takes', int('--install-delay-ms'), Number(env.TFE_SIM_INSTALL_DELAY_MS ?? 3000))
  .option('--never-healthy', 'keep every node unhealthy (rollback tests)', false)
  .option('--state-dir <dir>', 'keep simulator-state.json here', env.SANDBOX_DIR)
  .option('--log-level <level>', 'pino log level', env.LOG_LEVEL ?? 'info');

program.parse();
const o = program.opts<{
  port: number;
  awsEndpoint?: string;
  region: string;
  redisHost?: string;
  redisPort?: number;
  redisCaFile?: string;
  pgHost?: string;
  pgPort?: number;
  pgCaFile?: string;
  installDelayMs: number;
  neverHealthy: boolean;
  stateDir?: string;
  logLevel: string;
}>();

if (!o.awsEndpoint) program.error('--aws-endpoint (or AWS_ENDPOINT_URL) is required');
if ((o.redisHost === undefined) !== (o.redisPort === undefined)) program.error('give both --redis-host and --redis-port, or neither');

const logger = pino({ name: 'tfe-node-simulator', level: o.logLevel });
const sim = await startSimulator({
  port: o.port,
  awsEndpoint: o.awsEndpoint!,
  region: o.region,
  redisAlias: o.redisHost !== undefined ? { host: o.redisHost, port: o.redisPort!, caFile: o.redisCaFile } : undefined,
  postgresAlias: o.pgHost !== undefined && o.pgPort !== undefined ? { host: o.pgHost, port: o.pgPort, caFile: o.pgCaFile } : undefined,
  installDelayMs: o.installDelayMs,
  neverHealthy: o.neverHealthy,
  stateDir: o.stateDir,
  logger,
});

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.once(sig, () => {
    logger.info({ signal: sig }, 'stopping');
    sim.stop().then(
      () => process.exit(0),
      (err: Error) => {
        logger.error({ err: err.message }, 'stop failed');
        process.exit(1);
      },
    );
  });
}
