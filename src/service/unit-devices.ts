import { realpathSync, statSync } from 'node:fs';
import { EdgepayError } from '../errors.js';
import { lanePortPath } from '../config/lane-ports.js';
import { UNIX_SOCKET_PREFIX } from '../reader/tty-port.js';

/*
 * edgepay-node.service has DevicePolicy=closed and no serial device of its own: it may open only
 * the card readers of this box's lanes. Their DeviceAllow= lines live in a drop-in made from
 * node.yaml, so the unit allows exactly the configured readers, not every ttyUSB/ttyACM (a modem, a
 * second POS's reader, a console cable). systemd takes a device node path (or a char-/block- class)
 * and stats it when the unit starts, following symlinks: a lane named by its stable udev link
 * (/dev/edgepay/lane-1, from devices/99-edgepay-readers.rules) is allowed as whatever node the
 * link points to at that start.
 */

/** Where the drop-in goes: systemd reads every *.conf in the unit's .d directory. */
export const NODE_DEVICES_DROP_IN = '/etc/systemd/system/edgepay-node.service.d/devices.conf';

/** One lane's reader as the drop-in allows it. */
export interface LaneDevice {
  readonly laneId: string;
  /** The path the lane's configuration names (a udev link, normally), written into DeviceAllow=. */
  readonly path: string;
  /** The device node it resolves to now, or undefined when it is not plugged in. */
  readonly node: string | undefined;
}

/** The lanes whose readers are devices under /dev (a simulator's Unix socket needs no device access). */
export function laneDevices(lanes: readonly { readonly id: string; readonly port: string }[]): LaneDevice[] {
  return lanes
    .filter((lane) => !lane.port.startsWith(UNIX_SOCKET_PREFIX))
    .map((lane) => {
      const path = lanePortPath(lane.port);
      if (!path.startsWith('/dev/')) {
        throw new EdgepayError('EDGEPAY_BAD_INPUT', `lane ${lane.id}: port ${lane.port} is not under /dev/; DeviceAllow= takes a device node path (or a udev link to one) under /dev/`, { lane: lane.id, port: lane.port });
      }
      return { laneId: lane.id, path, node: currentNode(path) };
    });
}

/** The drop-in's text: one DeviceAllow= per lane reader, read and write. */
export function devicesDropIn(devices: readonly LaneDevice[], configFile: string): string {
  const lines = [
    `# Made by \`edgepay node unit-devices --config ${configFile}\`: the card readers of this box's lanes.`,
    '# Make it again after changing the lanes, then `systemctl daemon-reload && systemctl restart edgepay-node`.',
    '# systemd resolves each path when the unit starts; a reader plugged in later under another node',
    '# number is reachable after the next restart.',
    '[Service]',
  ];
  for (const device of devices) {
    lines.push(`# lane ${device.laneId}${device.node === undefined ? ': not plugged in now' : device.node === device.path ? '' : `: now ${device.node}`}`);
    lines.push(`DeviceAllow=${device.path} rw`);
  }
  if (devices.length === 0) lines.push('# No lane has a serial reader: the unit allows no serial device.');
  return `${lines.join('\n')}\n`;
}

function currentNode(path: string): string | undefined {
  try {
    const node = realpathSync(path);
    if (!statSync(node).isCharacterDevice()) {
      throw new EdgepayError('EDGEPAY_BAD_INPUT', `${path} resolves to ${node}, which is not a character device`, { path, node });
    }
    return node;
  } catch (cause) {
    if (cause instanceof EdgepayError) throw cause;
    return undefined;
  }
}
