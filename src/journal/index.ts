export { type EntryKind, ENTRY_KINDS, type EntryDraft, type EntryDecision, type JournalEntry, type DecisionMode, GENESIS_HASH } from './entry.js';
export { canonicalEncoding, entryHash, CANONICAL_FORMAT } from './canonical.js';
export { Journal, type JournalOptions, type BatchWriter, type ChainHead } from './journal.js';
export { GroupCommit, type GroupCommitOptions, type Settled, DEFAULT_GROUP_COMMIT } from './group-commit.js';
export { verifyChain, type VerifyReport, type ChainProblem, type ChainProblemKind } from './verify.js';
export { SCHEMA_VERSION } from './schema.js';
