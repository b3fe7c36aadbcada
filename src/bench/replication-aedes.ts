import { readFileSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { Aedes } from 'aedes';
import { parseAcl } from './replication-acl.js';

/** username → password */
export type BrokerUsers = Readonly<Record<string, string>>;

export interface StoreAedes {
  readonly broker: Aedes;
  readonly server: Server;
  /** Open client connections, so a test can cut them all at once. */
  readonly sockets: Set<Socket>;
}

/**
 * An embedded aedes broker that behaves like the shipped Mosquitto store broker: per-node
 * credentials and the ACL of `aclFile`, so both brokers allow and refuse the same topics. The
 * server is created, not listening: the caller chooses the port.
 */
export async function createStoreAedes(users: BrokerUsers, aclFile: string | URL): Promise<StoreAedes> {
  const acl = parseAcl(readFileSync(aclFile, 'utf8'));
  const broker = await Aedes.createBroker({ drainTimeout: 5_000 });
  const names = new WeakMap<object, string>();
  broker.authenticate = (client, username, password, done) => {
    const ok = username !== undefined && users[username] !== undefined && password?.toString() === users[username];
    if (ok) names.set(client, username);
    done(null, ok);
  };
  broker.authorizePublish = (client, packet, done) => {
    const user = client ? names.get(client) : undefined;
    done(user === undefined || acl.allows(user, 'write', packet.topic) ? null : new Error(`${user} may not write ${packet.topic}`));
  };
  broker.authorizeSubscribe = (client, sub, done) => {
    const user = names.get(client);
    done(null, user !== undefined && acl.allows(user, 'read', sub.topic) ? sub : null);
  };
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    // Replication sends small packets both ways: without this, Nagle and delayed ACKs add tens of ms.
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  return { broker, server, sockets };
}
