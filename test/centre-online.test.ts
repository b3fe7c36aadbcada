import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { totalsOf } from '../src/central/batch.js';
import { Centre } from '../src/central/centre.js';
import type { LedgerBackend } from '../src/central/ledger-backend.js';
import fc from 'fast-check';
import { type OnlineRequest, decideOnline, repeatedDecision } from '../src/central/online.js';
import { PostgresLedger } from '../src/central/postgres-ledger.js';
import { SqliteLedger } from '../src/central/sqlite-ledger.js';
import { Journal } from '../src/journal/journal.js';
import { ManualClock } from '../src/platform/clock.js';
import type { ForwardBatch } from '../src/central/batch.js';
import type { JournalEntry } from '../src/journal/entry.js';
import { signEntry } from '../src/wire/envelope.js';
import { authorizationDraft } from './support/drafts.js';
import { nodeKeys, registerKeys } from './support/signed-forwarding.js';
import { usePostgresServer } from './support/postgres.js';
import { useTempDir } from './support/tmp.js';

const postgres = usePostgresServer();
const tempDir = useTempDir('edgepay-online-');
let schemas = 0;

const NOW = Date.UTC(2026, 10, 28, 12);
const KEYS = nodeKeys(['box-1']);
const request = (key: string, overrides: Partial<OnlineRequest> = {}): OnlineRequest => ({
  origin: 'box-1',
  store: 's1',
  idempotencyKey: key,
  amountMinor: 1_000,
  currency: 'EUR',
  cardToken: 'tok-card',
  expiryYear: 2029,
  expiryMonth: 12,
  checkDigitValid: true,
  ...overrides,
});

describe("the centre's online decision", () => {
  it('declines an expired card (through the last day of its month), a stolen one and one without funds', () => {
    expect(decideOnline(request('k', { expiryYear: 2026, expiryMonth: 11 }), undefined, Date.UTC(2026, 10, 30, 23, 59))).toMatchObject({ approved: true, code: '00' });
    expect(decideOnline(request('k', { expiryYear: 2026, expiryMonth: 11 }), undefined, Date.UTC(2026, 11, 1))).toMatchObject({ approved: false, code: '54' });
    expect(decideOnline(request('k'), 'hot_listed', NOW)).toMatchObject({ approved: false, code: '43' });
    expect(decideOnline(request('k'), 'insufficient_funds', NOW)).toMatchObject({ approved: false, code: '51' });
  });
});

describe('the answer to a key asked again', () => {
  it('is the answer on record exactly when card, amount and currency match; never an approval for another payment', () => {
    const body = fc.record({ amountMinor: fc.integer({ min: 1, max: 3 }), currency: fc.constantFrom('EUR', 'USD'), cardToken: fc.constantFrom('tok-a', 'tok-b') });
    fc.assert(
      fc.property(body, body, fc.constantFrom('approved', 'declined', 'reversed'), (recorded, asked, status) => {
        const answer = repeatedDecision({ ...recorded, status, code: status === 'approved' ? '00' : '43', reason: 'on record' }, request('k', asked));
        const same = recorded.amountMinor === asked.amountMinor && recorded.currency === asked.currency && recorded.cardToken === asked.cardToken;
        if (status === 'reversed') expect(answer).toMatchObject({ approved: false, code: '68' });
        else if (same) expect(answer).toEqual({ approved: status === 'approved', code: status === 'approved' ? '00' : '43', reason: 'on record' });
        else expect(answer).toMatchObject({ approved: false, code: '57' });
      }),
    );
  });
});

describe.each([
  ['sqlite', (dir: string): Promise<LedgerBackend> => Promise.resolve(SqliteLedger.open(join(dir, 'ledger.db')))],
  ['postgres', (): Promise<LedgerBackend> => PostgresLedger.open({ url: postgres().url, schema: `online_${schemas++}` })],
] as const)('online authorizations in the %s ledger', (_kind, openLedger) => {
  const open = async (dir: string): Promise<LedgerBackend> => {
    const backend = await openLedger(dir);
    await registerKeys(backend, 's1', KEYS);
    return backend;
  };
  const batch = (batchId: string, entries: JournalEntry[]): ForwardBatch => ({
    batchId,
    store: 's1',
    origin: 'box-1',
    sender: 'box-1',
    entries,
    totals: totalsOf(entries),
    signature: signEntry(entries.at(-1)!, KEYS.get('box-1')!.privateKey),
  });

  it("answers a repeated request as the first time, even after the card's standing changed", async () => {
    const backend = await open(tempDir());
    const centre = new Centre({ backend, forwardDeadlineHours: 72, clock: new ManualClock(NOW) });
    expect(await centre.authorizeOnline(request('a'))).toMatchObject({ approved: true, code: '00' });
    await backend.setCardStanding('tok-card', 'hot_listed');
    expect(await centre.authorizeOnline(request('a'))).toMatchObject({ approved: true, code: '00' });
    expect(await centre.authorizeOnline(request('b'))).toMatchObject({ approved: false, code: '43' });
    expect(await backend.onlineStatus('box-1', 'a')).toBe('approved');
    expect(await backend.onlineStatus('box-1', 'b')).toBe('declined');
    await backend.close();
  });

  it('declines a repeated key asked for another card, amount or currency (one key, one payment), and still answers the original as the first time', async () => {
    const backend = await open(tempDir());
    const centre = new Centre({ backend, forwardDeadlineHours: 72, clock: new ManualClock(NOW) });
    expect(await centre.authorizeOnline(request('a'))).toMatchObject({ approved: true, code: '00' });
    const otherCard = await centre.authorizeOnline(request('a', { cardToken: 'tok-another' }));
    expect(otherCard).toMatchObject({ approved: false, code: '57' });
    expect(otherCard.reason).toBe('idempotency key a was answered for another payment (card differ): one key, one payment');
    expect((await centre.authorizeOnline(request('a', { amountMinor: 999, currency: 'USD' }))).reason).toBe(
      'idempotency key a was answered for another payment (amount (1000 on record, 999 asked), currency (EUR on record, USD asked) differ): one key, one payment',
    );
    expect(await centre.authorizeOnline(request('a'))).toMatchObject({ approved: true, code: '00' });
    // A declined key stays declined for its own payment, and another payment under it is no approval either.
    await backend.setCardStanding('tok-stolen', 'hot_listed');
    expect(await centre.authorizeOnline(request('d', { cardToken: 'tok-stolen' }))).toMatchObject({ approved: false, code: '43' });
    expect(await centre.authorizeOnline(request('d'))).toMatchObject({ approved: false, code: '57' });
    expect(await backend.onlineStatus('box-1', 'a')).toBe('approved');
    await backend.close();
  });

  it('a reversal withdraws an approval, and one that arrives before its request makes the request a decline', async () => {
    const backend = await open(tempDir());
    const centre = new Centre({ backend, forwardDeadlineHours: 72, clock: new ManualClock(NOW) });
    await centre.authorizeOnline(request('a'));
    await centre.reverseOnline('box-1', 'a');
    expect(await backend.onlineStatus('box-1', 'a')).toBe('reversed');
    await centre.reverseOnline('box-1', 'late');
    expect(await centre.authorizeOnline(request('late'))).toMatchObject({ approved: false, code: '68' });
    expect(await backend.onlineStatus('box-1', 'late')).toBe('reversed');
    await backend.close();
  });

  it('the forwarded offline decision supersedes an online approval whose reversal was lost; an online approval settles even for a card hot-listed since', async () => {
    const dir = tempDir();
    const backend = await open(dir);
    const clock = new ManualClock(NOW);
    const centre = new Centre({ backend, forwardDeadlineHours: 72, clock });
    await centre.authorizeOnline(request('lost-reversal', { cardToken: 'tok-x' }));
    await centre.authorizeOnline(request('online-sale', { cardToken: 'tok-y' }));
    await backend.setCardStanding('tok-y', 'hot_listed');
    const journal = Journal.open({ path: join(dir, 'journal.db'), nodeId: 'box-1', clock });
    const entries = [
      journal.append(authorizationDraft({ idempotencyKey: 'lost-reversal', cardToken: 'tok-x' })),
      journal.append(
        authorizationDraft({ idempotencyKey: 'online-sale', cardToken: 'tok-y', amountMinor: 1_000, decision: { approved: true, code: '00', reason: 'approved by the centre', rule: 'centre', mode: 'online' } }),
      ),
    ];
    journal.close();
    const answer = await centre.ingest(batch('b1', entries));
    expect(answer.ok && answer.outcomes.map((o) => o.result)).toEqual(['settled', 'settled']);
    expect(await backend.onlineStatus('box-1', 'lost-reversal')).toBe('reversed');
    expect(await backend.onlineStatus('box-1', 'online-sale')).toBe('approved');
    await backend.close();
  });

  it("an entry labelled online settles only against the centre's own approval of that payment: none, another amount or card, or a reversed one is an exception that pays nothing", async () => {
    const dir = tempDir();
    const backend = await open(dir);
    const clock = new ManualClock(NOW);
    const centre = new Centre({ backend, forwardDeadlineHours: 72, clock });
    await centre.authorizeOnline(request('genuine', { amountMinor: 800 }));
    await centre.authorizeOnline(request('other-amount', { amountMinor: 800 }));
    await centre.authorizeOnline(request('other-card', { amountMinor: 800 }));
    await centre.authorizeOnline(request('reversed', { amountMinor: 800 }));
    await centre.reverseOnline('box-1', 'reversed');
    const online = { approved: true, code: '00', reason: 'approved by the centre', rule: 'centre', mode: 'online' } as const;
    const journal = Journal.open({ path: join(dir, 'journal.db'), nodeId: 'box-1', clock });
    const entries = [
      journal.append(authorizationDraft({ idempotencyKey: 'genuine', cardToken: 'tok-card', amountMinor: 800, decision: online })),
      journal.append(authorizationDraft({ idempotencyKey: 'never-asked', cardToken: 'tok-card', amountMinor: 5_000_000, decision: online })),
      journal.append(authorizationDraft({ idempotencyKey: 'other-amount', cardToken: 'tok-card', amountMinor: 80_000, decision: online })),
      journal.append(authorizationDraft({ idempotencyKey: 'other-card', cardToken: 'tok-other', amountMinor: 800, decision: online })),
      journal.append(authorizationDraft({ idempotencyKey: 'reversed', cardToken: 'tok-card', amountMinor: 800, decision: online })),
    ];
    journal.close();
    const answer = await centre.ingest(batch('online', entries));
    expect(answer.ok && answer.outcomes.map((o) => [o.result, o.reason, o.merchantMinor])).toEqual([
      ['settled', null, 800],
      ['exception', 'online_unrecorded', 0],
      ['exception', 'online_unrecorded', 0],
      ['exception', 'online_unrecorded', 0],
      ['exception', 'online_unrecorded', 0],
    ]);
    expect((await backend.exceptions()).map((e) => e.idempotencyKey)).toEqual(['never-asked', 'other-amount', 'other-card', 'reversed']);
    expect((await backend.checkInvariants()).balances).toEqual({ 'card-clearing:EUR': 800, 'merchant:s1:EUR': -800 });
    await backend.close();
  });

  it('offline approvals judged after the fact: no funds and past the forward deadline are exceptions paid from offline risk', async () => {
    const dir = tempDir();
    const backend = await open(dir);
    const clock = new ManualClock(NOW);
    const centre = new Centre({ backend, forwardDeadlineHours: 24, clock });
    await backend.setCardStanding('tok-broke', 'insufficient_funds');
    const journal = Journal.open({ path: join(dir, 'journal.db'), nodeId: 'box-1', clock });
    const entries = [journal.append(authorizationDraft({ idempotencyKey: 'broke', cardToken: 'tok-broke', amountMinor: 700 }))];
    clock.advance(2 * 3_600_000);
    entries.push(journal.append(authorizationDraft({ idempotencyKey: 'fresh', cardToken: 'tok-ok', amountMinor: 900 })));
    journal.close();
    // Forwarded 25 hours after the first was taken (its standing decides first) and 23 after the second: within the deadline.
    clock.advance(23 * 3_600_000);
    const answer = await centre.ingest(batch('late', entries));
    expect(answer.ok && answer.outcomes.map((o) => [o.result, o.reason])).toEqual([
      ['exception', 'insufficient_funds'],
      ['settled', null],
    ]);
    const invariants = await backend.checkInvariants();
    expect(invariants.balances).toMatchObject({ 'offline-risk:EUR': 700, 'card-clearing:EUR': 900, 'merchant:s1:EUR': -1_600 });
    await backend.close();
  });

  it('an offline approval forwarded past the deadline is an exception', async () => {
    const dir = tempDir();
    const backend = await open(dir);
    const clock = new ManualClock(NOW);
    const centre = new Centre({ backend, forwardDeadlineHours: 24, clock });
    const journal = Journal.open({ path: join(dir, 'journal.db'), nodeId: 'box-1', clock });
    const entries = [journal.append(authorizationDraft({ idempotencyKey: 'old', amountMinor: 500 }))];
    journal.close();
    clock.advance(24 * 3_600_000 + 1);
    const answer = await centre.ingest(batch('b', entries));
    expect(answer.ok && answer.outcomes[0]).toMatchObject({ result: 'exception', reason: 'past_forward_deadline', merchantMinor: 500 });
    expect((await backend.exceptions()).map((e) => e.reason)).toEqual(['past_forward_deadline']);
    await backend.close();
  });
});
