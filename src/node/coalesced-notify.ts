/**
 * The journal writer's word to the replicator that its journal grew: at most one per turn, however
 * many decisions the turn's commits carried, since the replicator reads the journal's new tail
 * itself. `nextTurn` is setImmediate in a node and the scheduler in a simulation.
 */
export function coalescedNotify(send: () => void, nextTurn: (run: () => void) => void = setImmediate): () => void {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    nextTurn(() => {
      pending = false;
      send();
    });
  };
}
