import type { SerialPort } from 'serialport';
import { type DataMessage, FrameDecoder, MessageType, decodeMessage, encodeFrame } from '../../src/reader/protocol/index.js';
import type { ReaderProfile } from '../../src/reader/profile.js';
import { closeQuietly, openSerialPort } from '../../src/reader/simulator/serial-port.js';

/** One frame on its way across the relay: return it (changed or not) to forward it, or null to drop it. */
export interface RelayedFrame {
  readonly seq: number;
  readonly type: number;
  readonly payload: Uint8Array;
}
export type FrameRewrite = (frame: RelayedFrame) => RelayedFrame | null;

export interface LineRelay {
  /** Every byte that crossed the line, both directions, as a skimmer on the cable would have it. */
  wire(): Buffer;
  /** The data messages the reader sent, decoded. */
  fromReader(): DataMessage[];
  /** The data messages the node sent, decoded. */
  fromNode(): DataMessage[];
  close(): Promise<void>;
}

/**
 * A device between the node and the reader, on two pty pairs: it forwards whole frames (re-encoded,
 * so a rewrite keeps a valid CRC, as an attacker on the line would) and records everything it saw.
 */
export async function startLineRelay(options: {
  readonly nodeSide: string;
  readonly readerSide: string;
  readonly profile: ReaderProfile;
  readonly toNode?: FrameRewrite;
  readonly toReader?: FrameRewrite;
}): Promise<LineRelay> {
  const towardNode = await openSerialPort(options.nodeSide, options.profile);
  const towardReader = await openSerialPort(options.readerSide, options.profile);
  const seen: Buffer[] = [];
  const readerMessages: DataMessage[] = [];
  const nodeMessages: DataMessage[] = [];
  const pipe = (from: SerialPort, to: SerialPort, rewrite: FrameRewrite | undefined, fromReader: boolean): void => {
    const decoder = new FrameDecoder();
    from.on('data', (chunk: Buffer) => {
      seen.push(Buffer.from(chunk));
      for (const event of decoder.push(chunk)) {
        if (event.kind !== 'frame') continue;
        const frame = rewrite === undefined ? event : rewrite(event);
        if (frame === null) continue;
        if (frame.type !== MessageType.ACK && frame.type !== MessageType.NAK) {
          try {
            (fromReader ? readerMessages : nodeMessages).push(decodeMessage(frame.type, frame.payload) as DataMessage);
          } catch {
            // Recorded as bytes only: the node decides what a malformed frame is.
          }
        }
        to.write(Buffer.from(encodeFrame(frame.seq, frame.type, frame.payload)));
      }
    });
  };
  pipe(towardReader, towardNode, options.toNode, true);
  pipe(towardNode, towardReader, options.toReader, false);
  return {
    wire: () => Buffer.concat(seen),
    fromReader: () => [...readerMessages],
    fromNode: () => [...nodeMessages],
    close: async () => {
      await closeQuietly(towardNode);
      await closeQuietly(towardReader);
    },
  };
}
