import type { Command } from 'commander';
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type RulesConfig, parseRules } from '../rules/rules.js';
import { BadInputError, EdgepayError } from '../errors.js';
import { type BrokerTlsOptions, loadBrokerTls } from '../platform/broker-tls.js';
import { ReplicationError } from '../wire/errors.js';
import { RulesPublishError } from '../rules/errors.js';
import { loadRulesSigningKey, writeRulesKeyPair } from '../rules/keys.js';
import { encodeRulesMessage } from '../rules/message.js';
import { publishRules } from '../rules/publisher.js';
import { assertTopicId } from '../wire/topics.js';
import { EXIT } from './exit-codes.js';
import { parsePositiveInt } from './journal-commands.js';

/** The broker user the store ACL (brokers/acl.template) lets write the rules topic; no node has it. */
export const RULES_BROKER_USER = 'edgepay-rules';

export interface RulesPublishOptions {
  readonly key: string;
  readonly broker: string;
  readonly fleet: string;
  readonly store: string;
  readonly username?: string;
  readonly passwordFile?: string;
  /** mqtts://: the CA the broker's certificate must chain to (the system CAs without it). */
  readonly ca?: string;
  /** mqtts://: the publisher's client certificate and its key; on the store's TLS listener its name is the broker user. */
  readonly cert?: string;
  readonly certKey?: string;
  readonly timeoutMs?: number;
  readonly allowOlder?: boolean;
}

/** The TLS options of both publishing commands; `--key` is the rules signing key, hence `--cert-key`. */
export function addBrokerTlsOptions(command: Command, caDefault = ''): Command {
  return command
    .option('--ca <file>', `mqtts:// only: the CA certificate the broker's certificate must chain to (ca.crt)${caDefault}`)
    .option('--cert <file>', 'mqtts:// only: the client certificate to present (`edgepay certs issue --name edgepay-rules`): its name is the broker user on the TLS listener')
    .option('--cert-key <file>', 'mqtts:// only: the private key of --cert');
}

interface Output {
  write(text: string): unknown;
}

/** Adds `edgepay rules keygen` and `edgepay rules publish` under the `rules` command. */
export function registerRulesPublish(rulesCommand: Command): void {
  rulesCommand
    .command('keygen')
    .description('generate the Ed25519 rules key: rules.key stays with the operator (or centre), rules.pub goes to every node (replication.rulesPublicKeyFile)')
    .requiredOption('--out <dir>', 'directory for rules.key (mode 0600) and rules.pub')
    .option('--force', 'replace an existing rules key (every node then needs the new rules.pub)')
    .action((opts: { out: string; force?: boolean }) => {
      process.exitCode = runRulesKeygen(opts, process.stdout, process.stderr);
    });

  const publish = rulesCommand
    .command('publish')
    .description("validate a rules file, sign it with the rules key and publish it retained (QoS 1) on a store's rules topic; nodes apply it if its version is above theirs")
    .argument('<file>', 'rules file (JSON), as for `rules check`')
    .requiredOption('--key <file>', 'the rules key (rules.key, PKCS8 PEM)')
    .requiredOption('--broker <url>', "the store broker, e.g. mqtt://store-broker.local:1883 (or the centre's, bridged in)")
    .requiredOption('--fleet <id>', "fleet id, as in the nodes' replication section")
    .requiredOption('--store <id>', "store id, as in the nodes' replication section")
    .option('--username <user>', 'broker user allowed to write the rules topic', RULES_BROKER_USER)
    .option('--password-file <file>', 'file holding the broker password (first line)');
  addBrokerTlsOptions(publish)
    .option('--timeout-ms <ms>', 'longest wait for the broker at each step', parsePositiveInt, 10_000)
    .option('--allow-older', 'publish even if the broker retains newer rules (nodes ignore it; nodes starting later would get it)')
    .action(async (file: string, opts: RulesPublishOptions) => {
      process.exitCode = await runRulesPublish(file, opts, process.stdout, process.stderr);
    });
}

/** Exit 0 written; 2 keys already there or not writable as asked. */
export function runRulesKeygen(opts: { out: string; force?: boolean }, out: Output, err: Output): number {
  try {
    const files = writeRulesKeyPair(opts.out, opts.force === true);
    out.write(`wrote ${files.keyFile} (keep it off the nodes) and ${files.publicKeyFile} (copy to every node: replication.rulesPublicKeyFile)\n`);
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof ReplicationError)) throw error;
    err.write(`edgepay: ${error.code}: ${error.message}\n`);
    return error.code === 'EDGEPAY_REPLICATION_STORE_IO' ? EXIT.system : EXIT.usage;
  }
}

/**
 * The command's body, returning the exit code: 0 published and read back; 2 bad rules file, key,
 * ids, URL or password file, or the broker retains newer rules; 3 the broker unreachable or not
 * taking the message. Bad input is found before any connection is made.
 */
export async function runRulesPublish(file: string, opts: RulesPublishOptions, out: Output, err: Output): Promise<number> {
  return publishRulesConfig(() => readRulesFile(file), opts, out, err);
}

/** As runRulesPublish, for rules built in memory (the centre merges its hot-card list in). */
export async function publishRulesConfig(load: () => RulesConfig, opts: RulesPublishOptions, out: Output, err: Output): Promise<number> {
  try {
    const config = load();
    const rules = parseRules(config);
    const scope = { fleet: opts.fleet, store: opts.store };
    assertTopicId('fleet', scope.fleet);
    assertTopicId('store', scope.store);
    if (!/^(mqtts?|wss?):\/\/[^\s]+$/.test(opts.broker)) {
      throw new BadInputError('--broker', [{ path: '--broker', message: 'must be an mqtt://, mqtts://, ws:// or wss:// URL', value: opts.broker }]);
    }
    const key = loadRulesSigningKey(opts.key);
    const password = opts.passwordFile === undefined ? undefined : readPassword(opts.passwordFile);
    const tls = brokerTlsOf(opts);
    const result = await publishRules({
      brokerUrl: opts.broker,
      ...scope,
      username: opts.username ?? RULES_BROKER_USER,
      ...(password === undefined ? {} : { password }),
      tls,
      payload: encodeRulesMessage(config, scope, key),
      version: rules.version,
      rulesPublicKey: createPublicKey(key),
      allowOlder: opts.allowOlder === true,
      ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
    });
    const replaced = result.replacedUnverified
      ? 'replacing a retained message that did not verify with this key'
      : result.previousVersion === null
        ? 'no rules were retained before'
        : `replacing version ${result.previousVersion}`;
    out.write(`published rules version ${rules.version} (hot-card list version ${rules.hotCards.version}, ${rules.hotCards.tokens.size} cards) ` + `retained on ${result.topic}; ${replaced}\n`);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof RulesPublishError) {
      err.write(`edgepay: ${error.code}: ${error.message}\n`);
      return error.code === 'EDGEPAY_RULES_OLDER_THAN_RETAINED' ? EXIT.usage : EXIT.system;
    }
    if (error instanceof ReplicationError) {
      err.write(`edgepay: ${error.code}: ${error.message}\n`);
      return EXIT.usage;
    }
    // EdgepayErrors (bad rules file, missing file) go to the program's handler: it lists every problem, exit 2.
    throw error;
  }
}

/** The rules as written, for signing: parseRules' output is a different shape (sets, frozen maps). */
export function readRulesFile(file: string): RulesConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new EdgepayError('EDGEPAY_NOT_FOUND', `cannot read rules file ${file}: ${(cause as Error).message}`, { file }, { cause });
  }
  try {
    // Checked by parseRules before anything is signed.
    return JSON.parse(text) as RulesConfig;
  } catch (cause) {
    throw new BadInputError(`rules file ${file}`, [{ path: '', message: `is not valid JSON: ${(cause as Error).message}` }]);
  }
}

const TLS_OPTION_NAMES: Readonly<Record<string, string>> = { caFile: '--ca', certFile: '--cert', keyFile: '--cert-key', brokerUrl: '--broker' };

/** The files checked and read as the node and the centre read theirs; problems named by their options. */
function brokerTlsOf(opts: RulesPublishOptions): BrokerTlsOptions {
  const files = { ...(opts.ca === undefined ? {} : { caFile: opts.ca }), ...(opts.cert === undefined ? {} : { certFile: opts.cert }), ...(opts.certKey === undefined ? {} : { keyFile: opts.certKey }) };
  try {
    return loadBrokerTls(opts.broker, files);
  } catch (error) {
    if (!(error instanceof BadInputError)) throw error;
    throw new BadInputError(
      'broker TLS options',
      error.problems.map((p) => ({ ...p, path: TLS_OPTION_NAMES[p.path] ?? p.path })),
    );
  }
}

function readPassword(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new EdgepayError('EDGEPAY_NOT_FOUND', `--password-file: cannot read ${file}: ${(cause as Error).message}`, { file }, { cause });
  }
  const password = text.split(/\r?\n/, 1)[0] ?? '';
  if (password.length === 0) throw new BadInputError('--password-file', [{ path: '--password-file', message: `${file} is empty` }]);
  return password;
}
