import { loadReaderProfile } from '../reader/profile.js';
import { READER_MODULE, type ReaderInit, readerActorId } from '../reader/reader-actor-protocol.js';
import { REPLICATOR_MODULE } from '../replication/replicator-protocol.js';
import { UPLINK_MODULE } from '../reconcile/uplink-protocol.js';
import { INTAKE_MODULE } from '../node/intake-protocol.js';
import { JOURNAL_WRITER_MODULE } from '../node/journal-writer-protocol.js';
import type { NodeConfig } from '../config/node-config.js';
import { type TreeNode, actor, service, supervisor } from './tree-builders.js';

/**
 * The node's supervision tree, in one place.
 *
 *   node (one_for_one)
 *   ├── payments (one_for_one)
 *   │   ├── journal-writer   the only writer of the journal; decides and records, one fsync per batch
 *   │   └── intake           card capture on the pool, then asks the journal writer
 *   ├── replicator           the journal to the store's peers over MQTT, theirs into the replicas,
 *   │                        and peers' approvals to the journal writer (shared exposure)
 *   ├── uplink               forwards the journal to the central ledger, when configured; over MQTT
 *   │                        through the replicator's connection, the node's one broker session
 *   ├── lanes (one_for_one)
 *   │   └── reader:<lane>    one per lane: owns the serial port, speaks the reader protocol
 *   ├── observability        metrics, health and the status page (main thread), when configured
 *   └── api                  the POS payment API (main thread), when configured
 *
 * one_for_one everywhere: the intake and the readers hold no state about the actors they call
 * (they reach them by name and retry while they restart), so a restart of one must not also stop
 * the others, whose drain would wait on work that needs the restarted one back.
 * Children start top to bottom and stop bottom to top: the API stops taking requests first, then
 * the readers, then the replicator (what it had not published yet it publishes after the next
 * start: its outbox is the journal), the uplink (a round cut short resumes from the first entry the
 * centre does not hold), and the journal writer flushes and closes last.
 */
export function nodeTree(config: NodeConfig): readonly TreeNode[] {
  const tree: TreeNode[] = [supervisor('payments', 'one_for_one', [actor('journal-writer', JOURNAL_WRITER_MODULE, { shutdownTimeoutMs: 10_000 }), actor('intake', INTAKE_MODULE, { shutdownTimeoutMs: 5_000 })])];
  if (config.replication !== undefined) {
    tree.push(actor('replicator', REPLICATOR_MODULE, { shutdownTimeoutMs: 5_000 }));
  }
  if (config.centre !== undefined) {
    tree.push(actor('uplink', UPLINK_MODULE, { shutdownTimeoutMs: 10_000 }));
  }
  if (config.lanes.length > 0) {
    tree.push(
      supervisor(
        'lanes',
        'one_for_one',
        config.lanes.map((lane) =>
          actor(readerActorId(lane.id), READER_MODULE, {
            shutdownTimeoutMs: 2_000,
            init: (): ReaderInit => ({
              lane: lane.id,
              port: lane.port,
              profile: loadReaderProfile(lane.profile),
              keys: config.keys,
              ...(lane.readerPublicKey === undefined ? {} : { readerPublicKey: lane.readerPublicKey }),
            }),
          }),
        ),
      ),
    );
  }
  // The HTTP services' modules (fastify and its plugins) load only when configured, and from here:
  // on the main thread while the actors' threads open the journal, not before their start.
  if (config.observability !== undefined) {
    const loading = preload(import('../observability/service.js'));
    tree.push(service('observability', { shutdownTimeoutMs: 5_000, start: async (context) => (await loading).startObservabilityService(context) }));
  }
  if (config.api !== undefined) {
    const loading = preload(
      import('../api/service.js').then((module) => {
        module.preloadServerModules();
        return module;
      }),
    );
    tree.push(service('api', { shutdownTimeoutMs: 10_000, start: async (context) => (await loading).startApiService(context) }));
  }
  return tree;
}

/** A module loading ahead of its use: a failure surfaces where it is awaited, not as an unhandled rejection. */
function preload<T>(loading: Promise<T>): Promise<T> {
  loading.catch(() => undefined);
  return loading;
}
