import { EdgepayError } from '../errors.js';

/*
 * Sockets a service manager opened for this process and handed over at exec (socket activation,
 * sd_listen_fds(3)): LISTEN_PID names the process they are for, LISTEN_FDS how many there are
 * (from fd 3 on), LISTEN_FDNAMES their names (a socket unit's FileDescriptorName=). The manager
 * keeps its own copy of each, so the socket outlives the process: connections made while the
 * process is dead or starting wait in the socket's queue instead of being refused.
 *
 * Written here rather than taken from a package: the protocol is three environment variables, and
 * the packages that read them are native addons or unmaintained; this one is pure and tested.
 */

/** The first handed-over descriptor (SD_LISTEN_FDS_START). */
export const FIRST_PASSED_FD = 3;
const VARIABLES = ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES'] as const;
/** Far above any socket unit's count; a larger one is a typo, not a socket set. */
const MAX_PASSED_FDS = 64;

export interface PassedSocket {
  readonly fd: number;
  /** Its FileDescriptorName= (the socket unit's name when it sets none); null when no names were passed. */
  readonly name: string | null;
}

type Environment = Record<string, string | undefined>;

/**
 * The sockets handed to process `pid`: none when LISTEN_PID is unset or names another process (a
 * variable inherited from a parent that was activated, not us). Throws EDGEPAY_BAD_INPUT, naming
 * the variable and its value, when they are meant for us but malformed.
 */
export function passedSockets(env: Environment, pid: number): readonly PassedSocket[] {
  const forPid = env.LISTEN_PID;
  if (forPid === undefined || forPid !== String(pid)) return [];
  const countText = env.LISTEN_FDS;
  const count = countText !== undefined && /^[1-9][0-9]*$/.test(countText) ? Number(countText) : Number.NaN;
  if (!(count >= 1 && count <= MAX_PASSED_FDS)) {
    throw badVariable('LISTEN_FDS', countText, `must be a whole number from 1 to ${MAX_PASSED_FDS} when LISTEN_PID names this process`);
  }
  const namesText = env.LISTEN_FDNAMES;
  const names = namesText === undefined ? undefined : namesText.split(':');
  if (names !== undefined && names.length !== count) {
    throw badVariable('LISTEN_FDNAMES', namesText, `must name each of the ${count} sockets of LISTEN_FDS, separated by ":"`);
  }
  return Array.from({ length: count }, (_, i) => ({ fd: FIRST_PASSED_FD + i, name: names?.[i] ?? null }));
}

/**
 * The socket named `name`, or the only one when just one was handed over (a socket unit without
 * FileDescriptorName= passes its own unit name). Several sockets and none named `name` is refused:
 * guessing would serve the API on a socket meant for something else.
 */
export function passedSocketNamed(sockets: readonly PassedSocket[], name: string): PassedSocket | undefined {
  if (sockets.length === 0) return undefined;
  const named = sockets.find((socket) => socket.name === name);
  if (named !== undefined) return named;
  if (sockets.length === 1) return sockets[0];
  throw badVariable('LISTEN_FDNAMES', sockets.map((s) => s.name ?? '').join(':'), `names ${sockets.length} sockets and none of them "${name}": set FileDescriptorName=${name} on the socket meant for it`);
}

/** Takes the handed-over sockets out of the environment, so no process this one starts believes they are its own. */
export function forgetPassedSockets(env: Environment): void {
  for (const variable of VARIABLES) delete env[variable];
}

function badVariable(variable: string, value: string | undefined, allowed: string): EdgepayError {
  return new EdgepayError('EDGEPAY_BAD_INPUT', `${variable}=${value ?? '(unset)'}: ${allowed}`, { field: variable, value: value ?? null });
}
