import type { NodeConfig } from '../config/node-config.js';
import { requireNodeJournal } from './journal-presence.js';
import { requireDistinctLaneDevices } from '../config/lane-ports.js';

/**
 * What must hold before any part of a node starts: its own journal is there, and no two lanes
 * share a serial device. Runs before the first file is created in the data directory and before
 * any reader opens a port, so a refused start leaves everything as it found it.
 */
export function preflightNode(config: NodeConfig): void {
  requireNodeJournal(config);
  requireDistinctLaneDevices(config.lanes);
}
