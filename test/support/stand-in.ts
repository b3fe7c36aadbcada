import { join } from 'node:path';
import { parseRules, type Rules, defaultRulesConfig } from '../../src/authorize/index.js';
import { Journal } from '../../src/journal/index.js';
import type { JournalWriterRequest } from '../../src/node/journal-writer-protocol.js';
import { ManualClock } from '../../src/platform/clock.js';
import { StandIn } from '../../src/standin/index.js';

export const DAY_START_MS = Date.UTC(2026, 10, 27, 8, 0, 0);

export function rulesWith(overrides: (config: ReturnType<typeof defaultRulesConfig>) => void): Rules {
  const config = defaultRulesConfig();
  overrides(config);
  return parseRules(config);
}

/** A stand-in on a journal file of its own, on a manual clock. */
export interface StandInFixture {
  readonly path: string;
  readonly clock: ManualClock;
  journal: Journal;
  standIn: StandIn;
  /** Closes and reopens journal and stand-in on the same file, as a restarted node would. */
  restart(rules?: Rules): void;
  close(): void;
}

export function openStandIn(dir: string, rules: Rules, clock = new ManualClock(DAY_START_MS)): StandInFixture {
  const path = join(dir, 'journal.db');
  const open = (r: Rules) => {
    const journal = Journal.open({ path, nodeId: 'node-test', clock });
    return { journal, standIn: StandIn.open({ journal, rules: r, clock }) };
  };
  const state = { path, clock, ...open(rules) } as StandInFixture;
  state.restart = (r = rules) => {
    state.journal.close();
    Object.assign(state, open(r));
  };
  state.close = () => state.journal.close();
  return state;
}

/**
 * What the journal-writer actor answers to the decision path's requests, from a stand-in;
 * `unhandled` for any other request (a test's fake actor call answers those itself).
 */
export function answerAsJournalWriter(standIn: StandIn, request: unknown): unknown {
  const message = request as JournalWriterRequest;
  if (message.type === 'check-card') return { declined: standIn.checkCard(message.request) };
  if (message.type === 'authorize') return standIn.authorize(message.request);
  return unhandled;
}

/** answerAsJournalWriter's answer to a request it does not know. */
export const unhandled: unique symbol = Symbol('unhandled');
