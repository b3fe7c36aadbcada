import type { Stats } from 'node:fs';
import { lstat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { EdgepayError } from '../errors.js';

/** How long a connection attempt may take before the socket counts as served (a stopped or busy process). */
const PROBE_TIMEOUT_MS = 1_000;

type Probe = 'refused' | 'gone' | 'answered';

/**
 * Makes a Unix socket path ready for the POS API to listen on. A node killed with SIGKILL (or by
 * power loss) leaves its socket file behind, and listen() then fails with EADDRINUSE on every
 * restart until someone deletes it. A socket nobody accepts connections on is such a leftover and
 * is removed; a socket some process answers on belongs to a running node and is refused, never
 * taken over; anything that is not a socket is the operator's file and is never deleted.
 */
export async function claimSocketPath(path: string): Promise<void> {
  let stats: Stats;
  try {
    stats = await lstat(path);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw cause;
  }
  if (!stats.isSocket()) {
    throw new EdgepayError(
      'EDGEPAY_API_SOCKET_NOT_A_SOCKET',
      `api.socket ${path} is ${describe(stats)}, not a socket: the POS API does not listen there and leaves it as it is; move it away or choose another api.socket`,
      { path },
    );
  }
  const probe = await probeSocket(path);
  if (probe === 'answered') {
    throw new EdgepayError('EDGEPAY_API_SOCKET_IN_USE', `api.socket ${path} is served by another process (another node on the same socket?); stop it or give this node another api.socket`, { path });
  }
  if (probe === 'refused') {
    await unlink(path).catch((cause: NodeJS.ErrnoException) => {
      if (cause.code !== 'ENOENT') throw cause;
    });
  }
}

/** Whether a process accepts connections on the socket; only a refusal proves nobody does. */
function probeSocket(path: string): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path });
    const settle = (outcome: Probe | Error): void => {
      clearTimeout(timer);
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    // Unknown is treated as served: deleting a live node's socket would cut its POS off unseen.
    const timer = setTimeout(() => settle('answered'), PROBE_TIMEOUT_MS);
    socket.once('connect', () => settle('answered'));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') settle('refused');
      else if (error.code === 'ENOENT') settle('gone');
      // A full backlog: a process listens, it is only slow to accept.
      else if (error.code === 'EAGAIN') settle('answered');
      else settle(error);
    });
  });
}

function describe(stats: Stats): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  return 'a special file';
}
