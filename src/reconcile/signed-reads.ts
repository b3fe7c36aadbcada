import type { KeyObject } from 'node:crypto';
import type { JournalEntry } from '../journal/entry.js';
import { signEntry } from '../wire/envelope.js';
import { RUN_MAX } from '../wire/envelope.js';
import type { SignedEntries } from './uplink.js';

/** The node's own journal: it signs the last entry of each batch, one Ed25519 signature per batch. */
export function ownSignedReads(read: (fromSeq: number, limit: number) => JournalEntry[], signingKey: KeyObject): (fromSeq: number, limit: number) => SignedEntries | undefined {
  return (fromSeq, limit) => {
    const entries = read(fromSeq, limit);
    const last = entries[entries.length - 1];
    return last === undefined ? undefined : { entries, signature: signEntry(last, signingKey) };
  };
}

/** How far past `limit` a replica read looks for a signed entry: stretches between signatures are at most a run. */
export const REPLICA_READ_SLACK = RUN_MAX;

/**
 * A replica's entries as a custodian forwards them: the custodian has no key of the origin's, so a
 * batch ends at the last entry it holds the origin's signature of within `limit`, or, when none
 * is, at the first one after (at most a run further). Entries past the last signed one wait for
 * the run that vouches for them.
 */
export function cutAtSignature(entries: readonly (JournalEntry & { readonly signature: Buffer | null })[], limit: number): SignedEntries | undefined {
  let cut = -1;
  for (let i = 0; i < entries.length; i++) {
    if (entries[i]!.signature === null) continue;
    if (i < limit || cut === -1) cut = i;
    if (i >= limit) break;
  }
  if (cut === -1) return undefined;
  const chosen = entries.slice(0, cut + 1).map(({ signature: _signature, ...entry }) => entry);
  return { entries: chosen, signature: entries[cut]!.signature! };
}
