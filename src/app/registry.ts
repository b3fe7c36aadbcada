import type { ActorHandle } from '../actors/index.js';

/**
 * Where each named actor currently lives. A restart registers the new instance; the old one drops
 * out as soon as it exits, so a lookup never returns a dead actor. This is how actors in different
 * branches of the tree reach each other across restarts.
 */
export class ActorRegistry {
  private readonly current = new Map<string, ActorHandle<unknown, unknown>>();

  register(id: string, handle: ActorHandle<unknown, unknown>): void {
    this.current.set(id, handle);
    void handle.exited.then(() => {
      if (this.current.get(id) === handle) this.current.delete(id);
    });
  }

  lookup<Req, Res>(id: string): ActorHandle<Req, Res> | undefined {
    return this.current.get(id) as ActorHandle<Req, Res> | undefined;
  }
}
