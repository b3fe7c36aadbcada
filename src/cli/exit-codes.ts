import { CodedError, type ErrorCode } from '../errors.js';
import type { ReplicationErrorCode } from '../wire/errors.js';

/** Exit codes of every edgepay command; documented in docs/cli.md and in --help. */
export const EXIT = {
  ok: 0,
  /** A check failed: the chain is broken, a restore was refused, the journal or the API socket is in use. */
  checkFailed: 1,
  /** Bad usage or bad input (unknown option, invalid value, missing file, no journal or another node's journal at dataDir). */
  usage: 2,
  /** Storage or system failure (disk full, read-only, locked, I/O). */
  system: 3,
} as const;

const CHECK_FAILED: readonly ErrorCode[] = [
  'EDGEPAY_JOURNAL_CHAIN_BROKEN',
  'EDGEPAY_RESTORE_REFUSED',
  'EDGEPAY_JOURNAL_IN_USE',
  'EDGEPAY_JOURNAL_EXISTS',
  'EDGEPAY_API_SOCKET_IN_USE',
  'EDGEPAY_CENTRE_CONFLICT',
  'EDGEPAY_CENTRE_CHAIN_BROKEN',
  'EDGEPAY_CENTRE_BATCH_TOTALS',
  // The centre does not take this node's batches: not registered, revoked, another store, a bad signature.
  'EDGEPAY_CENTRE_NODE_UNKNOWN',
  'EDGEPAY_CENTRE_NODE_REVOKED',
  'EDGEPAY_CENTRE_NODE_STORE',
  'EDGEPAY_CENTRE_CUSTODY_REFUSED',
  'EDGEPAY_CENTRE_SIGNATURE',
  // The node is registered already with another key or store.
  'EDGEPAY_CENTRE_NODE_EXISTS',
  // seal-token-key never replaces a sealed token key.
  'EDGEPAY_CREDENTIAL_EXISTS',
];
const USAGE: readonly (ErrorCode | ReplicationErrorCode)[] = [
  'EDGEPAY_BAD_INPUT',
  'EDGEPAY_NOT_FOUND',
  'EDGEPAY_RULES_INVALID',
  'EDGEPAY_KEY_INVALID',
  'EDGEPAY_REPLICATION_KEY_INVALID',
  'EDGEPAY_REPLICATION_BAD_ID',
  // The configuration names the wrong place (a mistyped dataDir, another node's directory, a file where the socket goes).
  'EDGEPAY_JOURNAL_NODE_MISMATCH',
  'EDGEPAY_JOURNAL_MISSING',
  'EDGEPAY_API_SOCKET_NOT_A_SOCKET',
  // The socket unit and the configuration name different places for the POS API.
  'EDGEPAY_API_SOCKET_MISMATCH',
  // A missing, short or readable-by-others POS API token file: the operator fixes the file.
  'EDGEPAY_API_TOKEN_INVALID',
  // seal-token-key needs systemd-creds (systemd 250 or later).
  'EDGEPAY_SYSTEMD_CREDS_MISSING',
];

export function exitCodeFor(error: unknown): number {
  if (!(error instanceof CodedError)) return EXIT.system;
  const code = error.code as ErrorCode & ReplicationErrorCode;
  if (CHECK_FAILED.includes(code)) return EXIT.checkFailed;
  if (USAGE.includes(code)) return EXIT.usage;
  return EXIT.system;
}

export const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  a check failed (broken chain, restore refused, journal in use, journal exists
     already, API socket served by another process, journal and central ledger
     differ or the centre could not be reached to compare them, the centre
     refused a batch as a conflict or as not this node's,
     a node registered already with another key or store)
  2  bad usage or input (unknown option, invalid value, missing file, no journal
     or another node's journal in dataDir, two lanes on one serial device, a POS
     API token file that is short or readable by others, a POS API socket handed
     over by systemd that is not where the configuration puts the API)
  3  storage or system failure (disk full, read-only, locked, I/O error)`;
