import { type ChildProcess, type IOType, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { getSystemErrorName } from 'node:util';

/*
 * A socket held the way systemd holds a socket unit's (edgepay-node.socket), for rigs that start
 * node processes themselves: this process keeps the socket and hands a copy to each node it starts
 * (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES, fd 3), so connections made while that node is dead or
 * starting wait in the socket's queue. This process never accepts on it.
 *
 * Node's public API has no socket that listens without accepting, so the socket is made with the
 * TCP binding underneath net: bound here, and made to listen by a short-lived helper process that
 * exits before its event loop could accept anything. It listens from then on, for as long as this
 * process holds it, as systemd's socket does from boot.
 */

/** Run with the socket as fd 3: listen(2) on it and exit in the same turn, before libuv polls (and would accept). */
const LISTEN_AND_EXIT = "const { TCP, constants } = process.binding('tcp_wrap'); const h = new TCP(constants.SERVER); const status = h.open(3) || h.listen(511); process.exit(status === 0 ? 0 : 1);";

interface TcpHandle {
  bind(address: string, port: number): number;
  readonly fd: number;
  close(): void;
}
interface TcpBinding {
  readonly TCP: new (type: number) => TcpHandle;
  readonly constants: { readonly SERVER: number };
}

export class HeldSocket {
  private handle: TcpHandle | undefined;

  private constructor(
    readonly host: string,
    readonly port: number,
    handle: TcpHandle,
  ) {
    this.handle = handle;
  }

  /** Binds host:port (IPv4) and listens; throws with the system's error name (EADDRINUSE, …) when it cannot. */
  static bind(host: string, port: number): HeldSocket {
    const { TCP, constants } = (process as unknown as { binding(name: 'tcp_wrap'): TcpBinding }).binding('tcp_wrap');
    const handle = new TCP(constants.SERVER);
    const status = handle.bind(host, port);
    if (status !== 0) {
      handle.close();
      throw new Error(`cannot hold ${host}:${port}: ${getSystemErrorName(status)}`);
    }
    const listening = spawnSync(process.execPath, ['-e', LISTEN_AND_EXIT], { stdio: ['ignore', 'ignore', 'pipe', handle.fd], encoding: 'utf8' });
    if (listening.status !== 0) {
      handle.close();
      throw new Error(`cannot listen on ${host}:${port}: ${listening.stderr || `exit ${String(listening.status)}`}`);
    }
    return new HeldSocket(host, port, handle);
  }

  get held(): boolean {
    return this.handle !== undefined;
  }

  /** The descriptor to hand over; throws once released. */
  get fd(): number {
    if (this.handle === undefined) throw new Error(`the socket on ${this.host}:${this.port} was released`);
    return this.handle.fd;
  }

  /** Lets the socket go, as a box losing power does: connections are refused until it is bound again. */
  release(): void {
    const handle = this.handle;
    this.handle = undefined;
    if (handle === undefined) return;
    handle.close();
  }
}

/**
 * Starts `command args` with `socket` handed over as systemd hands a socket unit's: as fd 3, named
 * `name`, for the process's own pid. The pid is only known after the fork, so a shell sets
 * LISTEN_PID to its own pid and replaces itself with the command (exec keeps the pid).
 */
export function spawnWithSocket(command: string, args: readonly string[], socket: HeldSocket, name: string, options: Omit<SpawnOptions, 'stdio'> & { stdio: readonly [IOType, IOType, IOType] }): ChildProcess {
  const env = { ...(options.env ?? process.env), LISTEN_FDS: '1', LISTEN_FDNAMES: name };
  return spawn('/bin/sh', ['-c', 'LISTEN_PID=$$ exec "$0" "$@"', command, ...args], { ...options, env, stdio: [...options.stdio, socket.fd] });
}
