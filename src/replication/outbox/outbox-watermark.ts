import type Database from 'better-sqlite3';

/**
 * The transactional outbox's only state: the last own sequence number whose PUBLISH the broker
 * acknowledged. It lives in replicas.db, never in the journal, which has a single writer.
 */
export class OutboxWatermark {
  private readonly select: Database.Statement;
  private readonly upsert: Database.Statement;

  constructor(db: Database.Database) {
    this.select = db.prepare('SELECT seq FROM outbox_watermark WHERE id = 1').pluck();
    this.upsert = db.prepare('INSERT INTO outbox_watermark (id, seq, wall_ms) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, wall_ms = excluded.wall_ms');
  }

  read(): number {
    return (this.select.get() as number | undefined) ?? 0;
  }

  write(seq: number, wallMs: number): void {
    this.upsert.run(seq, wallMs);
  }
}
