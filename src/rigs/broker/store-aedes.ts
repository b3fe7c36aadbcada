import { type Server, type Socket, createServer } from 'node:net';
import { Aedes } from 'aedes';
import { parseAcl } from './acl-rules.js';

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
 * credentials and the store's ACL (`aclText`, written by renderShippedStoreAcl), so both brokers
 * allow and refuse the same topics. The server is created, not listening: the caller chooses the port.
 */
export async function createStoreAedes(users: BrokerUsers, aclText: string): Promise<StoreAedes> {
  const acl = parseAcl(aclText);
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
  // Mosquitto 2.0's acl_file grants every subscription and checks read access per message it
  // delivers (retained ones included): the same here, so a `$share/...` or wide filter behaves alike.
  broker.authorizeSubscribe = (client, sub, done) => {
    done(null, names.get(client) !== undefined ? sub : null);
  };
  broker.authorizeForward = (client, packet) => {
    const user = names.get(client);
    return user !== undefined && acl.allows(user, 'read', packet.topic) ? packet : null;
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
