import type { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { replaceFileWhole } from '../platform/replace-file.js';
import { dirname } from 'node:path';
import { loadNodeConfig } from '../config/node-config.js';
import { NODE_DEVICES_DROP_IN, devicesDropIn, laneDevices } from '../service/unit-devices.js';

/** Adds `edgepay node unit-devices`: the systemd drop-in allowing exactly the configured lane readers. */
export function registerUnitDevicesCommand(node: Command): void {
  node
    .command('unit-devices')
    .description(`write the systemd drop-in allowing edgepay-node.service exactly the card readers of the configured lanes (DeviceAllow=, one per lane) to ${NODE_DEVICES_DROP_IN}`)
    .requiredOption('--config <file>', 'the node configuration (.yaml or .json)')
    .option('--out <file>', 'where to write the drop-in; - for standard output', NODE_DEVICES_DROP_IN)
    .action((opts: { config: string; out: string }) => {
      const config = loadNodeConfig(opts.config);
      const devices = laneDevices(config.lanes);
      const text = devicesDropIn(devices, opts.config);
      if (opts.out === '-') return void process.stdout.write(text);
      writeDropIn(opts.out, text);
      const unplugged = devices.filter((d) => d.node === undefined).map((d) => d.laneId);
      process.stdout.write(
        `wrote ${opts.out}: ${devices.length} reader(s)${unplugged.length > 0 ? ` (not plugged in now: ${unplugged.join(', ')})` : ''}; run \`systemctl daemon-reload && systemctl restart edgepay-node\`\n`,
      );
    });
}

/** A drop-in is read by systemd (root) only; 0644 like the unit it extends, replaced whole by a rename. */
function writeDropIn(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  replaceFileWhole(file, text, 0o644);
}
