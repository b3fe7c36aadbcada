import { existsSync } from 'node:fs';
import { createApiTokenFile, isSystemdCredential } from '../api/api-token.js';
import { EdgepayError } from '../errors.js';
import { fsyncDirectoryOf, sqliteFiles } from '../journal/files.js';
import { Journal } from '../journal/journal.js';
import { storageError } from '../journal/storage-errors.js';
import { makePrivateDirectory } from '../platform/private-files.js';
import { type NodeConfig, journalPathOf } from '../config/node-config.js';
import { readJournalIdentity } from '../journal/file-identity.js';

export interface NodeInitResult {
  readonly nodeId: string;
  readonly dataDir: string;
  readonly journalPath: string;
  /** False when the data directory was there already (made by systemd's StateDirectory=, a mount). */
  readonly createdDataDir: boolean;
  /** With the POS API on TCP: its token file, and whether init wrote it (false: it was there, or is a systemd credential). */
  readonly apiToken?: { readonly file: string; readonly created: boolean };
}

/**
 * Makes a new node's data directory (0700: the journal holds sealed card data) and its empty
 * journal, stamped with the node's identity. The only way a node's journal comes to exist, apart
 * from a restore or a rebuild from the peers: `node run` never creates one, so a mistyped dataDir
 * stops the node instead of forking its history. Refuses whenever a journal is there already,
 * whoever it belongs to, and leaves it as it is. With the POS API on TCP it also writes the API's
 * token file if there is none.
 */
export function initNode(config: Pick<NodeConfig, 'nodeId' | 'dataDir' | 'api'>): NodeInitResult {
  const journalPath = journalPathOf(config);
  if (sqliteFiles(journalPath).some((file) => existsSync(file))) throw journalExists(journalPath);
  // Before the journal: if it cannot be written, a second init is still possible.
  const apiToken = config.api !== undefined && 'tokenFile' in config.api ? initApiToken(config.api.tokenFile) : undefined;
  let created: boolean;
  try {
    created = !existsSync(config.dataDir);
    makePrivateDirectory(config.dataDir);
  } catch (cause) {
    throw storageError(cause, journalPath);
  }
  Journal.open({ path: journalPath, nodeId: config.nodeId }).close();
  fsyncDirectoryOf(journalPath);
  return { nodeId: config.nodeId, dataDir: config.dataDir, journalPath, createdDataDir: created, ...(apiToken === undefined ? {} : { apiToken }) };
}

/**
 * The POS API's token for a new node: 32 random bytes (base64url, mode 0600) unless a token file
 * is there already. A systemd credential is the operator's to make (init runs as the service's
 * user, who cannot write where credentials are kept); `node run` says so if it is missing.
 */
function initApiToken(file: string): { file: string; created: boolean } {
  return { file, created: isSystemdCredential(file) ? false : createApiTokenFile(file) };
}

function journalExists(path: string): EdgepayError {
  let whose = '';
  try {
    const identity = readJournalIdentity(path);
    whose = identity.nodeId === undefined ? ' (it holds no node identity)' : ` (the journal of node ${JSON.stringify(identity.nodeId)}, ${identity.entries} entries)`;
  } catch {
    // Unreadable or only its -wal/-shm left: the refusal stands, without a description.
  }
  return new EdgepayError(
    'EDGEPAY_JOURNAL_EXISTS',
    `${path} exists already${whose}; node init never replaces a journal. Start the node on it with \`edgepay node run\`, or point dataDir at a new directory for a new node`,
    { path },
  );
}
