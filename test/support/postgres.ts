import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { type PostgresServer, startPostgres } from '../../src/rigs/database/postgres-server.js';

/**
 * One throwaway PostgreSQL server for a test file: started before its tests, stopped and removed
 * after. Tests keep apart by schema. Call at the top level of the file; the getter works in tests.
 */
export function usePostgresServer(): () => PostgresServer {
  let server: PostgresServer | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgepay-pg-'));
    server = await startPostgres({ dir });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    if (server === undefined) throw new Error('the PostgreSQL server is not started yet: call the getter inside a test');
    return server;
  };
}
