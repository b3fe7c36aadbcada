import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type DataMessage, type TlvObject, encodeMessage, parseTlv, tagHex } from '../src/reader/protocol/index.js';
import { loadReaderProfile } from '../src/reader/profile.js';
import type { SerialChannel } from '../src/reader/serial-channel.js';
import { SerialLink } from '../src/reader/serial-link.js';
import { ReaderSimulator } from '../src/reader/simulator/simulator.js';
import { TEST_TOKEN_KEY } from './support/cards.js';
import { eventually } from './support/pty.js';

/*
 * The reference reader keeps to the maxPayload the node's HELLO announced (PROTOCOL.md 1.1): card
 * data that would not fit goes with only the tags the node checks. An in-memory line: the rule is
 * the simulator's logic, and the real serial path is tested elsewhere.
 */

class End extends EventEmitter implements SerialChannel {
  peer: End | undefined;
  readonly isOpen = true;
  write(bytes: Buffer): boolean {
    const peer = this.peer;
    setImmediate(() => peer?.emit('data', Buffer.from(bytes)));
    return true;
  }
}

function line(): [End, End] {
  const a = new End();
  const b = new End();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

const profile = loadReaderProfile('edgepay-sim');

function collectTags(objects: readonly TlvObject[]): string[] {
  return objects.flatMap((o) => [tagHex(o.tag).toUpperCase(), ...(o.children ? collectTags(o.children) : [])]);
}

async function cardPayloadBytes(nodeMaxPayload: number, secure: boolean): Promise<{ bytes: number; kind: string; lines: string[]; tags: Set<string> }> {
  const [nodeEnd, readerEnd] = line();
  const lines: string[] = [];
  const reader = new ReaderSimulator(readerEnd, {
    profile,
    cards: ['good'],
    seed: 7,
    status: (text) => lines.push(text),
    unplug: () => undefined,
    ...(secure ? { secrets: { seed: new Uint8Array(randomBytes(32)), tokenKey: TEST_TOKEN_KEY, centrePublicKey: new Uint8Array(randomBytes(32)) } } : {}),
  });
  const received: DataMessage[] = [];
  const node = new SerialLink(nodeEnd, profile, { onMessage: (msg) => received.push(msg), onLinkDown: () => undefined });
  reader.start();
  try {
    await node.send({ kind: 'HELLO', protocolVersion: 1, capabilities: 0x08, maxPayload: nodeMaxPayload, model: 'edgepay-node', firmwareVersion: '1.1' });
    if (secure) {
      await node.send({ kind: 'AUTH_CHALLENGE', nodeNonce: new Uint8Array(randomBytes(32)) });
      await eventually(() => (received.some((m) => m.kind === 'AUTH_RESPONSE') ? true : undefined), 3000, 'AUTH_RESPONSE');
    }
    await node.send({ kind: 'START_TXN', txnId: 9, amountMinor: 1250n, currencyNumeric: 978, timeoutS: 60 });
    const card = await eventually(() => received.find((m) => m.kind === 'CARD_DATA' || m.kind === 'SEALED_CARD'), 3000, 'card data');
    const tags = 'tlv' in card ? new Set(collectTags(parseTlv(card.tlv))) : new Set<string>();
    return { bytes: encodeMessage(card).payload.length, kind: card.kind, lines, tags };
  } finally {
    reader.stop();
    node.detach();
  }
}

describe("the reference reader keeps to the node's maxPayload", () => {
  it('sends its full terminal data when it fits, and only the checked tags when the node takes 256 bytes', async () => {
    for (const secure of [false, true]) {
      const roomy = await cardPayloadBytes(1024, secure);
      const tight = await cardPayloadBytes(256, secure);
      expect(roomy.kind).toBe(secure ? 'SEALED_CARD' : 'CARD_DATA');
      expect(tight.bytes).toBeLessThanOrEqual(256);
      // A clear card's data fits 256 bytes whole; a sealed one with every terminal tag does not, and is cut.
      if (secure) {
        expect(roomy.bytes).toBeGreaterThan(256);
        expect(tight.bytes).toBeLessThan(roomy.bytes);
      } else {
        expect(tight.bytes).toBe(roomy.bytes);
      }
      expect(tight.lines.some((text) => text.includes('cut to the tags the node checks'))).toBe(secure);
      // Cut or not, what the node requires is there (PROTOCOL.md 7.4, 7.5).
      for (const tag of ['9F02', '5F2A', '5F24']) expect(tight.tags.has(tag), tag).toBe(true);
    }
  });
});
