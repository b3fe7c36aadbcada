import { type Server, type Socket, connect as tcpConnect, createServer } from 'node:net';
import { freePort } from '../../platform/free-port.js';

/**
 * A TCP relay in front of a server (the broker): block() cuts whoever connects through it off the
 * network, open connections reset and new ones refused, without touching its code; unblock()
 * lets it reconnect.
 */
export class TcpGate {
  private blocked = false;
  private readonly pairs = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async open(targetPort: number): Promise<TcpGate> {
    const port = await freePort();
    let gate: TcpGate | undefined;
    const server = createServer((inbound) => gate?.relay(inbound, targetPort));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    gate = new TcpGate(server, port);
    return gate;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get isBlocked(): boolean {
    return this.blocked;
  }

  block(): void {
    this.blocked = true;
    for (const socket of this.pairs) socket.destroy();
  }

  unblock(): void {
    this.blocked = false;
  }

  async close(): Promise<void> {
    this.block();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private relay(inbound: Socket, targetPort: number): void {
    if (this.blocked) return void inbound.destroy();
    const outbound = tcpConnect(targetPort, '127.0.0.1');
    for (const [a, b] of [
      [inbound, outbound],
      [outbound, inbound],
    ] as const) {
      this.pairs.add(a);
      a.on('close', () => {
        this.pairs.delete(a);
        b.destroy();
      });
      a.on('error', () => a.destroy());
      a.pipe(b);
    }
  }
}
