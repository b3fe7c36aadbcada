/**
 * The reader actor: one per lane, the only owner of that lane's serial port. Compiled to
 * dist/reader/reader-actor.js and started with startActor({ module: moduleUrl(READER_MODULE) }).
 */
import { runActor } from '../actors/worker-runtime.js';
import { captureCard } from '../card/capture.js';
import { loadCardKeys } from '../card/keys.js';
import { sodiumReady } from '../card/seal.js';
import { BadInputError, type FieldProblem } from '../errors.js';
import { parseReaderProfile } from './profile.js';
import { ReaderConnection } from './reader-connection.js';
import type { ReaderInit, ReaderReply, ReaderRequest, ReaderStatus } from './reader-actor-protocol.js';
import { ReaderTransactions } from './reader-transactions.js';

/*
 * Requests interleave at their awaits: a collect waits seconds for a card, and cancel and status
 * must get through meanwhile. State needs no locking: it is only touched between awaits.
 */
const MAX_CONCURRENT = 8;

let reader: { readonly init: ReaderInit; readonly connection: ReaderConnection; readonly transactions: ReaderTransactions } | undefined;

runActor<ReaderRequest, ReaderReply, ReaderInit>({
  maxConcurrent: MAX_CONCURRENT,
  async init(args, ctx) {
    const init = checkedInit(args);
    const keys = loadCardKeys(init.keys);
    // Loaded before the first card, so no customer waits for the crypto library to start.
    await sodiumReady();
    const log = ctx.log.child({ lane: init.lane });
    const where = { lane: init.lane, port: init.port };
    // The connection's events are wired before it starts, and it starts only once both exist.
    let transactions: ReaderTransactions | undefined;
    const connection = new ReaderConnection(
      init,
      {
        onMessage: (msg) => transactions?.onMessage(msg),
        onLost: (error) => transactions?.onLost(error),
      },
      log,
    );
    transactions = new ReaderTransactions(connection, where, log, (raw) => captureCard(raw, keys));
    reader = { init, connection, transactions };
    // Not awaited: an absent reader is a state ('disconnected'), never a failed start.
    connection.start();
  },
  handle(request) {
    if (reader === undefined) throw new Error('reader actor used before init');
    switch (request.type) {
      case 'collect':
        return reader.transactions.collect(request);
      case 'cancel':
        return reader.transactions.cancel(request.txnId);
      case 'show':
        return reader.transactions.show(request);
      case 'status':
        return status(reader.init, reader.connection, reader.transactions);
      default:
        throw new BadInputError('reader request', [{ path: 'type', message: 'must be collect, show, cancel or status', value: (request as { type?: unknown }).type }]);
    }
  },
  async terminate() {
    await reader?.connection.stop();
  },
});

function status(init: ReaderInit, connection: ReaderConnection, transactions: ReaderTransactions): ReaderStatus {
  const state = connection.state === 'ready' && transactions.inTransaction ? 'in_transaction' : connection.state;
  return {
    lane: init.lane,
    port: init.port,
    state,
    ...(connection.hello !== undefined ? { model: connection.hello.model, firmwareVersion: connection.hello.firmwareVersion } : {}),
    ...(connection.lastSeenMs !== undefined ? { lastSeenMs: connection.lastSeenMs } : {}),
    connects: connection.connects,
  };
}

/** The init crossed a thread boundary as plain data: check it here so a bad lane config names its field. */
function checkedInit(args: ReaderInit): ReaderInit {
  const problems: FieldProblem[] = [];
  if (typeof args?.lane !== 'string' || args.lane.length === 0) problems.push({ path: 'lane', message: 'must be a non-empty string', value: args?.lane });
  if (typeof args?.port !== 'string' || args.port.length === 0) problems.push({ path: 'port', message: 'must be a serial device path', value: args?.port });
  for (const key of ['tokenKeyFile', 'centrePublicKeyFile'] as const) {
    const file = (args?.keys as Record<string, unknown> | undefined)?.[key];
    if (typeof file !== 'string' || file.length === 0) problems.push({ path: `keys.${key}`, message: 'must be a key file path', value: file });
  }
  if (problems.length > 0) throw new BadInputError('reader actor init', problems);
  return { lane: args.lane, port: args.port, profile: parseReaderProfile(args.profile, `lane ${args.lane}`), keys: { tokenKeyFile: args.keys.tokenKeyFile, centrePublicKeyFile: args.keys.centrePublicKeyFile } };
}
