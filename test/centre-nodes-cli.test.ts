import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteLedger } from '../src/central/sqlite-ledger.js';
import { generateNodeKeyPair } from '../src/wire/keys.js';
import { runCli } from './support/cli.js';
import { useTempDir } from './support/tmp.js';

/*
 * The node registry as an operator uses it: `edgepay centre nodes add|list|revoke` against the
 * centre's own configuration, on a real ledger file.
 */

const tempDir = useTempDir('edgepay-centre-nodes-');

function centreIn(dir: string): string {
  const config = join(dir, 'centre.json');
  const key = generateNodeKeyPair();
  writeFileSync(join(dir, 'centre-signing.key'), key.privateKeyPem, { mode: 0o600 });
  writeFileSync(config, JSON.stringify({ fleet: 'f', brokerUrl: 'mqtt://127.0.0.1:1', signingKeyFile: 'centre-signing.key', ledger: { sqliteFile: 'ledger.db' } }));
  return config;
}

function keyFile(dir: string, name: string): { file: string; privateFile: string } {
  const pair = generateNodeKeyPair();
  writeFileSync(join(dir, `${name}.pub`), pair.publicKeyPem);
  writeFileSync(join(dir, `${name}.key`), pair.privateKeyPem, { mode: 0o600 });
  return { file: join(dir, `${name}.pub`), privateFile: join(dir, `${name}.key`) };
}

const json = (stdout: string): Record<string, unknown>[] =>
  stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('edgepay centre nodes', () => {
  it('adds, lists and revokes; the same registration twice changes nothing; another key for a live node is refused; a revoked node can be registered anew', () => {
    const dir = tempDir();
    const config = centreIn(dir);
    const first = keyFile(dir, 'box-1');
    const added = runCli(['centre', 'nodes', 'add', '--config', config, '--node', 'box-1', '--store', 's1', '--public-key', first.file, '--json']);
    expect(added.status, added.stderr).toBe(0);
    const [registered] = json(added.stdout);
    expect(registered).toMatchObject({ nodeId: 'box-1', store: 's1', state: 'registered', revokedMs: null });
    expect(registered!.fingerprint).toMatch(/^sha256:[0-9a-f]{32}$/);

    expect(json(runCli(['centre', 'nodes', 'add', '--config', config, '--node', 'box-1', '--store', 's1', '--public-key', first.file, '--json']).stdout)[0]).toMatchObject({ state: 'already registered, unchanged' });

    const second = keyFile(dir, 'box-1-new');
    const conflict = runCli(['centre', 'nodes', 'add', '--config', config, '--node', 'box-1', '--store', 's1', '--public-key', second.file]);
    expect(conflict.status).toBe(1);
    expect(conflict.stderr).toContain('EDGEPAY_CENTRE_NODE_EXISTS');
    expect(conflict.stderr).toContain('revoke it first');
    const otherStore = runCli(['centre', 'nodes', 'add', '--config', config, '--node', 'box-1', '--store', 's2', '--public-key', first.file]);
    expect(otherStore.status).toBe(1);
    expect(otherStore.stderr).toContain('registered with store s1');

    const revoked = runCli(['centre', 'nodes', 'revoke', '--config', config, '--node', 'box-1', '--json']);
    expect(revoked.status, revoked.stderr).toBe(0);
    expect(json(revoked.stdout)[0]!.revokedMs).toEqual(expect.any(Number));
    const listed = json(runCli(['centre', 'nodes', 'list', '--config', config, '--json']).stdout);
    expect(listed).toEqual([expect.objectContaining({ nodeId: 'box-1', state: expect.stringMatching(/^revoked /) })]);

    const again = runCli(['centre', 'nodes', 'add', '--config', config, '--node', 'box-1', '--store', 's1', '--public-key', second.file, '--json']);
    expect(again.status, again.stderr).toBe(0);
    expect(json(again.stdout)[0]).toMatchObject({ state: 'registered', revokedMs: null });
    expect(json(again.stdout)[0]!.fingerprint).not.toBe(registered!.fingerprint);
  });

  it('refuses what it cannot register, naming the problem: a private key, a missing file, a bad id, an unknown node to revoke', () => {
    const dir = tempDir();
    const config = centreIn(dir);
    const keys = keyFile(dir, 'box-2');
    const cases: [string[], number, string][] = [
      [['--node', 'box-2', '--store', 's1', '--public-key', keys.privateFile], 2, 'holds a private key'],
      [['--node', 'box-2', '--store', 's1', '--public-key', join(dir, 'missing.pub')], 2, 'cannot read'],
      [['--node', 'box/2', '--store', 's1', '--public-key', keys.file], 2, 'node id "box/2"'],
    ];
    for (const [args, status, message] of cases) {
      const result = runCli(['centre', 'nodes', 'add', '--config', config, ...args]);
      expect({ args, status: result.status }).toEqual({ args, status });
      expect(result.stderr).toContain(message);
    }
    const unknown = runCli(['centre', 'nodes', 'revoke', '--config', config, '--node', 'nobody']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('node nobody is not registered');
    expect(runCli(['centre', 'nodes', 'list', '--config', config]).stdout).toBe('');
  });

  it('a ledger made before the registry existed is migrated in place, its entries kept', () => {
    const dir = tempDir();
    const path = join(dir, 'old.db');
    // The tables as they were, at schema version 0, with one entry's head.
    const old = new Database(path);
    old.exec("CREATE TABLE ledger_heads (origin TEXT PRIMARY KEY, seq INTEGER NOT NULL, hash TEXT NOT NULL) STRICT; INSERT INTO ledger_heads VALUES ('box-1', 7, 'abc');");
    old.close();
    const ledger = SqliteLedger.open(path);
    return (async () => {
      expect(await ledger.headOf('box-1')).toBe(7);
      expect(await ledger.registeredNodes()).toEqual([]);
      await ledger.close();
      const reopened = new Database(path, { readonly: true });
      expect(reopened.pragma('user_version', { simple: true })).toBe(2);
      reopened.close();
    })();
  });
});
