import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { BadInputError } from '../errors.js';
import { brokerTlsProblems } from '../platform/broker-tls.js';
import { readConfigFile } from '../platform/config-file.js';
import { configPath } from '../platform/paths.js';
import { parseWith, strictObject as strict, wholeNumber as int } from '../validation.js';

/*
 * The centre's configuration file (YAML or JSON), checked like a node's: unknown keys and bad values are
 * errors naming the key path, the value and what is allowed; paths are relative to the file.
 */

const path = z.string({ error: 'must be a file path' }).min(1, { error: 'must be a file path' });
const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { error: "must be 1-64 letters, digits, '.', '_' or '-'" });

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
  log: strict({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'must be one of fatal, error, warn, info, debug, trace, silent' }).default('info'),
  }).prefault({}),
});

export type CentreConfig = z.output<typeof centreConfigSchema>;

export function parseCentreConfig(input: unknown, baseDir = process.cwd()): CentreConfig {
  const config = parseWith(centreConfigSchema, input, 'centre configuration');
  const problems = brokerTlsProblems(config.brokerUrl, config);
  if (problems.length > 0) throw new BadInputError('centre configuration', problems);
  const at = (p: string) => configPath(p, baseDir);
  return {
    ...config,
    ...(config.passwordFile === undefined ? {} : { passwordFile: at(config.passwordFile) }),
    ...(config.caFile === undefined ? {} : { caFile: at(config.caFile) }),
    ...(config.certFile === undefined ? {} : { certFile: at(config.certFile) }),
    ...(config.keyFile === undefined ? {} : { keyFile: at(config.keyFile) }),
    signingKeyFile: at(config.signingKeyFile),
    ledger: 'sqliteFile' in config.ledger ? { sqliteFile: at(config.ledger.sqliteFile) } : { postgresUrlFile: at(config.ledger.postgresUrlFile) },
  };
}

export function loadCentreConfig(file: string): CentreConfig {
  return parseCentreConfig(readConfigFile(file, 'centre configuration'), dirname(resolve(file)));
}
