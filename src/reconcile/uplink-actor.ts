// The worker-side modules alone: the package indexes would load pino and prom-client into the thread.
import { type ActorLog, runActor } from '../actors/worker-runtime.js';
import { callsFrom } from '../node/actor-directory.js';
import { BREAKER_DEFAULTS } from '../central/online-breaker.js';
import { EdgepayError } from '../errors.js';
import { JournalReader } from '../journal/journal-reader.js';
import { journalPathOf } from '../node/config.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { replicasPathOf } from '../replication/config.js';
import { CustodyForwarder } from './custody-forwarder.js';
import { ownSignedReads } from './signed-reads.js';
import { type CentreConnection, connectToCentre } from './centre-connection.js';
import { OnlineGuard } from './online-guard.js';
import { replicatorTransport } from './replicator-transport.js';
import type { UplinkInit, UplinkReply, UplinkRequest, UplinkStatus } from './uplink-protocol.js';
import { type DrainReport, Uplink } from './uplink.js';

/*
 * The uplink actor: forwards the node's journal to the centre every interval, and at once when
 * asked. It reads committed entries through its own read-only connection and records the
 * centre's outcomes through the journal writer, the journal's only writer. One round at a time:
 * a round asked for while one runs waits for it and then runs again, so it sees every entry
 * committed before it was asked.
 */
let centre: CentreConnection | undefined;
let reader: JournalReader | undefined;
let uplink: Uplink | undefined;
let timer: NodeJS.Timeout | undefined;
let running: Promise<DrainReport> | undefined;
let custody: (() => Promise<void>) | undefined;
let forwarder: CustodyForwarder | undefined;
let online: OnlineGuard | undefined;
let stopping = false;
let answerTimeoutMs = 10_000;
const status: { -readonly [K in keyof UplinkStatus]: UplinkStatus[K] } = { lastRoundAtMs: null, lastReport: null, lastError: null, rounds: 0 };

runActor<UplinkRequest, UplinkReply, UplinkInit>({
  maxConcurrent: 16,
  async init({ config }, ctx) {
    if (config.centre === undefined) throw new EdgepayError('EDGEPAY_BAD_INPUT', 'centre: the node configuration has no centre section', { field: 'centre' });
    const centreConfig = config.centre;
    answerTimeoutMs = centreConfig.answerTimeoutMs;
    // Over MQTT on the replicator's connection: one session per node at the broker (centre-relay.ts).
    // A centre over MQTT implies a replication section (the configuration refuses one without).
    centre = await connectToCentre(config, config.centre.ledger === undefined ? replicatorTransport(callsFrom(ctx), ctx.log) : 'own-client');
    const link = centre.link;
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
    const journalReader = new JournalReader(journalPathOf(config), config.nodeId);
    reader = journalReader;
    uplink = new Uplink({
      origin: config.nodeId,
      store: centreConfig.store,
      journal: {
        headSeq: () => journalReader.headSeq(),
        read: ownSignedReads((from, limit) => journalReader.read(from, limit), centre.signingKey),
        firstUnforwardedSeq: () => journalReader.firstUnforwardedSeq(),
        record: async (outcomes) => {
          await callsFrom(ctx)('journal-writer', { type: 'settled', outcomes }, config.actors.requestTimeoutMs);
        },
      },
      centre: centre.link,
      batchSize: centreConfig.batchSize,
    });
    if (config.replication !== undefined) {
      const replicasPath = replicasPathOf({ dataDir: config.dataDir });
      // Peers this node holds in custody (silent past the deadline): their replicated journals go to
      // the centre on their behalf, after this node's own.
      custody = async () => {
        const replicator = await callsFrom(ctx)('replicator', { type: 'status' }, config.actors.requestTimeoutMs);
        if (replicator.custody.length === 0 || !existsSync(replicasPath)) return;
        forwarder ??= new CustodyForwarder({
          self: config.nodeId,
          store: centreConfig.store,
          replicasPath,
          marksPath: join(config.dataDir, 'custody.db'),
          centre: centre!.link,
          batchSize: centreConfig.batchSize,
        });
        for (const origin of replicator.custody) {
          const report = await forwarder.forward(origin);
          if (report.entriesSent > 0) ctx.log.info({ origin, entries: report.entriesSent, headSeq: report.headSeq }, 'forwarded a silent peer\'s journal to the centre on its behalf');
        }
      };
    }
    const round = (): void => {
      timer = undefined;
      void drain()
        .catch((error: unknown) => ctx.log.warn({ err: error }, 'forwarding round stopped short; the next round resumes from the first entry the centre does not hold'))
        .finally(() => {
          if (!stopping) timer = setTimeout(round, centreConfig.intervalMs);
        });
    };
    timer = setTimeout(round, 0);
  },
  async handle(request, ctx) {
    switch (request.type) {
      case 'status':
        return {
          ...status,
          ...(centre?.rejectedAnswers === undefined ? {} : { rejectedAnswers: { ...centre.rejectedAnswers } }),
          ...(online === undefined ? {} : { onlineBreaker: online.status() }),
        };
      case 'drain':
        return drain();
      case 'authorize': {
        if (centre?.link.authorize === undefined) throw new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', 'this link to the centre takes no online authorizations', {});
        return online === undefined ? centre.link.authorize(request.request, request.timeoutMs) : online.authorize(request.request, request.timeoutMs);
      }
      case 'reverse':
        return { reversed: await reverseWithRetries(request.origin, request.idempotencyKey, ctx.log) };
      case 'report': {
        if (centre?.askReport === undefined) throw new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', 'the centre is an embedded ledger here: read it directly', {});
        return centre.askReport(answerTimeoutMs, request.correlationId);
      }
    }
  },
  async terminate() {
    stopping = true;
    online?.stop();
    if (timer !== undefined) clearTimeout(timer);
    await running?.catch(() => undefined);
    reader?.close();
    forwarder?.close();
    await centre?.close();
  },
});

/** A few tries a few seconds apart; after that the forwarded entry itself carries the reversal. */
async function reverseWithRetries(origin: string, idempotencyKey: string, log: ActorLog): Promise<boolean> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      await centre?.link.reverse?.(origin, idempotencyKey, 3_000);
      return true;
    } catch (error) {
      if (attempt === 3 || stopping) {
        log.warn({ err: error, idempotencyKey }, 'reversal not delivered; the forwarded entry will supersede the online approval');
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000 * attempt));
    }
  }
  return false;
}

async function drain(): Promise<DrainReport> {
  while (running !== undefined) await running.catch(() => undefined);
  const round = (async () => {
    try {
      const report = await uplink!.drain();
      await custody?.();
      status.lastReport = report;
      status.lastError = null;
      return report;
    } catch (error) {
      const e = error as { code?: unknown; message?: unknown };
      status.lastError = { code: typeof e.code === 'string' ? e.code : 'EDGEPAY_CENTRE_UNAVAILABLE', message: String(e.message ?? error) };
      throw error;
    } finally {
      status.rounds++;
      status.lastRoundAtMs = Date.now();
    }
  })();
  running = round;
  try {
    return await round;
  } finally {
    if (running === round) running = undefined;
  }
}
