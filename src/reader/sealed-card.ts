import type { KeyObject } from 'node:crypto';
import type { CardFacts } from '../card/card-facts.js';
import {
  type EmvExpectation,
  ProtocolError,
  SEALED_CARD_FLAG_LUHN_VALID,
  type SealedCardMessage,
  type SessionNonces,
  parseTlv,
  sealedCardSignedBytes,
  sealedCardSignedPart,
  sealedCardTerms,
  verifyReaderSignature,
} from './protocol/index.js';

export interface SealedCardContext {
  readonly session: SessionNonces;
  readonly readerKey: KeyObject;
  readonly expected: EmvExpectation;
}

/**
 * A secure session's card (PROTOCOL.md 8) as the node keeps it: the reader already tokenized and
 * sealed the PAN, so nothing here ever held one. The signature is checked first, against the
 * lane's pinned key and this session's nonces: a card data set replayed from another session, or
 * changed in any byte on the line, is refused before any of it is read.
 */
export function sealedCardFacts(msg: SealedCardMessage, context: SealedCardContext): CardFacts {
  const signed = sealedCardSignedBytes(context.session, sealedCardSignedPart(msg));
  if (!verifyReaderSignature(context.readerKey, signed, msg.signature)) {
    throw new ProtocolError('EDGEPAY_CARD_SIGNATURE_INVALID', "sealed card data does not verify with the lane's pinned reader key in this session", { txnId: msg.txnId });
  }
  const { expiryYymm } = sealedCardTerms(parseTlv(msg.tlv), context.expected);
  return {
    token: Buffer.from(msg.token).toString('base64url'),
    last4: msg.last4,
    expiryYear: 2000 + Number(expiryYymm.slice(0, 2)),
    expiryMonth: Number(expiryYymm.slice(2, 4)),
    checkDigitValid: (msg.flags & SEALED_CARD_FLAG_LUHN_VALID) !== 0,
    sealed: msg.sealed,
  };
}
