import { EdgepayError } from '../../errors.js';
import type { Replicator } from '../../replication/replicator.js';
import type { ReplicatorReply, ReplicatorRequest } from '../../replication/replicator-protocol.js';

/** The replicator actor's answer to one request: the actor's handler, and the simulation's replicator in process. */
export function answerReplicator(replicator: Replicator, request: ReplicatorRequest): ReplicatorReply | Promise<ReplicatorReply> {
  switch (request.type) {
    case 'status':
      return replicator.status();
    case 'approvals-since':
      if (!Number.isSafeInteger(request.wallMs)) {
        throw new EdgepayError('EDGEPAY_BAD_INPUT', `wallMs must be a whole number of milliseconds, got ${String(request.wallMs)}`, { wallMs: request.wallMs });
      }
      return replicator.approvalsSince(request.wallMs);
    case 'notify':
      replicator.notify();
      return { notified: true };
    case 'await-quorum':
      return replicator.awaitQuorum(request.seq, request.timeoutMs);
    case 'centre-publish':
      return replicator.centre.publish(request.topic, request.payload).then(() => ({ published: true as const }));
    case 'centre-answers':
      return replicator.centre.take(request.waitMs);
  }
}
