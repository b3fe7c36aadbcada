import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { close, constants, open } from 'node:fs';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { ReadStream } from 'node:tty';
import { EdgepayError } from '../errors.js';
import type { ReaderProfile } from './profile.js';
import type { SerialChannel } from './serial-channel.js';

/*
 * The node's side of a reader's serial line, built on Node's own tty handle rather than
 * serialport: serialport's native poller registers with the main thread's event loop, so reading
 * a port from a worker thread (where every reader actor runs) crashes the process. libuv's tty
 * handle belongs to the worker's own loop. Line settings are applied with stty(1), which every
 * Linux image with coreutils or busybox has.
 */

export interface TtyPortEvents {
  data: [chunk: Buffer];
  /** Once, however the line ended: unplugged (EIO/EOF), a failed write, or close(). */
  close: [reason: string];
}

export class TtyPort extends EventEmitter<TtyPortEvents> implements SerialChannel {
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly stream: Duplex,
  ) {
    super();
    stream.on('data', (chunk: Buffer) => this.emit('data', chunk));
    // A pty whose other end vanished reads EIO, which libuv reports as end of stream.
    stream.on('end', () => this.end('end of stream (device gone)'));
    stream.on('error', (error: Error) => this.end(`serial error: ${error.message}`));
    stream.on('close', () => this.end('closed'));
  }

  /** Rejects with EDGEPAY_READER_UNAVAILABLE when the device is absent or refuses the line settings. */
  static async open(path: string, profile: ReaderProfile): Promise<TtyPort> {
    if (path.startsWith(UNIX_SOCKET_PREFIX)) return new TtyPort(path, await connectSocket(path));
    const fd = await openFd(path);
    try {
      await stty(path, profile);
      return new TtyPort(path, new ReadStream(fd, { readable: true, writable: true }));
    } catch (error) {
      close(fd, () => undefined);
      throw isReaderError(error) ? error : unavailable(path, (error as Error).message, error);
    }
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  write(bytes: Buffer): boolean {
    if (this.closed) throw new Error('serial port is closed');
    return this.stream.write(bytes);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.stream.destroyed) {
        this.end('closed');
        resolve();
        return;
      }
      this.stream.once('close', () => resolve());
      this.stream.destroy();
    });
  }

  private end(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.destroy();
    this.emit('close', reason);
  }
}

/**
 * `unix:<path>`: a simulated reader listening on a Unix socket instead of a serial device, for
 * machines without socat to make pseudo-terminals (the store demo on a bare machine). The bytes
 * and the protocol are the same; there are no line settings to apply.
 */
export const UNIX_SOCKET_PREFIX = 'unix:';

function connectSocket(path: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket = connect(path.slice(UNIX_SOCKET_PREFIX.length));
    const refused = (error: Error): void => reject(unavailable(path, error.message, error));
    socket.once('error', refused);
    socket.once('connect', () => {
      socket.off('error', refused);
      resolve(socket);
    });
  });
}

/** A plain descriptor, not a FileHandle: the tty stream owns it, and a FileHandle would close it when collected. */
function openFd(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    // O_NONBLOCK: a serial device without carrier would otherwise block the open until DCD rises.
    open(path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK, (error, fd) => {
      if (error === null) resolve(fd);
      else reject(unavailable(path, error.message, error));
    });
  });
}

/** Raw 8-bit line at the profile's speed: no echo, no CR/LF translation, no flow control, no signals. */
export function sttyArgs(path: string, profile: ReaderProfile): string[] {
  const { baudRate, stopBits } = profile.serial;
  return ['-F', path, String(baudRate), 'raw', '-echo', '-echonl', '-iexten', 'cs8', '-parenb', stopBits === 2 ? 'cstopb' : '-cstopb', 'clocal', '-crtscts', '-ixon', '-ixoff'];
}

function stty(path: string, profile: ReaderProfile): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('stty', sttyArgs(path, profile), { timeout: 5000 }, (error, _stdout, stderr) => {
      if (error === null) resolve();
      else reject(unavailable(path, `stty could not set the line: ${String(stderr).trim() || error.message}`, error));
    });
  });
}

function unavailable(path: string, why: string, cause: unknown): EdgepayError {
  return new EdgepayError('EDGEPAY_READER_UNAVAILABLE', `cannot open serial device ${path}: ${why}`, { port: path }, { cause });
}

function isReaderError(error: unknown): error is EdgepayError {
  return error instanceof EdgepayError;
}
