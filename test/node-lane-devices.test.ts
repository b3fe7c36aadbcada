import { readdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeRuntime } from '../src/app/runtime.js';
import { runCli } from './support/cli.js';
import { newNodeConfigIn } from './support/node.js';
import { nodeConfigFile } from './support/node-process.js';
import { type PtyPair, startPtyPair } from './support/pty.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-lanes-');
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function ptyPair(dir: string): Promise<PtyPair> {
  const pty = await startPtyPair(dir);
  cleanups.push(() => pty.kill());
  return pty;
}

describe('one serial device per lane, at start', () => {
  it("refuses a lane whose port is a link to another lane's device (as /dev/serial/by-id is), before any reader opens it", async () => {
    const dir = tempDir();
    const pty = await ptyPair(dir);
    // socat's link is to the pty device, as a by-id link is to /dev/ttyUSB0: two names, one device.
    const device = realpathSync(pty.nodePath);
    const config = await newNodeConfigIn(dir, {
      lanes: [
        { id: 'lane-1', port: device, profile: 'edgepay-sim' },
        { id: 'lane-2', port: pty.nodePath, profile: 'edgepay-sim' },
      ],
    });
    await expect(NodeRuntime.start({ config, registry: new Registry() })).rejects.toMatchObject({
      code: 'EDGEPAY_BAD_INPUT',
      problems: [
        {
          path: 'lanes.1.port',
          value: pty.nodePath,
          message: `lane "lane-2" is on the device of lane "lane-1" (lanes.0.port ${JSON.stringify(device)}) (both are ${device}): each lane needs a serial device of its own`,
        },
      ],
    });
    // Refused before the tree: nothing but the journal init made, and its lock file, is in the data directory.
    expect(readdirSync(config.dataDir).sort()).toEqual(['journal.db', 'journal.db.lock']);
  });

  it('node run and check-config refuse it with exit 2, the problem on its own line', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ttyUSB0'), '');
    symlinkSync(join(dir, 'ttyUSB0'), join(dir, 'usb-reader-if00'));
    const file = await nodeConfigFile(dir, {
      lanes: [
        { id: 'lane-1', port: join(dir, 'ttyUSB0'), profile: 'edgepay-sim' },
        { id: 'lane-2', port: join(dir, 'usb-reader-if00'), profile: 'edgepay-sim' },
      ],
    });
    expect(runCli(['node', 'init', '--config', file]).status).toBe(0);
    const line = `\n  lanes.1.port: lane "lane-2" is on the device of lane "lane-1" (lanes.0.port ${JSON.stringify(join(dir, 'ttyUSB0'))}) (both are ${join(dir, 'ttyUSB0')}): each lane needs a serial device of its own (got ${JSON.stringify(join(dir, 'usb-reader-if00'))})\n`;
    for (const args of [
      ['node', 'run', '--config', file],
      ['node', 'check-config', file],
    ]) {
      const result = runCli(args);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(line);
    }
    expect(readdirSync(join(dir, 'data')).sort()).toEqual(['journal.db', 'journal.db.lock']);
  });
});
