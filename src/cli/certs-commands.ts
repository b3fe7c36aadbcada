import type { Command } from 'commander';
import { dirname, join } from 'node:path';
import { pairFiles, readCa, writePair } from '../certs/files.js';
import { parseWholeOption } from './number-options.js';

/** A store CA outlives several generations of node certificates. */
const CA_DAYS = 3_650;
/** Node, centre, bridge and broker certificates: re-issued every two years or so. */
const LEAF_DAYS = 825;

/** As in certs/x509.ts (MAX_VALID_DAYS), which is loaded only when a certificate is made. */
const MAX_VALID_DAYS = 36_500;
const days = (value: string): number => parseWholeOption('--days', value, 1, MAX_VALID_DAYS);
// The X.509 library and its dependency injection container load only for these commands, not for every edgepay command.
const x509 = () => import('../certs/x509.js');
const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerCertsCommands(program: Command): void {
  const certs = program
    .command('certs')
    .description("the store's TLS certificates (ECDSA P-256): a CA, a client certificate per node, centre process and bridge (its common name is its MQTT identity), and the broker's server certificate");

  certs
    .command('ca')
    .description('the certificate authority that signs every certificate of a store (or fleet)')
    .command('create')
    .description('make a new CA: ca.crt (give it to the broker and every client: cafile / caFile) and ca.key (0600; keep it off the lane boxes); never over existing files')
    .requiredOption('--out-dir <dir>', 'directory for ca.crt and ca.key')
    .option('--name <cn>', "the CA's common name", 'edgepay-store-ca')
    .option('--days <days>', 'validity in days', days, CA_DAYS)
    .action(async (opts: { outDir: string; name: string; days: number }) => {
      const pair = await (await x509()).createCa({ name: opts.name, validDays: opts.days });
      const files = pairFiles(opts.outDir, 'ca');
      writePair(files, pair, opts.outDir);
      process.stdout.write(`wrote ${files.certFile} (public: the broker's cafile, every client's caFile) and ${files.keyFile} (0600: signs certificates; keep it off the lane boxes)\n`);
    });

  certs
    .command('issue')
    .description(
      'issue a certificate signed by the CA: <name>.crt and <name>.key (0600) in --out-dir; a client by default (its name is its MQTT username: the node id, edgepay-centre, edgepay-bridge), a broker with --server',
    )
    .requiredOption('--ca <file>', 'the CA certificate (ca.crt)')
    .option('--ca-key <file>', 'the CA key (default: ca.key beside --ca)')
    .requiredOption('--name <cn>', "the common name: a node id, a broker user, or the broker's name with --server")
    .requiredOption('--out-dir <dir>', 'directory for <name>.crt and <name>.key')
    .option('--server', 'a broker (server) certificate; give every name and address clients connect to with --host')
    .option('--host <name-or-ip>', 'with --server: a DNS name or IP address of the broker (repeat for each)', collect, [])
    .option('--days <days>', 'validity in days', days, LEAF_DAYS)
    .action(async (opts: { ca: string; caKey?: string; name: string; outDir: string; server?: boolean; host: string[]; days: number }) => {
      const ca = readCa(opts.ca, opts.caKey ?? join(dirname(opts.ca), 'ca.key'));
      const pair = await (await x509()).issueCertificate({ ca, name: opts.name, kind: opts.server ? 'server' : 'client', hosts: opts.host, validDays: opts.days });
      const files = pairFiles(opts.outDir, opts.name);
      writePair(files, pair, opts.outDir);
      const use = opts.server ? `the broker's certfile/keyfile, for ${opts.host.join(', ')}` : `certFile/keyFile of ${opts.name}, whose MQTT username it is`;
      process.stdout.write(`wrote ${files.certFile} and ${files.keyFile} (0600): ${use}; valid ${opts.days} days\n`);
    });
}
