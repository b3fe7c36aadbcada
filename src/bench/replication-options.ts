import { EdgepayError } from '../errors.js';

import { BROKER_KINDS, type BrokerKind } from '../rigs/broker/store-broker.js';

export { BROKER_KINDS, type BrokerKind };

export const ENTRIES_RANGE = { min: 10, max: 1_000_000 } as const;
export const DEFAULT_BROKER: BrokerKind = 'aedes';
/** Seconds per timed phase: four of them plus the burst keep a default run well under 40 s on 2 cores. */
export const DEFAULT_REPLICATION_SECONDS = 3;
/** Per node in the burst: a few seconds of replication at the rates 2 cores reach, long enough to be steady. */
export const DEFAULT_ENTRIES = 5_000;

/* Named after the option, with the value and what is allowed, as the other bench options are. */

export function parseBrokerOption(value: string): BrokerKind {
  return checkBroker(value);
}

export function checkBroker(value: string): BrokerKind {
  const kind = BROKER_KINDS.find((k) => k === value);
  if (kind === undefined) {
    const allowed = `one of ${BROKER_KINDS.join(', ')}`;
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `--broker: ${JSON.stringify(value)} is not allowed; use ${allowed}`, { option: '--broker', value, allowed });
  }
  return kind;
}

export function parseEntriesOption(value: string): number {
  return checkEntries(/^\d+$/.test(value) ? Number(value) : Number.NaN, value);
}

export function checkEntries(entries: number, raw: unknown = entries): number {
  const allowed = `a whole number of entries per node for the burst from ${ENTRIES_RANGE.min} to ${ENTRIES_RANGE.max}`;
  if (!Number.isSafeInteger(entries) || entries < ENTRIES_RANGE.min || entries > ENTRIES_RANGE.max) {
    throw new EdgepayError('EDGEPAY_BAD_INPUT', `--entries: ${JSON.stringify(raw)} is not allowed; use ${allowed}`, { option: '--entries', value: raw, allowed });
  }
  return entries;
}
