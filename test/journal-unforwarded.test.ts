import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Journal, SCHEMA_VERSION } from '../src/journal/index.js';
import { EXPOSURE_ROWS_SQL } from '../src/journal/exposure-rows.js';
import { JournalReader } from '../src/journal/journal-reader.js';
import { ManualClock } from '../src/platform/clock.js';
import { rebuildExposure } from '../src/standin/index.js';
import { authorizationDraft } from './support/drafts.js';
import { rulesWith } from './support/stand-in.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir();
const NODE = 'node-a';
const T0 = 1_700_000_000_000;

/** The rows a start read before schema 3: the whole journal, walked. The oracle for the indexed query. */
const FULL_SCAN_EXPOSURE_SQL = `
  SELECT e.seq, e.kind, e.card_token, e.currency, e.amount_minor, e.wall_ms, e.ref_seq, (f.seq IS NOT NULL) AS forwarded
  FROM entries e LEFT JOIN forwarded f ON f.seq = e.seq
  WHERE e.approved = 1
    AND ((e.kind = 'authorization' AND e.decision_mode = 'offline' AND (f.seq IS NULL OR e.wall_ms >= @since)) OR e.kind = 'void')
  ORDER BY e.seq`;

function unforwardedSeqs(journal: Journal): number[] {
  return journal.connection().prepare('SELECT seq FROM unforwarded ORDER BY seq').pluck().all() as number[];
}

/** A journal as edgepay wrote it before schema 3: the unforwarded table, its triggers and the index dropped. */
function downgradeToSchema2(path: string): void {
  const db = new Database(path);
  db.exec(`
    DROP TRIGGER entries_await_forwarding; DROP TRIGGER forwarded_clears_unforwarded; DROP TRIGGER forwarded_no_delete;
    DROP INDEX offline_approvals_by_time; DROP TABLE unforwarded;
    PRAGMA user_version = 2;`);
  db.close();
}

describe('the unforwarded entries (schema 3)', () => {
  it('follow every append and every forwarded mark, in the same transaction', () => {
    const journal = Journal.open({ path: join(tempDir(), 'j.db'), nodeId: NODE });
    journal.writeBatch((w) => {
      for (let i = 0; i < 5; i++) w.appendOrFind(authorizationDraft());
    });
    expect(unforwardedSeqs(journal)).toEqual([1, 2, 3, 4, 5]);
    journal.markForwarded([2, 4]);
    expect(unforwardedSeqs(journal)).toEqual([1, 3, 5]);
    // A mark given again (a redelivered answer) changes nothing, and never brings an entry back.
    journal.recordForwarded([{ seq: 2, result: 'settled', reason: null }]);
    expect(unforwardedSeqs(journal)).toEqual([1, 3, 5]);
    // A batch that fails leaves no unforwarded row behind.
    expect(() =>
      journal.writeBatch((w) => {
        w.appendOrFind(authorizationDraft());
        throw new Error('staging failed');
      }),
    ).toThrow('staging failed');
    expect(unforwardedSeqs(journal)).toEqual([1, 3, 5]);
    journal.close();
  });

  it('refuses to take a forwarded mark back, which would leave an entry owed to the centre out of the table', () => {
    const journal = Journal.open({ path: join(tempDir(), 'j.db'), nodeId: NODE });
    journal.append(authorizationDraft());
    journal.markForwarded([1]);
    expect(() => journal.connection().prepare('DELETE FROM forwarded WHERE seq = 1').run()).toThrow(/never taken back/);
    expect(unforwardedSeqs(journal)).toEqual([]);
    journal.close();
  });

  it('are filled from the forwarded marks when a schema 2 journal is opened, chain and entries untouched', () => {
    const path = join(tempDir(), 'j.db');
    const journal = Journal.open({ path, nodeId: NODE });
    journal.writeBatch((w) => {
      for (let i = 0; i < 8; i++) w.appendOrFind(authorizationDraft());
    });
    journal.markForwarded([1, 2, 3, 6]);
    const head = journal.chainHead();
    journal.close();
    downgradeToSchema2(path);

    const old = new JournalReader(path, NODE);
    expect(old.firstUnforwardedSeq()).toBe(4);
    expect(old.backlog().unforwarded).toBe(4);
    expect(old.unforwardedEntries(10).map((e) => e.seq)).toEqual([4, 5, 7, 8]);

    const reopened = Journal.open({ path, nodeId: NODE });
    expect(reopened.connection().pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(unforwardedSeqs(reopened)).toEqual([4, 5, 7, 8]);
    expect(reopened.chainHead()).toEqual(head);
    // The same reader, opened on schema 2, now answers from the table.
    expect(old.firstUnforwardedSeq()).toBe(4);
    expect(old.unforwardedEntries(2).map((e) => e.seq)).toEqual([4, 5]);
    reopened.markForwarded([4]);
    expect(old.firstUnforwardedSeq()).toBe(5);
    expect(old.backlog().unforwarded).toBe(3);
    old.close();
    reopened.close();
  });

  it('let a start and a metrics scrape find what they need without walking the journal', () => {
    const journal = Journal.open({ path: join(tempDir(), 'j.db'), nodeId: NODE });
    journal.append(authorizationDraft());
    const db = journal.connection();
    const plan = (sql: string, params: Record<string, unknown> = {}): string => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((row) => row.detail).join('\n');
    const exposurePlan = plan(EXPOSURE_ROWS_SQL, { since: 0 });
    expect(exposurePlan).toMatch(/SCAN u/);
    expect(exposurePlan).toMatch(/offline_approvals_by_time/);
    expect(exposurePlan).not.toMatch(/SCAN (e|entries)\b(?! USING)/);
    expect(plan('SELECT min(seq) FROM unforwarded')).not.toMatch(/entries/);
    journal.close();
  });
});

describe('the exposure a start rebuilds', () => {
  type Op =
    | { type: 'pay'; card: number; amountMinor: number; approved: boolean; mode: 'offline' | 'online'; currency: 'EUR' | 'GBP' }
    | { type: 'void'; pick: number }
    | { type: 'forward'; pick: number }
    | { type: 'advance'; minutes: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        type: fc.constant('pay' as const),
        card: fc.nat(4),
        amountMinor: fc.integer({ min: 1, max: 9_999 }),
        approved: fc.boolean(),
        mode: fc.constantFrom('offline' as const, 'online' as const),
        currency: fc.constantFrom('EUR' as const, 'GBP' as const),
      }),
    },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('void' as const), pick: fc.nat() }) },
    { weight: 3, arbitrary: fc.record({ type: fc.constant('forward' as const), pick: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('advance' as const), minutes: fc.integer({ min: -30, max: 400 }) }) },
  );
  const rules = rulesWith((c) => {
    c.perCard.windowMinutes = 120;
  });

  it('reads exactly the rows a walk of the whole journal finds, and builds the same exposure from them', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const clock = new ManualClock(T0);
        const journal = Journal.open({ path: join(tempDir(), `j-${Math.random().toString(36).slice(2)}.db`), nodeId: NODE, clock });
        try {
          for (const step of ops) {
            const head = journal.chainHead().seq;
            if (step.type === 'pay') {
              journal.append(
                authorizationDraft({
                  cardToken: `tok-${step.card}`,
                  amountMinor: step.amountMinor,
                  currency: step.currency,
                  decision: { approved: step.approved, code: step.approved ? 'Y3' : 'Z3', reason: 'test', rule: 'test', mode: step.mode },
                }),
              );
            } else if (step.type === 'void' && head > 0) {
              const ref = (step.pick % head) + 1;
              const original = journal.getBySeq(ref)!;
              journal.append(authorizationDraft({ kind: 'void', refSeq: ref, cardToken: original.cardToken, currency: original.currency, amountMinor: original.amountMinor }));
            } else if (step.type === 'forward' && head > 0) {
              journal.markForwarded([(step.pick % head) + 1]);
            } else if (step.type === 'advance') {
              // Backwards too: a wall clock that jumped back stamps entries after later ones.
              clock.setWallMs(clock.wallMs() + step.minutes * 60_000);
            }
          }
          const now = clock.wallMs();
          const since = now - rules.perCard.windowMinutes * 60_000;
          const walked = journal.connection().prepare(FULL_SCAN_EXPOSURE_SQL).raw(true).all({ since }) as unknown[][];
          const indexed = [...journal.exposureRows(since)] as unknown[][];
          // The walk also returns voids of approvals that no longer count: releasing those is a no-op.
          const counted = new Set(indexed.filter((row) => row[1] === 'authorization').map((row) => row[0]));
          const walkedThatCount = walked.filter((row) => row[1] === 'authorization' || counted.has(row[6]));
          expect(indexed).toEqual(walkedThatCount);

          const rebuilt = rebuildExposure(journal, rules, now);
          const fromWalk = rebuildFrom(walked, rules, now);
          for (let card = 0; card <= 4; card++) {
            for (const currency of ['EUR', 'GBP']) expect(rebuilt.cardWindow(`tok-${card}`, currency, since)).toEqual(fromWalk.cardWindow(`tok-${card}`, currency, since));
          }
          for (const currency of ['EUR', 'GBP']) expect(rebuilt.nodeStored(currency)).toEqual(fromWalk.nodeStored(currency));
          expect(rebuilt.oldestUnforwardedWallMs()).toBe(fromWalk.oldestUnforwardedWallMs());
        } finally {
          journal.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});

/** The rebuild as it was before schema 3: the same fold, over the walked rows. */
function rebuildFrom(rows: readonly unknown[][], rules: ReturnType<typeof rulesWith>, now: number): ReturnType<typeof rebuildExposure> {
  const walkedJournal = { exposureRows: () => rows.values() } as unknown as Journal;
  return rebuildExposure(walkedJournal, rules, now);
}
