import type { ActorLog } from '../actors/worker-runtime.js';
import type { RawCard } from '../card/capture.js';
import { BadInputError } from '../errors.js';
import { type CollectedCard, HANDSHAKE_WAIT_MS, type ReaderInit, type ReaderReply, type ReaderRequest, type ReaderStatus } from './reader-actor-protocol.js';
import { ReaderConnection, type ReaderConnectionIo } from './reader-connection.js';
import { ReaderTransactions } from './reader-transactions.js';

/** One lane's reader: the connection that owns its port and the transactions run over it. */
export interface LaneReader {
  readonly init: ReaderInit;
  readonly connection: ReaderConnection;
  readonly transactions: ReaderTransactions;
}

/**
 * Wires a lane's reader; the connection's events go to the transactions, and it starts only once
 * both exist (an absent reader is a state, 'disconnected', never a failed start). `io` is the
 * machine's port, clock and timers unless a simulation passes its own.
 */
export function startLaneReader(init: ReaderInit, log: ActorLog, capture: (raw: RawCard) => Promise<CollectedCard>, io?: ReaderConnectionIo): LaneReader {
  const where = { lane: init.lane, port: init.port };
  let transactions: ReaderTransactions | undefined;
  const connection = new ReaderConnection(
    init,
    {
      onMessage: (msg) => transactions?.onMessage(msg),
      onLost: (error) => transactions?.onLost(error),
      onReaderError: (code, text) => transactions?.onReaderError(code, text),
      onReaderForgot: (why) => transactions?.onReaderForgot(why),
    },
    log,
    io,
  );
  transactions = new ReaderTransactions(connection, where, log, capture, io?.timers);
  connection.start();
  return { init, connection, transactions };
}

/** A request to the lane's reader, as the reader actor takes it. */
export function handleReaderRequest(reader: LaneReader, request: ReaderRequest): ReaderReply | Promise<ReaderReply> {
  switch (request.type) {
    case 'collect':
      return reader.transactions.collect(request);
    case 'cancel':
      return reader.transactions.cancel(request.txnId);
    case 'show':
      return reader.transactions.show(request);
    case 'status':
      if (request.settle === true && reader.connection.state === 'connecting') return reader.connection.settled(HANDSHAKE_WAIT_MS).then(() => laneReaderStatus(reader));
      return laneReaderStatus(reader);
    default:
      throw new BadInputError('reader request', [{ path: 'type', message: 'must be collect, show, cancel or status', value: (request as { type?: unknown }).type }]);
  }
}

function laneReaderStatus({ init, connection, transactions }: LaneReader): ReaderStatus {
  const state = connection.state === 'ready' && transactions.inTransaction ? 'in_transaction' : connection.state;
  return {
    lane: init.lane,
    port: init.port,
    state,
    ...(connection.hello !== undefined ? { model: connection.hello.model, firmwareVersion: connection.hello.firmwareVersion } : {}),
    ...(connection.lastSeenMs !== undefined ? { lastSeenMs: connection.lastSeenMs } : {}),
    connects: connection.connects,
    ...(connection.sessionKind !== undefined ? { session: connection.sessionKind } : {}),
    ...(connection.state === 'incompatible' && connection.problem !== undefined ? { problem: connection.problem } : {}),
  };
}
