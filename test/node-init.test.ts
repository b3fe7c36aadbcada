import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Journal, lockOwner } from '../src/journal/index.js';
import { journalPathOf } from '../src/config/node-config.js';
import { initNode } from '../src/app/init.js';
import { readJournalIdentity } from '../src/journal/file-identity.js';
import { NodeRuntime } from '../src/app/runtime.js';
import { runCli } from './support/cli.js';
import { authorizationDraft } from './support/drafts.js';
import { nodeConfigIn } from './support/node.js';
import { lanesOverSocket, nodeConfigFile, startNodeProcess } from './support/node-process.js';
import { eventually } from './support/pty.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-init-');
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The three ways forward the refusal must name, besides the path. */
const WAYS_FORWARD = [/edgepay node init --config/, /edgepay journal restore --from BACKUP --db/, /edgepay node rebuild --from-peers/, /fix dataDir/];

describe('edgepay node init', () => {
  it('makes the data directory 0700 and an empty journal with the node identity; a second init refuses and leaves it alone', async () => {
    const config = await nodeConfigIn(tempDir(), { nodeId: 'box-7' });
    const result = initNode(config);
    expect(result).toEqual({ nodeId: 'box-7', dataDir: config.dataDir, journalPath: journalPathOf(config), createdDataDir: true });
    expect(statSync(config.dataDir).mode & 0o777).toBe(0o700);
    expect(readJournalIdentity(journalPathOf(config))).toEqual({ nodeId: 'box-7', entries: 0 });

    const journal = Journal.open({ path: journalPathOf(config), nodeId: 'box-7' });
    journal.append(authorizationDraft());
    journal.close();
    const before = readFileSync(journalPathOf(config));
    expect(() => initNode(config)).toThrow(expect.objectContaining({ code: 'EDGEPAY_JOURNAL_EXISTS', message: expect.stringMatching(/exists already \(the journal of node "box-7", 1 entries\)/) }));
    expect(() => initNode({ ...config, nodeId: 'box-8' })).toThrow(expect.objectContaining({ code: 'EDGEPAY_JOURNAL_EXISTS' }));
    expect(readFileSync(journalPathOf(config)).equals(before)).toBe(true);
  });

  it("uses a data directory that is there already (a mount, systemd's StateDirectory=) as it is", async () => {
    const config = await nodeConfigIn(tempDir());
    mkdirSync(config.dataDir, { mode: 0o750 });
    expect(initNode(config).createdDataDir).toBe(false);
    expect(statSync(config.dataDir).mode & 0o777).toBe(0o750);
    expect(readJournalIdentity(journalPathOf(config)).nodeId).toBe(config.nodeId);
  });
});

describe('a node never creates its journal', () => {
  it('refuses a data directory without a journal, naming the path and the ways forward, and creates nothing there', async () => {
    const dir = tempDir();
    const dataDir = join(dir, 'data');
    const config = await nodeConfigIn(dir, { api: { socket: join(dataDir, 'api.sock') }, centre: { store: 's1', ledger: { sqliteFile: join(dataDir, 'centre.db') } } });
    const refusal = NodeRuntime.start({ config, registry: new Registry() });
    await expect(refusal).rejects.toMatchObject({ code: 'EDGEPAY_JOURNAL_MISSING', message: expect.stringContaining(journalPathOf(config)) });
    const message = (await refusal.catch((error: Error) => error)) as Error;
    for (const way of WAYS_FORWARD) expect(message.message).toMatch(way);
    expect(existsSync(dataDir)).toBe(false);

    // A mistyped dataDir that happens to exist stays as empty as it was.
    mkdirSync(dataDir);
    await expect(NodeRuntime.start({ config, registry: new Registry() })).rejects.toMatchObject({ code: 'EDGEPAY_JOURNAL_MISSING' });
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('refuses a journal file that holds no node identity (an empty file) and leaves it as it is', async () => {
    const config = await nodeConfigIn(tempDir());
    mkdirSync(config.dataDir);
    writeFileSync(journalPathOf(config), '');
    await expect(NodeRuntime.start({ config, registry: new Registry() })).rejects.toMatchObject({ code: 'EDGEPAY_JOURNAL_MISSING', message: expect.stringMatching(/holds no node identity/) });
    // The journal writer's own open refuses it too, before anything is written.
    expect(() => Journal.open({ path: journalPathOf(config), nodeId: config.nodeId, mustExist: true })).toThrow(expect.objectContaining({ code: 'EDGEPAY_JOURNAL_MISSING' }));
    expect(statSync(journalPathOf(config)).size).toBe(0);
    // Beside it only the journal's lock file, held by no one: it stays once made (src/journal/lock.ts).
    expect(readdirSync(config.dataDir).sort()).toEqual(['journal.db', 'journal.db.lock']);
    expect(lockOwner(journalPathOf(config))).toBeUndefined();
  });

  it("refuses another node's journal", async () => {
    const config = await nodeConfigIn(tempDir(), { nodeId: 'box-1' });
    initNode({ ...config, nodeId: 'box-2' });
    await expect(NodeRuntime.start({ config, registry: new Registry() })).rejects.toMatchObject({
      code: 'EDGEPAY_JOURNAL_NODE_MISMATCH',
      message: expect.stringMatching(/is the journal of node "box-2", not "box-1"/),
    });
  });

  it('Journal.open with mustExist creates neither the journal nor its directory', () => {
    const path = join(tempDir(), 'nowhere', 'journal.db');
    expect(() => Journal.open({ path, nodeId: 'box-1', mustExist: true })).toThrow(expect.objectContaining({ code: 'EDGEPAY_JOURNAL_MISSING' }));
    expect(existsSync(join(path, '..'))).toBe(false);
  });
});

describe('edgepay node init and node run, through the command line', () => {
  it('run refuses (exit 2) until init made the journal; init says what it made and refuses a second time (exit 1)', async () => {
    const dir = tempDir();
    const file = await nodeConfigFile(dir);
    const refused = runCli(['node', 'run', '--config', file]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(`EDGEPAY_JOURNAL_MISSING: no journal at ${join(dir, 'data', 'journal.db')}`);
    for (const way of WAYS_FORWARD) expect(refused.stderr).toMatch(way);
    expect(existsSync(join(dir, 'data'))).toBe(false);

    const init = runCli(['node', 'init', '--config', file]);
    expect(init.status).toBe(0);
    expect(init.stdout).toMatch(/initialized node box-1: created .*data \(0700\), empty journal .*journal\.db/);
    const again = runCli(['node', 'init', '--config', file]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/EDGEPAY_JOURNAL_EXISTS: .*journal\.db exists already \(the journal of node "box-1", 0 entries\)/);
  });

  it("another node's journal: exit 2 with EDGEPAY_JOURNAL_NODE_MISMATCH, as docs/cli.md says", async () => {
    const dir = tempDir();
    const file = await nodeConfigFile(dir);
    const other = await nodeConfigFile(tempDir(), { nodeId: 'box-2', dataDir: join(dir, 'data') });
    expect(runCli(['node', 'init', '--config', other]).status).toBe(0);
    const result = runCli(['node', 'run', '--config', file]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^edgepay: EDGEPAY_JOURNAL_NODE_MISMATCH: .* is the journal of node "box-2", not "box-1"/);
  });

  it('a journal in use by a running node: exit 1 with EDGEPAY_JOURNAL_IN_USE, as docs/cli.md says; the first node keeps serving', async () => {
    const dir = tempDir();
    const socket = join(dir, 'api.sock');
    const file = await nodeConfigFile(dir, { api: { socket: 'api.sock' } });
    expect(runCli(['node', 'init', '--config', file]).status).toBe(0);
    const first = startNodeProcess(file);
    cleanups.push(() => first.kill());
    await eventually(() => lanesOverSocket(socket), 15_000, `the first node to answer on its socket; stderr: ${first.stderr()}`);

    const second = runCli(['node', 'run', '--config', file]);
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`^edgepay: EDGEPAY_JOURNAL_IN_USE: journal .*journal\\.db is in use by process ${first.child.pid}`));
    expect(await lanesOverSocket(socket)).toBe('{"lanes":[]}');
  }, 30_000);

  it('a journal whose chain was altered: exit 1 with EDGEPAY_JOURNAL_CHAIN_BROKEN, naming the entry', async () => {
    const dir = tempDir();
    const file = await nodeConfigFile(dir);
    expect(runCli(['node', 'init', '--config', file]).status).toBe(0);
    const path = join(dir, 'data', 'journal.db');
    const journal = Journal.open({ path, nodeId: 'box-1' });
    for (let i = 0; i < 5; i++) journal.append(authorizationDraft({ idempotencyKey: `k-${i}` }));
    journal.close();
    const raw = new Database(path);
    raw.exec('DROP TRIGGER entries_no_update; UPDATE entries SET amount_minor = 1 WHERE seq = 4;');
    raw.close();
    const result = runCli(['node', 'run', '--config', file]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^edgepay: EDGEPAY_JOURNAL_CHAIN_BROKEN: .*first bad sequence 4/);
  });
});
