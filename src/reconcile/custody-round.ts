import { existsSync } from 'node:fs';
import { CustodyForwarder, type CustodyForwarderOptions } from './custody-forwarder.js';

export interface CustodyRoundOptions extends CustodyForwarderOptions {
  /** The peers this node holds in custody now (the replicator's status). */
  readonly custody: () => Promise<readonly string[]>;
  /** Told of each origin whose entries went to the centre in a round. */
  readonly forwarded?: (origin: string, entries: number, headSeq: number) => void;
}

export interface CustodyRound {
  /** One round: everything the replicas hold of each peer in custody and the centre does not. */
  run(): Promise<void>;
  close(): void;
}

/**
 * Peers this node holds in custody (silent past the deadline, and this node their rendezvous
 * winner) have their replicated journals forwarded to the centre on their behalf, after this
 * node's own. The forwarder opens its files with the first peer taken into custody, not before.
 */
export function custodyRound(options: CustodyRoundOptions): CustodyRound {
  let forwarder: CustodyForwarder | undefined;
  return {
    async run() {
      const custody = await options.custody();
      if (custody.length === 0 || !existsSync(options.replicasPath)) return;
      forwarder ??= new CustodyForwarder(options);
      for (const origin of custody) {
        const report = await forwarder.forward(origin);
        if (report.entriesSent > 0) options.forwarded?.(origin, report.entriesSent, report.headSeq);
      }
    },
    close() {
      forwarder?.close();
    },
  };
}
