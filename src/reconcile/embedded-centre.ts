import { readFileSync } from 'node:fs';
import { Centre } from '../central/centre.js';
import type { LedgerBackend } from '../central/ledger-backend.js';
import { type RegisteredNode, directoryOf } from '../central/node-registry.js';
import { PostgresLedger } from '../central/postgres-ledger.js';
import { SqliteLedger } from '../central/sqlite-ledger.js';
import { EdgepayError } from '../errors.js';
import type { NodeConfig } from '../config/node-config.js';
import type { CentreLink } from './uplink.js';

export interface EmbeddedCentre {
  /** The centre on its ledger, opened at the first call (and tried again at the next while it cannot be). */
  centre(): Promise<Centre>;
  readonly link: CentreLink;
  close(): Promise<void>;
}

type LedgerConfig = NonNullable<NonNullable<NodeConfig['centre']>['ledger']>;

/**
 * The ledger a node's configuration names, in this process: the node forwards straight into it.
 * It is opened when first needed, not here: a node whose ledger database is not up yet (a boot in
 * any order) starts all the same and takes payments offline; each forwarding round, online request
 * or report tries to open it until it can, and fails like an unreachable centre meanwhile.
 */
export function openEmbeddedCentre(centreConfig: NonNullable<NodeConfig['centre']> & { readonly ledger: LedgerConfig }, nodes: readonly RegisteredNode[]): EmbeddedCentre {
  let opened: Centre | undefined;
  let opening: Promise<Centre> | undefined;
  let closed = false;
  const centre = (): Promise<Centre> => {
    if (opened !== undefined) return Promise.resolve(opened);
    if (closed) return Promise.reject(new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', 'the link to the centre closed', {}));
    // One opening at a time; a failed one is forgotten, so the next call tries again.
    opening ??= openLedgerBackend(centreConfig.ledger)
      .then(async (backend) => {
        if (closed) {
          await backend.close();
          throw new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', 'the link to the centre closed', {});
        }
        opened = new Centre({ backend, forwardDeadlineHours: centreConfig.forwardDeadlineHours, nodes: directoryOf(nodes) });
        return opened;
      })
      .finally(() => (opening = undefined));
    return opening;
  };
  return {
    centre,
    link: {
      send: async (batch) => (await centre()).ingest(batch),
      authorize: async (request) => (await centre()).authorizeOnline(request),
      reverse: async (origin, key) => (await centre()).reverseOnline(origin, key),
    },
    close: async () => {
      // An opening still under way is not waited for (a database host that drops packets holds it
      // for minutes): it closes what it opens when it finishes.
      closed = true;
      await opened?.backend.close();
    },
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
