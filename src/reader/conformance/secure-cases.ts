/**
 * S1–S4: what a reader that sets the secure-session bit (0x08) must do (protocol 1.1). Signatures
 * are checked with --reader-key when given, the key a lane pins; without it, with the key the
 * reader sent in AUTH_RESPONSE, which proves the signatures are sound but not whose they are, and
 * the report says so.
 */
import { ErrorCode, ReaderState, type SealedCardMessage, authSignedBytes, keyFingerprint, sameBytes } from '../protocol/index.js';
import type { ConformanceCase } from './case.js';
import { type VerifyingKey, checkSealedCard, describeKey, signatureValid } from './card-checks.js';
import type { CaseContext } from './context.js';
import { describeMessage, describeSince, stateName } from './describe.js';
import { fail } from './errors.js';

type Authentication = Awaited<ReturnType<CaseContext['authenticate']>>;

function unpinnedNote(readerKey: Uint8Array): string {
  return `signatures verified with the key the reader sent in AUTH_RESPONSE (${keyFingerprint(readerKey)}), not a pinned one: give --reader-key to check it is the lane's`;
}

/** The reader's key is the pinned one (when pinned), and its signature covers the context, both nonces and that key. */
function checkAuthentication(ctx: CaseContext, auth: Authentication, which: string): VerifyingKey {
  const { response, nodeNonce } = auth;
  const pinned = ctx.settings.readerKey;
  if (pinned !== undefined && !sameBytes(response.readerKey, pinned)) {
    fail(`expected ${which} readerKey = --reader-key (${keyFingerprint(pinned)}), got ${keyFingerprint(response.readerKey)}`);
  }
  const key: VerifyingKey = pinned === undefined ? { raw: response.readerKey, pinned: false } : { raw: pinned, pinned: true };
  const signed = authSignedBytes({ nodeNonce, readerNonce: response.readerNonce }, response.readerKey);
  if (!signatureValid(key, signed, response.signature)) fail(`${which} signature does not verify with ${describeKey(key)} over this challenge's nodeNonce and its readerNonce`);
  return key;
}

function noteKey(ctx: CaseContext, key: VerifyingKey): void {
  if (!key.pinned) ctx.notes.push(unpinnedNote(key.raw));
}

const auth: ConformanceCase = {
  id: 'S1',
  secure: true,
  async run(ctx) {
    noteKey(ctx, checkAuthentication(ctx, await ctx.authenticate(), 'AUTH_RESPONSE'));
  },
};

const authFresh: ConformanceCase = {
  id: 'S2',
  secure: true,
  async run(ctx) {
    const first = await ctx.authenticate();
    checkAuthentication(ctx, first, 'the first AUTH_RESPONSE');
    const second = await ctx.authenticate();
    if (sameBytes(second.response.readerNonce, first.response.readerNonce)) fail('expected a new readerNonce in the second AUTH_RESPONSE, got the first one again');
    if (!sameBytes(second.response.readerKey, first.response.readerKey)) {
      fail(`expected the same readerKey in both AUTH_RESPONSEs, got ${keyFingerprint(first.response.readerKey)} then ${keyFingerprint(second.response.readerKey)}`);
    }
    noteKey(ctx, checkAuthentication(ctx, second, 'the second AUTH_RESPONSE'));
  },
};

const sealedCard: ConformanceCase = {
  id: 'S3',
  secure: true,
  async run(ctx) {
    const session = await ctx.openCardSession();
    if (session === undefined) fail('expected a reader that sets the secure-session bit');
    const txn = ctx.newTxn(1303n);
    const from = ctx.link.mark();
    await ctx.startTxn(txn);
    // expectCard refuses CARD_DATA on an authenticated session: "never CARD_DATA".
    const card = (await ctx.expectCard(txn, from, session)) as SealedCardMessage;
    checkSealedCard(card, txn, session.nonces, session.key);
    noteKey(ctx, session.key);
  },
};

const secureRequired: ConformanceCase = {
  id: 'S4',
  secure: true,
  async run(ctx) {
    const { link } = ctx;
    // The runner's reset before the case was a HELLO exchange and nothing more: no AUTH in this session.
    const txn = ctx.newTxn(404n);
    const from = link.mark();
    await ctx.startTxn(txn);
    const expected = `ERROR ${ErrorCode.SECURE_SESSION_REQUIRED} (secure session required) for START_TXN txnId ${txn.txnId} without authentication`;
    const answer = await link.waitFor(
      (e) => e.kind === 'message' && (e.msg.kind === 'ERROR' || ((e.msg.kind === 'CARD_DATA' || e.msg.kind === 'SEALED_CARD' || e.msg.kind === 'TXN_ENDED') && e.msg.txnId === txn.txnId)),
      ctx.answerMs,
      from,
    );
    if (answer?.kind !== 'message') fail(`expected ${expected} within ${ctx.answerMs} ms, ${describeSince(link.events, from)}`);
    if (answer.msg.kind !== 'ERROR' || answer.msg.code !== ErrorCode.SECURE_SESSION_REQUIRED) fail(`expected ${expected}, came ${describeMessage(answer.msg)}`);
    const after = await ctx.barrier();
    const started = link.messagesSince(from).find((m) => (m.kind === 'CARD_DATA' || m.kind === 'SEALED_CARD' || m.kind === 'TXN_ENDED') && m.txnId === txn.txnId);
    if (started !== undefined) fail(`expected no transaction after ERROR ${ErrorCode.SECURE_SESSION_REQUIRED}, came ${describeMessage(started)}`);
    if (after.state !== ReaderState.IDLE) fail(`expected no transaction after ERROR ${ErrorCode.SECURE_SESSION_REQUIRED}: STATUS state ${stateName(ReaderState.IDLE)}, got state ${stateName(after.state)}`);
  },
};

export const SECURE_CASES: readonly ConformanceCase[] = [auth, authFresh, sealedCard, secureRequired];
