import Database from 'better-sqlite3';
import type { Decision } from '../authorize/codes.js';
import { fsyncDirectoryOf } from '../journal/files.js';
import { storageError } from '../journal/storage-errors.js';
import { preparePrivateDatabase } from '../platform/private-files.js';
import type { Payment, PaymentStatus } from './payment.js';

/*
 * The lanes' record of every payment a POS started, by idempotency key, kept apart from the money
 * journal: the journal holds only decisions (its chain is what the centre settles), while a POS can
 * also be told "cancelled" or "failed" or a 91 decline that no journal entry records. Those answers
 * must replay after a restart too, so each is fsynced here before the POS hears it.
 *
 * A claim (the row written when a payment starts) is not fsynced: a claim lost in a crash belongs
 * to a payment whose POS was told nothing, and the key is simply free again. Decisions with a
 * journal entry are not recorded here at all: the journal holds them durably and is asked first.
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS payments (
    idempotency_key TEXT PRIMARY KEY,
    lane TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    reference TEXT NOT NULL,
    status TEXT NOT NULL,
    decision TEXT,
    card_bin TEXT, -- always NULL now: the BIN is no longer kept (CardFacts); the column stays for files made before
    card_last4 TEXT,
    journal_seq INTEGER,
    error_code TEXT,
    error_message TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) STRICT`;

interface PaymentRow {
  readonly idempotency_key: string;
  readonly lane: string;
  readonly amount_minor: number;
  readonly currency: string;
  readonly reference: string;
  readonly status: string;
  readonly decision: string | null;
  readonly card_bin: string | null;
  readonly card_last4: string | null;
  readonly journal_seq: number | null;
  readonly error_code: string | null;
  readonly error_message: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}

type Sync = 'NORMAL' | 'FULL';

export class PaymentOutcomes {
  private db: Database.Database | undefined;
  private sync: Sync | undefined;
  private statements: { find: Database.Statement; claim: Database.Statement; finish: Database.Statement } | undefined;

  /** Opened at first use: a node without lanes, or one refused at start, leaves no file behind. */
  constructor(readonly path: string) {}

  /** The payment recorded under this key, as it was last recorded. */
  find(idempotencyKey: string): Payment | undefined {
    const row = this.guard(() => this.open().find.get(idempotencyKey) as PaymentRow | undefined);
    return row === undefined ? undefined : paymentOf(row);
  }

  /** Records a payment that is starting. Throws a storage error (nothing started) if it cannot. */
  claim(payment: Payment): void {
    this.guard(() => {
      const statements = this.open();
      this.setSync('NORMAL');
      statements.claim.run(rowOf(payment));
    });
  }

  /** Records how a payment ended that no journal entry records, fsynced before returning. */
  finish(payment: Payment): void {
    this.guard(() => {
      const statements = this.open();
      this.setSync('FULL');
      statements.finish.run(rowOf(payment));
    });
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
    this.statements = undefined;
    this.sync = undefined;
  }

  private open(): NonNullable<PaymentOutcomes['statements']> {
    if (this.statements !== undefined) return this.statements;
    // 0600 before SQLite opens it, which gives the WAL and its index the main file's mode: card last 4s
    // stay the node's own.
    const created = preparePrivateDatabase(this.path);
    const db = new Database(this.path);
    try {
      db.pragma('journal_mode = WAL');
      db.exec(SCHEMA);
      if (created) fsyncDirectoryOf(this.path);
      this.statements = {
        find: db.prepare('SELECT * FROM payments WHERE idempotency_key = ?'),
        claim: db.prepare(`INSERT INTO payments VALUES (@idempotency_key, @lane, @amount_minor, @currency, @reference, @status, @decision,
          @card_bin, @card_last4, @journal_seq, @error_code, @error_message, @created_at, @updated_at)`),
        finish: db.prepare(`UPDATE payments SET status = @status, decision = @decision, card_bin = @card_bin, card_last4 = @card_last4,
          journal_seq = @journal_seq, error_code = @error_code, error_message = @error_message, updated_at = @updated_at
          WHERE idempotency_key = @idempotency_key`),
      };
    } catch (error) {
      db.close();
      throw error;
    }
    this.db = db;
    return this.statements;
  }

  private setSync(mode: Sync): void {
    if (this.sync === mode) return;
    this.db!.pragma(`synchronous = ${mode}`);
    this.sync = mode;
  }

  private guard<T>(work: () => T): T {
    try {
      return work();
    } catch (cause) {
      throw storageError(cause, this.path);
    }
  }
}

function rowOf(payment: Payment): PaymentRow {
  return {
    idempotency_key: payment.id,
    lane: payment.lane,
    amount_minor: payment.amountMinor,
    currency: payment.currency,
    reference: payment.reference,
    status: payment.status,
    decision: payment.decision === null ? null : JSON.stringify(payment.decision),
    card_bin: null,
    card_last4: payment.card?.last4 ?? null,
    journal_seq: payment.journalSeq,
    error_code: payment.error?.code ?? null,
    error_message: payment.error?.message ?? null,
    created_at: payment.createdAt,
    updated_at: payment.updatedAt,
  };
}

function paymentOf(row: PaymentRow): Payment {
  return {
    id: row.idempotency_key,
    lane: row.lane,
    amountMinor: row.amount_minor,
    currency: row.currency,
    reference: row.reference,
    status: row.status as PaymentStatus,
    decision: row.decision === null ? null : (JSON.parse(row.decision) as Decision),
    card: row.card_last4 !== null ? { last4: row.card_last4 } : null,
    journalSeq: row.journal_seq,
    error: row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? '' },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
