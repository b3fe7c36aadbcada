import type Database from 'better-sqlite3';

/**
 * Where the node's status order (status-order.ts) left off, kept across restarts. A session starts
 * at the wall clock, but a clock stepped back between two processes would start the new one below
 * the old, and peers would ignore the node's statuses as replays until the clock caught up; from
 * the last session written here the next always starts above it.
 */
export interface SessionFloor {
  /** The last session started, 0 when none was. */
  read(): number;
  write(session: number): void;
}

/** Under its own key in replicas.db's meta table; the node-id claim shares the table. */
export class StoredSessionFloor implements SessionFloor {
  private readonly select: Database.Statement;
  private readonly upsert: Database.Statement;

  constructor(db: Database.Database) {
    this.select = db.prepare("SELECT value FROM meta WHERE key = 'status_session'").pluck();
    this.upsert = db.prepare("INSERT INTO meta (key, value) VALUES ('status_session', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  }

  read(): number {
    const value = Number(this.select.get() as string | undefined);
    return Number.isSafeInteger(value) && value > 0 ? value : 0;
  }

  write(session: number): void {
    this.upsert.run(String(session));
  }
}
