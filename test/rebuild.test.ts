import Database from 'better-sqlite3';
import type { KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { type MqttClient, connect } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROGRESS_MIN_UNITS } from '../src/cli/progress.js';
import { runRebuildCommand } from '../src/cli/rebuild-command.js';
import { registerRebuildCommand } from '../src/cli/rebuild-registration.js';
import { entryHash } from '../src/journal/canonical.js';
import { sealEntry, withHash } from '../src/journal/entry-builder.js';
import { backupJournal } from '../src/journal/backup.js';
import { restoreJournal } from '../src/journal/restore.js';
import { Journal } from '../src/journal/journal.js';
import { ENTRY_COLUMNS } from '../src/journal/row.js';
import { verifyChain } from '../src/journal/verify.js';
import { systemClock } from '../src/platform/clock.js';
import type { ReplicatorTuning } from '../src/replication/config.js';
import { encodeEnvelope, sealEnvelope } from '../src/wire/envelope.js';
import { loadSigningKey } from '../src/wire/keys.js';
import { sealStatus } from '../src/wire/messages.js';
import { type ProvisionedNode, peersOf, provisionNodeKeys } from '../src/replication/provision.js';
import { type RebuildOptions, rebuildFromPeers } from '../src/rebuild/rebuild.js';
import { isRebuildError } from '../src/rebuild/errors.js';
import type { RebuildReport } from '../src/rebuild/report.js';
import type { RebuildTuning } from '../src/rebuild/session.js';
import { Replicator } from '../src/replication/replicator.js';
import { StoreTopics } from '../src/wire/topics.js';
import { type BrokerKind, TcpGate, type TestBroker, startBroker } from './support/brokers.js';
import { authorizationDraft } from './support/drafts.js';
import { useTempDir } from './support/tmp.js';

/*
 * A replacement box rebuilds its predecessor's journal from the peers' replicas, against the
 * embedded aedes and a real Mosquitto started from the shipped brokers/ files: three nodes
 * replicate, lane-1's box dies and loses its disk, the rebuild brings back the same rows.
 */

const LANES = ['lane-1', 'lane-2', 'lane-3'] as const;
type Lane = (typeof LANES)[number];
const FLEET = 'acme';
const STORE = 'store-42';
const topics = new StoreTopics(FLEET, STORE);
const password = (user: string) => `secret-${user}`;
const USERS = Object.fromEntries(LANES.map((u) => [u, password(u)]));
const FAST: Partial<ReplicatorTuning> = {
  reconnectPeriodMs: 100,
  connectTimeoutMs: 2_000,
  keepaliveSeconds: 5,
  statusMinIntervalMs: 50,
  repairTickMs: 50,
  repairRetryMs: 300,
  repairLagGraceMs: 150,
};
const REBUILD_FAST: Partial<RebuildTuning> = { retryMs: 250, quietMs: 1_000, tickMs: 20, connectTimeoutMs: 2_000 };
const tempDir = useTempDir('edgepay-rebuild-');

interface LaneNode {
  readonly dir: string;
  readonly dataDir: string;
  readonly journalPath: string;
  journal: Journal | undefined;
  replicator: Replicator | undefined;
}

class Store {
  readonly nodes = new Map<Lane, LaneNode>();
  readonly keyFiles: ProvisionedNode[];

  constructor(
    readonly root: string,
    private readonly brokerUrl: string,
    private readonly urls: Partial<Record<Lane, string>> = {},
  ) {
    this.keyFiles = provisionNodeKeys(join(root, 'keys'), [...LANES]);
    for (const id of LANES) {
      const dir = join(root, id);
      const dataDir = join(dir, 'data');
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(join(dir, 'broker.pw'), `${password(id)}\n`, { mode: 0o600 });
      const journalPath = join(dataDir, 'journal.db');
      this.nodes.set(id, { dir, dataDir, journalPath, journal: Journal.open({ path: journalPath, nodeId: id }), replicator: undefined });
    }
  }

  node(id: Lane): LaneNode {
    return this.nodes.get(id)!;
  }

  journal(id: Lane): Journal {
    return this.node(id).journal!;
  }

  key(id: Lane): KeyObject {
    return loadSigningKey(this.keyFiles.find((k) => k.nodeId === id)!.signingKeyFile);
  }

  replication(id: Lane, url = this.urls[id] ?? this.brokerUrl) {
    return {
      fleet: FLEET,
      store: STORE,
      brokerUrl: url,
      passwordFile: join(this.node(id).dir, 'broker.pw'),
      signingKeyFile: this.keyFiles.find((k) => k.nodeId === id)!.signingKeyFile,
      peers: peersOf(id, this.keyFiles),
      inflightWindow: 64,
    };
  }

  start(): void {
    for (const id of LANES) {
      const node = this.node(id);
      node.replicator = Replicator.start({ settings: { ...this.replication(id), nodeId: id, dataDir: node.dataDir, journalPath: node.journalPath }, tuning: FAST });
    }
  }

  write(id: Lane, count: number): void {
    this.journal(id).writeBatch((w) => {
      for (let i = 0; i < count; i++) w.appendOrFind(authorizationDraft({ lane: id, amountMinor: 100 + i }));
    });
    this.node(id).replicator?.notify();
  }

  /** lane-2 and lane-3 hold lane-1's exact head, and lane-1's outbox is acknowledged. */
  async waitReplicated(origin: Lane): Promise<void> {
    const head = this.journal(origin).chainHead();
    await waitFor(
      () =>
        LANES.filter((id) => id !== origin).every((id) => {
          const replica = this.node(id).replicator!.replicas.head(origin);
          return replica.seq === head.seq && replica.hash === head.hash;
        }) && this.node(origin).replicator!.status().outbox.ackedSeq === head.seq,
      `${origin}'s entries on every peer`,
    );
  }

  /** The box dies: its node stops (cleanly or not, as the caller arranged) and its disk is gone. */
  async loseBox(id: Lane): Promise<void> {
    const node = this.node(id);
    await node.replicator?.stop();
    node.replicator = undefined;
    node.journal?.close();
    node.journal = undefined;
    rmSync(node.dataDir, { recursive: true, force: true });
  }

  rebuildOptions(id: Lane, overrides: Partial<RebuildOptions> = {}): RebuildOptions {
    return { nodeId: id, journalPath: this.node(id).journalPath, replication: this.replication(id, this.brokerUrl), timeoutMs: 30_000, tuning: REBUILD_FAST, ...overrides };
  }

  async close(): Promise<void> {
    for (const node of this.nodes.values()) {
      await node.replicator?.stop();
      node.journal?.close();
    }
  }
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function rawClient(url: string, user: string, clientId: string): Promise<MqttClient> {
  const client = connect(url, { clientId, username: user, password: password(user), clean: true, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 2_000 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

/** Every column of every row, the chain head and the meta table, as SQLite returns them. */
function rowsOf(path: string): { entries: unknown[]; head: unknown; meta: unknown[] } {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return {
      entries: db.prepare(`SELECT ${ENTRY_COLUMNS} FROM entries ORDER BY seq`).all(),
      head: db.prepare('SELECT id, seq, hash FROM chain_head').get(),
      meta: db.prepare('SELECT key, value FROM meta ORDER BY key').all(),
    };
  } finally {
    db.close();
  }
}

/** Opens the rebuilt file as the node would and walks the whole chain. */
function openAndVerify(path: string, nodeId: string): { ok: boolean; checked: number; headSeq: number; headHash: string } {
  const journal = Journal.open({ path, nodeId });
  try {
    return verifyChain(journal.connection(), { nodeId });
  } finally {
    journal.close();
  }
}

function entryAfter(origin: string, prev: { seq: number; hash: string }, key: KeyObject): Buffer {
  const fields = sealEntry(authorizationDraft({ amountMinor: 1 }), prev.seq + 1, origin, systemClock, prev.hash);
  return sealEnvelope(withHash(fields, entryHash(fields)), key);
}

/** Counts that never go down and end at `total`. */
function expectCountingUp(counts: readonly number[], total: number): void {
  expect(counts.length).toBeGreaterThan(0);
  for (let i = 1; i < counts.length; i++) expect(counts[i]!).toBeGreaterThanOrEqual(counts[i - 1]!);
  expect(counts.at(-1)).toBe(total);
}

async function rebuildError(promise: Promise<unknown>): Promise<{ code: string; message: string; report: RebuildReport | undefined }> {
  const error = await promise.then(
    () => {
      throw new Error('the rebuild was expected to fail');
    },
    (e: unknown) => e,
  );
  if (!isRebuildError(error) && !(error instanceof Error && 'code' in error)) throw error;
  const coded = error as Error & { code: string; details?: Record<string, unknown> };
  return { code: coded.code, message: coded.message, report: coded.details?.report as RebuildReport | undefined };
}

describe.each<BrokerKind>(['aedes', 'mosquitto'])('rebuild from peers through %s', (kind) => {
  let broker: TestBroker;
  let store: Store | undefined;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];

  beforeEach(async () => {
    broker = await startBroker(kind, tempDir(), USERS, { fleet: FLEET, store: STORE });
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await store?.close();
    store = undefined;
    await broker.stop();
  });

  const raw = async (user: Lane, clientId: string) => {
    const client = await rawClient(broker.url, user, clientId);
    cleanups.push(() => client.endAsync(true));
    return client;
  };

  it('rebuilds a dead box from its peers: same rows and hashes, verified; forged answers are ignored', async () => {
    const gate = await TcpGate.open(broker.port);
    cleanups.push(() => gate.close());
    const s = (store = new Store(tempDir(), broker.url, { 'lane-1': gate.url }));
    s.start();
    // More than one request's worth (peers answer 256 entries per request).
    s.write('lane-1', 150);
    s.write('lane-2', 5);
    s.write('lane-1', 150);
    await s.waitReplicated('lane-1');
    const original = join(s.root, 'original.db');
    await backupJournal(s.node('lane-1').journalPath, original);
    const first = s.journal('lane-1').getBySeq(1)!;
    const head = s.journal('lane-1').chainHead();
    // Unclean death: the link drops, the broker publishes lane-1's last will, then the disk is lost.
    gate.block();
    await s.loseBox('lane-1');
    expect(existsSync(s.node('lane-1').journalPath)).toBe(false);

    const forger = await raw('lane-3', 'lane-3-forger');
    const tampered = JSON.parse(sealEnvelope(first, s.key('lane-1')).toString()) as { entry: { amountMinor: number } };
    tampered.entry.amountMinor = 1;
    const forged: Buffer[] = [
      entryAfter('lane-1', { seq: 0, hash: '0'.repeat(64) }, s.key('lane-3')), // entry 1 in lane-1's name, lane-3's key
      encodeEnvelope({ ...first, amountMinor: 99_999, signature: Buffer.alloc(64, 7) }), // garbage signature
      Buffer.from(JSON.stringify(tampered)), // altered after signing
      entryAfter('lane-1', head, s.key('lane-2')), // an extra entry past the head, wrong key
      Buffer.from('{"v":1,"origin":"lane-1"'), // malformed
    ];
    const collected: number[] = [];
    const report = await rebuildFromPeers(
      s.rebuildOptions('lane-1', {
        onSubscribed: () => {
          for (const payload of forged) void forger.publishAsync(topics.inbox('lane-1'), payload, { qos: 1 });
        },
        onProgress: (count) => collected.push(count),
      }),
    );
    // The count is not bounded by the announced head: a last will carries the head of the node's last connect.
    expectCountingUp(collected, 300);

    expect(report).toMatchObject({ installed: true, entries: 300, headSeq: 300, headHash: head.hash, end: 'quiet', missing: null, keptAt: null });
    expect(report.announced?.online).toBe(false);
    expect(report.peers).toEqual([
      { nodeId: 'lane-2', online: true },
      { nodeId: 'lane-3', online: true },
    ]);
    expect(report.tally.rejected).toMatchObject({ bad_signature: 3, bad_hash: 1, malformed: 1 });
    expect(report.tally.verified).toBe(300);
    expect(rowsOf(s.node('lane-1').journalPath)).toEqual(rowsOf(original));
    expect(openAndVerify(s.node('lane-1').journalPath, 'lane-1')).toEqual({ ok: true, checked: 300, headSeq: 300, headHash: head.hash });
  });

  it('refuses a journal in use and one with entries unless forced; --force keeps the old one beside', async () => {
    const s = (store = new Store(tempDir(), broker.url));
    s.start();
    s.write('lane-1', 20);
    await s.waitReplicated('lane-1');
    const path = s.node('lane-1').journalPath;
    // The journal is open in this (live) process: a running node.
    await expect(rebuildFromPeers(s.rebuildOptions('lane-1'))).rejects.toMatchObject({ code: 'EDGEPAY_JOURNAL_IN_USE' });
    await s.node('lane-1').replicator!.stop();
    s.node('lane-1').replicator = undefined;
    s.journal('lane-1').close();
    s.node('lane-1').journal = undefined;
    const before = rowsOf(path);

    const refused = await rebuildError(rebuildFromPeers(s.rebuildOptions('lane-1')));
    expect(refused.code).toBe('EDGEPAY_REBUILD_REFUSED');
    expect(refused.message).toMatch(/20 entries.*--force/);
    expect(rowsOf(path)).toEqual(before);

    const collecting: [number, number | null][] = [];
    const installing: [string, number, number][] = [];
    const report = await rebuildFromPeers(
      s.rebuildOptions('lane-1', { force: true, onProgress: (collected, total) => collecting.push([collected, total]), onInstallProgress: (step, done, total) => installing.push([step, done, total]) }),
    );
    // A clean stop said goodbye with the acknowledged head.
    expect(report).toMatchObject({ installed: true, entries: 20, announced: { headSeq: 20, online: false }, missing: null });
    // Collecting counts up to the announced head (the total, once the retained status is in), then the new journal is written and verified.
    expectCountingUp(
      collecting.map(([collected]) => collected),
      20,
    );
    expect(collecting.every(([, total]) => total === null || total === 20)).toBe(true);
    expect(collecting.at(-1)).toEqual([20, 20]);
    expect(installing).toEqual([
      ['writing', 20, 20],
      ['verifying', 20, 20],
    ]);
    expect(report.keptAt).toMatch(/journal\.db\.replaced-/);
    expect(rowsOf(report.keptAt!)).toEqual(before);
    expect(rowsOf(path)).toEqual(before);
    expect(openAndVerify(path, 'lane-1')).toMatchObject({ ok: true, checked: 20 });
  });

  it('completes a journal restored from a backup with the entries after its head (--keep-existing), and refuses one that diverges', async () => {
    const s = (store = new Store(tempDir(), broker.url));
    s.start();
    s.write('lane-1', 20);
    await s.waitReplicated('lane-1');
    const backup = join(s.node('lane-1').dir, 'backup.db');
    await backupJournal(s.node('lane-1').journalPath, backup);
    s.write('lane-1', 15);
    await s.waitReplicated('lane-1');
    const original = join(s.node('lane-1').dir, 'original.db');
    await backupJournal(s.node('lane-1').journalPath, original);
    await s.loseBox('lane-1');
    const path = s.node('lane-1').journalPath;
    restoreJournal({ from: backup, to: path });

    const report = await rebuildFromPeers(s.rebuildOptions('lane-1', { keepExisting: true }));
    expect(report).toMatchObject({ installed: true, entries: 15, headSeq: 35, end: 'quiet', missing: null, keptAt: null });
    expect(report.existing).toMatchObject({ kind: 'journal', entries: 20 });
    expect(rowsOf(path)).toEqual(rowsOf(original));
    expect(openAndVerify(path, 'lane-1')).toMatchObject({ ok: true, checked: 35, headSeq: 35 });

    // Another box's journal, or one whose chain is not the one the store holds, is never extended.
    rmSync(path);
    restoreJournal({ from: backup, to: path, force: true });
    const forked = Journal.open({ path, nodeId: 'lane-1' });
    forked.writeBatch((w) => w.appendOrFind(authorizationDraft({ lane: 'lane-1', amountMinor: 1 })));
    forked.close();
    const before = rowsOf(path);
    const diverged = await rebuildError(rebuildFromPeers(s.rebuildOptions('lane-1', { keepExisting: true })));
    expect(diverged.code).toBe('EDGEPAY_REBUILD_INCOMPLETE');
    expect(diverged.message).toMatch(/entry 22 of lane-1 does not link to the journal's head 21: the restored journal and the store's copy diverge/);
    expect(rowsOf(path)).toEqual(before);
  });

  it('installs nothing while peers hold less than the last announced head or the node says it is online', async () => {
    const s = (store = new Store(tempDir(), broker.url));
    s.start();
    s.write('lane-1', 10);
    await s.waitReplicated('lane-1');
    const head = s.journal('lane-1').chainHead();
    await s.loseBox('lane-1');
    const asLane1 = await raw('lane-1', 'lane-1-tool');
    const announce = (headSeq: number, online: boolean) =>
      asLane1.publishAsync(topics.status('lane-1'), sealStatus({ nodeId: 'lane-1', online, headSeq, wallMs: Date.now(), session: Date.now(), n: 0 }, s.key('lane-1')), { qos: 1, retain: true });
    const path = s.node('lane-1').journalPath;

    await announce(10, true);
    const online = await rebuildError(rebuildFromPeers(s.rebuildOptions('lane-1')));
    expect(online.code).toBe('EDGEPAY_REBUILD_ORIGIN_ONLINE');
    expect(existsSync(path)).toBe(false);

    // Four entries were acknowledged by the broker but reached no peer.
    await announce(14, false);
    const short = await rebuildError(rebuildFromPeers(s.rebuildOptions('lane-1')));
    expect(short.code).toBe('EDGEPAY_REBUILD_INCOMPLETE');
    expect(short.message).toMatch(/entries 11\.\.14 are missing/);
    expect(short.report).toMatchObject({ installed: false, entries: 10, missing: { fromSeq: 11, toSeq: 14 } });
    expect(existsSync(path)).toBe(false);

    // The command's body: exit 1 with what is missing, then exit 0 with --accept-incomplete.
    const configFile = join(s.node('lane-1').dir, 'node.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        nodeId: 'lane-1',
        dataDir: 'data',
        keys: { tokenKeyFile: 'token.key', centrePublicKeyFile: 'centre.pub', plainTokenKeyFileForDevelopment: true },
        replication: s.replication('lane-1', broker.url),
      }),
    );
    const cli = async (extra: { acceptIncomplete?: boolean } = {}) => {
      let out = '';
      let err = '';
      const code = await runRebuildCommand({ fromPeers: true, config: configFile, timeoutS: 30, ...extra }, { write: (t: string) => (out += t) }, { write: (t: string) => (err += t) }, { tuning: REBUILD_FAST });
      return { code, out, err };
    };
    const refused = await cli();
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/EDGEPAY_REBUILD_INCOMPLETE/);
    expect(refused.out).toMatch(/NOT installed.*\n[\s\S]*WARNING: entries 11\.\.14 are missing/);
    const accepted = await cli({ acceptIncomplete: true });
    expect(accepted.code).toBe(0);
    expect(accepted.out).toMatch(new RegExp(`^rebuilt 10 entries of lane-1 into .*: head 10 ${head.hash}`));
    expect(accepted.out).toMatch(/lane-2 online, lane-3 online/);
    expect(accepted.out).toMatch(/WARNING: entries 11\.\.14 are missing/);
    expect(openAndVerify(path, 'lane-1')).toEqual({ ok: true, checked: 10, headSeq: 10, headHash: head.hash });
  });
});

describe('edgepay node rebuild (command line)', () => {
  const program = () => {
    const root = new Command().exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    registerRebuildCommand(root.command('node'));
    return root;
  };

  it('is registered under node with its options, and requires --from-peers and --config', async () => {
    const rebuild = program().commands[0]!.commands.find((c) => c.name() === 'rebuild')!;
    expect(rebuild.options.map((o) => o.long)).toEqual(['--from-peers', '--config', '--timeout-s', '--force', '--keep-existing', '--accept-incomplete', '--even-if-online', '--origin-key', '--json']);
    await expect(program().parseAsync(['node', 'rebuild', '--config', 'x.json'], { from: 'user' })).rejects.toBeInstanceOf(CommanderError);
    await expect(program().parseAsync(['node', 'rebuild', '--from-peers'], { from: 'user' })).rejects.toBeInstanceOf(CommanderError);
    await expect(program().parseAsync(['node', 'rebuild', '--from-peers', '--config', 'x.json', '--timeout-s', '0'], { from: 'user' })).rejects.toMatchObject({ code: 'EDGEPAY_BAD_INPUT' });
  });
});

describe('edgepay node rebuild progress (command line, aedes)', () => {
  /** Progress lines of one label as "done/total" pairs, in the plain form used without a terminal. */
  const progressLines = (stderr: string, label: string) =>
    stderr
      .split('\n')
      .filter((line) => line.startsWith(`${label}: `))
      .map((line) => {
        const match = /: (\d+)\/(\d+) entries \((\d+)%\), \d+\.\d s$/.exec(line);
        expect(match, line).not.toBeNull();
        return { done: Number(match![1]), total: Number(match![2]) };
      });

  const expectSteady = (lines: { done: number; total: number }[], total: number) => {
    expect(lines.length).toBeGreaterThanOrEqual(5);
    expect(lines.length).toBeLessThanOrEqual(25);
    expect(lines.every((l) => l.total === total)).toBe(true);
    expectCountingUp(
      lines.map((l) => l.done),
      total,
    );
  };

  it('reports entries collected, written and verified on stderr once there are enough; stdout with --json is the report alone', async () => {
    const entries = PROGRESS_MIN_UNITS + 500;
    const broker = await startBroker('aedes', tempDir(), USERS, { fleet: FLEET, store: STORE });
    const s = new Store(tempDir(), broker.url);
    try {
      s.start();
      for (let written = 0; written < entries; written += 1_050) s.write('lane-1', 1_050);
      await s.waitReplicated('lane-1');
      // A clean stop: the retained status announces the acknowledged head, the rebuild's total.
      await s.loseBox('lane-1');
      const configFile = join(s.node('lane-1').dir, 'node.json');
      writeFileSync(
        configFile,
        JSON.stringify({
          nodeId: 'lane-1',
          dataDir: 'data',
          keys: { tokenKeyFile: 'token.key', centrePublicKeyFile: 'centre.pub', plainTokenKeyFileForDevelopment: true },
          replication: s.replication('lane-1', broker.url),
        }),
      );
      let out = '';
      let err = '';
      const code = await runRebuildCommand({ fromPeers: true, config: configFile, timeoutS: 60, json: true }, { write: (t: string) => (out += t) }, { write: (t: string) => (err += t) }, { tuning: REBUILD_FAST });
      expect(code, err).toBe(0);

      // stdout: one line, the report as JSON, as before.
      expect(out.split('\n')).toHaveLength(2);
      const report = JSON.parse(out) as RebuildReport;
      expect(out).toBe(`${JSON.stringify(report)}\n`);
      expect(Object.keys(report)).toEqual(['nodeId', 'journalPath', 'installed', 'entries', 'headSeq', 'headHash', 'announced', 'missing', 'end', 'requests', 'tally', 'peers', 'existing', 'keptAt', 'durationMs']);
      expect(report).toMatchObject({ installed: true, entries, headSeq: entries, announced: { headSeq: entries, online: false }, missing: null, end: 'quiet' });

      // stderr: the progress lines only, one label per phase, never a bar's carriage return.
      const path = s.node('lane-1').journalPath;
      const labels = ['rebuilding lane-1 from peers', `writing ${path}`, `verifying ${path}`];
      expect(err).not.toContain('\r');
      expect(err.split('\n').filter((line) => line !== '' && !labels.some((label) => line.startsWith(`${label}: `)))).toEqual([]);
      for (const label of labels) expectSteady(progressLines(err, label), entries);
      expect(err.indexOf(labels[0]!)).toBeLessThan(err.indexOf(labels[1]!));
      expect(err.indexOf(labels[1]!)).toBeLessThan(err.indexOf(labels[2]!));
      expect(openAndVerify(path, 'lane-1')).toMatchObject({ ok: true, checked: entries, headSeq: entries });
    } finally {
      await s.close();
      await broker.stop();
    }
  }, 60_000);
});
