import type { Server } from 'node:http';
import { type AddressInfo, isIP } from 'node:net';
import { resolve } from 'node:path';
import { EdgepayError } from '../errors.js';
import type { ApiConfig } from '../config/node-config.js';
import { type PassedSocket, forgetPassedSockets, passedSocketNamed, passedSockets } from '../platform/passed-sockets.js';

/** The socket unit's FileDescriptorName= for the POS API (systemd/edgepay-node.socket). */
export const API_SOCKET_NAME = 'api';

/** The POS API's socket, when the service manager handed one to this process; the variables are then cleared. */
export function passedApiSocket(env: Record<string, string | undefined> = process.env, pid: number = process.pid): PassedSocket | undefined {
  const socket = passedSocketNamed(passedSockets(env, pid), API_SOCKET_NAME);
  forgetPassedSockets(env);
  return socket;
}

/**
 * Serves on the handed-over socket, and only if it is the one the configuration names: the socket
 * unit and node.yaml each say where the API is, and a POS configured from either must reach it.
 * Closing the server later closes this process's copy only; the service manager keeps the socket.
 */
export async function listenOnPassedSocket(server: Server, socket: PassedSocket, api: ApiConfig): Promise<void> {
  await new Promise<void>((resolveListen, reject) => {
    const failed = (error: Error): void => reject(unusable(socket, error));
    server.once('error', failed);
    try {
      server.listen({ fd: socket.fd }, () => {
        server.removeListener('error', failed);
        resolveListen();
      });
    } catch (error) {
      failed(error as Error);
    }
  });
  const mismatch = addressMismatch(server.address(), api);
  if (mismatch !== null) {
    await new Promise<void>((done) => server.close(() => done()));
    throw new EdgepayError(
      'EDGEPAY_API_SOCKET_MISMATCH',
      `the POS API socket handed over by the service manager ${mismatch}: make edgepay-node.socket's ListenStream= and api in the configuration name the same place (a drop-in in /etc/systemd/system/edgepay-node.socket.d/)`,
      {
        socket: socket.name ?? socket.fd,
      },
    );
  }
}

/** Why a listening address is not the configured API, or null when it is. */
export function addressMismatch(address: AddressInfo | string | null, api: ApiConfig): string | null {
  const where = describe(address);
  if ('socket' in api) {
    return typeof address === 'string' && resolve(address) === resolve(api.socket) ? null : `is ${where}, but api.socket is ${api.socket}`;
  }
  const configured = `${api.host}:${api.port}`;
  if (address === null || typeof address === 'string') return `is ${where}, but api is ${configured}`;
  const sameHost = isIP(api.host) === 0 ? isLoopback(address.address) : address.address === api.host;
  return sameHost && address.port === api.port ? null : `is ${where}, but api is ${configured}`;
}

function describe(address: AddressInfo | string | null): string {
  if (address === null) return 'not a listening socket';
  if (typeof address === 'string') return `the Unix socket ${address}`;
  return `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
}

function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.');
}

function unusable(socket: PassedSocket, cause: Error): EdgepayError {
  return new EdgepayError(
    'EDGEPAY_API_SOCKET_MISMATCH',
    `the POS API cannot serve on the socket the service manager handed over (fd ${socket.fd}${socket.name === null ? '' : `, ${socket.name}`}): ${cause.message}`,
    { socket: socket.name ?? socket.fd },
    { cause },
  );
}
