import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadReaderProfile } from '../src/reader/profile.js';
import { startLoneBox } from './support/lone-box.js';
import { useTempDir } from './support/tmp.js';

/*
 * A node killed and started again while its reader stays plugged in, as systemd restarts a node on
 * a box: the reader's port never closed, so it still holds the SEQ of the last frame the dead node
 * sent. The new node must not lose a HELLO answer window to it on any restart.
 */

const tempDir = useTempDir('edgepay-reader-restart-');
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('a reader that stays plugged in while its node restarts', () => {
  it('is ready on the first HELLO of every start, whatever SEQ it last accepted', async () => {
    const dir = tempDir();
    const node = await startLoneBox(dir, 3);
    cleanups.push(() => node.stop());
    // Starts without a payment leave the reader's last accepted SEQ at 0, the SEQ a new link starts from.
    for (let restart = 0; restart < 4; restart++) {
      await node.kill();
      await node.restart();
    }
    const records = readFileSync(join(dir, 'node.stdout'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { time: number; msg: string });
    const opened = records.filter((r) => r.msg === 'serial port open, asking the reader for HELLO');
    const ready = records.filter((r) => r.msg === 'reader ready');
    expect(opened).toHaveLength(5);
    expect(ready).toHaveLength(5);
    // A second HELLO would come only after the first one's ACK budget and answer window.
    const { ackMs, retransmissions } = loadReaderProfile('edgepay-sim').timeouts;
    const answerWindowMs = ackMs * (retransmissions + 1);
    for (let i = 0; i < 5; i++) expect(ready[i]!.time - opened[i]!.time, `start ${i}`).toBeLessThan(answerWindowMs);
  }, 60_000);
});
