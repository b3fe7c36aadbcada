import { signedRuns } from '../src/replication/replicas/replica-runs.js';
import type { MqttPort } from '../src/replication/broker/port.js';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entryHash } from '../src/journal/canonical.js';
import { entryRow, sealEntry, withHash } from '../src/journal/entry-builder.js';
import { ENTRY_COLUMNS } from '../src/journal/row.js';
import Database from 'better-sqlite3';
import { type EntryDraft, GENESIS_HASH, type JournalEntry } from '../src/journal/entry.js';
import { Journal } from '../src/journal/journal.js';
import { ManualClock } from '../src/platform/clock.js';
import { MAX_ENVELOPE_BYTES, MAX_RUN_BYTES, RUN_MAX, type VerifiedEntry, encodeEnvelope, encodeRun, openEnvelope, openMessage, sealEnvelope, sealRun, signEntry } from '../src/wire/envelope.js';
import { generateNodeKeyPair, loadKeyRing, loadSigningKey } from '../src/wire/keys.js';
import { silentLog } from '../src/platform/replication-log.js';
import { OutboxWatermark } from '../src/replication/outbox/outbox-watermark.js';
import { JournalReader } from '../src/journal/journal-reader.js';
import { provisionNodeKeys } from '../src/replication/provision.js';
import { Publisher } from '../src/replication/outbox/publisher.js';
import { REPLICA_MIGRATIONS, openReplicaDatabase } from '../src/replication/replicas/replica-db.js';
import { ReplicaStore } from '../src/replication/replicas/replica-store.js';
import { Replicator } from '../src/replication/replicator.js';
import { StoreTopics, assertTopicId, topicMatches } from '../src/wire/topics.js';
import { freePort } from './support/brokers.js';
import { authorizationDraft } from './support/drafts.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-replication-');
const alice = generateNodeKeyPair();
const keys = new Map([['alice', alice.publicKey]]);

function chainOf(nodeId: string, drafts: readonly EntryDraft[]): JournalEntry[] {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  let prevHash = GENESIS_HASH;
  return drafts.map((draft, i) => {
    clock.advance(1_000);
    const fields = sealEntry(draft, i + 1, nodeId, clock, prevHash);
    prevHash = entryHash(fields);
    return withHash(fields, prevHash);
  });
}

function verified(entry: JournalEntry): VerifiedEntry {
  const opened = openEnvelope(sealEnvelope(entry, alice.privateKey), keys);
  if (!opened.ok) throw new Error(opened.detail);
  return opened.entry;
}

const chain = chainOf(
  'alice',
  Array.from({ length: 6 }, () => authorizationDraft()),
);

describe('topics', () => {
  it('builds the versioned tree and parses it back', () => {
    const topics = new StoreTopics('acme', 'store-42');
    expect(topics.journal('lane-1')).toBe('edgepay/v1/acme/store-42/lane-1/journal');
    expect(topics.rules()).toBe('edgepay/v1/acme/store-42/rules');
    expect(topics.everyNode('status')).toBe('edgepay/v1/acme/store-42/+/status');
    expect(topics.parse('edgepay/v1/acme/store-42/lane-1/inbox')).toEqual({ node: 'lane-1', leaf: 'inbox' });
    expect(topics.parse('edgepay/v1/acme/store-42/rules')).toBeUndefined();
    expect(topics.parse('edgepay/v1/acme/other/lane-1/journal')).toBeUndefined();
    expect(topicMatches(topics.everyNode('journal'), topics.journal('lane-1'))).toBe(true);
    expect(topicMatches(topics.everyNode('journal'), topics.status('lane-1'))).toBe(false);
    expect(topicMatches('edgepay/v1/#', topics.inbox('lane-2'))).toBe(true);
    expect(topicMatches('edgepay/v1/+', 'edgepay/v1/acme/store-42')).toBe(false);
  });

  it.each(['a+b', 'a#', 'a/b', '', '$SYS', 'x'.repeat(65)])('refuses %j as an id', (id) => {
    expect(() => assertTopicId('node', id)).toThrow(expect.objectContaining({ code: 'EDGEPAY_REPLICATION_BAD_ID' }));
    expect(() => new StoreTopics(id, 'store')).toThrow(expect.objectContaining({ code: 'EDGEPAY_REPLICATION_BAD_ID' }));
  });

  it('reserves the node id `rules`, which the %u ACL pattern would let write the rules topic', () => {
    expect(() => assertTopicId('node', 'rules')).toThrow(/reserved/);
  });
});

describe('keys', () => {
  it('loads a PKCS8 signing key and SPKI peer keys, and refuses the wrong kinds', () => {
    const dir = tempDir();
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const files = {
      key: alice.privateKeyPem,
      pub: alice.publicKeyPem,
      rsa: rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      garbage: 'not a key',
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    expect(loadSigningKey(join(dir, 'key')).asymmetricKeyType).toBe('ed25519');
    expect(loadKeyRing([{ nodeId: 'alice', publicKeyFile: join(dir, 'pub') }]).get('alice')?.asymmetricKeyType).toBe('ed25519');
    const invalid = expect.objectContaining({ code: 'EDGEPAY_REPLICATION_KEY_INVALID' });
    expect(() => loadKeyRing([{ nodeId: 'bob', publicKeyFile: join(dir, 'rsa') }])).toThrow(invalid);
    expect(() => loadKeyRing([{ nodeId: 'bob', publicKeyFile: join(dir, 'key') }])).toThrow(/private key/);
    expect(() => loadSigningKey(join(dir, 'garbage'))).toThrow(invalid);
    expect(() => loadSigningKey(join(dir, 'missing'))).toThrow(invalid);
  });
});

describe('envelope', () => {
  const entry = chain[0]!;
  type Wire = { origin: string; extra?: number; entry: { hash?: string; amountMinor: number; prevHash: string; nodeId: string } };
  const payload = (mutate: (json: Wire) => void) => {
    const json = JSON.parse(sealEnvelope(entry, alice.privateKey).toString()) as Wire;
    mutate(json);
    return Buffer.from(JSON.stringify(json));
  };

  it('opens to the exact entry with its signature', () => {
    const opened = openEnvelope(sealEnvelope(entry, alice.privateKey), keys);
    expect(opened).toMatchObject({ ok: true, origin: 'alice', entry: { ...entry, signature: expect.any(Buffer) } });
  });

  it.each([
    ['not JSON', Buffer.from('{nope'), 'malformed'],
    ['a missing field', payload((j) => delete j.entry.hash), 'malformed'],
    ['an unknown field', payload((j) => (j.extra = 1)), 'malformed'],
    ['a fractional amount', payload((j) => (j.entry.amountMinor = 1.5)), 'malformed'],
    ['another node inside', payload((j) => (j.entry.nodeId = 'mallory')), 'malformed'],
    ['an oversized message', Buffer.alloc(17_000, 0x20), 'malformed'],
    [
      'an unknown origin',
      payload((j) => {
        j.origin = 'mallory';
        j.entry.nodeId = 'mallory';
      }),
      'unknown_key',
    ],
    ['a signature by another key', sealEnvelope(entry, generateNodeKeyPair().privateKey), 'bad_signature'],
    ['a changed amount', payload((j) => (j.entry.amountMinor += 1)), 'bad_hash'],
    ['a changed link', payload((j) => (j.entry.prevHash = 'f'.repeat(64))), 'bad_hash'],
  ])('rejects %s as %s', (_what, bytes, reason) => {
    expect(openEnvelope(bytes, keys)).toMatchObject({ ok: false, reason });
  });

  it('passes a holder-forwarded envelope (stored signature) exactly as the origin sent it', () => {
    const signed = { ...entry, signature: signEntry(entry, alice.privateKey) };
    expect(encodeEnvelope(signed).equals(sealEnvelope(entry, alice.privateKey))).toBe(true);
  });
});

describe('the largest entries the schema allows', () => {
  // Every text field at its limit in characters the JSON encoder writes as six-byte escapes.
  const widest = (length: number) => '\u0001'.repeat(length);
  const worst = (): EntryDraft =>
    authorizationDraft({
      idempotencyKey: widest(128),
      lane: widest(64),
      reference: widest(128),
      cardToken: widest(128),
      cardBin: widest(16),
      cardLast4: widest(8),
      sealedCard: new Uint8Array(4_096).fill(0xff),
      decision: { approved: false, code: widest(16), reason: widest(1_024), rule: widest(64), mode: 'offline' },
    });

  it('fit one envelope each, and a full run of them fits a run message that peers open', () => {
    const entries = chainOf('alice', Array.from({ length: RUN_MAX }, worst));
    expect(sealEnvelope(entries[0]!, alice.privateKey).byteLength).toBeLessThanOrEqual(MAX_ENVELOPE_BYTES);
    const payload = sealRun(entries, alice.privateKey);
    expect(payload.byteLength).toBeLessThanOrEqual(MAX_RUN_BYTES);
    const opened = openMessage(payload, keys);
    expect(opened.ok && opened.entries.length).toBe(RUN_MAX);
  });
});

describe('runs of entries on the journal topic', () => {
  type EntryWire = { seq: number; amountMinor: number; prevHash: string; nodeId: string };
  type RunWire = { origin: string; sig: string; extra?: number; entries: EntryWire[] };
  const run = chain.slice(0, 3);
  const runPayload = (mutate: (json: RunWire) => void) => {
    const json = JSON.parse(sealRun(run, alice.privateKey).toString()) as RunWire;
    mutate(json);
    return Buffer.from(JSON.stringify(json));
  };

  it("is signed once, with the last entry's own signature, which vouches for the rest through the chain", () => {
    const json = JSON.parse(sealRun(run, alice.privateKey).toString()) as RunWire;
    expect(json.entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(Buffer.from(json.sig, 'base64').equals(signEntry(run[2]!, alice.privateKey))).toBe(true);
    const opened = openMessage(sealRun(run, alice.privateKey), keys);
    expect(opened.ok).toBe(true);
    if (!opened.ok) return;
    expect(opened.entries.map((e) => e.seq)).toEqual(run.map((e) => e.seq));
    // Only the last keeps a signature: it alone opens as a v1 envelope; the others travel inside runs.
    expect(opened.entries.map((e) => e.signature === null)).toEqual([true, true, false]);
    const last = opened.entries[2]!;
    expect(openEnvelope(encodeEnvelope({ ...last, signature: last.signature! }), keys)).toMatchObject({ ok: true, entry: { seq: 3 } });
    // A lone entry goes as a v1 envelope, and opens through the same door.
    expect(sealRun(run.slice(0, 1), alice.privateKey).equals(sealEnvelope(run[0]!, alice.privateKey))).toBe(true);
    expect(openMessage(sealEnvelope(run[0]!, alice.privateKey), keys)).toMatchObject({ ok: true, entries: [{ seq: run[0]!.seq }] });
  });

  it('re-encodes a held stretch with its last signature into a run that verifies (repair answers)', () => {
    const opened = openMessage(sealRun(run, alice.privateKey), keys);
    if (!opened.ok) throw new Error('run did not open');
    const runs = signedRuns(opened.entries);
    expect(runs).toHaveLength(1);
    expect(openMessage(encodeRun(runs[0]!.entries, runs[0]!.signature), keys)).toMatchObject({ ok: true, entries: [{ seq: 1 }, { seq: 2 }, { seq: 3 }] });
    // A tail with nothing signed after it is held back, not sent unverifiable.
    expect(signedRuns(opened.entries.slice(0, 2))).toEqual([]);
  });

  it.each([
    ['a run signed by another key', () => sealRun(run, generateNodeKeyPair().privateKey), 'bad_signature'],
    ['a changed amount inside', () => runPayload((j) => (j.entries[1]!.amountMinor += 1)), 'bad_hash'],
    ['the signed last entry dropped', () => runPayload((j) => j.entries.pop()), 'bad_signature'],
    ['an entry dropped from the middle', () => runPayload((j) => j.entries.splice(1, 1)), 'bad_hash'],
    ['entries out of order', () => runPayload((j) => j.entries.reverse()), 'bad_hash'],
    ['another node inside', () => runPayload((j) => (j.entries[2]!.nodeId = 'mallory')), 'malformed'],
    [
      'an unknown origin',
      () =>
        runPayload((j) => {
          j.origin = 'mallory';
          for (const e of j.entries) e.nodeId = 'mallory';
        }),
      'unknown_key',
    ],
    ['an unknown field', () => runPayload((j) => (j.extra = 1)), 'malformed'],
    ['an empty run', () => runPayload((j) => (j.entries = [])), 'malformed'],
    ['an oversized message', () => Buffer.alloc(300_000, 0x20), 'malformed'],
  ])('rejects %s as %s', (_what, bytes, reason) => {
    expect(openMessage(bytes(), keys)).toMatchObject({ ok: false, reason });
  });

  it('refuses to seal more than a run holds, or nothing', () => {
    expect(() => sealRun([], alice.privateKey)).toThrow(RangeError);
  });
});

describe('replica store', () => {
  const open = (pending = { perOrigin: 2, total: 4 }) => {
    const conflicts: number[] = [];
    const db = openReplicaDatabase(join(tempDir(), 'replicas.db'), 'me');
    return { db, conflicts, store: new ReplicaStore(db, { pending, onConflict: (c) => conflicts.push(c.seq) }) };
  };

  it('appends in order, holds early entries, drains them and ignores duplicates', () => {
    const { store, db } = open();
    expect(store.append(verified(chain[0]!))).toBe('stored');
    expect(store.append(verified(chain[2]!))).toBe('pending');
    expect(store.gap('alice')).toEqual({ fromSeq: 2, toSeq: 2 });
    expect(store.append(verified(chain[2]!))).toBe('duplicate');
    expect(store.append(verified(chain[3]!))).toBe('pending');
    expect(store.append(verified(chain[4]!))).toBe('pending_full');
    expect(store.append(verified(chain[1]!))).toBe('stored');
    expect(store.head('alice')).toEqual({ seq: 4, hash: chain[3]!.hash });
    expect(store.append(verified(chain[0]!))).toBe('duplicate');
    expect(store.pendingCount).toBe(0);
    expect(store.verify('alice')).toMatchObject({ ok: true, checked: 4 });
    expect(store.origins()).toEqual(['alice']);
    db.close();
  });

  it('rejects a different entry at a stored sequence, or one not linking to the head, as a conflict', () => {
    const { store, conflicts, db } = open();
    const fork = chainOf('alice', [authorizationDraft(), authorizationDraft()]);
    store.append(verified(chain[0]!));
    expect(store.append(verified(fork[0]!))).toBe('conflict');
    expect(store.append(verified(fork[1]!))).toBe('conflict');
    expect(conflicts).toEqual([1, 2]);
    expect(store.head('alice').seq).toBe(1);
    db.close();
  });

  it('survives a reopen with its heads, and the database refuses edits', () => {
    const dir = tempDir();
    let db = openReplicaDatabase(join(dir, 'replicas.db'), 'me');
    new ReplicaStore(db).append(verified(chain[0]!));
    db.close();
    db = openReplicaDatabase(join(dir, 'replicas.db'), 'me');
    const store = new ReplicaStore(db);
    expect(store.append(verified(chain[1]!))).toBe('stored');
    expect(() => db.prepare('UPDATE replica_entries SET amount_minor = 1').run()).toThrow(/append-only/);
    db.close();
    expect(() => openReplicaDatabase(join(dir, 'replicas.db'), 'someone-else')).toThrow(expect.objectContaining({ code: 'EDGEPAY_REPLICATION_STORE_IO' }));
  });

  it('stores a run in one stretch, keeps only its last signature, and answers ranges as runs that end signed', () => {
    const { store, db } = open({ perOrigin: 10, total: 10 });
    const first = openMessage(sealRun(chain.slice(0, 2), alice.privateKey), keys);
    const second = openMessage(sealRun(chain.slice(2, 5), alice.privateKey), keys);
    if (!first.ok || !second.ok) throw new Error('runs did not open');
    // The later run first: held whole, then drained behind the earlier one in one go.
    expect(store.appendAll(second.entries)).toEqual(['pending', 'pending', 'pending']);
    expect(store.appendAll(first.entries)).toEqual(['stored', 'stored']);
    expect(store.head('alice')).toEqual({ seq: 5, hash: chain[4]!.hash });
    expect(store.appendAll(second.entries)).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect(store.range('alice', 1, 5).map((e) => e.signature !== null)).toEqual([false, true, false, false, true]);
    // A range starting mid-run is answered up to the signature that vouches for it.
    const runs = signedRuns(store.range('alice', 4, 5));
    expect(runs.map((r) => r.entries.map((e) => e.seq))).toEqual([[4, 5]]);
    expect(openMessage(encodeRun(runs[0]!.entries, runs[0]!.signature), keys)).toMatchObject({ ok: true, entries: [{ seq: 4 }, { seq: 5 }] });
    expect(store.verify('alice')).toMatchObject({ ok: true, checked: 5 });
    db.close();
  });

  it('migrates a version 1 replica (a signature on every entry) without touching its rows', () => {
    const path = join(tempDir(), 'replicas.db');
    const old = new Database(path);
    old.exec(REPLICA_MIGRATIONS[0]!);
    old.pragma('user_version = 1');
    old.prepare("INSERT INTO meta (key, value) VALUES ('node_id', 'me')").run();
    const row = (e: JournalEntry) => ({ ...entryRow(e, Buffer.from(e.prevHash, 'hex'), Buffer.from(e.hash, 'hex')), signature: signEntry(e, alice.privateKey) });
    const columns = `${ENTRY_COLUMNS}, signature`;
    const insert = old.prepare(
      `INSERT INTO replica_entries (${columns}) VALUES (${columns
        .split(', ')
        .map((c) => `@${c}`)
        .join(', ')})`,
    );
    for (const e of chain.slice(0, 2)) insert.run(row(e));
    old.prepare('INSERT INTO replica_heads (node_id, seq, hash) VALUES (?, ?, ?)').run('alice', 2, Buffer.from(chain[1]!.hash, 'hex'));
    expect(() => old.prepare('INSERT INTO replica_entries (node_id, seq) VALUES (?, ?)').run('x', 1)).toThrow();
    old.close();

    const db = openReplicaDatabase(path, 'me');
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    const store = new ReplicaStore(db);
    expect(store.range('alice', 1, 2).map((e) => e.signature?.equals(signEntry(e, alice.privateKey)))).toEqual([true, true]);
    const next = openMessage(sealRun(chain.slice(2, 4), alice.privateKey), keys);
    if (!next.ok) throw new Error('run did not open');
    expect(store.appendAll(next.entries)).toEqual(['stored', 'stored']);
    expect(store.verify('alice')).toMatchObject({ ok: true, checked: 4 });
    // Still append-only after the rebuild of the table.
    expect(() => db.prepare('DELETE FROM replica_entries').run()).toThrow(/append-only/);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'replica_%'").pluck().get()).toBe(2);
    db.close();
  });

  it('lists offline approvals since a time, and the voids that released them', () => {
    const { store, db } = open({ perOrigin: 10, total: 10 });
    const online = { approved: true, code: '00', reason: 'approved', rule: 'approved', mode: 'online' } as const;
    const entries = chainOf('alice', [
      authorizationDraft({ cardToken: 'tok-1', amountMinor: 100 }),
      authorizationDraft({ cardToken: 'tok-2', amountMinor: 200 }),
      authorizationDraft({ decision: online }),
      { ...authorizationDraft(), kind: 'void', refSeq: 2 },
    ]);
    for (const entry of entries) store.append(verified(entry));
    const shared = store.approvalsSince(entries[0]!.wallMs + 1);
    expect(shared.approvals).toEqual([{ origin: 'alice', seq: 2, token: 'tok-2', currency: 'EUR', amountMinor: 200, wallMs: entries[1]!.wallMs }]);
    expect(shared.releases).toEqual([{ origin: 'alice', seq: 2 }]);
    expect(store.approvalsSince(0, 1)).toMatchObject({ truncated: true, approvals: [{ seq: 1 }] });
    db.close();
  });
});

describe('publisher (outbox) with a fake broker', () => {
  function publisherFor(_dir: string, journal: Journal, port: MqttPort, db: ReturnType<typeof openReplicaDatabase>) {
    return new Publisher({
      nodeId: 'alice',
      topic: 't',
      journal: new JournalReader(journal.path, 'alice'),
      watermark: new OutboxWatermark(db),
      port,
      signingKey: alice.privateKey,
      inflightWindow: 4,
      pollIdleMs: 5,
      inflightTimeoutMs: 60_000,
      clock: new ManualClock(0),
      log: silentLog,
    });
  }

  it('keeps at most the window in flight, sends what is waiting as one signed run, and moves the persisted watermark only on acknowledgement', async () => {
    const dir = tempDir();
    const journal = Journal.open({ path: join(dir, 'journal.db'), nodeId: 'alice' });
    for (let i = 0; i < 10; i++) journal.append(authorizationDraft());
    const db = openReplicaDatabase(join(dir, 'replicas.db'), 'alice');
    const acks: (() => void)[] = [];
    const payloads: Buffer[] = [];
    const port = {
      connected: true,
      publish: (_topic: string, payload: Buffer) =>
        new Promise<void>((resolve) => {
          payloads.push(payload);
          acks.push(resolve);
        }),
    };
    const publisher = publisherFor(dir, journal, port, db);
    publisher.start();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(publisher.stats()).toMatchObject({ inflight: 4, published: 4, messages: 1, ackedSeq: 0 });
    const run = openMessage(payloads[0]!, new Map([['alice', alice.publicKey]]));
    expect(run.ok && run.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    acks[0]!();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(publisher.stats()).toMatchObject({ ackedSeq: 4, inflight: 4, published: 8, messages: 2 });
    publisher.close();
    expect(new OutboxWatermark(db).read()).toBe(4);
    db.close();
    journal.close();
  });

  it('an acknowledgement ahead of an earlier one does not move the watermark past the gap', async () => {
    const dir = tempDir();
    const journal = Journal.open({ path: join(dir, 'journal.db'), nodeId: 'alice' });
    const db = openReplicaDatabase(join(dir, 'replicas.db'), 'alice');
    const acks: (() => void)[] = [];
    const port = { connected: true, publish: () => new Promise<void>((resolve) => acks.push(resolve)) };
    const publisher = publisherFor(dir, journal, port, db);
    publisher.start();
    // Entries committed one at a time go one message each.
    journal.append(authorizationDraft());
    await new Promise((resolve) => setTimeout(resolve, 30));
    journal.append(authorizationDraft());
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(publisher.stats()).toMatchObject({ inflight: 2, messages: 2 });
    acks[1]!();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(publisher.stats().ackedSeq).toBe(0);
    acks[0]!();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(publisher.stats().ackedSeq).toBe(2);
    publisher.close();
    db.close();
    journal.close();
  });
});

describe('replicator without a broker', () => {
  it('starts, reports itself disconnected and stops promptly: the node never waits for the network', async () => {
    const dir = tempDir();
    const [me, peer] = provisionNodeKeys(join(dir, 'keys'), ['alice', 'bob']);
    const journal = Journal.open({ path: join(dir, 'journal.db'), nodeId: 'alice' });
    const replicator = Replicator.start({
      settings: {
        nodeId: 'alice',
        dataDir: dir,
        journalPath: journal.path,
        fleet: 'acme',
        store: 'store-1',
        brokerUrl: `mqtt://127.0.0.1:${await freePort()}`,
        signingKeyFile: me!.signingKeyFile,
        peers: [{ nodeId: 'bob', publicKeyFile: peer!.publicKeyFile }],
        inflightWindow: 8,
      },
      tuning: { reconnectPeriodMs: 50 },
    });
    journal.append(authorizationDraft());
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(replicator.status()).toMatchObject({ connected: false, outbox: { ackedSeq: 0, journalHeadSeq: 1, lag: 1, inflight: 0 } });
    const started = Date.now();
    await replicator.stop();
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(() => replicator.status()).toThrow(expect.objectContaining({ code: 'EDGEPAY_REPLICATION_STOPPED' }));
    journal.close();
  });

  it('refuses settings that cannot work, with typed errors', () => {
    const dir = tempDir();
    const [me] = provisionNodeKeys(join(dir, 'keys'), ['alice']);
    const base = { nodeId: 'alice', dataDir: dir, journalPath: join(dir, 'journal.db'), fleet: 'acme', store: 's', brokerUrl: 'mqtt://127.0.0.1:1', signingKeyFile: me!.signingKeyFile, peers: [], inflightWindow: 8 };
    const config = expect.objectContaining({ code: 'EDGEPAY_REPLICATION_CONFIG' });
    expect(() => Replicator.start({ settings: { ...base, inflightWindow: 0 } })).toThrow(config);
    expect(() => Replicator.start({ settings: { ...base, brokerUrl: 'http://x' } })).toThrow(config);
    expect(() => Replicator.start({ settings: { ...base, peers: [{ nodeId: 'alice', publicKeyFile: me!.publicKeyFile }] } })).toThrow(config);
    expect(() => Replicator.start({ settings: { ...base, store: 'a/b' } })).toThrow(expect.objectContaining({ code: 'EDGEPAY_REPLICATION_BAD_ID' }));
  });
});
