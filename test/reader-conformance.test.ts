import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateSealKeyPair } from '../src/card/seal.js';
import { type CaseId, parseCaseIds } from '../src/reader/conformance/case-ids.js';
import { openReaderLine } from '../src/reader/conformance/command.js';
import type { ConformanceReport } from '../src/reader/conformance/report.js';
import { runConformance } from '../src/reader/conformance/run.js';
import { loadReaderProfile } from '../src/reader/profile.js';
import {
  Capability,
  type DataMessage,
  ErrorCode,
  Link,
  ReaderState,
  STX,
  type SessionNonces,
  TxnEndReason,
  authSignedBytes,
  decodeFrame,
  emvForCard,
  encodeTlv,
  isKnownType,
  readerKeyPairFromSeed,
  sealedCardSignedBytes,
  sealedCardSignedPart,
  signAsReader,
} from '../src/reader/protocol/index.js';
import { closeQuietly, openSerialPort } from '../src/reader/simulator/serial-port.js';
import { runCliAsync } from './support/cli.js';
import { eventually, requireSocat, startPtyPair, startSimulator } from './support/pty.js';
import { useTempDir } from './support/tmp.js';

/*
 * The conformance runner against real readers on a real socat pty pair: the simulator (in its own
 * process, plain and secure) must pass, and a fake reader written here, broken in a few named ways,
 * must fail exactly the cases that name its faults, with a reason that says what was expected.
 */

const tempDir = useTempDir('edgepay-conformance-');
const cleanups: (() => Promise<unknown>)[] = [];
const PROFILE = 'edgepay-sim';
const profile = loadReaderProfile(PROFILE);
const FAKE_PAN = '4111111111111111';
const ALL = parseCaseIds(undefined);
const C_CASES = ALL.filter((id) => id.startsWith('C'));
const S_CASES = ALL.filter((id) => id.startsWith('S'));
/** A PAN is 12 to 19 digits; no txnId, amount or time in a report comes near that. */
const PAN_LIKE = /\d{12,}/;

beforeAll(() => requireSocat());
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function pty() {
  const pair = await startPtyPair(tempDir());
  cleanups.push(() => pair.kill());
  return pair;
}

async function simulator(port: string, extra: readonly string[] = []): Promise<void> {
  const sim = startSimulator(['reader', 'simulate', '--port', port, '--profile', PROFILE, '--seed', '1', ...extra]);
  cleanups.push(() => sim.stop());
  await eventually(() => (sim.stderr().includes(`port ${port} open`) ? true : undefined), 5000, 'the simulator to open its port');
}

/** Key files for a secure simulated reader, and the public key a lane pins for it. */
async function secureKeyFiles(): Promise<{ args: string[]; publicKey: Uint8Array }> {
  const dir = tempDir();
  const seed = randomBytes(32);
  const centre = await generateSealKeyPair();
  const files = { seed: join(dir, 'reader.seed'), token: join(dir, 'token.key'), centre: join(dir, 'centre.pub') };
  writeFileSync(files.seed, seed.toString('base64'), { mode: 0o600 });
  writeFileSync(files.token, randomBytes(32).toString('base64'), { mode: 0o600 });
  writeFileSync(files.centre, Buffer.from(centre.publicKey).toString('base64'));
  return {
    args: ['--reader-seed-file', files.seed, '--token-key-file', files.token, '--centre-key-file', files.centre],
    publicKey: readerKeyPairFromSeed(seed).publicKey,
  };
}

/** The runner in this process, on the node's end of the line. */
async function conformance(path: string, options: { readerKey?: Uint8Array; caseIds?: readonly CaseId[] } = {}): Promise<ConformanceReport> {
  const port = await openReaderLine(path, profile);
  try {
    return await runConformance({ port, portPath: path, profileName: PROFILE, profile, caseIds: options.caseIds ?? ALL, readerKey: options.readerKey, progress: () => undefined });
  } finally {
    await port.close();
  }
}

function statuses(report: ConformanceReport): Record<string, string> {
  return Object.fromEntries(report.cases.map((c) => [c.id, c.status]));
}

function reasonOf(report: ConformanceReport, id: CaseId): string {
  return report.cases.find((c) => c.id === id)?.reason ?? '';
}

interface Faults {
  /** Takes a frame of unknown TYPE silently instead of NAKing it with reason 4. */
  readonly ignoreUnknownType?: boolean;
  /** Ends a transaction on CANCEL without a TXN_ENDED. */
  readonly cancelWithoutTxnEnded?: boolean;
  /** Card data's 9F02 is this much off START_TXN's amount. */
  readonly amountOffBy?: bigint;
  /** A secure reader with this seed. */
  readonly seed?: Uint8Array;
  /** SEALED_CARD's signature with one bit flipped. */
  readonly badSealSignature?: boolean;
}

/**
 * Whole frames of an unknown TYPE cut out of a chunk, so the link never sees them. The runner
 * writes every frame at once, so a frame arrives in one chunk on a pty.
 */
function withoutUnknownTypes(chunk: Uint8Array): Uint8Array {
  const kept: number[] = [];
  for (let i = 0; i < chunk.length; ) {
    const end = i + (((chunk[i + 1] ?? 0) << 8) | (chunk[i + 2] ?? 0)) + 6;
    if (chunk[i] === STX && end <= chunk.length && !isKnownType(chunk[i + 4] ?? 0)) {
      try {
        decodeFrame(chunk.subarray(i, end));
        i = end;
        continue;
      } catch {
        // Not a whole frame: keep the byte.
      }
    }
    kept.push(chunk[i++] as number);
  }
  return Uint8Array.from(kept);
}

/** Reader firmware with the protocol's own link layer, and the faults asked for. */
async function fakeReader(path: string, faults: Faults): Promise<void> {
  const port = await openSerialPort(path, profile);
  cleanups.push(() => closeQuietly(port));
  const keys = faults.seed === undefined ? undefined : readerKeyPairFromSeed(faults.seed);
  let nonces: SessionNonces | undefined;
  let running: number | undefined;
  let link: Link;
  const send = (msg: DataMessage): void => void link.send(msg).catch(() => undefined);
  const card = (txn: Extract<DataMessage, { kind: 'START_TXN' }>): DataMessage => {
    const amountMinor = txn.amountMinor + (faults.amountOffBy ?? 0n);
    const spec = { pan: FAKE_PAN, expiryYymm: '3012', amountMinor, currencyNumeric: txn.currencyNumeric };
    if (keys === undefined || nonces === undefined) return { kind: 'CARD_DATA', txnId: txn.txnId, tlv: encodeTlv(emvForCard(spec)) };
    const body = {
      txnId: txn.txnId,
      token: new Uint8Array(randomBytes(32)),
      last4: FAKE_PAN.slice(-4),
      flags: 1,
      sealed: new Uint8Array(randomBytes(80)),
      tlv: encodeTlv(emvForCard({ ...spec, omitTags: [0x5a, 0x57] })),
    };
    const signature = signAsReader(keys, sealedCardSignedBytes(nonces, sealedCardSignedPart(body)));
    if (faults.badSealSignature) signature[0] = (signature[0] as number) ^ 0x01;
    return { kind: 'SEALED_CARD', ...body, signature };
  };
  const onMessage = (msg: DataMessage): void => {
    switch (msg.kind) {
      case 'HELLO':
        nonces = undefined;
        send({ kind: 'HELLO', protocolVersion: 1, capabilities: 0x07 | (keys ? Capability.SECURE_SESSION : 0), maxPayload: 1024, model: 'fake-reader', firmwareVersion: 'f1' });
        return;
      case 'STATUS_REQUEST':
        send({ kind: 'STATUS', state: running === undefined ? ReaderState.IDLE : ReaderState.READING, flags: 0 });
        return;
      case 'AUTH_CHALLENGE':
        if (keys === undefined) return;
        nonces = { nodeNonce: msg.nodeNonce, readerNonce: new Uint8Array(randomBytes(32)) };
        send({ kind: 'AUTH_RESPONSE', readerKey: keys.publicKey, readerNonce: nonces.readerNonce, signature: signAsReader(keys, authSignedBytes(nonces, keys.publicKey)) });
        return;
      case 'START_TXN':
        if (keys !== undefined && nonces === undefined) {
          send({ kind: 'ERROR', code: ErrorCode.SECURE_SESSION_REQUIRED, text: 'secure session required' });
          return;
        }
        running = msg.txnId;
        send(card(msg));
        return;
      case 'CANCEL':
      case 'SHOW_RESULT':
        if (running !== msg.txnId) return;
        running = undefined;
        if (msg.kind === 'SHOW_RESULT') send({ kind: 'TXN_ENDED', txnId: msg.txnId, reason: TxnEndReason.RESULT_SHOWN });
        else if (!faults.cancelWithoutTxnEnded) send({ kind: 'TXN_ENDED', txnId: msg.txnId, reason: TxnEndReason.CANCELLED_BY_NODE });
        return;
      default:
    }
  };
  const newLink = (): Link =>
    new Link({
      write: (bytes) => void port.write(Buffer.from(bytes)),
      onMessage,
      // As firmware does: nobody answered, so listen again with a fresh link.
      onLinkDown: () => void (link = newLink()),
      ackTimeoutMs: profile.timeouts.ackMs,
      retransmissions: profile.timeouts.retransmissions,
    });
  link = newLink();
  port.on('data', (chunk: Buffer) => link.receive(faults.ignoreUnknownType ? withoutUnknownTypes(chunk) : chunk));
}

describe('edgepay reader conformance against the simulated reader', () => {
  it('a plain simulator passes every C case; the S cases are skipped, naming the secure-session bit', async () => {
    const line = await pty();
    await simulator(line.readerPath);
    const report = await conformance(line.nodePath);
    expect(report.reader).toMatchObject({ model: 'edgepay-sim', protocolVersion: 1, capabilities: 0x07, maxPayload: 1024, secureSession: false });
    expect(report.cases.map((c) => c.id)).toEqual(ALL);
    expect(report.cases.filter((c) => c.status !== 'pass').map((c) => c.id)).toEqual(S_CASES);
    for (const id of S_CASES) expect(report.cases.find((c) => c.id === id)).toMatchObject({ status: 'skip', reason: expect.stringContaining('secure-session bit (0x08)') });
    expect(report.summary).toEqual({ passed: 11, failed: 0, skipped: 4 });
  });

  it('a secure simulator passes every C and S case with its key pinned, and says so when the key is not pinned', async () => {
    const line = await pty();
    const keys = await secureKeyFiles();
    await simulator(line.readerPath, keys.args);
    const pinned = await conformance(line.nodePath, { readerKey: keys.publicKey });
    expect(pinned.reader).toMatchObject({ secureSession: true, capabilities: 0x0f });
    expect(pinned.readerKey.pinned).toBe(true);
    expect(pinned.cases.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(pinned.cases.flatMap((c) => c.notes)).toEqual([]);

    const unpinned = await conformance(line.nodePath, { caseIds: ['S1', 'S3'] });
    expect(statuses(unpinned)).toEqual({ S1: 'pass', S3: 'pass' });
    for (const c of unpinned.cases) expect(c.notes.join(' ')).toContain('the key the reader sent in AUTH_RESPONSE');

    const wrongKey = await conformance(line.nodePath, { readerKey: new Uint8Array(randomBytes(32)), caseIds: ['C8', 'S1', 'S3'] });
    expect(statuses(wrongKey)).toEqual({ C8: 'pass', S1: 'fail', S3: 'fail' });
    expect(reasonOf(wrongKey, 'S1')).toMatch(/^expected AUTH_RESPONSE readerKey = --reader-key \([0-9a-f]{16}\), got [0-9a-f]{16}$/);
    expect(reasonOf(wrongKey, 'S3')).toContain('signature does not verify with the pinned key');
  });
});

describe('edgepay reader conformance against a broken reader', () => {
  it('fails exactly the cases of its faults, each with what was expected and what came, and never prints card data', async () => {
    const line = await pty();
    await fakeReader(line.readerPath, { ignoreUnknownType: true, cancelWithoutTxnEnded: true, amountOffBy: 1n });
    const report = await conformance(line.nodePath);
    expect(report.reader).toMatchObject({ model: 'fake-reader', firmwareVersion: 'f1' });
    expect(report.cases.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(['C6', 'C8', 'C9']);
    expect(report.cases.filter((c) => c.status === 'pass').map((c) => c.id)).toEqual(C_CASES.filter((id) => !['C6', 'C8', 'C9'].includes(id)));
    expect(reasonOf(report, 'C6')).toMatch(/^expected NAK reason 4 \(unknown type\) for a frame of TYPE 0x3F \(SEQ \d+\), got no ACK or NAK for it after 4 attempt\(s\)/);
    expect(reasonOf(report, 'C8')).toMatch(/^CARD_DATA txnId \d+: expected 9F02 = 1208 \(START_TXN's amount\), got 1209$/);
    expect(reasonOf(report, 'C9')).toMatch(/^expected TXN_ENDED txnId \d+ reason 1 \(cancelled by node\) within 1300 ms, nothing came$/);
    expect(JSON.stringify(report)).not.toMatch(PAN_LIKE);
  });

  it('a secure reader whose SEALED_CARD signature does not verify fails S3 alone', async () => {
    const line = await pty();
    const seed = new Uint8Array(randomBytes(32));
    await fakeReader(line.readerPath, { seed, badSealSignature: true });
    const report = await conformance(line.nodePath, { readerKey: readerKeyPairFromSeed(seed).publicKey });
    expect(report.cases.filter((c) => c.status !== 'pass').map((c) => c.id)).toEqual(['S3']);
    expect(reasonOf(report, 'S3')).toMatch(/^SEALED_CARD txnId \d+: signature does not verify with the pinned key \(--reader-key, [0-9a-f]{16}\) over this session's nonces and the payload$/);
  });
});

describe('the command line', () => {
  it('exits 0 with the --json report against the simulator, 1 with a FAIL line against a broken reader, 2 for a bad option', async () => {
    const simLine = await pty();
    await simulator(simLine.readerPath);
    const passed = await runCliAsync(['reader', 'conformance', '--port', simLine.nodePath, '--profile', PROFILE, '--json']);
    expect(passed.status).toBe(0);
    const report = JSON.parse(passed.stdout) as ConformanceReport;
    expect(Object.keys(report)).toEqual(['port', 'profile', 'reader', 'readerKey', 'cases', 'summary']);
    expect(report).toMatchObject({ port: simLine.nodePath, profile: PROFILE, reader: { model: 'edgepay-sim', capabilityNames: ['contact', 'contactless', 'display'] }, readerKey: { pinned: false } });
    expect(report.cases[0]).toEqual({ id: 'C1', name: 'hello', status: 'pass', ms: expect.any(Number), notes: [] });
    expect(report.cases[11]).toEqual({ id: 'S1', name: 'auth', status: 'skip', ms: 0, reason: expect.any(String), notes: [] });
    expect(report.summary).toEqual({ passed: 11, failed: 0, skipped: 4 });

    const brokenLine = await pty();
    await fakeReader(brokenLine.readerPath, { ignoreUnknownType: true });
    const failed = await runCliAsync(['reader', 'conformance', '--port', brokenLine.nodePath, '--profile', PROFILE, '--case', 'C6', 'status']);
    expect(failed.status).toBe(1);
    const lines = failed.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`reader conformance on ${brokenLine.nodePath} (profile ${PROFILE})`);
    expect(lines[1]).toBe('reader: model "fake-reader", firmware "f1", protocol 1, capabilities 0x07 (contact, contactless, display), maxPayload 1024');
    expect(lines[2]).toMatch(/^PASS {2}C3 {3}status {13}\s+\d+ ms$/);
    expect(lines[3]).toMatch(/^FAIL {2}C6 {3}unknown-type\s+\d+ ms {2}expected NAK reason 4/);
    expect(lines[4]).toBe('1 passed, 1 failed, 0 skipped');

    const dir = tempDir();
    const bad = await Promise.all([
      runCliAsync(['reader', 'conformance', '--port', simLine.nodePath, '--profile', PROFILE, '--case', 'C12']),
      runCliAsync(['reader', 'conformance', '--port', simLine.nodePath, '--profile', PROFILE, '--reader-key', 'c2hvcnQ=']),
      runCliAsync(['reader', 'conformance', '--port', join(dir, 'absent'), '--profile', PROFILE]),
    ]);
    expect(bad.map((r) => r.status)).toEqual([2, 2, 2]);
    expect(bad[0]?.stderr).toMatch(/--case: is not a conformance case: must be one of C1 \(hello\), .*S4 \(secure-required\) \(got "C12"\)/);
    expect(bad[1]?.stderr).toMatch(/--reader-key: must be base64 of the reader's 32-byte Ed25519 public key .*it decodes to 5 bytes \(got "c2hvcnQ="\)/);
    expect(bad[2]?.stderr).toMatch(/--port: cannot open serial device .*absent.*\(got ".*absent"\)/);
  });
});
