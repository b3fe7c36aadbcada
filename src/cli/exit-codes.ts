import { EdgepayError, type ErrorCode } from '../errors.js';

/** Exit codes of every edgepay command; documented in the README and in --help. */
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
];
const USAGE: readonly ErrorCode[] = [
  'EDGEPAY_BAD_INPUT',
  'EDGEPAY_NOT_FOUND',
  'EDGEPAY_RULES_INVALID',
  'EDGEPAY_KEY_INVALID',
  // The configuration names the wrong place (a mistyped dataDir, another node's directory, a file where the socket goes).
  'EDGEPAY_JOURNAL_NODE_MISMATCH',
  'EDGEPAY_JOURNAL_MISSING',
  'EDGEPAY_API_SOCKET_NOT_A_SOCKET',
];

export function exitCodeFor(error: unknown): number {
  if (!(error instanceof EdgepayError)) return EXIT.system;
  if (CHECK_FAILED.includes(error.code)) return EXIT.checkFailed;
  if (USAGE.includes(error.code)) return EXIT.usage;
  return EXIT.system;
}

export const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  a check failed (broken chain, restore refused, journal in use, journal exists
     already, API socket served by another process, journal and central ledger
     differ, the centre refused a batch as a conflict)
  2  bad usage or input (unknown option, invalid value, missing file, no journal
     or another node's journal in dataDir, two lanes on one serial device)
  3  storage or system failure (disk full, read-only, locked, I/O error)`;
