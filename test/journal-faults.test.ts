import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, copyFileSync, existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { defaultRulesConfig, parseRules, type Rules } from '../src/authorize/index.js';
import { type JournalEntry, Journal, lockOwner, verifyChain } from '../src/journal/index.js';
import { StandIn, type Outcome } from '../src/standin/index.js';
import { cardFacts } from './support/cards.js';
import { authorizationDraft } from './support/drafts.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-faults-');

const NODE = 'node-faults';
const DIST = resolve(import.meta.dirname, '../dist');
const CHILD = join(DIST, 'rigs/crash/crash-child.js');
const CLI = join(DIST, 'cli/main.js');
const WAL_HEADER_BYTES = 32;
const WAL_FRAME_HEADER_BYTES = 24;

function requireBuilt(file: string): void {
  if (!existsSync(file)) throw new Error(`${file} is missing: build first with \`npm run build\` (this test runs the compiled code)`);
}

/** Limits high enough that only the journal can make a request fail. */
function generousRules(): Rules {
  const config = defaultRulesConfig();
  return parseRules({
    ...config,
    perCard: { ...config.perCard, maxCount: 1_000_000 },
    node: { ...config.node, maxStoredCount: 1_000_000, maxStoredAmountMinor: { EUR: 10 ** 12, USD: 10 ** 12, GBP: 10 ** 12 } },
  });
}

function request(n: number, tag = 'fault') {
  return { idempotencyKey: `${tag}-${n}`, amountMinor: 500 + (n % 4000), currency: 'EUR', card: cardFacts(n), lane: 'lane-1', reference: `ref-${n}` };
}

/** Copies the files a crash leaves (database and WAL, not the rebuildable -shm or the lock) as they are on disk now. */
function snapshot(fromPath: string, toDir: string): string {
  const to = join(toDir, 'journal.db');
  copyFileSync(fromPath, to);
  if (existsSync(`${fromPath}-wal`)) copyFileSync(`${fromPath}-wal`, `${to}-wal`);
  return to;
}

/** Opens as a restarting node would, checks the whole chain, and returns every entry. */
function reopenAndRead(path: string): JournalEntry[] {
  const journal = Journal.open({ path, nodeId: NODE });
  try {
    const report = verifyChain(journal.connection(), { nodeId: NODE });
    expect(report, `verify ${path}`).toMatchObject({ ok: true });
    const entries = [...journal.entries()];
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
    expect(report.headSeq).toBe(entries.length);
    return entries;
  } finally {
    journal.close();
  }
}

/** After recovery the node must keep appending on the surviving chain, and that must survive a reopen. */
function appendContinues(path: string, expectedHead: number): void {
  const journal = Journal.open({ path, nodeId: NODE });
  const next = journal.append(authorizationDraft());
  expect(next.seq).toBe(expectedHead + 1);
  journal.close();
  expect(reopenAndRead(path)).toHaveLength(expectedHead + 1);
}

interface WalFrame {
  readonly offset: number;
  readonly commit: boolean;
}

/** The WAL's current-generation frames (salts match the header), to cut at a chosen commit. */
function walFrames(walPath: string): { pageSize: number; frameBytes: number; frames: WalFrame[] } {
  const wal = readFileSync(walPath);
  const pageSize = wal.readUInt32BE(8);
  const frameBytes = WAL_FRAME_HEADER_BYTES + pageSize;
  const salt1 = wal.readUInt32BE(16);
  const salt2 = wal.readUInt32BE(20);
  const frames: WalFrame[] = [];
  for (let offset = WAL_HEADER_BYTES; offset + frameBytes <= wal.length; offset += frameBytes) {
    if (wal.readUInt32BE(offset + 8) !== salt1 || wal.readUInt32BE(offset + 12) !== salt2) break;
    frames.push({ offset, commit: wal.readUInt32BE(offset + 4) !== 0 });
  }
  return { pageSize, frameBytes, frames };
}

interface Ack {
  readonly seq: number;
  readonly key: string;
  readonly hash: string;
}

/** Runs the compiled crash child on `path` and SIGKILLs it right after its `acks`-th acknowledgement. */
async function killChildAfterAcks(path: string, acks: number): Promise<Ack[]> {
  requireBuilt(CHILD);
  const child = spawn(process.execPath, [CHILD, path, NODE, '32', '42'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const seen: Ack[] = [];
  let rest = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const [tag, seq, key, hash] = line.split(' ');
      if (tag !== 'ACK') continue;
      seen.push({ seq: Number(seq), key: key!, hash: hash! });
      if (seen.length === acks) child.kill('SIGKILL');
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  const signal = await new Promise<NodeJS.Signals | null>((done) => child.once('close', (_code, sig) => done(sig)));
  expect(signal, `crash child stderr: ${stderr}`).toBe('SIGKILL');
  return seen;
}

describe('torn WAL tail', () => {
  it('drops exactly the transactions whose commit frame is torn or corrupt, and keeps every earlier one', () => {
    const dir = tempDir();
    const path = join(dir, 'journal.db');
    const journal = Journal.open({ path, nodeId: NODE });
    // Keep every frame in the WAL, so each commit's end offset below stays valid.
    journal.connection().pragma('wal_autocheckpoint = 0');
    const written: JournalEntry[] = [];
    const commitEnds: number[] = [];
    for (let i = 0; i < 40; i++) {
      written.push(journal.append(authorizationDraft()));
      commitEnds.push(statSync(`${path}-wal`).size);
    }
    const pageSize = journal.connection().pragma('page_size', { simple: true }) as number;
    const frameBytes = WAL_FRAME_HEADER_BYTES + pageSize;
    for (const end of commitEnds) expect((end - WAL_HEADER_BYTES) % frameBytes).toBe(0);

    // synchronous=FULL: the files on disk already hold every commit, so copying them now is a crash image.
    const crashImage = () => snapshot(path, tempDir());
    const cases: Array<{ name: string; damage: (wal: string) => void; survivors: number }> = [
      { name: 'cut inside the commit frame of entry 30', damage: (wal) => truncateSync(wal, commitEnds[29]! - 100), survivors: 29 },
      { name: 'cut inside the first frame of entry 30', damage: (wal) => truncateSync(wal, commitEnds[28]! + WAL_FRAME_HEADER_BYTES + 10), survivors: 29 },
      { name: 'a few bytes missing at the very end', damage: (wal) => truncateSync(wal, commitEnds[39]! - 7), survivors: 39 },
      { name: 'garbage appended after the last commit', damage: (wal) => appendFileSync(wal, randomBytes(2 * frameBytes + 333)), survivors: 40 },
      {
        name: 'last commit frame cut and followed by garbage',
        damage: (wal) => {
          truncateSync(wal, commitEnds[39]! - frameBytes / 2);
          appendFileSync(wal, randomBytes(frameBytes));
        },
        survivors: 39,
      },
      {
        name: 'one byte flipped in the last commit frame',
        damage: (wal) => {
          const bytes = readFileSync(wal);
          const at = commitEnds[39]! - 1000;
          bytes[at] = bytes[at]! ^ 0xff;
          writeFileSync(wal, bytes);
        },
        survivors: 39,
      },
    ];
    const images = cases.map((c) => ({ ...c, path: crashImage() }));
    journal.close();

    for (const image of images) {
      image.damage(`${image.path}-wal`);
      const entries = reopenAndRead(image.path);
      expect(entries, image.name).toEqual(written.slice(0, image.survivors));
      appendContinues(image.path, image.survivors);
    }
  });

  it('after SIGKILL under load, a torn last commit loses only that batch and never an earlier acknowledged entry', async () => {
    const path = join(tempDir(), 'journal.db');
    const acks = await killChildAfterAcks(path, 150);
    expect(acks.length).toBeGreaterThanOrEqual(150);
    const { frameBytes, frames } = walFrames(`${path}-wal`);
    const commits = frames.filter((f) => f.commit);
    expect(commits.length).toBeGreaterThan(2);
    const lastCommit = commits[commits.length - 1]!;

    const whole = snapshot(path, tempDir());
    const torn = snapshot(path, tempDir());
    const garbage = snapshot(path, tempDir());
    truncateSync(`${torn}-wal`, lastCommit.offset + frameBytes / 2);
    appendFileSync(`${garbage}-wal`, randomBytes(3 * frameBytes + 17));

    const all = reopenAndRead(whole);
    const bySeq = new Map(all.map((e) => [e.seq, e]));
    for (const ack of acks) expect(bySeq.get(ack.seq), `acknowledged ${ack.key}`).toMatchObject({ idempotencyKey: ack.key, hash: ack.hash });

    const survivors = reopenAndRead(torn);
    expect(survivors).toEqual(all.slice(0, survivors.length));
    // One transaction is one batch of at most 32 requests (the child's concurrency).
    const lost = all.length - survivors.length;
    expect(lost).toBeGreaterThanOrEqual(1);
    expect(lost).toBeLessThanOrEqual(32);
    for (const ack of acks.filter((a) => a.seq <= survivors.length)) expect(survivors[ack.seq - 1]!.hash).toBe(ack.hash);
    appendContinues(torn, survivors.length);

    expect(reopenAndRead(garbage)).toEqual(all);
  });
});

/** 50 entries whose references are easy to find in the database file. */
function journalOfFifty(dir: string): string {
  const path = join(dir, 'journal.db');
  const journal = Journal.open({ path, nodeId: NODE });
  for (let i = 1; i <= 50; i++) journal.append(authorizationDraft({ reference: `FLIPME-${String(i).padStart(4, '0')}` }));
  // Closing checkpoints the WAL into the main file and removes it, so the bytes are all in journal.db.
  journal.close();
  expect(existsSync(`${path}-wal`)).toBe(false);
  return path;
}

function verifyFile(path: string) {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return verifyChain(db, { nodeId: NODE });
  } finally {
    db.close();
  }
}

/** Edits the database the way an attacker with a hex editor or a raw SQLite shell would, bypassing the triggers. */
function tamper(path: string, sql: string): void {
  const db = new Database(path);
  db.exec('DROP TRIGGER entries_no_delete; DROP TRIGGER entries_no_update;');
  db.exec(sql);
  db.close();
}

function expectOpenRefused(path: string, seq: number): void {
  let error: unknown;
  try {
    Journal.open({ path, nodeId: NODE }).close();
  } catch (caught) {
    error = caught;
  }
  expect(error).toMatchObject({ code: 'EDGEPAY_JOURNAL_CHAIN_BROKEN', details: { firstBadSeq: seq } });
  expect((error as Error).message).toMatch(new RegExp(`sequence ${seq}\\b`));
  // A refused open must not leave its lock held, or the operator's repair tools would be locked out.
  expect(lockOwner(path)).toBeUndefined();
}

describe('tampering on disk', () => {
  it('a flipped byte in entry 42 is reported by verify, refused by open and by the CLI, all naming 42', () => {
    const path = journalOfFifty(tempDir());
    const bytes = readFileSync(path);
    const needle = Buffer.from('FLIPME-0042', 'ascii');
    let hits = 0;
    // Stale copies may linger in free space after page splits; flipping all makes sure the live one is hit.
    for (let at = bytes.indexOf(needle); at !== -1; at = bytes.indexOf(needle, at + 1)) {
      bytes[at] = 'G'.charCodeAt(0);
      hits++;
    }
    expect(hits).toBeGreaterThanOrEqual(1);
    writeFileSync(path, bytes);

    const report = verifyFile(path);
    expect(report).toMatchObject({ ok: false, checked: 41, problem: { kind: 'hash', seq: 42 } });
    expectOpenRefused(path, 42);

    requireBuilt(CLI);
    const cli = spawnSync(process.execPath, [CLI, 'journal', 'verify', '--db', path], { encoding: 'utf8' });
    expect(cli.status, `edgepay journal verify: stdout ${cli.stdout} stderr ${cli.stderr}`).toBe(1);
    expect(cli.stdout).toMatch(/sequence 42\b/);
  });

  it('deleting the last 3 entries is a truncation at 48 (the head still records 50)', () => {
    const original = journalOfFifty(tempDir());
    const path = snapshot(original, tempDir());
    tamper(path, 'DELETE FROM entries WHERE seq > 47');
    expect(verifyFile(path)).toMatchObject({ ok: false, problem: { kind: 'head', seq: 48 } });
    expectOpenRefused(path, 48);
    // The original is untouched by the tampering of its copy.
    expect(verifyFile(original)).toMatchObject({ ok: true, headSeq: 50 });
  });

  it('deleting entry 25 is a gap at 25', () => {
    const path = snapshot(journalOfFifty(tempDir()), tempDir());
    tamper(path, 'DELETE FROM entries WHERE seq = 25');
    expect(verifyFile(path)).toMatchObject({ ok: false, checked: 24, problem: { kind: 'gap', seq: 25 } });
    expectOpenRefused(path, 25);
  });
});

function expectDeclined91(outcome: Outcome, code: string): void {
  expect(outcome).toMatchObject({ entry: null, replayed: false, decision: { approved: false, code: '91', rule: 'system' }, failure: { code } });
}

function approvedEntries(journal: Journal): number {
  return (journal.connection().prepare('SELECT count(*) AS n FROM entries WHERE approved = 1').get() as { n: number }).n;
}

describe('storage failures decline with 91 and approve nothing', () => {
  it('disk full: 91 with EDGEPAY_JOURNAL_FULL, no approval without an entry, and appends resume with more space', async () => {
    const path = join(tempDir(), 'journal.db');
    const rules = generousRules();
    let journal = Journal.open({ path, nodeId: NODE, maxPageCount: 24 });
    let standIn = StandIn.open({ journal, rules });
    const outcomes: Outcome[] = [];
    let n = 0;
    while (n < 5000 && outcomes.every((o) => o.entry !== null)) outcomes.push(await standIn.authorize(request(n++)));
    const firstFailure = outcomes[outcomes.length - 1]!;
    expectDeclined91(firstFailure, 'EDGEPAY_JOURNAL_FULL');
    const recorded = outcomes.length - 1;
    expect(recorded).toBeGreaterThan(10);
    // A whole batch fails together once full; every one of its requests is declined.
    const batch = await Promise.all(Array.from({ length: 8 }, () => standIn.authorize(request(n++))));
    for (const outcome of batch) expectDeclined91(outcome, 'EDGEPAY_JOURNAL_FULL');
    outcomes.push(...batch);

    for (const outcome of outcomes) if (outcome.decision.approved) expect(outcome.entry).not.toBeNull();
    const approved = outcomes.filter((o) => o.decision.approved).length;
    expect(approved).toBe(approvedEntries(journal));
    expect(approved).toBeGreaterThan(0);
    // The failed batches' exposure was rolled back: only recorded approvals count against the limits.
    expect(standIn.exposureView().stats().storedApprovals).toBe(approved);
    expect(journal.chainHead().seq).toBe(recorded);
    expect(journal.findByIdempotencyKey(`fault-${recorded}`)).toBeUndefined();
    expect(verifyChain(journal.connection(), { nodeId: NODE })).toMatchObject({ ok: true, headSeq: recorded });
    journal.close();

    journal = Journal.open({ path, nodeId: NODE, maxPageCount: 100_000 });
    standIn = StandIn.open({ journal, rules });
    expect(standIn.exposureView().stats().storedApprovals).toBe(approved);
    // The declined request was never recorded, so its retry is decided afresh, not replayed.
    const retried = await standIn.authorize(request(recorded));
    expect(retried).toMatchObject({ replayed: false, entry: { seq: recorded + 1 } });
    const more = await Promise.all(Array.from({ length: 20 }, () => standIn.authorize(request(n++))));
    expect(more.every((o) => o.entry !== null)).toBe(true);
    expect(verifyChain(journal.connection(), { nodeId: NODE })).toMatchObject({ ok: true, headSeq: recorded + 21 });
    journal.close();
  });

  it('read-only database: 91 with EDGEPAY_JOURNAL_READONLY and nothing approved', async () => {
    // Running as root ignores chmod, so the connection itself is made read-only.
    const journal = Journal.open({ path: join(tempDir(), 'journal.db'), nodeId: NODE });
    const standIn = StandIn.open({ journal, rules: generousRules() });
    expect((await standIn.authorize(request(1))).entry?.seq).toBe(1);
    journal.connection().pragma('query_only = ON');
    const outcomes = await Promise.all([2, 3, 4].map((i) => standIn.authorize(request(i))));
    for (const outcome of outcomes) expectDeclined91(outcome, 'EDGEPAY_JOURNAL_READONLY');
    expect(standIn.exposureView().stats().storedApprovals).toBe(1);
    expect(journal.chainHead().seq).toBe(1);

    journal.connection().pragma('query_only = OFF');
    expect(await standIn.authorize(request(2))).toMatchObject({ replayed: false, entry: { seq: 2 }, decision: { approved: true } });
    expect(verifyChain(journal.connection(), { nodeId: NODE })).toMatchObject({ ok: true, headSeq: 2 });
    journal.close();
  });

  it('locked database: 91 with EDGEPAY_JOURNAL_LOCKED while another connection writes, then back to normal', async () => {
    const path = join(tempDir(), 'journal.db');
    const journal = Journal.open({ path, nodeId: NODE, busyTimeoutMs: 50 });
    const standIn = StandIn.open({ journal, rules: generousRules() });
    expect((await standIn.authorize(request(1))).entry?.seq).toBe(1);

    const other = new Database(path);
    try {
      other.exec('BEGIN IMMEDIATE');
      expectDeclined91(await standIn.authorize(request(2)), 'EDGEPAY_JOURNAL_LOCKED');
      other.exec('ROLLBACK');
      expect(await standIn.authorize(request(2))).toMatchObject({ entry: { seq: 2 }, decision: { approved: true } });

      // Same again, but the other writer commits: the journal must see the new snapshot and carry on.
      other.exec('BEGIN IMMEDIATE');
      other.prepare("INSERT INTO meta (key, value) VALUES ('other-writer', 'was here')").run();
      expectDeclined91(await standIn.authorize(request(3)), 'EDGEPAY_JOURNAL_LOCKED');
      other.exec('COMMIT');
      expect(await standIn.authorize(request(3))).toMatchObject({ entry: { seq: 3 }, decision: { approved: true } });
    } finally {
      other.close();
    }
    expect(standIn.exposureView().stats().storedApprovals).toBe(3);
    expect(verifyChain(journal.connection(), { nodeId: NODE })).toMatchObject({ ok: true, headSeq: 3 });
    journal.close();
  });
});

/** Another process takes the write lock, reports LOCKED, and releases it after `holdMs`. */
function holdWriteLockElsewhere(path: string, holdMs: number): Promise<{ released: Promise<void> }> {
  const script = `
    import Database from 'better-sqlite3';
    const db = new Database(${JSON.stringify(path)});
    db.exec('BEGIN IMMEDIATE');
    process.stdout.write('LOCKED\\n');
    setTimeout(() => { db.exec('ROLLBACK'); db.close(); }, ${holdMs});`;
  // cwd is the project, so the child resolves better-sqlite3 from its node_modules.
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: resolve(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
  const released = new Promise<void>((done) => child.once('close', () => done()));
  return new Promise((locked, failed) => {
    child.stdout.setEncoding('utf8');
    child.stdout.once('data', (chunk: string) => (chunk.startsWith('LOCKED') ? locked({ released }) : failed(new Error(chunk))));
    child.once('error', failed);
  });
}

describe('a briefly held lock', () => {
  it('is waited out within busyTimeoutMs instead of declining the payment', async () => {
    const path = join(tempDir(), 'journal.db');
    const journal = Journal.open({ path, nodeId: NODE, busyTimeoutMs: 5_000 });
    try {
      const standIn = StandIn.open({ journal, rules: generousRules() });
      expect((await standIn.authorize(request(1))).entry?.seq).toBe(1);
      const { released } = await holdWriteLockElsewhere(path, 300);
      const started = performance.now();
      const outcome = await standIn.authorize(request(2));
      const waitedMs = performance.now() - started;
      await released;
      // busyTimeoutMs promises a wait of up to 5 s; the other writer let go after 300 ms.
      expect(outcome, `answered after ${waitedMs.toFixed(1)} ms`).toMatchObject({ entry: { seq: 2 }, decision: { approved: true } });
      expect(verifyChain(journal.connection(), { nodeId: NODE })).toMatchObject({ ok: true, headSeq: 2 });
    } finally {
      journal.close();
    }
  });
});

describe('one writer per journal', () => {
  it('a second open, in this process or another, fails with EDGEPAY_JOURNAL_IN_USE and leaves the first intact', () => {
    const path = join(tempDir(), 'journal.db');
    const first = Journal.open({ path, nodeId: NODE });
    first.append(authorizationDraft());
    expect(() => Journal.open({ path, nodeId: NODE })).toThrow(expect.objectContaining({ code: 'EDGEPAY_JOURNAL_IN_USE' }));
    // Asked through SQLite: reading the lock file in this process, the holder's, would release it.
    expect(lockOwner(path)).toBe(process.pid);

    requireBuilt(join(DIST, 'journal/journal.js'));
    const script = `
      const { Journal } = await import(${JSON.stringify(join(DIST, 'journal/journal.js'))});
      try { Journal.open({ path: ${JSON.stringify(path)}, nodeId: ${JSON.stringify(NODE)} }).close(); console.log('OPENED'); }
      catch (error) { console.log(error.code); }`;
    const other = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(other.stdout.trim(), other.stderr).toBe('EDGEPAY_JOURNAL_IN_USE');

    // The refused openers touched nothing: the first keeps its lock and keeps appending.
    expect(first.append(authorizationDraft()).seq).toBe(2);
    first.close();
    expect(lockOwner(path)).toBeUndefined();
    const again = Journal.open({ path, nodeId: NODE });
    expect(again.chainHead().seq).toBe(2);
    again.close();
  });
});
