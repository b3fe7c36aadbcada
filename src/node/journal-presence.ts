import { existsSync } from 'node:fs';
import { EdgepayError } from '../errors.js';
import { readJournalNodeId } from '../journal/file-identity.js';
import { lockOwner } from '../journal/lock.js';
import { type NodeConfig, journalPathOf } from '../config/node-config.js';

/**
 * Refuses to start a node whose journal is not there, is not its own, or is held by another
 * running process. Checked on the main thread before anything of the node starts, so a mistyped
 * dataDir leaves no file behind (the replicas, the outbox, the lanes' payments and the locks all
 * live in the data directory too). The journal writer opens with `mustExist` as well, and
 * re-hashes the chain's tail.
 */
export function requireNodeJournal(config: Pick<NodeConfig, 'nodeId' | 'dataDir'>): void {
  const path = journalPathOf(config);
  if (!existsSync(path)) throw journalMissing(path, config.dataDir, 'no journal at');
  // Its start waits on this: the identity alone, not the entry count.
  const nodeId = readJournalNodeId(path);
  if (nodeId === undefined) throw journalMissing(path, config.dataDir, "no node's journal (the file holds no node identity) at");
  if (nodeId !== config.nodeId) {
    throw new EdgepayError(
      'EDGEPAY_JOURNAL_NODE_MISMATCH',
      `${path} is the journal of node ${JSON.stringify(nodeId)}, not ${JSON.stringify(config.nodeId)}; a journal is never shared between nodes: check nodeId and dataDir`,
      { path, journalNodeId: nodeId, nodeId: config.nodeId },
    );
  }
  // The journal writer takes the lock itself; asking here first refuses before any actor starts.
  // This process's own pid is left to the writer, which waits for a dead thread's lock to be freed.
  const owner = lockOwner(path);
  if (owner !== undefined && owner !== process.pid) {
    throw new EdgepayError('EDGEPAY_JOURNAL_IN_USE', `journal ${path} is in use by process ${owner}: another node runs on this data directory`, { path, pid: owner });
  }
}

function journalMissing(path: string, dataDir: string, what: string): EdgepayError {
  return new EdgepayError(
    'EDGEPAY_JOURNAL_MISSING',
    [
      `${what} ${path}; a node never starts a new journal by itself (a new one under a mistyped dataDir would give out sequence numbers the real one already used). Either:`,
      '  - a new node: edgepay node init --config FILE',
      `  - a replaced box: edgepay journal restore --from BACKUP --db ${path}, then edgepay node rebuild --from-peers --keep-existing --config FILE; without a backup: edgepay node rebuild --from-peers --config FILE`,
      `  - or fix dataDir (now ${dataDir}) if this node's journal is elsewhere`,
    ].join('\n'),
    { path, dataDir },
  );
}
