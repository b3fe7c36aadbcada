import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { BadInputError, type FieldProblem } from '../errors.js';
import { brokerTlsProblems } from '../platform/broker-tls.js';
import { readConfigFile } from '../platform/config-file.js';
import { configPathsInto, optionalPaths } from '../platform/paths.js';
import { checkWith, strictObject as strict, wholeNumber as int } from '../validation.js';
import { idSchema } from '../ids.js';

/*
 * The centre's configuration file (YAML or JSON), checked like a node's: unknown keys and bad values are
 * errors naming the key path, the value and what is allowed; paths are relative to the file.
 */

const path = z.string({ error: 'must be a file path' }).min(1, { error: 'must be a file path' });
const id = idSchema();

export const centreConfigSchema = strict({
  fleet: id,
  brokerUrl: z.string().regex(/^(mqtts?|wss?):\/\/[^\s]+$/, { error: 'must be an mqtt://, mqtts://, ws:// or wss:// URL' }),
  username: z.string().min(1).max(64).default('edgepay-centre'),
  passwordFile: path.optional(),
  /** TLS (mqtts://): the CA the broker's certificate must chain to (the system store without it), and the centre's client certificate and key. */
  caFile: path.optional(),
  certFile: path.optional(),
  keyFile: path.optional(),
  /** The centre's Ed25519 answer key (PKCS8 PEM, `edgepay centre keys create`): every answer to a node is signed with it. */
  signingKeyFile: path,
  /** Centre processes with the same group split the fleet's batches (MQTT shared subscription). */
  shareGroup: id.optional(),
  ledger: z.union([strict({ sqliteFile: path }), strict({ postgresUrlFile: path })], {
    error: 'must be { sqliteFile } (an embedded ledger) or { postgresUrlFile } (a file holding the postgres:// URL)',
  }),
  forwardDeadlineHours: int(1, 8_760, 'hours').default(72),
  /** The centre's metrics (/metrics) and health (/health) port, for Prometheus and a load balancer. */
  observability: strict({
    host: z.string().regex(/^[0-9a-fA-F.:]+$|^localhost$/, { error: 'must be an IP address to listen on (127.0.0.1 for this host only) or localhost' }),
    port: int(0, 65_535, 'TCP port; 0 picks a free one'),
  }).optional(),
  log: strict({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'must be one of fatal, error, warn, info, debug, trace, silent' }).default('info'),
  }).prefault({}),
});

export type CentreConfig = z.output<typeof centreConfigSchema>;

export function parseCentreConfig(input: unknown, baseDir = process.cwd(), env: NodeJS.ProcessEnv = process.env): CentreConfig {
  const checked = checkCentreConfig(input, baseDir, env);
  if (!checked.ok) throw new BadInputError('centre configuration', checked.problems);
  return checked.config;
}

/** The configuration with its paths resolved, or every problem of its keys and paths; no file is read (src/config-check does). */
export function checkCentreConfig(
  input: unknown,
  baseDir = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): { readonly ok: true; readonly config: CentreConfig } | { readonly ok: false; readonly problems: FieldProblem[] } {
  const parsed = checkWith(centreConfigSchema, input);
  if (!parsed.ok) return parsed;
  const config = parsed.data;
  const problems: FieldProblem[] = [...brokerTlsProblems(config.brokerUrl, config)];
  const at = configPathsInto(problems, baseDir, env);
  const resolved: CentreConfig = {
    ...config,
    ...optionalPaths(config, ['passwordFile', 'caFile', 'certFile', 'keyFile'], at),
    signingKeyFile: at(config.signingKeyFile, 'signingKeyFile'),
    ledger: 'sqliteFile' in config.ledger ? { sqliteFile: at(config.ledger.sqliteFile, 'ledger.sqliteFile') } : { postgresUrlFile: at(config.ledger.postgresUrlFile, 'ledger.postgresUrlFile') },
  };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config: resolved };
}

export function loadCentreConfig(file: string, env: NodeJS.ProcessEnv = process.env): CentreConfig {
  return parseCentreConfig(readConfigFile(file, 'centre configuration'), dirname(resolve(file)), env);
}
