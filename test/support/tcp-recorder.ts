import { type Server, type Socket, createServer, connect } from 'node:net';

/**
 * A TCP relay that records every byte both ways: what a tap on the store LAN between a client and
 * the broker would see.
 */
export interface TcpRecorder {
  readonly port: number;
  /** Everything that crossed, both directions, in arrival order. */
  capture(): Buffer;
  close(): Promise<void>;
}

export async function startTcpRecorder(targetPort: number): Promise<TcpRecorder> {
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('data', (chunk: Buffer) => {
      chunks.push(Buffer.from(chunk));
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      chunks.push(Buffer.from(chunk));
      client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the recorder has no TCP port');
  return {
    port: address.port,
    capture: () => Buffer.concat(chunks),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
