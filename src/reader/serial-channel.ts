import type { ReaderProfile } from './profile.js';

/**
 * What the link layer needs of a serial line: bytes in, bytes out. Both the node's tty port
 * (tty-port.ts, safe in a worker thread) and serialport's SerialPort (the simulated reader, on a
 * main thread) satisfy it.
 */
export interface SerialChannel {
  readonly isOpen: boolean;
  write(bytes: Buffer): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
}

/** The node's end of a reader's line: a channel that can end (unplugged, failed) and be closed. */
export interface ReaderPort extends SerialChannel {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  /** Once, however the line ended. */
  on(event: 'close', listener: (reason: string) => void): unknown;
  close(): Promise<void>;
}

/** Opens a reader's port; rejects with EDGEPAY_READER_UNAVAILABLE when the device is absent. */
export type OpenReaderPort = (path: string, profile: ReaderProfile) => Promise<ReaderPort>;
