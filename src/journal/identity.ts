import type Database from 'better-sqlite3';

/** The node id a journal database is stamped with; undefined when it holds none (an empty file, another SQLite database). */
export function storedNodeId(db: Database.Database): string | undefined {
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== undefined;
  if (!hasMeta) return undefined;
  return (db.prepare("SELECT value FROM meta WHERE key = 'node_id'").get() as { value: string } | undefined)?.value;
}
