import { createHash, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadCentreConfig } from '../central/centre-config.js';
import type { LedgerBackend } from '../central/ledger-backend.js';
import { type RegisteredNode, checkRegistration } from '../central/node-registry.js';
import { EdgepayError } from '../errors.js';
import { openLedgerBackend } from '../reconcile/embedded-centre.js';
import { assertTopicId } from '../wire/topics.js';
import { EXIT } from './exit-codes.js';

/**
 * The node registry, from the operator's side: a node's batches are posted only once its public
 * key is registered for its store here, and no longer once it is revoked.
 */
export function registerCentreNodesCommands(centre: Command): void {
  const nodes = centre.command('nodes').description("the centre's registry of nodes: whose signed batches it posts, for which store");

  nodes
    .command('add')
    .description("register a node's public key for its store (the key file a node's `node init` or `keys` step wrote)")
    .requiredOption('--config <file>', 'centre configuration file (.yaml or .json)')
    .requiredOption('--node <id>', "the node id, as in the node's configuration")
    .requiredOption('--store <id>', 'the store the node belongs to: whose merchant account its payments credit')
    .requiredOption('--public-key <file>', "the node's Ed25519 public key (SPKI PEM)")
    .option('--json', 'print the registration as JSON')
    .action(async (opts: { config: string; node: string; store: string; publicKey: string; json?: boolean }) => {
      assertTopicId('node', opts.node);
      assertTopicId('store', opts.store);
      const registration = checkRegistration({ nodeId: opts.node, store: opts.store, publicKeyPem: readKeyFile(opts.publicKey) }, opts.publicKey);
      await withRegistry(opts.config, async (backend) => {
        const { node, changed } = await backend.registerNode(registration, Date.now());
        print(node, opts.json === true, changed ? 'registered' : 'already registered, unchanged');
      });
    });

  nodes
    .command('list')
    .description('every registered node, revoked ones included')
    .requiredOption('--config <file>', 'centre configuration file (.yaml or .json)')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { config: string; json?: boolean }) => {
      await withRegistry(opts.config, async (backend) => {
        for (const node of await backend.registeredNodes()) print(node, opts.json === true, node.revokedMs === null ? 'active' : `revoked ${new Date(node.revokedMs).toISOString()}`);
      });
    });

  nodes
    .command('revoke')
    .description("stop posting anything signed by a node's key (a stolen or retired box); its id can be registered again with a new key")
    .requiredOption('--config <file>', 'centre configuration file (.yaml or .json)')
    .requiredOption('--node <id>', 'the node id')
    .option('--json', 'print the registration as JSON')
    .action(async (opts: { config: string; node: string; json?: boolean }) => {
      assertTopicId('node', opts.node);
      await withRegistry(opts.config, async (backend) => {
        const node = await backend.revokeNode(opts.node, Date.now());
        print(node, opts.json === true, `revoked ${new Date(node.revokedMs!).toISOString()}`);
      });
    });
}

/** Short enough to read out on the phone, long enough to tell keys apart: SHA-256 of the key's DER. */
export function keyFingerprint(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(der).digest('hex').slice(0, 32)}`;
}

function print(node: RegisteredNode, json: boolean, state: string): void {
  const fingerprint = keyFingerprint(node.publicKeyPem);
  if (json) process.stdout.write(`${JSON.stringify({ nodeId: node.nodeId, store: node.store, fingerprint, addedMs: node.addedMs, revokedMs: node.revokedMs, state })}\n`);
  else process.stdout.write(`${node.nodeId} store ${node.store} key ${fingerprint}: ${state}\n`);
  process.exitCode = EXIT.ok;
}

function readKeyFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new EdgepayError('EDGEPAY_NOT_FOUND', `--public-key: cannot read ${file}: ${(cause as Error).message}`, { file }, { cause });
  }
}

async function withRegistry(configFile: string, work: (backend: LedgerBackend) => Promise<void>): Promise<void> {
  const backend = await openLedgerBackend(loadCentreConfig(configFile).ledger);
  try {
    await work(backend);
  } finally {
    await backend.close();
  }
}
