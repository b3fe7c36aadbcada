import type { CheckResult } from '../audit/store-checks.js';
import type { SqliteLedger } from '../central/sqlite-ledger.js';
import type { JournalEntry } from '../journal/entry.js';
import type { RestoreTally } from './fault-injector.js';
import type { LaneRequest } from './lane-requests.js';
import type { NetworkTally } from './network.js';
import { type DeadDisks, forgottenWithDisk } from './dead-disks.js';
import type { DiskShownResult, SimNode } from './sim-node.js';

const REJECTIONS = ['malformed', 'unknown_key', 'bad_signature', 'bad_hash', 'wrong_topic'] as const;

/**
 * P8: whatever an intruder sends is rejected, counted and never stored. Honest messages are never
 * rejected, so the rejections counted must equal the forged deliveries examined, one for one; and
 * no node keeps a replica of a node outside the fleet.
 */
export function checkForgeries(nodes: readonly SimNode[], tally: NetworkTally, origins: ReadonlySet<string>): CheckResult {
  const rejected = nodes.reduce((sum, n) => sum + REJECTIONS.reduce((s, reason) => s + n.counters.get(reason), 0), 0);
  const strangers = [...origins].filter((o) => !nodes.some((n) => n.id === o));
  const ok = strangers.length === 0 && rejected === tally.injectedDelivered;
  return {
    check: 'only the fleet speaks: forged messages rejected, counted, never stored',
    ok,
    detail: `${tally.injected} forged messages, ${tally.injectedDelivered} deliveries, ${rejected} rejections counted${strangers.length > 0 ? `; replicas of ${strangers.join(', ')}` : ''}`,
  };
}

/** Every box whose disk died traded again, rebuilt by the runbook. */
export function checkRestores(restores: RestoreTally): CheckResult {
  return {
    check: 'every box whose disk died is back in service, from its backup and its peers',
    ok: restores.unfinished === 0,
    detail: `${restores.fromBackup} from a backup and the peers (${restores.entriesFromPeers} entries from the peers), ${restores.fromPeersOnly} from the peers alone; ${restores.unfinished} unfinished`,
  };
}

/** Every node up, and every journal whole at every peer and at the centre. */
export async function converged(nodes: readonly SimNode[], ledger: SqliteLedger): Promise<boolean> {
  for (const origin of nodes) {
    const head = origin.headSeq();
    if (head < 0 || (await ledger.headOf(origin.id)) < head) return false;
    if (nodes.some((holder) => holder !== origin && holder.replicaHead(origin.id) < head)) return false;
  }
  return true;
}

const SHOWN = 5;
const CONFLICT = 'EDGEPAY_IDEMPOTENCY_CONFLICT';
/** The decline a lane gives when the journal could not record its decision: the one decision without an entry. */
const UNRECORDED_DECLINE = '91';

/**
 * One idempotency key, one payment, from what the tills were told and the journals: at most one
 * entry per key on its box; a request answered with a payment was answered with one of its own
 * body (lane, amount); every approval or decline names its key's entry (seq, lane, amount and
 * decision), except a 91 the journal could not record, which has none; and a payment that ended
 * without a decision has no entry either. A 91 whose record died with its box's disk
 * (forgottenWithDisk) may be followed by the key's entry: counted, not a problem.
 */
export function checkOneKeyOnePayment(requests: readonly LaneRequest[], journals: ReadonlyMap<string, readonly JournalEntry[]>, dead: DeadDisks): CheckResult {
  const entries = entriesByKey(journals);
  const problems = [...entries].filter(([, found]) => found.length > 1).map(([key, found]) => `${key}: ${found.length} journal entries`);
  let decided = 0;
  let forgotten = 0;
  for (const request of requests) {
    const { answer } = request;
    if (answer.kind !== 'payment') continue;
    const where = `${request.node}/${request.key} (${request.role})`;
    if (answer.lane !== request.lane || answer.amountMinor !== request.amountMinor) {
      problems.push(`${where}: asked ${request.lane} ${request.amountMinor}, answered with the payment at ${answer.lane} ${answer.amountMinor}`);
    }
    const entry = entries.get(`${request.node}/${request.key}`)?.[0];
    if (answer.status !== 'approved' && answer.status !== 'declined') {
      if (entry !== undefined) problems.push(`${where}: answered ${answer.status} (${answer.errorCode}), but the journal holds entry ${entry.seq}`);
      continue;
    }
    decided++;
    if (answer.journalSeq === null) {
      if (isUnrecordedDecline(answer) && entry !== undefined && forgottenWithDisk(dead, request.node, request.disk, request.key)) {
        forgotten++;
      } else if (!isUnrecordedDecline(answer) || entry !== undefined) {
        problems.push(`${where}: answered ${answer.status} ${answer.code} without an entry${entry === undefined ? '' : `, but the journal holds entry ${entry.seq}`}`);
      }
    } else if (entry === undefined) {
      problems.push(`${where}: answered ${answer.status} as entry ${answer.journalSeq}, which the journal does not hold under its key`);
    } else if (entry.seq !== answer.journalSeq || entry.lane !== answer.lane || entry.amountMinor !== answer.amountMinor || entry.decision.approved !== answer.approved || entry.decision.code !== answer.code) {
      problems.push(
        `${where}: answered ${answer.status} ${answer.code} as entry ${answer.journalSeq} at ${answer.lane} ${answer.amountMinor}; the journal has entry ${entry.seq} at ${entry.lane} ${entry.amountMinor} (${entry.decision.code})`,
      );
    }
  }
  return {
    check: 'one key, one payment: at most one journal entry per key, and every approval or decline a till heard names that entry (seq, lane, amount)',
    ok: problems.length === 0,
    detail: problems.length === 0 ? `${requests.length} requests at the lanes, ${decided} answered with a decision; ${forgotten} 91s forgotten with a dead disk and decided after it` : show(problems),
  };
}

/**
 * Sales sent again under their key from the box's other till (DoubledRequests): with the sale's
 * body they joined it and got exactly its answer, as every request with that body under that key
 * did; with another lane or amount they were refused as a conflict, never answered with a payment
 * (a box down or dying answers nothing, which is allowed). No sale's own request was refused as a
 * conflict: a doubled request never took a key from its sale. A 91 forgotten with its box's disk
 * freed the key, so the payment after it is not a second one.
 */
export function checkDoubledRequests(requests: readonly LaneRequest[], dead: DeadDisks): CheckResult {
  const problems: string[] = [];
  for (const [key, asked] of groupBy(requests, (r) => `${r.node}/${r.key}`)) {
    const sameBody = asked.filter((r) => r.role === 'sale' || r.role === 'same-lane');
    // A forgotten 91 and the payment after it are two payments under one key, and allowed to be.
    const forgotten = (r: LaneRequest): boolean => r.answer.kind === 'payment' && isUnrecordedDecline(r.answer) && forgottenWithDisk(dead, r.node, r.disk, r.key);
    const answers = new Set(sameBody.flatMap((r) => (r.answer.kind === 'payment' && !forgotten(r) ? [JSON.stringify(r.answer)] : [])));
    if (answers.size > 1) problems.push(`${key}: one body, ${answers.size} different payments: ${[...answers].join(' / ')}`);
    for (const request of asked) {
      const { answer } = request;
      if (request.role === 'sale') {
        if (answer.kind === 'refused' && answer.code === CONFLICT) problems.push(`${key}: the sale's own request was refused as a conflict`);
      } else if (request.role === 'same-lane') {
        if (answer.kind === 'refused') problems.push(`${key}: the same request from the other till was refused (${answer.code}) instead of joining`);
        else if (answer.kind === 'payment' && !sameBody.some((r) => r.role === 'sale' && JSON.stringify(r.answer) === JSON.stringify(answer))) {
          problems.push(`${key}: the same request from the other till got a payment the sale's own requests never got`);
        }
      } else if (answer.kind === 'payment' || (answer.kind === 'refused' && answer.code !== CONFLICT)) {
        problems.push(
          `${key}: ${request.role} request at ${request.lane} ${request.amountMinor} got ${answer.kind === 'payment' ? `a payment (${answer.status}, entry ${answer.journalSeq})` : answer.code} instead of a conflict`,
        );
      }
    }
  }
  const doubled = requests.filter((r) => r.role !== 'sale');
  const count = (role: LaneRequest['role']): number => doubled.filter((r) => r.role === role).length;
  return {
    check: 'a sale sent again under its key joins it with the same body and is refused with another lane or amount',
    ok: problems.length === 0,
    detail: problems.length === 0 ? `${doubled.length} doubled requests: ${count('same-lane')} same, ${count('other-lane')} at the other lane, ${count('other-amount')} with another amount` : show(problems),
  };
}

/**
 * Each reader showed a result only for a payment of its own lane: every SHOW_RESULT a lane asked
 * for names a key whose journal entry is at that lane with that decision (or a 91 the journal
 * could not record, which has no entry), once per key; and no reader's firmware displayed more
 * results than its lane asked for. A 91 forgotten with its box's disk freed its key: the result
 * of the payment after it is that payment's own.
 */
export function checkResultsShown(nodes: readonly Pick<SimNode, 'id' | 'resultsShown'>[], journals: ReadonlyMap<string, readonly JournalEntry[]>, displayed: ReadonlyMap<string, number>, dead: DeadDisks): CheckResult {
  const entries = entriesByKey(journals);
  const problems: string[] = [];
  const asked = new Map<string, number>();
  let unrecorded = 0;
  for (const node of nodes) {
    const seen = new Set<string>();
    const forgotten = (shown: DiskShownResult): boolean => shown.key !== null && !shown.approved && shown.code === UNRECORDED_DECLINE && forgottenWithDisk(dead, node.id, shown.disk, shown.key);
    for (const shown of node.resultsShown) {
      asked.set(shown.lane, (asked.get(shown.lane) ?? 0) + 1);
      const what = `${shown.lane} showed ${shown.approved ? 'APPROVED' : 'DECLINED'} ${shown.code}`;
      if (shown.key === null) {
        problems.push(`${what} for a transaction of no payment`);
        continue;
      }
      // A forgotten 91 is once per key on its own disk; the payment after it, once on the key.
      const once = forgotten(shown) ? `${shown.disk}/${shown.key}` : shown.key;
      if (seen.has(once)) problems.push(`${what} for ${shown.key} again`);
      seen.add(once);
      if (once !== shown.key) {
        unrecorded++;
        continue;
      }
      const entry = entries.get(`${node.id}/${shown.key}`)?.[0];
      if (entry === undefined) {
        if (shown.approved || shown.code !== UNRECORDED_DECLINE) problems.push(`${what} for ${shown.key}, which has no journal entry`);
        else unrecorded++;
      } else if (entry.lane !== shown.lane || entry.decision.approved !== shown.approved || entry.decision.code !== shown.code) {
        problems.push(`${what} for ${shown.key}, journaled as entry ${entry.seq} at ${entry.lane} (${entry.decision.code})`);
      }
    }
  }
  for (const [lane, count] of displayed) {
    if (count > (asked.get(lane) ?? 0)) problems.push(`${lane}'s reader displayed ${count} results, its lane asked for ${asked.get(lane) ?? 0}`);
  }
  const total = [...asked.values()].reduce((sum, n) => sum + n, 0);
  const onDisplay = [...displayed.values()].reduce((sum, n) => sum + n, 0);
  return {
    check: 'each reader showed a result only for a payment journaled at its lane (or a 91 the journal could not record), once',
    ok: problems.length === 0,
    detail: problems.length === 0 ? `${total} results asked for at ${asked.size} readers, ${onDisplay} displayed; ${unrecorded} of them 91s without an entry` : show(problems),
  };
}

function isUnrecordedDecline(answer: { readonly status: string; readonly code: string | null }): boolean {
  return answer.status === 'declined' && answer.code === UNRECORDED_DECLINE;
}

/** For each box, what its dead disks' journals held (SimNode.deadDisks). */
export function deadDisksOf(nodes: readonly Pick<SimNode, 'id' | 'deadDisks'>[]): DeadDisks {
  return new Map(nodes.map((node) => [node.id, node.deadDisks]));
}

/** The journals' entries by `node/key`. */
function entriesByKey(journals: ReadonlyMap<string, readonly JournalEntry[]>): Map<string, JournalEntry[]> {
  return groupBy(
    [...journals].flatMap(([node, entries]) => entries.map((entry) => ({ node, entry }))),
    (e) => `${e.node}/${e.entry.idempotencyKey}`,
    (e) => e.entry,
  );
}

function groupBy<T, V = T>(items: readonly T[], keyOf: (item: T) => string, valueFor: (item: T) => V = (item) => item as unknown as V): Map<string, V[]> {
  const groups = new Map<string, V[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [valueFor(item)]);
    else group.push(valueFor(item));
  }
  return groups;
}

function show(problems: readonly string[]): string {
  return `${problems.length}: ${problems.slice(0, SHOWN).join('; ')}`;
}

/** Every box is up and decides with the rules version `target`. */
export function rulesConverged(nodes: readonly Pick<SimNode, 'rulesVersion'>[], target: number): boolean {
  return nodes.every((node) => node.rulesVersion() === target);
}

/**
 * The centre's last rules update reached every box, whatever crashed, was cut off or lost its
 * disk while it was published: each decides with it once the store is healed (the retained
 * message, the distributed rules file, the push to the journal writer).
 */
export function checkRulesConverged(nodes: readonly Pick<SimNode, 'id' | 'rulesVersion'>[], target: number): CheckResult {
  const versions = nodes.map((node) => `${node.id} ${node.rulesVersion() ?? 'down'}`);
  return { check: "every box decides with the centre's last rules update", ok: rulesConverged(nodes, target), detail: `version ${target} published; ${versions.join(', ')}` };
}
