#!/usr/bin/env node
// Writes firmware-bridge/vectors.json: `node firmware-bridge/tools/gen-vectors.mjs`.
//
// This script deliberately shares no code with src/reader/protocol/: it has its own bitwise CRC,
// its own frame builder and a whole-buffer reference decoder, so the vectors are a second opinion
// on the TypeScript implementation rather than a copy of its output. Decoder expectations are
// written by hand and checked here against the reference decoder before anything is written.
//
// Decisions the spec leaves open, pinned down by the vectors (the names say which):
// - decoder: when both the ETX position and the CRC are wrong, only `bad_end` is reported (one
//   event per rejected candidate, ETX checked first); an incomplete candidate at the end of the
//   input reports nothing, even when a complete frame lies inside it.
// - TLV: errors are reported in parse order (depth first, left to right), except `too_long`,
//   which is checked before parsing. A 0x00 byte where an object could start is padding, skipped
//   and not an object (EMV Book 3 annex B1). An object "starts" whenever a container (or the
//   input) has bytes left that are not padding: at that moment depth > 8 is `too_deep`, then the
//   65th start is `too_many_objects`, before its tag is read. A third tag byte with bit 8 set is `tag_too_long` whether or not more
//   bytes follow. Leftover bytes that cannot form an object are `truncated`, as is a length
//   running past its container. Non-minimal long-form lengths (`81 05`) are accepted.
import { createHash, createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sodium from 'libsodium-wrappers';

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const unhex = (text) => [...Buffer.from(text.replace(/\s+/g, ''), 'hex')];
const ascii = (text) => [...Buffer.from(text, 'utf8')];

function crc16(bytes) {
  let crc = 0xffff;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

const MAX_PAYLOAD = 1024;

function frame(seq, type, payload) {
  const len = payload.length + 2;
  const body = [len >> 8, len & 0xff, seq, type, ...payload];
  const crc = crc16(body);
  return [0x02, ...body, crc >> 8, crc & 0xff, 0x03];
}

// Spec section 1, literally, over the whole stream at once.
function referenceDecode(bytes) {
  const events = [];
  let i = 0;
  while (i < bytes.length) {
    if (bytes[i] !== 0x02) { i++; continue; }
    if (i + 3 > bytes.length) break;
    const len = (bytes[i + 1] << 8) | bytes[i + 2];
    if (len < 2 || len > MAX_PAYLOAD + 2) { events.push({ error: len < 2 ? 'undersize' : 'oversize' }); i++; continue; }
    const total = len + 6;
    if (i + total > bytes.length) break;
    const crc = (bytes[i + 3 + len] << 8) | bytes[i + 4 + len];
    if (bytes[i + total - 1] !== 0x03) { events.push({ error: 'bad_end' }); i++; continue; }
    if (crc16(bytes.slice(i + 1, i + 3 + len)) !== crc) { events.push({ error: 'bad_crc' }); i++; continue; }
    events.push({ frame: { seq: bytes[i + 3], type: bytes[i + 4], payloadHex: hex(bytes.slice(i + 5, i + 3 + len)) } });
    i += total;
  }
  return events;
}

const u16 = (v) => [v >> 8, v & 0xff];
const u32 = (v) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(v); return [...b]; };
const str = (text) => { const b = ascii(text); return [b.length, ...b]; };
const pattern = (n, start = 0) => Array.from({ length: n }, (_, i) => (start + i) & 0xff);

// ---------------------------------------------------------------- CRC
const crcInputs = [
  ['check value', ascii('123456789')],
  ['empty input is the initial value', []],
  ['single zero byte', [0x00]],
  ['single 0xff byte', [0xff]],
  ['ASCII A', ascii('A')],
  ['header of an ACK with seq 0', [0x00, 0x02, 0x00, 0x06]],
  ['all byte values 00..ff', pattern(256)],
  ['1026 bytes, the largest CRC input of a frame', pattern(1026, 7)],
];
const crcVectors = crcInputs.map(([name, input]) => ({ name, inputHex: hex(input), crcHex: crc16(input).toString(16).padStart(4, '0') }));

// ---------------------------------------------------------------- messages
// BER-TLV with a minimal-form length, as hex; only for building inputs below.
const t = (tag, valueHex) => {
  const n = valueHex.length / 2;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return `${tag}${hex(len)}${valueHex}`;
};
const cardTlv = unhex([
  t('70', t('5a', '4761739001010010') + t('5f24', '271231') + t('5f34', '01') + t('57', '4761739001010010d2712201')),
  t('77', t('82', '1980') + t('9f27', '80') + t('9f36', '0042') + t('9f26', '8e19ed4bcd3b6c31')),
  t('9f02', '000000001250') + t('5f2a', '0978') + t('9a', '250614') + t('9c', '00') + t('95', '0000008000') + t('9f37', '1a2b3c4d'),
].join(''));
// ---------------------------------------------------------------- secure session (PROTOCOL.md 8)
// Built with libsodium (the C reader's library), not node:crypto as src/ does: a second opinion.
// The sealed box is made deterministic here by deriving its ephemeral key pair from a seed and
// building libsodium's construction by hand (ephemeral public key, then crypto_box with the nonce
// BLAKE2b-192(ephemeral pk ‖ recipient pk)), so vectors.json does not change on every run; a
// receiver opens it with crypto_box_seal_open like any other.
await sodium.ready;
const seedOf = (label) => [...createHash('sha256').update(label).digest()];
const reader = sodium.crypto_sign_seed_keypair(Uint8Array.from(seedOf('edgepay vector reader seed')));
const readerSeed = seedOf('edgepay vector reader seed');
const tokenKey = seedOf('edgepay vector token key');
const centre = sodium.crypto_box_seed_keypair(Uint8Array.from(seedOf('edgepay vector centre seal key')));
const AUTH_CONTEXT = ascii('EDGEPAY-READER-AUTH-1');
const CARD_CONTEXT = ascii('EDGEPAY-SEALED-CARD-1');
const signAsReader = (bytes) => [...sodium.crypto_sign_detached(Uint8Array.from(bytes), reader.privateKey)];
function sealDeterministic(plain, ephemeralLabel) {
  const eph = sodium.crypto_box_seed_keypair(Uint8Array.from(seedOf(ephemeralLabel)));
  const nonce = sodium.crypto_generichash(24, Uint8Array.from([...eph.publicKey, ...centre.publicKey]));
  const box = sodium.crypto_box_easy(Uint8Array.from(plain), nonce, centre.publicKey, eph.privateKey);
  const sealed = [...eph.publicKey, ...box];
  const opened = Buffer.from(sodium.crypto_box_seal_open(Uint8Array.from(sealed), centre.publicKey, centre.privateKey));
  if (!opened.equals(Buffer.from(plain))) throw new Error('deterministic seal does not open');
  return sealed;
}
const luhnValid = (pan) => [...pan].reverse().reduce((sum, ch, i) => { let d = Number(ch); if (i % 2) { d *= 2; if (d > 9) d -= 9; } return sum + d; }, 0) % 10 === 0;

const authSpecs = [
  ['AUTH_RESPONSE to a first challenge', 'edgepay vector node nonce 1', 'edgepay vector reader nonce 1'],
  ['AUTH_RESPONSE to a second challenge', 'edgepay vector node nonce 2', 'edgepay vector reader nonce 2'],
];
const auth = authSpecs.map(([name, nodeLabel, readerLabel]) => {
  const nodeNonce = seedOf(nodeLabel);
  const readerNonce = seedOf(readerLabel);
  const signed = [...AUTH_CONTEXT, ...nodeNonce, ...readerNonce, ...reader.publicKey];
  const signature = signAsReader(signed);
  return { name, nodeNonceHex: hex(nodeNonce), readerNonceHex: hex(readerNonce), signedHex: hex(signed), signatureHex: hex(signature), payloadHex: hex([...reader.publicKey, ...readerNonce, ...signature]) };
});

const secureTlv = (amountHex, currencyHex, expiryHex, extra = '') =>
  unhex(t('77', t('82', '1980') + t('9f27', '80') + t('9f36', '0042') + t('9f26', '8e19ed4bcd3b6c31')) + t('5f24', expiryHex) + t('5f34', '01') + t('9f02', amountHex) + t('5f2a', currencyHex) + t('9a', '250614') + t('9c', '00') + t('9f37', '1a2b3c4d') + extra);
const cardSpecs = [
  ['SEALED_CARD 12.50 EUR, 16-digit PAN', 7, '4761739001010010', '2712', secureTlv('000000001250', '0978', '271231'), 'edgepay vector ephemeral 1'],
  ['SEALED_CARD 0.99 GBP, 15-digit PAN', 8, '371449635398431', '2906', secureTlv('000000000099', '0826', '290630'), 'edgepay vector ephemeral 2'],
  ['SEALED_CARD, PAN failing the Luhn check', 9, '4761739001010011', '2712', secureTlv('000000001250', '0978', '271231'), 'edgepay vector ephemeral 3'],
];
const session = auth[0];
const cards = cardSpecs.map(([name, txnId, pan, expiryYymm, tlvBytes, ephemeralLabel]) => {
  const token = [...createHmac('sha256', Buffer.from(tokenKey)).update(pan, 'ascii').digest()];
  const sealedPlain = JSON.stringify({ pan, expiry: expiryYymm });
  const sealed = sealDeterministic(ascii(sealedPlain), ephemeralLabel);
  const flags = luhnValid(pan) ? 1 : 0;
  const signedPart = [...u32(txnId), ...token, ...ascii(pan.slice(-4)), flags, ...u16(sealed.length), ...sealed, ...u16(tlvBytes.length), ...tlvBytes];
  const signed = [...CARD_CONTEXT, ...unhex(session.nodeNonceHex), ...unhex(session.readerNonceHex), ...signedPart];
  const signature = signAsReader(signed);
  return {
    name, txnId, pan, expiryYymm, tokenHex: hex(token), last4: pan.slice(-4), flags, sealedPlain, sealedHex: hex(sealed), tlvHex: hex(tlvBytes),
    signedPartHex: hex(signedPart), signedHex: hex(signed), signatureHex: hex(signature), payloadHex: hex([...signedPart, ...signature]),
  };
});
const secure = {
  readerSeedHex: hex(readerSeed), readerPublicKeyHex: hex(reader.publicKey), tokenKeyHex: hex(tokenKey),
  centreSecretKeyHex: hex(centre.privateKey), centrePublicKeyHex: hex(centre.publicKey),
  sessionNodeNonceHex: session.nodeNonceHex, sessionReaderNonceHex: session.readerNonceHex,
  auth, cards,
};
const sealedFields = (card) => ({ txnId: card.txnId, tokenHex: card.tokenHex, last4: card.last4, flags: card.flags, sealedHex: card.sealedHex, tlvHex: card.tlvHex, signatureHex: card.signatureHex });

const messageSpecs = [
  ['HELLO from a reader', 0x01, [1, 0x07, ...u16(1024), ...str('EP-R100'), ...str('1.4.2')],
    { protocolVersion: 1, capabilities: 7, maxPayload: 1024, model: 'EP-R100', firmwareVersion: '1.4.2' }],
  ['HELLO with empty strings', 0x01, [1, 0x00, ...u16(256), 0, 0],
    { protocolVersion: 1, capabilities: 0, maxPayload: 256, model: '', firmwareVersion: '' }],
  ['ACK', 0x06, [], {}],
  ['NAK bad CRC', 0x15, [1], { reason: 1 }],
  ['NAK malformed payload', 0x15, [5], { reason: 5 }],
  ['START_TXN 12.50 EUR 60 s', 0x10, [...u32(7), ...u64(1250n), ...u16(978), ...u16(60)],
    { txnId: 7, amountMinor: '1250', currencyNumeric: 978, timeoutS: 60 }],
  ['START_TXN largest values', 0x10, [...u32(0xffffffff), ...u64(0xffffffffffffffffn), ...u16(0xffff), ...u16(0xffff)],
    { txnId: 4294967295, amountMinor: '18446744073709551615', currencyNumeric: 65535, timeoutS: 65535 }],
  ['CARD_DATA with templates and terminal data', 0x11, [...u32(7), ...cardTlv], { txnId: 7, tlvHex: hex(cardTlv) }],
  ['CARD_DATA with no TLV bytes', 0x11, u32(8), { txnId: 8, tlvHex: '' }],
  ['SHOW_RESULT approved', 0x12, [...u32(7), 1, ...str('Y3'), ...str('APPROVED')],
    { txnId: 7, approved: true, code: 'Y3', text: 'APPROVED' }],
  ['SHOW_RESULT declined with UTF-8 text', 0x12, [...u32(9), 0, ...str('Z1'), ...str('Abgelehnt – Karte prüfen')],
    { txnId: 9, approved: false, code: 'Z1', text: 'Abgelehnt – Karte prüfen' }],
  ['CANCEL', 0x13, u32(7), { txnId: 7 }],
  ['TXN_ENDED result shown', 0x14, [...u32(7), 5], { txnId: 7, reason: 5 }],
  ['TXN_ENDED no card before timeout', 0x14, [...u32(0x01020304), 2], { txnId: 16909060, reason: 2 }],
  ['STATUS_REQUEST', 0x20, [], {}],
  ['STATUS waiting for card, card present', 0x21, [1, 0x01], { state: 1, flags: 1 }],
  ['STATUS fault', 0x21, [4, 0x00], { state: 4, flags: 0 }],
  ['ERROR incompatible version', 0x7f, [1, ...str('protocol version 2 not supported')],
    { code: 1, text: 'protocol version 2 not supported' }],
  ['HELLO from a 1.1 reader offering a secure session', 0x01, [1, 0x0f, ...u16(1024), ...str('EP-R110'), ...str('2.0.0')],
    { protocolVersion: 1, capabilities: 15, maxPayload: 1024, model: 'EP-R110', firmwareVersion: '2.0.0' }],
  ['AUTH_CHALLENGE', 0x02, unhex(auth[0].nodeNonceHex), { nodeNonceHex: auth[0].nodeNonceHex }],
  ['AUTH_RESPONSE', 0x03, unhex(auth[0].payloadHex),
    { readerKeyHex: hex(reader.publicKey), readerNonceHex: auth[0].readerNonceHex, signatureHex: auth[0].signatureHex }],
  ...cards.map((card) => [card.name, 0x16, unhex(card.payloadHex), sealedFields(card)]),
  ['ERROR secure session required', 0x7f, [5, ...str('secure session required')], { code: 5, text: 'secure session required' }],
];
const messages = messageSpecs.map(([name, type, payload, fields]) => ({ name, type, payloadHex: hex(payload), fields }));
const payloadOf = (name) => unhex(messages.find((m) => m.name === name).payloadHex);

// ---------------------------------------------------------------- frames
const frameSpecs = [
  ['HELLO seq 0', 0, 0x01, payloadOf('HELLO from a reader')],
  ['ACK seq 0 (empty payload)', 0, 0x06, []],
  ['NAK seq 3 reason bad CRC', 3, 0x15, [1]],
  ['START_TXN seq 1', 1, 0x10, payloadOf('START_TXN 12.50 EUR 60 s')],
  ['CARD_DATA seq 2', 2, 0x11, payloadOf('CARD_DATA with templates and terminal data')],
  ['SHOW_RESULT seq 3', 3, 0x12, payloadOf('SHOW_RESULT approved')],
  ['CANCEL seq 4', 4, 0x13, payloadOf('CANCEL')],
  ['TXN_ENDED seq 5', 5, 0x14, payloadOf('TXN_ENDED result shown')],
  ['STATUS_REQUEST seq 6 (empty payload)', 6, 0x20, []],
  ['STATUS seq 7', 7, 0x21, payloadOf('STATUS waiting for card, card present')],
  ['ERROR seq 8', 8, 0x7f, payloadOf('ERROR incompatible version')],
  ['ACK seq 255', 255, 0x06, []],
  ['unknown type 0xee seq 255 (framing ignores the type)', 255, 0xee, [0xaa]],
  ['payload full of STX and ETX bytes', 9, 0x11, [0x02, 0x03, 0x02, 0x00, 0x02, 0x03, 0x03]],
  ['maximum payload, 1024 bytes', 10, 0x11, pattern(1024)],
];
const frames = frameSpecs.map(([name, seq, type, payload]) => ({ name, seq, type, payloadHex: hex(payload), frameHex: hex(frame(seq, type, payload)) }));

// ---------------------------------------------------------------- decoder runs
const ack0 = frame(0, 0x06, []);
const start1 = frame(1, 0x10, payloadOf('START_TXN 12.50 EUR 60 s'));
const status7 = frame(7, 0x21, [1, 1]);
const big = frame(255, 0x11, pattern(1024));
const ev = (seq, type, payload) => ({ frame: { seq, type, payloadHex: hex(payload) } });
const evAck0 = ev(0, 0x06, []);
const evStart1 = ev(1, 0x10, payloadOf('START_TXN 12.50 EUR 60 s'));
const evStatus7 = ev(7, 0x21, [1, 1]);
const withCrcFlipped = (f) => f.map((b, i) => (i === f.length - 2 ? b ^ 0x01 : b));
const withEnd = (f, end) => f.map((b, i) => (i === f.length - 1 ? end : b));
const byteChunks = (bytes) => bytes.map((b) => [b]);
const outerWithInner = frame(3, 0x11, ack0);
const chunksOf = (bytes, sizes) => {
  const out = [];
  let at = 0;
  for (const size of sizes) { out.push(bytes.slice(at, at + size)); at += size; }
  if (at < bytes.length) out.push(bytes.slice(at));
  return out;
};

const decoderSpecs = [
  ['clean frame in one chunk', [ack0], [evAck0]],
  ['two frames in one chunk', [[...start1, ...ack0]], [evStart1, evAck0]],
  ['frame split byte by byte', byteChunks(start1), [evStart1]],
  ['empty chunks around a frame', [[], ack0, []], [evAck0]],
  ['garbage without STX before a frame is skipped silently', [[0xff, 0x00, 0x41, 0x13, 0x03], ack0], [evAck0]],
  ['fake STX with oversize LEN in garbage, then a frame', [[0x55, 0x02, 0xff, 0xff, 0x10], status7], [{ error: 'oversize' }, evStatus7]],
  ['fake STX whose LEN covers the real frame: bad_crc, then the real frame', [[0x02, 0x00, 0x05, ...ack0]], [{ error: 'bad_crc' }, evAck0]],
  ['bad CRC followed by a good frame', [withCrcFlipped(start1), ack0], [{ error: 'bad_crc' }, evAck0]],
  ['bad end byte followed by a good frame', [[...withEnd(status7, 0x04), ...ack0]], [{ error: 'bad_end' }, evAck0]],
  ['end byte and CRC both wrong: bad_end only', [[...withEnd(withCrcFlipped(status7), 0x00), ...ack0]], [{ error: 'bad_end' }, evAck0]],
  ['oversize LEN 1027, then a frame', [[0x02, 0x04, 0x03, 0x11], ack0], [{ error: 'oversize' }, evAck0]],
  ['oversize LEN split across chunks', [[0x02], [0xff], [0xff], ack0], [{ error: 'oversize' }, evAck0]],
  ['undersize LEN 1, then a frame', [[0x02, 0x00, 0x01], ack0], [{ error: 'undersize' }, evAck0]],
  ['undersize LEN 0, then a frame', [[0x02, 0x00, 0x00, 0x00], status7], [{ error: 'undersize' }, evStatus7]],
  ['STX and ETX inside the payload', [frame(9, 0x11, [0x02, 0x03, 0x02, 0x00, 0x02, 0x03, 0x03])], [ev(9, 0x11, [0x02, 0x03, 0x02, 0x00, 0x02, 0x03, 0x03])]],
  ['a good frame inside a rejected one is found', [withCrcFlipped(outerWithInner)], [{ error: 'bad_crc' }, evAck0]],
  ['an incomplete candidate holds back a frame inside it', [outerWithInner.slice(0, 5 + ack0.length)], []],
  ['the held-back frame is found once the candidate completes and fails', [outerWithInner.slice(0, 5 + ack0.length), [0x00, 0x00, 0x03]], [{ error: 'bad_crc' }, evAck0]],
  ['truncated stream: no event', [start1.slice(0, start1.length - 1)], []],
  ['three frames, the middle one corrupted in its payload', [[...ack0, ...start1.map((b, i) => (i === 10 ? b ^ 0x40 : b)), ...status7]], [evAck0, { error: 'bad_crc' }, evStatus7]],
  ['maximum frame with seq 255 in irregular chunks', chunksOf(big, [1, 2, 5, 300, 1, 700]), [ev(255, 0x11, pattern(1024))]],
];
const decoder = decoderSpecs.map(([name, chunks, expect]) => {
  const actual = referenceDecode(chunks.flat());
  if (JSON.stringify(actual) !== JSON.stringify(expect)) {
    throw new Error(`decoder vector "${name}": expected ${JSON.stringify(expect)}, reference gives ${JSON.stringify(actual)}`);
  }
  return { name, chunksHex: chunks.map(hex), expect };
});

// ---------------------------------------------------------------- TLV
const prim = (tag, valueHex) => ({ tag, valueHex });
const cons = (tag, valueHex, children) => ({ tag, valueHex, children });
const nest = (tags, inner) => tags.reduceRight((acc, tag) => `${tag}${(acc.length / 2).toString(16).padStart(2, '0')}${acc}`, inner);
const repeat = (text, n) => text.repeat(n);
const seq128 = hex(pattern(128));
const seq256 = hex(pattern(256));
const a5Value = t('50', '5649534120435245444954') + t('87', '01');
const fciValue = t('84', 'a0000000031010') + t('a5', a5Value);
const fci = t('6f', fciValue);
const r70 = t('5a', '4761739001010010') + t('5f34', '01');
const r77 = t('9f27', '80') + t('9f36', '0042');
const deep8 = nest(['6f', 'a5', 'bf0c', '61', '70', '77', 'e1'], '7100');
const deep8WithLeaf = nest(['6f', 'a5', 'bf0c', '61', '70', '77', 'e1'], '4f01aa');
/** The tree of `nest(tags, inner)` where inner is one object `leaf`. */
const nestedTree = (tags, inner, leaf) => tags.reduceRight((child, tag, i) => cons(tag, nest(tags.slice(i + 1), inner), [child]), leaf);
// Standard EMV responses, built from the formats the EMV specifications give (not copied from any
// card): the PPSE's FCI (EMV Contactless Book B, 3.3: 6F > A5 > BF0C > 61 directory entries, the
// entries' objects at depth 5), a GET PROCESSING OPTIONS response in format 2 (EMV Book 3, 6.5.8:
// template 77 with AIP 82 and AFL 94) and a READ RECORD response (Book 3, 6.5.11: template 70).
const ppseEntry = (aid, label, priority) => t('61', t('4f', aid) + t('50', hex(ascii(label))) + t('87', priority));
const ppseDirectory = ppseEntry('a0000000041010', 'MASTERCARD', '01') + ppseEntry('a0000000031010', 'VISA CREDIT', '02');
const ppseFci = t('6f', t('84', hex(ascii('2PAY.SYS.DDF01'))) + t('a5', t('bf0c', ppseDirectory)));
const gpoFormat2 = t('77', t('82', '1980') + t('94', '08010100100102011801020020010100'));
const readRecord = t('70', t('57', '4761739001010010d27122011143804489') + t('5f20', hex(ascii('CARDHOLDER/VISA'))) + t('9f1f', hex(ascii('1143804489'))));
// Padding (Book 3 annex B1; EMVCo Specification Update 69 for its place inside templates).
const paddedRecord = t('70', `00${t('5a', '4761739001010010')}0000${t('5f24', '271231')}00`);

const tlvSpecs = [
  ['single primitive 5A', '5a084761739001010010', [prim('5a', '4761739001010010')]],
  ['two-byte tag 9F02', '9f0206000000001250', [prim('9f02', '000000001250')]],
  ['three-byte tag DF8101', 'df810102abcd', [prim('df8101', 'abcd')]],
  ['zero-length primitive', '9f3700', [prim('9f37', '')]],
  ['empty input', '', []],
  ['long form 81, 128 bytes', `538180${seq128}`, [prim('53', seq128)]],
  ['long form 82, 256 bytes', `9f10820100${seq256}`, [prim('9f10', seq256)]],
  ['non-minimal long form 81 05 is accepted', '5f2481052712310000', [prim('5f24', '2712310000')]],
  ['non-minimal long form 83 is accepted', '9a83000003250614', [prim('9a', '250614')]],
  ['several top-level objects', '9f02060000000012505f2a0209789c0100', [prim('9f02', '000000001250'), prim('5f2a', '0978'), prim('9c', '00')]],
  ['empty constructed 70', '7000', [cons('70', '', [])]],
  ['FCI template 6F with A5 inside', fci, [cons('6f', fciValue, [prim('84', 'a0000000031010'), cons('a5', a5Value, [prim('50', '5649534120435245444954'), prim('87', '01')])])]],
  ['record template 70 and response template 77', t('70', r70) + t('77', r77),
    [cons('70', r70, [prim('5a', '4761739001010010'), prim('5f34', '01')]), cons('77', r77, [prim('9f27', '80'), prim('9f36', '0042')])]],
  ['nesting to depth 8 with a leaf at depth 8', deep8WithLeaf, [nestedTree(['6f', 'a5', 'bf0c', '61', '70', '77', 'e1'], '4f01aa', prim('4f', 'aa'))]],
  ['empty constructed at depth 8', deep8, [nestedTree(['6f', 'a5', 'bf0c', '61', '70', '77', 'e1'], '7100', cons('71', '', []))]],
  ['PPSE FCI: directory entries at depth 5 (EMV Contactless Book B 3.3)', ppseFci, null],
  ['GET PROCESSING OPTIONS response, format 2 (EMV Book 3 6.5.8)', gpoFormat2, null],
  ['READ RECORD response with track 2 equivalent (EMV Book 3 6.5.11)', readRecord, null],
  ['00 padding before, between and after objects inside a template (Book 3 annex B1, SU 69)', paddedRecord,
    [cons('70', paddedRecord.slice(4), [prim('5a', '4761739001010010'), prim('5f24', '271231')])]],
  ['00 padding between and after top-level objects', `9c0100005f2a020978000000`, [prim('9c', '00'), prim('5f2a', '0978')]],
  ['only padding', '000000', []],
  ['a constructed at depth 8 holding only padding starts no object', nest(['6f', 'a5', 'bf0c', '61', '70', '77', 'e1', 'e2'], '0000'),
    [nestedTree(['6f', 'a5', 'bf0c', '61', '70', '77', 'e1'], nest(['e2'], '0000'), cons('e2', '0000', []))]],
  ['64 objects with padding between them', repeat('9c010000', 64), Array.from({ length: 64 }, () => prim('9c', '00'))],
  ['64 objects', repeat('9c0100', 64), Array.from({ length: 64 }, () => prim('9c', '00'))],
  ['1024 bytes of input', `538203fc${hex(pattern(1020))}`, [prim('53', hex(pattern(1020)))]],
  ['card data set', hex(cardTlv), null],
];
const tlvErrors = [
  ['value runs past the input', '5a084761', 'truncated'],
  ['input ends inside a two-byte tag', '9f', 'truncated'],
  ['input ends inside a three-byte tag', 'df81', 'truncated'],
  ['input ends before the length', '9f02', 'truncated'],
  ['input ends inside a long-form length', '5a8201', 'truncated'],
  ['child length runs past its container though the input goes on', '70035a0511223344', 'truncated'],
  ['one trailing byte after an object', '5a011101', 'truncated'],
  ['trailing FF after an object: FF is not padding', '5a0111ff', 'truncated'],
  ['indefinite length 80', '70805a0111000000', 'indefinite_length'],
  ['indefinite length inside a template', '77049f278000', 'indefinite_length'],
  ['long form 84 refused', '5a840000000111', 'length_too_long'],
  ['long form 84 refused even when the input ends there', '5a84', 'length_too_long'],
  ['third tag byte with bit 8 set', '9f81810100', 'tag_too_long'],
  ['third tag byte with bit 8 set at the end of the input', '9f8181', 'tag_too_long'],
  ['nesting deeper than 8', nest(['6f', 'a5', 'bf0c', '61', '70', '77', 'e1', 'e2'], '4f01aa'), 'too_deep'],
  ['constructed at depth 8 with any content but padding is too_deep before its child is read', nest(['6f', 'a5', 'bf0c', '61', '70', '77', 'e1', 'e2'], '0001'), 'too_deep'],
  ['65 top-level objects', repeat('9c0100', 65), 'too_many_objects'],
  ['a template with 64 children is 65 objects', `7081c0${repeat('9c0100', 64)}`, 'too_many_objects'],
  ['64 objects then a stray byte: the 65th start is counted first', `${repeat('9c0100', 64)}01`, 'too_many_objects'],
  ['1025 bytes of otherwise valid input', `538203fd${hex(pattern(1021))}`, 'too_long'],
  ['1025 bytes of garbage: too_long is checked before parsing', repeat('ff', 1025), 'too_long'],
];

// Only for the card data vector: a minimal tree walk of known-good input.
function simpleParse(bytes) {
  const out = [];
  let i = 0;
  while (i < bytes.length) {
    const start = i;
    if ((bytes[i++] & 0x1f) === 0x1f) while (bytes[i++] & 0x80);
    const tag = hex(bytes.slice(start, i));
    let len = bytes[i++];
    if (len & 0x80) { const n = len & 0x7f; len = 0; for (let k = 0; k < n; k++) len = (len << 8) | bytes[i++]; }
    const value = bytes.slice(i, i + len);
    i += len;
    out.push(bytes[start] & 0x20 ? cons(tag, hex(value), simpleParse(value)) : prim(tag, hex(value)));
  }
  return out;
}

const tlv = [
  ...tlvSpecs.map(([name, h, objects]) => ({ name, hex: h, ok: true, objects: objects ?? simpleParse(unhex(h)) })),
  ...tlvErrors.map(([name, h, error]) => ({ name, hex: h, ok: false, error })),
];

const vectors = { version: 1, maxPayload: MAX_PAYLOAD, crc16: crcVectors, frames, decoder, tlv, messages, secure };
const target = join(dirname(fileURLToPath(import.meta.url)), '..', 'vectors.json');
writeFileSync(target, `${JSON.stringify(vectors, null, 2)}\n`);
console.log(`wrote ${target}: ${crcVectors.length} crc, ${frames.length} frames, ${decoder.length} decoder, ${tlv.length} tlv, ${messages.length} messages, ${auth.length} auth and ${cards.length} sealed-card secure vectors`);
