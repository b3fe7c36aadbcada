import { type Command, InvalidArgumentError } from 'commander';
import { SEAL_WITH_KEYS, type SealWithKey } from '../card/token-key-credential.js';
import { KEY_KINDS, type KeyKind, PAIR_KINDS, generateKey, isKeyKind } from '../keygen/index.js';

const KIND_HELP = `
Kinds:
  node-signing     a node's Ed25519 key: <dir>/signing.key, <dir>/signing.pub (centre nodes add, peers)
  centre-signing   the centre's answer key: <dir>/centre-signing.key, <dir>/centre-signing.pub (every node)
  card-seal        the centre's X25519 card key: <dir>/card-seal.key, <dir>/card-seal.pub (every node's keys.centrePublicKeyFile)
  rules            the rules key: <dir>/rules.key (operator or centre), <dir>/rules.pub (every node)
  reader-signing   a card reader's Ed25519 key: <dir>/reader.seed (into the reader), <dir>/reader.pub (its lane's readerPublicKey)
  api-token        the POS API's bearer token: <file>
  token-key        the card token key, sealed to this machine with systemd-creds: <file> (as node seal-token-key)
TLS keys and certificates come from \`edgepay certs ca create\` and \`edgepay certs issue\`.
Private files are written 0600 (their directory 0700 if made here); nothing is ever replaced.`;

export function registerKeygenCommand(program: Command): void {
  program
    .command('keygen')
    .description("generate one of the fleet's keys; private files 0600, never over an existing file; prints where each half goes")
    .argument('<kind>', KEY_KINDS.join(', '), parseKind)
    .requiredOption('--out <path>', `a directory for ${PAIR_KINDS.join(', ')}; the file for api-token and token-key`)
    .option('--with-key <key>', `token-key only: what systemd-creds seals to (${SEAL_WITH_KEYS.join(', ')})`, parseWithKey)
    .addHelpText('after', KIND_HELP)
    .action(async (kind: KeyKind, opts: { out: string; withKey?: SealWithKey }) => {
      const result = await generateKey({ kind, out: opts.out, ...(opts.withKey === undefined ? {} : { withKey: opts.withKey }) });
      const written = result.publicFile === undefined ? result.privateFile : `${result.privateFile} and ${result.publicFile}`;
      process.stdout.write(`${kind}: wrote ${written}\n${result.next.map((line) => `  ${line}\n`).join('')}`);
    });
}

function parseKind(value: string): KeyKind {
  if (!isKeyKind(value)) throw new InvalidArgumentError(`one of ${KEY_KINDS.join(', ')}`);
  return value;
}

function parseWithKey(value: string): SealWithKey {
  if (!(SEAL_WITH_KEYS as readonly string[]).includes(value)) throw new InvalidArgumentError(`one of ${SEAL_WITH_KEYS.join(', ')}`);
  return value as SealWithKey;
}
