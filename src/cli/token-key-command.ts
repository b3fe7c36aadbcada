import type { Command } from 'commander';
import { SEAL_WITH_KEYS, type SealWithKey, TOKEN_KEY_CREDENTIAL, sealTokenKey } from '../card/token-key-credential.js';
import { EdgepayError } from '../errors.js';

/** Longest input read from stdin for --stdin: a base64 key is 44 characters; more is not a key. */
const STDIN_MAX_BYTES = 4_096;

export function registerTokenKeyCommand(node: Command): void {
  node
    .command('seal-token-key')
    .description(
      'seal the card token key for this machine with systemd-creds (TPM2 where present, the host key otherwise) and write it only encrypted; ' +
        'the unit loads it with LoadCredentialEncrypted=token.key:<file> and node.yaml names it credential:token.key. ' +
        "A new random key unless --stdin gives the fleet's key",
    )
    .requiredOption('--out <file>', 'encrypted credential to create (e.g. /etc/credstore.encrypted/edgepay-token.key); never replaced')
    .option('--with-key <key>', `what to seal to: ${SEAL_WITH_KEYS.join(', ')}`, 'auto')
    .option('--name <name>', "credential name embedded in the file; must match the unit's LoadCredentialEncrypted= name", TOKEN_KEY_CREDENTIAL)
    .option('--stdin', "seal the key read from stdin (base64, 32 bytes: the fleet's key from the operator's secret store) instead of a new one")
    .action(async (opts: { out: string; withKey: string; name: string; stdin?: boolean }) => {
      const keyBase64 = opts.stdin === true ? await readKeyFromStdin() : undefined;
      const result = await sealTokenKey({ out: opts.out, withKey: opts.withKey as SealWithKey, name: opts.name, ...(keyBase64 === undefined ? {} : { keyBase64 }) });
      const what = result.generated ? 'a new token key' : 'the given token key';
      process.stdout.write(
        `sealed ${what} to ${result.out} (credential ${result.name}, --with-key=${result.withKey}); it opens on this machine only. ` +
          `Unit: LoadCredentialEncrypted=${result.name}:${result.out}; node.yaml: keys.tokenKeyFile "credential:${result.name}"\n`,
      );
    });
}

async function readKeyFromStdin(): Promise<string> {
  if (process.stdin.isTTY === true) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', '--stdin: pipe the key in (e.g. from the secret store); typed at a terminal it would be shown and kept in the shell history', { field: 'stdin' });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > STDIN_MAX_BYTES) throw new EdgepayError('EDGEPAY_KEY_INVALID', `token key (stdin): more than ${STDIN_MAX_BYTES} bytes; expected one 32-byte key as base64`, { size });
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  for (const chunk of chunks) chunk.fill(0);
  return text;
}
