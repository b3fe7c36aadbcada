import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { type Socket, createServer } from 'node:net';

/**
 * The simulated reader's end of a `unix:<path>` line: it listens where the node will connect, as
 * a device node waits to be opened, and serves the first connection. Shaped like the serialport
 * object the simulator otherwise drives (data, close, error, write, close).
 */
export class SocketLine extends EventEmitter<{ data: [Buffer]; close: []; error: [Error] }> {
  private socket: Socket | undefined;

  private constructor() {
    super();
  }

  /** Resolves once listening (`onListening` is called then) and a node has connected. */
  static async accept(path: string, onListening: () => void): Promise<SocketLine> {
    rmSync(path, { force: true });
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    onListening();
    const socket = await new Promise<Socket>((resolve) => server.once('connection', resolve));
    // One node per reader, as one cable: nobody else connects after it.
    server.close();
    const line = new SocketLine();
    line.socket = socket;
    socket.on('data', (chunk: Buffer) => line.emit('data', chunk));
    socket.on('error', (error) => line.emit('error', error));
    socket.on('close', () => line.emit('close'));
    return line;
  }

  get isOpen(): boolean {
    return this.socket !== undefined && !this.socket.destroyed;
  }

  write(bytes: Buffer): boolean {
    return this.socket?.write(bytes) ?? false;
  }

  close(callback?: () => void): void {
    if (this.socket === undefined || this.socket.destroyed) {
      callback?.();
      return;
    }
    this.socket.once('close', () => callback?.());
    this.socket.destroy();
  }
}
