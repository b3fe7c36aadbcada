// The worker-side modules alone: the package indexes would load pino and prom-client into the thread.
import { type ActorLog, runActor } from '../../actors/worker-runtime.js';
import { callsFrom } from '../../node/actor-directory.js';
import { BREAKER_DEFAULTS } from '../../central/online-breaker.js';
import { EdgepayError } from '../../errors.js';
import { JournalReader } from '../../journal/journal-reader.js';
import { journalPathOf } from '../../config/node-config.js';
import { join } from 'node:path';
import { replicasPathOf } from '../../replication/config.js';
import { custodyRound } from '../../reconcile/custody-round.js';
import { ownSignedReads } from '../../reconcile/signed-reads.js';
import { type CentreConnection, connectToCentre } from '../../reconcile/centre-connection.js';
import { OnlineGuard } from '../../reconcile/online-guard.js';
import { replicatorTransport } from './replicator-transport.js';
import { ForwardingRounds } from '../../reconcile/forwarding-rounds.js';
import type { UplinkInit, UplinkReply, UplinkRequest } from '../../reconcile/uplink-protocol.js';
import { Uplink } from '../../reconcile/uplink.js';

/*
 * The uplink actor: forwards the node's journal to the centre (forwarding-rounds.ts), asks the
 * centre online when payments do, and withdraws online approvals the node overrode. It reads
 * committed entries through its own read-only connection and records the centre's outcomes
 * through the journal writer, the journal's only writer.
 */
interface UplinkState {
  readonly centre: CentreConnection;
  readonly reader: JournalReader;
  readonly rounds: ForwardingRounds;
  readonly online: OnlineGuard | undefined;
  readonly answerTimeoutMs: number;
  /** Closes what forwarding peers' journals in custody opened, if it ever did. */
  readonly closeCustody: () => void;
}

runActor<UplinkRequest, UplinkReply, UplinkInit, UplinkState>({
  maxConcurrent: 16,
  async init({ config }, ctx) {
    if (config.centre === undefined) throw new EdgepayError('EDGEPAY_BAD_INPUT', 'centre: the node configuration has no centre section', { field: 'centre' });
    const centreConfig = config.centre;
    const call = callsFrom(ctx);
    // Over MQTT on the replicator's connection: one session per node at the broker (centre-relay.ts).
    // A centre over MQTT implies a replication section (the configuration refuses one without).
    const centre = await connectToCentre(config, config.centre.ledger === undefined ? replicatorTransport(call, ctx.log) : 'own-client');
    const link = centre.link;
    let online: OnlineGuard | undefined;
    if (centreConfig.online.enabled && link.authorize !== undefined) {
      // The probe: over MQTT the centre's signed report of this node (read-only at the centre, and
      // believed only as every answer is); embedded, the same report read from the ledger.
      const { askReport, originReport } = centre;
      const probe = askReport !== undefined ? (timeoutMs: number) => askReport(timeoutMs) : originReport !== undefined ? () => originReport(config.nodeId) : undefined;
      if (probe !== undefined) {
        online = new OnlineGuard({
          settings: {
            failuresToOpen: centreConfig.online.failuresToOpen ?? BREAKER_DEFAULTS.failuresToOpen,
            probeAfterMs: centreConfig.online.probeAfterMs ?? BREAKER_DEFAULTS.probeAfterMs,
          },
          authorize: (request, timeoutMs) => link.authorize!(request, timeoutMs),
          probe,
          // As long as a batch may wait for its answer: a slow answer is still the centre answering.
          probeTimeoutMs: centreConfig.answerTimeoutMs,
          log: ctx.log,
        });
      }
    }
    const reader = new JournalReader(journalPathOf(config), config.nodeId);
    const uplink = new Uplink({
      origin: config.nodeId,
      store: centreConfig.store,
      journal: {
        headSeq: () => reader.headSeq(),
        read: ownSignedReads((from, limit) => reader.read(from, limit), centre.signingKey),
        firstUnforwardedSeq: () => reader.firstUnforwardedSeq(),
        record: async (outcomes) => {
          await call('journal-writer', { type: 'settled', outcomes }, config.actors.requestTimeoutMs);
        },
      },
      centre: link,
      batchSize: centreConfig.batchSize,
    });
    // Peers this node holds in custody: their replicated journals go to the centre on their behalf, after this node's own.
    const custody =
      config.replication === undefined
        ? undefined
        : custodyRound({
            self: config.nodeId,
            store: centreConfig.store,
            replicasPath: replicasPathOf({ dataDir: config.dataDir }),
            marksPath: join(config.dataDir, 'custody.db'),
            centre: link,
            batchSize: centreConfig.batchSize,
            custody: async () => (await call('replicator', { type: 'status' }, config.actors.requestTimeoutMs)).custody,
            forwarded: (origin, entries, headSeq) => ctx.log.info({ origin, entries, headSeq }, "forwarded a silent peer's journal to the centre on its behalf"),
          });
    const rounds = new ForwardingRounds(uplink, custody === undefined ? undefined : () => custody.run());
    rounds.start(centreConfig.intervalMs, ctx.log);
    return { centre, reader, rounds, online, answerTimeoutMs: centreConfig.answerTimeoutMs, closeCustody: () => custody?.close() };
  },
  async handle(request, ctx, { centre, rounds, online, answerTimeoutMs }) {
    switch (request.type) {
      case 'status':
        return {
          ...rounds.status(),
          ...(centre.rejectedAnswers === undefined ? {} : { rejectedAnswers: { ...centre.rejectedAnswers } }),
          ...(online === undefined ? {} : { onlineBreaker: online.status() }),
        };
      case 'drain':
        return rounds.drain();
      case 'authorize': {
        if (centre.link.authorize === undefined) throw new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', 'this link to the centre takes no online authorizations', {});
        return online === undefined ? centre.link.authorize(request.request, request.timeoutMs) : online.authorize(request.request, request.timeoutMs);
      }
      case 'reverse':
        return { reversed: await reverseWithRetries(centre, rounds, request.origin, request.idempotencyKey, ctx.log) };
      case 'report': {
        if (centre.askReport === undefined) throw new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', 'the centre is an embedded ledger here: read it directly', {});
        return centre.askReport(answerTimeoutMs, request.correlationId);
      }
    }
  },
  async terminate(_ctx, state) {
    if (state === undefined) return;
    state.online?.stop();
    await state.rounds.stop();
    state.reader.close();
    state.closeCustody();
    await state.centre.close();
  },
});

/** A few tries a few seconds apart; after that the forwarded entry itself carries the reversal. */
async function reverseWithRetries(centre: CentreConnection, rounds: ForwardingRounds, origin: string, idempotencyKey: string, log: ActorLog): Promise<boolean> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      await centre.link.reverse?.(origin, idempotencyKey, 3_000);
      return true;
    } catch (error) {
      if (attempt === 3 || rounds.isStopping) {
        log.warn({ err: error, idempotencyKey }, 'reversal not delivered; the forwarded entry will supersede the online approval');
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000 * attempt));
    }
  }
  return false;
}
