import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { BadInputError, type FieldProblem } from '../errors.js';
import { UNIX_SOCKET_PREFIX } from '../reader/tty-port.js';

/*
 * One serial device per lane. Two lanes on one device both open it and both report ready; then
 * each reader takes frames meant for the other, and payments fail with EDGEPAY_READER_LOST once
 * the retries run out, long after the node said it was fine.
 */

interface LanePort {
  readonly id: string;
  readonly port: string;
}

/** The file a lane's port names, as the node will open it (a Unix socket reader without its prefix). */
export function lanePortPath(port: string): string {
  return resolve(port.startsWith(UNIX_SOCKET_PREFIX) ? port.slice(UNIX_SOCKET_PREFIX.length) : port);
}

/** A lane's port as configured, its path resolved by `at` (relative to the configuration file); a `unix:` socket keeps its prefix. */
export function lanePortIn(port: string, at: (path: string) => string): string {
  return port.startsWith(UNIX_SOCKET_PREFIX) ? `${UNIX_SOCKET_PREFIX}${at(port.slice(UNIX_SOCKET_PREFIX.length))}` : at(port);
}

/** A lane whose port names the device of a lane before it. */
export interface SharedPort {
  /** The lane's index in `lanes` (its key path is lanes.<index>.port). */
  readonly index: number;
  readonly port: string;
  readonly message: string;
}

/**
 * Every lane whose port names the device of a lane before it. `deviceOf` says which device a port
 * is: its resolved path (the configuration's check) or the file it finally resolves to (at start,
 * where a /dev/serial/by-id link and its target are one device).
 */
export function sharedPorts(lanes: readonly LanePort[], deviceOf: (port: string) => string = lanePortPath): SharedPort[] {
  const firstOn = new Map<string, { readonly lane: LanePort; readonly index: number }>();
  const shared: SharedPort[] = [];
  lanes.forEach((lane, index) => {
    const device = deviceOf(lane.port);
    const first = firstOn.get(device);
    if (first === undefined) {
      firstOn.set(device, { lane, index });
      return;
    }
    // Two spellings of one device (a link, a ./ in the path) are named by what they both are.
    const named = lane.port === first.lane.port ? '' : ` (both are ${device})`;
    shared.push({
      index,
      port: lane.port,
      message: `lane ${JSON.stringify(lane.id)} is on the device of lane ${JSON.stringify(first.lane.id)} (lanes.${first.index}.port ${JSON.stringify(first.lane.port)})${named}: each lane needs a serial device of its own`,
    });
  });
  return shared;
}

/** The device a port is on: symlinks followed; a device not plugged in yet is its own path. */
export function laneDevice(port: string): string {
  const path = lanePortPath(port);
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** At start, before any reader opens its port: refuses two lanes on one device, however named. */
export function requireDistinctLaneDevices(lanes: readonly LanePort[]): void {
  const problems: FieldProblem[] = sharedPorts(lanes, laneDevice).map((shared) => ({ path: `lanes.${shared.index}.port`, message: shared.message, value: shared.port }));
  if (problems.length > 0) throw new BadInputError('node configuration', problems);
}
