/**
 * The reader actor: one per lane, the only owner of that lane's serial port. Compiled to
 * dist/app/actors/reader.js and started with startActor({ module: moduleUrl(READER_MODULE) }).
 */
import { runActor } from '../../actors/worker-runtime.js';
import { captureCard } from '../../card/capture.js';
import { loadCardKeys } from '../../card/keys.js';
import { sodiumReady } from '../../card/seal.js';
import { BadInputError, type FieldProblem } from '../../errors.js';
import { parseReaderProfile } from '../../reader/profile.js';
import type { ReaderInit, ReaderReply, ReaderRequest } from '../../reader/reader-actor-protocol.js';
import { type LaneReader, handleReaderRequest, startLaneReader } from '../../reader/reader-service.js';

/*
 * Requests interleave at their awaits: a collect waits seconds for a card, and cancel and status
 * must get through meanwhile. State needs no locking: it is only touched between awaits.
 */
const MAX_CONCURRENT = 8;

runActor<ReaderRequest, ReaderReply, ReaderInit, LaneReader>({
  maxConcurrent: MAX_CONCURRENT,
  async init(args, ctx) {
    const init = checkedInit(args);
    const keys = loadCardKeys(init.keys);
    // Loaded before the first card, so no customer waits for the crypto library to start.
    await sodiumReady();
    return startLaneReader(init, ctx.log.child({ lane: init.lane }), (raw) => captureCard(raw, keys));
  },
  handle(request, _ctx, reader) {
    return handleReaderRequest(reader, request);
  },
  async terminate(_ctx, reader) {
    await reader?.connection.stop();
  },
});

/** The init crossed a thread boundary as plain data: check it here so a bad lane config names its field. */
function checkedInit(args: ReaderInit): ReaderInit {
  const problems: FieldProblem[] = [];
  if (typeof args?.lane !== 'string' || args.lane.length === 0) problems.push({ path: 'lane', message: 'must be a non-empty string', value: args?.lane });
  if (typeof args?.port !== 'string' || args.port.length === 0) problems.push({ path: 'port', message: 'must be a serial device path', value: args?.port });
  for (const key of ['tokenKeyFile', 'centrePublicKeyFile'] as const) {
    const file = (args?.keys as Record<string, unknown> | undefined)?.[key];
    if (typeof file !== 'string' || file.length === 0) problems.push({ path: `keys.${key}`, message: 'must be a key file path', value: file });
  }
  const pinned = args?.readerPublicKey;
  if (pinned !== undefined && (typeof pinned !== 'string' || Buffer.from(pinned, 'base64').length !== 32)) {
    problems.push({ path: 'readerPublicKey', message: 'must be base64 of a 32-byte Ed25519 public key', value: pinned });
  }
  if (problems.length > 0) throw new BadInputError('reader actor init', problems);
  return {
    lane: args.lane,
    port: args.port,
    profile: parseReaderProfile(args.profile, `lane ${args.lane}`),
    keys: { tokenKeyFile: args.keys.tokenKeyFile, centrePublicKeyFile: args.keys.centrePublicKeyFile },
    ...(pinned === undefined ? {} : { readerPublicKey: pinned }),
  };
}
