import pino from 'pino';
import type { RawCard } from '../card/capture.js';
import type { JournalReader } from '../journal/journal-reader.js';
import { type LaneRuntime, LaneService } from '../lanes/lane-service.js';
import type { PaymentOutcomes } from '../lanes/payment-outcomes.js';
import type { Clock } from '../platform/clock.js';
import type { Timers } from '../platform/timers.js';
import { type CollectedCard, type ReaderRequest, readerActorId } from '../reader/reader-actor-protocol.js';
import type { ReaderProfile } from '../reader/profile.js';
import { type LaneReader, handleReaderRequest, startLaneReader } from '../reader/reader-service.js';
import type { AuthorizationRequest } from '../standin/requests.js';
import type { Outcome } from '../standin/outcome.js';
import type { SimSerialLine } from './sim-serial-line.js';

/** A lane with a card reader on a simulated serial line. */
export interface SimLaneOptions {
  /** The lane's id, as in a node's configuration. */
  readonly id: string;
  readonly line: SimSerialLine;
  /** The reader profile's name (a file in devices/) and its contents. */
  readonly profileName: string;
  readonly profile: ReaderProfile;
  /** Capture as the reader actor runs it: tokenize and seal the card as read. */
  readonly capture: (raw: RawCard) => Promise<CollectedCard>;
  /** The key the lane pins (base64): its reader then runs secure sessions and capture never runs. */
  readonly readerPublicKey?: string;
}

/** A result a lane asked its reader to show, with the payment it belongs to (null: the sim could not tell which). */
export interface ShownResult {
  readonly lane: string;
  readonly key: string | null;
  readonly approved: boolean;
  readonly code: string;
}

/** The node's side of its lanes while its process lives: each lane's reader (connection and transactions), and the one lane service. */
export interface RunningLanes {
  readonly readers: ReadonlyMap<string, LaneReader>;
  readonly service: LaneService;
}

const quiet = pino({ level: 'silent' });

/**
 * Starts the box's lanes as the node does (a reader actor's wiring per lane, one lane service for
 * them all, so one idempotency key is one payment across the lanes), on the simulated lines, clock
 * and timers, with the node's decision path deciding: the same code from the POS request to
 * SHOW_RESULT on each reader's display. Every SHOW_RESULT a lane asks for is handed to `shown`.
 */
export function startSimLanes(
  lanes: readonly SimLaneOptions[],
  parts: {
    /** The durable decision, as the node's runtime takes it for a card its reader captured. */
    readonly decide: (request: AuthorizationRequest) => Promise<Outcome>;
    readonly journal: JournalReader;
    readonly outcomes: PaymentOutcomes;
    readonly clock: Clock;
    readonly timers: Timers;
    readonly shown: (result: ShownResult) => void;
  },
): RunningLanes {
  const readers = new Map<string, LaneReader>();
  const byActor = new Map<string, string>();
  for (const lane of lanes) {
    const keys = { tokenKeyFile: 'unused', centrePublicKeyFile: 'unused' };
    const init = { lane: lane.id, port: lane.line.path, profile: lane.profile, keys, ...(lane.readerPublicKey === undefined ? {} : { readerPublicKey: lane.readerPublicKey }) };
    readers.set(lane.id, startLaneReader(init, quiet, lane.capture, { openPort: () => lane.line.open(), timers: parts.timers, clock: parts.clock }));
    byActor.set(readerActorId(lane.id), lane.id);
  }
  const watch = new ShowWatch(parts.shown);
  const runtime: LaneRuntime = {
    isAccepting: true,
    addStopHooks: () => undefined,
    findEntry: (key) => parts.journal.findByIdempotencyKey(key) ?? null,
    track: (work) => work(),
    // Each reader actor's one request at a time, in process: every request a lane asks is a ReaderRequest to its own reader.
    askOnce: async <Req, Res>(actorId: string, request: Req) => {
      const lane = byActor.get(actorId);
      if (lane === undefined) throw new Error(`${actorId} is not running: the lane service asked a reader of no lane of this box`);
      watch.asked(lane, request as ReaderRequest);
      return (await handleReaderRequest(readers.get(lane)!, request as ReaderRequest)) as Res;
    },
    decideCaptured: async (request): Promise<Outcome> => {
      watch.deciding(request.lane, request.idempotencyKey);
      return parts.decide(request);
    },
    followUp: () => Promise.reject(new Error('the simulated POS sends no voids or refunds')),
  };
  const config = { lanes: lanes.map((lane) => ({ id: lane.id, port: lane.line.path, profile: lane.profileName })) };
  return { readers, service: new LaneService(runtime, config, parts.clock, quiet, parts.outcomes) };
}

/**
 * Which payment each lane's reader is running, so each SHOW_RESULT can be named by its payment's
 * key. Exact because a lane runs one payment at a time (the lane service's busy rule): START_TXN,
 * then the decision under the payment's key, then SHOW_RESULT, all with the same transaction id.
 */
class ShowWatch {
  /** At most one entry per lane. */
  private readonly running = new Map<string, { readonly txnId: number; key: string | null }>();

  constructor(private readonly shown: (result: ShownResult) => void) {}

  asked(lane: string, request: ReaderRequest): void {
    if (request.type === 'collect') this.running.set(lane, { txnId: request.txnId, key: null });
    if (request.type !== 'show') return;
    const running = this.running.get(lane);
    this.running.delete(lane);
    // Counted when asked, before the bytes go: the display can only show fewer, never more.
    this.shown({ lane, key: running?.txnId === request.txnId ? running.key : null, approved: request.approved, code: request.code });
  }

  deciding(lane: string | undefined, key: string): void {
    const running = lane === undefined ? undefined : this.running.get(lane);
    if (running !== undefined) running.key = key;
  }
}
