import { createSocket, type UnixDgramSocket } from 'unix-dgram';

/**
 * The systemd notify protocol (sd_notify(3)): newline-separated KEY=VALUE datagrams to the socket
 * in NOTIFY_SOCKET. Node has no datagram Unix sockets of its own; `unix-dgram` adds them with a
 * small native module that builds with node-gyp alone, where `sd-notify` links libsystemd and so
 * needs libsystemd-dev on every box it is installed on. Outside systemd (no NOTIFY_SOCKET) every
 * call is a no-op.
 */
export interface ServiceNotifier {
  /** Half of WatchdogSec when the unit has a watchdog for this process, else undefined. */
  readonly watchdogIntervalMs: number | undefined;
  ready(status: string): void;
  status(text: string): void;
  stopping(status: string): void;
  watchdog(): void;
  close(): void;
}

export function notifierFromEnv(env: NodeJS.ProcessEnv = process.env, pid = process.pid): ServiceNotifier {
  const target = env.NOTIFY_SOCKET;
  const watchdogUsec = Number(env.WATCHDOG_USEC);
  const watchdogPid = env.WATCHDOG_PID;
  // A watchdog meant for another process (WATCHDOG_PID set to someone else) is not ours to feed.
  const ours = watchdogPid === undefined || Number(watchdogPid) === pid;
  const watchdogIntervalMs = Number.isFinite(watchdogUsec) && watchdogUsec > 0 && ours ? Math.max(1, Math.floor(watchdogUsec / 2_000)) : undefined;
  if (target === undefined || target === '') return { watchdogIntervalMs, ready() {}, status() {}, stopping() {}, watchdog() {}, close() {} };
  // An abstract socket ('@name') is addressed with a leading NUL.
  const path = target.startsWith('@') ? `\0${target.slice(1)}` : target;
  let socket: UnixDgramSocket | undefined = createSocket('unix_dgram');
  // A notification that cannot be delivered must never take the service down with it.
  socket.on('error', () => undefined);
  const send = (fields: Record<string, string>): void => {
    if (socket === undefined) return;
    const message = Buffer.from(
      Object.entries(fields)
        .map(([key, value]) => `${key}=${value.replace(/\n/g, ' ')}`)
        .join('\n'),
      'utf8',
    );
    socket.send(message, 0, message.length, path, () => undefined);
  };
  return {
    watchdogIntervalMs,
    ready: (status) => send({ READY: '1', STATUS: status, MAINPID: String(pid) }),
    status: (text) => send({ STATUS: text }),
    stopping: (status) => send({ STOPPING: '1', STATUS: status }),
    watchdog: () => send({ WATCHDOG: '1' }),
    close: () => {
      socket?.close();
      socket = undefined;
    },
  };
}
