import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { describe, expect, it } from 'vitest';
import { findPostgresBinaries, startPostgres } from '../src/rigs/database/postgres-server.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-pg-');

async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  // A server killed under an open connection makes the client emit 'error'; the test reads it from the query instead.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

describe('throwaway PostgreSQL server', () => {
  it('keeps committed rows across SIGKILL and restart, and loses the uncommitted one', async () => {
    const server = await startPostgres({ dir: tempDir() });
    try {
      expect(server.url).toBe(`postgres://edgepay@127.0.0.1:${server.port}/edgepay`);
      const writer = await connect(server.url);
      const settings = await writer.query<{ fsync: string; max: string; listen: string; db: string }>(
        "SELECT current_setting('fsync') AS fsync, current_setting('max_connections') AS max, current_setting('listen_addresses') AS listen, current_database() AS db",
      );
      expect(settings.rows[0]).toEqual({ fsync: 'on', max: '50', listen: '127.0.0.1', db: 'edgepay' });

      await writer.query('CREATE TABLE payments (id integer PRIMARY KEY, amount_minor bigint NOT NULL)');
      for (let id = 1; id <= 20; id++) await writer.query('INSERT INTO payments VALUES ($1, $2)', [id, id * 100]);
      const open = await connect(server.url);
      await open.query('BEGIN');
      await open.query('INSERT INTO payments VALUES (999, 1)');

      await server.kill();
      await expect(writer.query('SELECT 1')).rejects.toThrow();
      await expect(connect(server.url)).rejects.toThrow(/ECONNREFUSED/);

      await server.restart();
      const reader = await connect(server.url);
      const after = await reader.query<{ n: string; total: string }>('SELECT count(*) AS n, sum(amount_minor) AS total FROM payments');
      expect(after.rows[0]).toEqual({ n: '20', total: String(100 * ((20 * 21) / 2)) });
      await reader.end();
      expect(server.stderr()).toMatch(/database system was interrupted|automatic recovery/);

      await server.stop();
      await server.stop();
      await expect(connect(server.url)).rejects.toThrow(/ECONNREFUSED/);
      await server.restart();
      const again = await connect(server.url);
      expect((await again.query<{ n: string }>('SELECT count(*) AS n FROM payments')).rows[0]?.n).toBe('20');
      await again.end();
    } finally {
      await server.stop();
    }
  });

  it('names what is missing and how to install it when PostgreSQL is not found', () => {
    const empty = tempDir();
    expect(() => findPostgresBinaries({ path: empty, versionsRoot: join(empty, 'none') })).toThrow(/initdb and postgres not found.*apt-get install postgresql/);
    // initdb alone, as a half-removed installation would leave it, is not enough.
    const half = join(empty, 'bin');
    mkdirSync(half);
    writeFileSync(join(half, 'initdb'), '#!/bin/sh\n', { mode: 0o755 });
    expect(() => findPostgresBinaries({ path: half, versionsRoot: join(empty, 'none') })).toThrow(/\(postgres not found/);
  });

  it('finds the installed binaries', () => {
    const found = findPostgresBinaries();
    expect(found.initdb).toMatch(/\/initdb$/);
    expect(found.postgres).toMatch(/\/postgres$/);
  });
});
