import { readFileSync } from 'node:fs';
import { Centre } from '../central/centre.js';
import type { LedgerBackend } from '../central/ledger-backend.js';
import { type RegisteredNode, directoryOf } from '../central/node-registry.js';
import { PostgresLedger } from '../central/postgres-ledger.js';
import { SqliteLedger } from '../central/sqlite-ledger.js';
import { EdgepayError } from '../errors.js';
import type { NodeConfig } from '../node/config.js';
import type { CentreLink } from './uplink.js';

export interface EmbeddedCentre {
  readonly centre: Centre;
  readonly link: CentreLink;
  close(): Promise<void>;
}

type LedgerConfig = NonNullable<NonNullable<NodeConfig['centre']>['ledger']>;

/** The ledger a node's configuration names, opened in this process: the node forwards straight into it. */
export async function openEmbeddedCentre(centreConfig: NonNullable<NodeConfig['centre']> & { readonly ledger: LedgerConfig }, nodes: readonly RegisteredNode[]): Promise<EmbeddedCentre> {
  const backend = await openLedgerBackend(centreConfig.ledger);
  const centre = new Centre({ backend, forwardDeadlineHours: centreConfig.forwardDeadlineHours, nodes: directoryOf(nodes) });
  return {
    centre,
    link: {
      send: (batch) => centre.ingest(batch),
      authorize: (request) => centre.authorizeOnline(request),
      reverse: (origin, key) => centre.reverseOnline(origin, key),
    },
    close: () => backend.close(),
  };
}

/** Opens the ledger a node's or the centre's configuration names. */
export async function openLedgerBackend(ledger: LedgerConfig): Promise<LedgerBackend> {
  try {
    if ('sqliteFile' in ledger) return SqliteLedger.open(ledger.sqliteFile);
    return await PostgresLedger.open({ url: readUrl(ledger.postgresUrlFile) });
  } catch (cause) {
    if (cause instanceof EdgepayError) throw cause;
    throw new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', `cannot open the central ledger: ${(cause as Error).message}`, { ledger: 'sqliteFile' in ledger ? ledger.sqliteFile : 'postgres' }, { cause });
  }
}

function readUrl(file: string): string {
  let url: string;
  try {
    url = readFileSync(file, 'utf8').trim();
  } catch (cause) {
    throw new EdgepayError('EDGEPAY_NOT_FOUND', `centre.ledger.postgresUrlFile: cannot read ${file}: ${(cause as Error).message}`, { file }, { cause });
  }
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `centre.ledger.postgresUrlFile: ${file} must hold one postgres:// URL`, { field: 'centre.ledger.postgresUrlFile', file });
  }
  return url;
}
