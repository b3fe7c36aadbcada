import { captureCard } from '../../src/card/capture.js';
import type { CardKeys } from '../../src/card/keys.js';
import { type ReaderProfile, loadReaderProfile } from '../../src/reader/profile.js';
import type { SimCardKind } from '../../src/reader/simulator/cards.js';
import { ReaderSimulator } from '../../src/reader/simulator/simulator.js';
import type { SimScheduler } from '../../src/sim/scheduler.js';
import type { SimLaneOptions } from '../../src/sim/sim-lane.js';
import { SimSerialLine } from '../../src/sim/sim-serial-line.js';

/** A lane of a simulated box, with what its reader's firmware said (never card data) and the card numbers it read. */
export interface TestLane {
  readonly options: SimLaneOptions;
  readonly line: SimSerialLine;
  readonly firmwareEvents: string[];
  readonly pans: Set<string>;
}

const PROFILE_NAME = 'edgepay-sim';
const KEYS: CardKeys = { tokenKey: Buffer.alloc(32, 1), centrePublicKey: new Uint8Array(32).fill(9) };

/**
 * A lane whose reader firmware presents `cards` in turn, on its own simulated serial line; the
 * card numbers it reads are kept only to look for them, as the simulation does.
 */
export function testLane(scheduler: SimScheduler, id: string, cards: readonly SimCardKind[]): TestLane {
  const profile: ReaderProfile = loadReaderProfile(PROFILE_NAME);
  const firmwareEvents: string[] = [];
  const pans = new Set<string>();
  const line: SimSerialLine = new SimSerialLine(scheduler, `/dev/sim-reader-${id}`, profile.serial.baudRate, (end) => {
    const firmware = new ReaderSimulator(end, {
      profile,
      cards,
      seed: 5,
      status: (event) => firmwareEvents.push(event),
      unplug: () => line.unplug(),
      timers: scheduler.timers,
      now: () => new Date(scheduler.clock.wallMs()),
      unpredictable: () => 7,
    });
    firmware.start();
    return firmware;
  });
  const capture: SimLaneOptions['capture'] = (raw) => {
    pans.add(raw.pan);
    return captureCard(raw, KEYS);
  };
  return { options: { id, line, profileName: PROFILE_NAME, profile, capture }, line, firmwareEvents, pans };
}

/** Transactions the firmware was asked to start (START_TXN), so far. */
export function transactionsStarted(lane: TestLane): number {
  return lane.firmwareEvents.filter((event) => /: START_TXN /.test(event)).length;
}

/** Results the firmware put on its display (SHOW_RESULT of its running transaction), so far. */
export function resultsDisplayed(lane: TestLane): number {
  return lane.firmwareEvents.filter((event) => /: showing (APPROVED|DECLINED) /.test(event)).length;
}

/** Runs simulated time until the promise settles (at most `limitMs` of it), then hands it back. */
export async function settled<T>(scheduler: SimScheduler, promise: Promise<T>, limitMs = 60_000): Promise<T> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let waited = 0; !done && waited < limitMs; waited += 100) await scheduler.runUntil(scheduler.now + 100);
  return promise;
}
