import pino from 'pino';
import type { RawCard } from '../card/capture.js';
import type { JournalReader } from '../journal/journal-reader.js';
import { type LaneRuntime, LaneService } from '../lanes/lane-service.js';
import type { PaymentOutcomes } from '../lanes/payment-outcomes.js';
import type { Clock } from '../platform/clock.js';
import type { Timers } from '../platform/timers.js';
import type { CollectedCard, ReaderRequest } from '../reader/reader-actor-protocol.js';
import type { ReaderProfile } from '../reader/profile.js';
import { type LaneReader, handleReaderRequest, startLaneReader } from '../reader/reader-service.js';
import type { Authorizer } from '../standin/authorizer.js';
import type { Outcome } from '../standin/outcome.js';
import type { SimSerialLine } from './sim-serial-line.js';

/** A lane with a card reader on a simulated serial line. */
export interface SimLaneOptions {
  readonly line: SimSerialLine;
  /** The reader profile's name (a file in devices/) and its contents. */
  readonly profileName: string;
  readonly profile: ReaderProfile;
  /** Capture as the reader actor runs it: tokenize and seal the card as read. */
  readonly capture: (raw: RawCard) => Promise<CollectedCard>;
}

/** The node's side of a lane while its process lives: the reader's connection and transactions, and the lane service. */
export interface RunningLane {
  readonly reader: LaneReader;
  readonly service: LaneService;
}

const quiet = pino({ level: 'silent' });

/**
 * Starts the lane as the node does (the reader actor's wiring and the lane service), on the
 * simulated line, clock and timers, with the node's authorizer deciding: the same code from the
 * POS request to SHOW_RESULT on the reader's display.
 */
export function startSimLane(
  nodeId: string,
  options: SimLaneOptions,
  parts: {
    readonly authorizer: Authorizer;
    readonly journal: JournalReader;
    readonly outcomes: PaymentOutcomes;
    readonly clock: Clock;
    readonly timers: Timers;
    readonly decided: () => void;
  },
): RunningLane {
  const { line, profile } = options;
  const reader = startLaneReader({ lane: nodeId, port: line.path, profile, keys: { tokenKeyFile: 'unused', centrePublicKeyFile: 'unused' } }, quiet, options.capture, {
    openPort: () => line.open(),
    timers: parts.timers,
    clock: parts.clock,
  });
  const runtime: LaneRuntime = {
    isAccepting: true,
    addStopHooks: () => undefined,
    findEntry: (key) => parts.journal.findByIdempotencyKey(key) ?? null,
    track: (work) => work(),
    // The reader actor's one request at a time, in process: every request this lane asks is a ReaderRequest.
    askOnce: async <Req, Res>(_actorId: string, request: Req) => (await handleReaderRequest(reader, request as ReaderRequest)) as Res,
    decideCaptured: async (request): Promise<Outcome> => {
      const outcome = await parts.authorizer.authorize(request);
      parts.decided();
      return outcome;
    },
    followUp: () => Promise.reject(new Error('the simulated POS sends no voids or refunds')),
  };
  const service = new LaneService(runtime, { lanes: [{ id: nodeId, port: line.path, profile: options.profileName }] }, parts.clock, quiet, parts.outcomes);
  return { reader, service };
}
