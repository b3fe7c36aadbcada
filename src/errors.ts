/**
 * Every failure edgepay reports to a caller carries a stable string code, so callers branch on
 * codes rather than on message text (the same convention as better-sqlite3's SqliteError).
 */
export type ErrorCode =
  | 'EDGEPAY_BAD_INPUT'
  | 'EDGEPAY_RULES_INVALID'
  | 'EDGEPAY_CURRENCY_UNKNOWN'
  | 'EDGEPAY_AMOUNT_INVALID'
  | 'EDGEPAY_CARD_INVALID'
  | 'EDGEPAY_KEY_INVALID'
  | 'EDGEPAY_SYSTEMD_CREDS_MISSING'
  | 'EDGEPAY_CREDENTIAL_SEAL_FAILED'
  | 'EDGEPAY_CREDENTIAL_EXISTS'
  | 'EDGEPAY_MEMORY_FS_MISSING'
  | 'EDGEPAY_IDEMPOTENCY_CONFLICT'
  | 'EDGEPAY_JOURNAL_FULL'
  | 'EDGEPAY_JOURNAL_READONLY'
  | 'EDGEPAY_JOURNAL_LOCKED'
  | 'EDGEPAY_JOURNAL_IO'
  | 'EDGEPAY_JOURNAL_CLOSED'
  | 'EDGEPAY_JOURNAL_CHAIN_BROKEN'
  | 'EDGEPAY_JOURNAL_SCHEMA'
  | 'EDGEPAY_JOURNAL_NODE_MISMATCH'
  | 'EDGEPAY_JOURNAL_READ_MISMATCH'
  | 'EDGEPAY_CENTRE_BATCH_EMPTY'
  | 'EDGEPAY_CENTRE_BATCH_TOTALS'
  | 'EDGEPAY_CENTRE_BATCH_SHAPE'
  | 'EDGEPAY_CENTRE_CHAIN_BROKEN'
  | 'EDGEPAY_CENTRE_GAP'
  | 'EDGEPAY_CENTRE_CONFLICT'
  | 'EDGEPAY_CENTRE_NODE_UNKNOWN'
  | 'EDGEPAY_CENTRE_NODE_REVOKED'
  | 'EDGEPAY_CENTRE_NODE_STORE'
  | 'EDGEPAY_CENTRE_CUSTODY_REFUSED'
  | 'EDGEPAY_CENTRE_SIGNATURE'
  | 'EDGEPAY_CENTRE_NODE_EXISTS'
  | 'EDGEPAY_CENTRE_UNAVAILABLE'
  | 'EDGEPAY_JOURNAL_IN_USE'
  | 'EDGEPAY_JOURNAL_MISSING'
  | 'EDGEPAY_JOURNAL_EXISTS'
  | 'EDGEPAY_API_SOCKET_IN_USE'
  | 'EDGEPAY_API_SOCKET_NOT_A_SOCKET'
  | 'EDGEPAY_API_SOCKET_MISMATCH'
  | 'EDGEPAY_API_TOKEN_INVALID'
  | 'EDGEPAY_API_UNAUTHORIZED'
  | 'EDGEPAY_RESTORE_REFUSED'
  | 'EDGEPAY_NOT_FOUND'
  | 'EDGEPAY_BAD_HTTP'
  | 'EDGEPAY_HEADERS_TOO_LARGE'
  | 'EDGEPAY_REQUEST_TIMEOUT'
  | 'EDGEPAY_BODY_TOO_LARGE'
  | 'EDGEPAY_UNSUPPORTED_MEDIA_TYPE'
  | 'EDGEPAY_BAD_JSON'
  | 'EDGEPAY_FORBIDDEN_JSON_KEY'
  | 'EDGEPAY_OVERLOADED'
  | 'EDGEPAY_NODE_STOPPING'
  | 'EDGEPAY_READER_UNAVAILABLE'
  | 'EDGEPAY_READER_BUSY'
  | 'EDGEPAY_READER_LOST'
  | 'EDGEPAY_READER_TIMEOUT'
  | 'EDGEPAY_READER_CANCELLED'
  | 'EDGEPAY_READER_INCOMPATIBLE'
  | 'EDGEPAY_READER_ERROR'
  | 'EDGEPAY_READER_RESTARTED'
  | 'EDGEPAY_LANE_UNKNOWN'
  | 'EDGEPAY_LANE_BUSY'
  | 'EDGEPAY_PAYMENT_NOT_CANCELLABLE'
  | 'EDGEPAY_PAYMENT_INTERRUPTED'
  | 'EDGEPAY_HOST_NOT_ALLOWED'
  | 'EDGEPAY_OBSERVABILITY_LISTEN';

/**
 * The shape of every edgepay error: a stable code and structured details. Each part of the system
 * (the payment domain here, the actor runtime, the supervisor) has its own set of codes and its
 * own subclass, so a code's type says which part raised it.
 */
export class CodedError<Code extends string> extends Error {
  readonly code: Code;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: Code, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

export class EdgepayError extends CodedError<ErrorCode> {}

/** One bad field of an input: which field, which value, what is allowed. */
export interface FieldProblem {
  readonly path: string;
  readonly message: string;
  readonly value?: unknown;
}

export class BadInputError extends EdgepayError {
  readonly problems: readonly FieldProblem[];

  constructor(what: string, problems: readonly FieldProblem[]) {
    const list = problems.map((p) => `${p.path || '(root)'}: ${p.message}`).join('; ');
    super('EDGEPAY_BAD_INPUT', `invalid ${what}: ${list}`, { problems });
    this.problems = problems;
  }
}

export function isEdgepayError(value: unknown, code?: ErrorCode): value is EdgepayError {
  return value instanceof EdgepayError && (code === undefined || value.code === code);
}
