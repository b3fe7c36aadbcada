import type { Command } from 'commander';
import { replaceFileWhole } from '../platform/replace-file.js';
import { type AclUserRole, DEFAULT_RULES_USER, renderShippedStoreAcl } from '../replication/broker/broker-acl.js';
import { ReplicationError } from '../wire/errors.js';
import { EXIT } from './exit-codes.js';

export interface BrokerAclCommandOptions {
  readonly fleet: string;
  readonly store: string;
  readonly node: readonly string[];
  readonly bridgeUser: string;
  readonly rulesUser: string;
  readonly centreUser?: string;
  readonly peerBridgeUser?: string;
  readonly out?: string;
}

/** The option each refused value came from, so the message names what to change. */
const OPTION_OF_ROLE: Readonly<Record<AclUserRole, string>> = {
  'bridge user': '--bridge-user',
  'rules user': '--rules-user',
  'centre user': '--centre-user',
  'peer bridge user': '--peer-bridge-user',
};
const OPTION_OF_ID: Readonly<Record<string, string>> = { fleet: '--fleet', store: '--store', node: '--node' };

/** `edgepay store …`: files for a store's broker. */
export function registerStoreCommands(program: Command): void {
  const store = program.command('store').description("a store's broker: its ACL");
  store
    .command('broker-acl')
    .description("write the store broker's ACL (Mosquitto acl_file) from brokers/acl.template: each node reads its store's replication traffic and its own answers, and writes only its own topics and its peers' inboxes")
    .requiredOption('--fleet <id>', "fleet id, as in the nodes' replication section")
    .requiredOption('--store <id>', "store id, as in the nodes' replication section")
    .requiredOption('--node <id>', 'a node of the store (its broker username); once per node', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .requiredOption('--bridge-user <user>', "the bridge's local_username: it gets exactly what the bridge maps")
    .option('--rules-user <user>', 'the broker user of `edgepay rules publish`', DEFAULT_RULES_USER)
    .option('--centre-user <user>', 'only for a centre that connects to this broker itself (a single-store install)')
    .option(
      '--peer-bridge-user <user>',
      "only in a store with two brokers, on both: the peer bridge's user (brokers/peer-bridge.conf.example, e.g. edgepay-peer-bridge); it gets the nodes' replication topics and the rules, never uplink, authorize or centre",
    )
    .option('--out <file>', 'write here (replaced atomically) instead of to stdout, e.g. /etc/mosquitto/edgepay/acl')
    .action((opts: BrokerAclCommandOptions) => {
      process.exitCode = runBrokerAcl(opts, process.stdout, process.stderr);
    });
}

interface Output {
  write(text: string): unknown;
}

/** Exit 2 for a bad id or user, with the reason; I/O errors propagate (exit 3 through main). */
export function runBrokerAcl(opts: BrokerAclCommandOptions, stdout: Output, stderr: Output): number {
  let text: string;
  try {
    text = renderShippedStoreAcl({
      fleet: opts.fleet,
      store: opts.store,
      nodes: opts.node,
      bridgeUser: opts.bridgeUser,
      rulesUser: opts.rulesUser,
      ...(opts.centreUser === undefined ? {} : { centreUser: opts.centreUser }),
      ...(opts.peerBridgeUser === undefined ? {} : { peerBridgeUser: opts.peerBridgeUser }),
    });
  } catch (error) {
    if (!(error instanceof ReplicationError)) throw error;
    stderr.write(`edgepay: ${error.code}: ${optionOf(error)}${error.message}\n`);
    return EXIT.usage;
  }
  if (opts.out === undefined) {
    stdout.write(text);
    return EXIT.ok;
  }
  // Mosquitto reads the file again on SIGHUP: it must never see half of it.
  replaceFileWhole(opts.out, text, 0o644);
  stderr.write(`wrote the ACL of ${opts.fleet}/${opts.store} (${opts.node.length} node(s)) to ${opts.out}; reload Mosquitto (systemctl reload mosquitto) to apply it\n`);
  return EXIT.ok;
}

/** `--peer-bridge-user: ` for an error about that option's value, '' when it names none. */
function optionOf(error: ReplicationError): string {
  const { role, kind } = error.details;
  const option = typeof role === 'string' ? OPTION_OF_ROLE[role as AclUserRole] : typeof kind === 'string' ? OPTION_OF_ID[kind] : undefined;
  return option === undefined ? '' : `${option}: `;
}
