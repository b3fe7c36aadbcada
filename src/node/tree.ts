import { AUTHORIZER_MODULE } from './actors/authorizer-protocol.js';
import { JOURNAL_WRITER_MODULE } from './actors/journal-writer-protocol.js';
import { type TreeNode, actor, supervisor } from './tree-builders.js';

/**
 * The node's supervision tree, in one place.
 *
 *   node (one_for_one)
 *   └── payments (one_for_one)
 *       ├── journal-writer   the only writer of the journal; decides and records, one fsync per batch
 *       └── authorizer       card capture on the pool, then asks the journal writer
 *
 * one_for_one: the authorizer holds no state about the journal writer (it reaches it by name and
 * retries while it restarts), so a journal-writer restart must not also stop the authorizer, whose
 * drain would wait on payments that need the journal writer back. Children start top to bottom and stop bottom to top: the authorizer stops taking payments
 * before the journal writer flushes and closes. Lanes, replication, the uplink and the POS API
 * join the node supervisor as they land.
 */
export const NODE_TREE: readonly TreeNode[] = [
  supervisor('payments', 'one_for_one', [
    actor('journal-writer', JOURNAL_WRITER_MODULE, { shutdownTimeoutMs: 10_000 }),
    actor('authorizer', AUTHORIZER_MODULE, { shutdownTimeoutMs: 5_000 }),
  ]),
];
