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
