import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from './support/cli.js';
import { nodeConfigIn } from './support/node.js';
import { useTempDir } from './support/tmp.js';

/*
 * Issue 17: run by hand (outside the units' UMask=0077), edgepay's files followed the shell's umask
 * and came out 0644. Every writer here runs as a real process under umask 022, Debian's default,
 * and every file holding entries, card facts or keys must come out 0600, every directory made for
 * them 0700.
 */

const tempDir = useTempDir('edgepay-private-');
const LOOSE_UMASK = '022';

/** The command line (or any script) in a child process whose umask is Debian's default. */
function underLooseUmask(args: readonly string[], timeoutMs = 60_000): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('sh', ['-c', `umask ${LOOSE_UMASK}; exec "$0" "$@"`, process.execPath, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const cli = (args: readonly string[], timeoutMs?: number) => underLooseUmask([CLI, ...args], timeoutMs);

const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8).padStart(4, '0');

/** Every file and directory under `dir` (itself included), with its mode, by path relative to `root`. */
function modesUnder(dir: string, root: string): Record<string, string> {
  const modes: Record<string, string> = { [relative(root, dir) || '.']: modeOf(dir) };
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) Object.assign(modes, modesUnder(path, root));
    else modes[relative(root, path)] = modeOf(path);
  }
  return modes;
}

/** The paths whose mode is not the private one for their kind. */
function notPrivate(modes: Record<string, string>, root: string): Record<string, string> {
  return Object.fromEntries(Object.entries(modes).filter(([path, mode]) => mode !== (statSync(join(root, path)).isDirectory() ? '0700' : '0600')));
}

describe('without edgepay explicit modes, umask 022 leaves files readable by all', () => {
  it('a plain write and a plain SQLite database come out 0644 in the same child process setup', () => {
    // The control for every assertion below: the same child process, the same umask, no explicit mode.
    const dir = tempDir();
    const script = `
      const fs = require('node:fs');
      const Database = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))});
      fs.writeFileSync(${JSON.stringify(join(dir, 'plain.key'))}, 'secret');
      const db = new Database(${JSON.stringify(join(dir, 'plain.db'))});
      db.pragma('journal_mode = WAL');
      db.exec('CREATE TABLE t (x)');
      fs.mkdirSync(${JSON.stringify(join(dir, 'plain-dir'))});
      process.stdout.write([fs.statSync(${JSON.stringify(join(dir, 'plain.db-wal'))}).mode & 0o777].join());
      db.close();
    `;
    const result = underLooseUmask(['-e', script]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(String(0o644));
    expect(modeOf(join(dir, 'plain.key'))).toBe('0644');
    expect(modeOf(join(dir, 'plain.db'))).toBe('0644');
    expect(modeOf(join(dir, 'plain-dir'))).toBe('0755');
  });
});

describe('under umask 022, everything edgepay writes that holds entries, card facts or keys is 0600 (directories 0700)', () => {
  it('node init, journal backup, export and restore, centre keys create, rules keygen', async () => {
    const dir = tempDir();
    await nodeConfigIn(dir);
    const configFile = join(dir, 'node.json');
    // The data directory two levels deep: every directory init makes for it is private.
    writeFileSync(
      configFile,
      JSON.stringify({
        nodeId: 'box-1',
        dataDir: 'state/data',
        keys: { tokenKeyFile: 'token.key', centrePublicKeyFile: 'centre.pub', plainTokenKeyFileForDevelopment: true },
        api: { host: '127.0.0.1', port: 0, tokenFile: 'api.token' },
        log: { level: 'warn' },
      }),
    );
    expect(cli(['node', 'init', '--config', configFile])).toMatchObject({ status: 0 });
    const data = join(dir, 'state', 'data');
    const backups = join(data, 'backup', 'hourly');
    expect(cli(['journal', 'backup', '--db', join(data, 'journal.db'), '--dir', backups, '--keep', '2'])).toMatchObject({ status: 0 });
    // An export over an existing loose file is narrowed too: open's mode applies only to new files.
    const exported = join(dir, 'export.jsonl');
    writeFileSync(exported, '');
    chmodSync(exported, 0o644);
    expect(cli(['journal', 'export', '--db', join(data, 'journal.db'), '--out', exported])).toMatchObject({ status: 0 });
    const [backup] = readdirSync(backups);
    // A backup copied by hand (cp, scp) has a loose mode; the journal restored from it must not.
    const handCopy = join(dir, 'hand-copy.db');
    copyFileSync(join(backups, backup!), handCopy);
    chmodSync(handCopy, 0o644);
    const restored = join(dir, 'restored', 'journal.db');
    expect(cli(['journal', 'restore', '--from', handCopy, '--db', restored])).toMatchObject({ status: 0 });
    expect(cli(['centre', 'keys', 'create', '--out', join(dir, 'centre-keys')])).toMatchObject({ status: 0 });
    const rulesKeys = join(dir, 'rules-keys');
    expect(cli(['rules', 'keygen', '--out', rulesKeys])).toMatchObject({ status: 0 });
    // A replaced rules key keeps no loose mode of the file it replaces.
    chmodSync(join(rulesKeys, 'rules.key'), 0o644);
    expect(cli(['rules', 'keygen', '--out', rulesKeys, '--force'])).toMatchObject({ status: 0 });

    expect(notPrivate(modesUnder(join(dir, 'state'), dir), dir)).toEqual({});
    expect(notPrivate(modesUnder(join(dir, 'restored'), dir), dir)).toEqual({});
    expect(modeOf(join(dir, 'api.token'))).toBe('0600');
    expect(modeOf(exported)).toBe('0600');
    expect(modeOf(join(dir, 'centre-keys'))).toBe('0700');
    expect(modeOf(join(dir, 'centre-keys', 'centre-signing.key'))).toBe('0600');
    expect(modeOf(join(dir, 'rules-keys'))).toBe('0700');
    expect(modeOf(join(rulesKeys, 'rules.key'))).toBe('0600');
    // Public halves are for copying to every node; they stay readable.
    expect(modeOf(join(rulesKeys, 'rules.pub'))).toBe('0644');
  }, 120_000);

  it('a whole store taking payments: journals (with -wal/-shm), replicas, payment outcomes, custody, node keys and the centre ledger', () => {
    // demo-store runs `node run` processes (their umask inherited from this one) taking payments,
    // replicating over the broker, a box killed with its WAL left behind, and the centre's ledger.
    const dir = tempDir();
    const result = cli(['demo-store', '--dir', dir, '--keep', '--transport', 'unix', '--json'], 120_000);
    expect(result.status, result.stderr).toBe(0);
    const [store] = readdirSync(dir);
    const root = join(dir, store!);
    const product: Record<string, string> = {};
    for (const box of ['box-1', 'box-2', 'box-3']) Object.assign(product, modesUnder(join(root, box, 'data'), root));
    Object.assign(product, Object.fromEntries(Object.entries(modesUnder(join(root, 'centre'), root)).filter(([path]) => path !== 'centre')));
    Object.assign(product, Object.fromEntries(Object.entries(modesUnder(join(root, 'keys'), root)).filter(([path]) => !path.endsWith('.pub'))));

    // What the store wrote is all there: the assertion below is about real files.
    for (const file of ['box-1/data/journal.db', 'box-1/data/replicas.db', 'box-1/data/payments.db', 'box-3/data/journal.db-wal', 'centre/ledger.db', 'keys/box-1.key']) {
      expect(existsSync(join(root, file)), file).toBe(true);
    }
    expect(notPrivate(product, root)).toEqual({});
  }, 150_000);
});
