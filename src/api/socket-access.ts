import { chmod } from 'node:fs/promises';
import { isMainThread } from 'node:worker_threads';

/**
 * Who may connect to the POS API's Unix socket: the node's user and its group, never others. The
 * socket asks no token, so its mode is the API's authentication: the POS is given the group.
 * Connecting needs write permission on the socket, so this is exact whatever the umask was.
 */
export const API_SOCKET_MODE = 0o660;

/**
 * Runs `listen` (which binds the socket) and then sets the socket's mode. bind() creates the
 * socket with the process umask, which may leave it open to all until the chmod; the umask is
 * narrowed to the owner meanwhile, so the socket is never connectable by others. Only narrowed
 * (never widened), and back right after: anything else the process creates in that instant only
 * gets tighter permissions. A worker thread cannot change the umask; there the chmod alone acts.
 */
export async function listenWithSocketMode(path: string, listen: () => Promise<unknown>): Promise<void> {
  let restore: number | undefined;
  if (isMainThread) {
    restore = process.umask(0o777);
    process.umask(restore | 0o077);
  }
  try {
    await listen();
  } finally {
    if (restore !== undefined) process.umask(restore);
  }
  await chmod(path, API_SOCKET_MODE);
}
