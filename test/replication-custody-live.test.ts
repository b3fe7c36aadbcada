import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Journal } from '../src/journal/index.js';
import { peersOf, provisionNodeKeys } from '../src/replication/provision.js';
import { Replicator } from '../src/replication/replicator.js';
import { startAedes } from './support/brokers.js';
import { eventually } from './support/pty.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir();
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const NODES = ['lane-1', 'lane-2', 'lane-3'];

describe('custody handover on a live broker', () => {
  it('exactly one live peer takes custody of a node that went silent, and none of a live one', async () => {
    const dir = tempDir();
    const users = Object.fromEntries(NODES.map((n) => [n, `pw-${n}`]));
    const broker = await startAedes(users);
    cleanups.push(() => broker.stop());
    const keys = provisionNodeKeys(join(dir, 'keys'), NODES);
    const replicators = new Map<string, Replicator>();
    for (const nodeId of NODES) {
      const nodeDir = join(dir, nodeId);
      const journal = Journal.open({ path: join(nodeDir, 'journal.db'), nodeId });
      cleanups.push(() => journal.close());
      writeFileSync(join(dir, `${nodeId}.pw`), users[nodeId]!);
      const replicator = Replicator.start({
        settings: {
          nodeId,
          dataDir: nodeDir,
          journalPath: join(nodeDir, 'journal.db'),
          fleet: 'f',
          store: 's',
          brokerUrl: broker.url,
          username: nodeId,
          passwordFile: join(dir, `${nodeId}.pw`),
          signingKeyFile: keys.find((k) => k.nodeId === nodeId)!.signingKeyFile,
          peers: peersOf(nodeId, keys),
          inflightWindow: 16,
        },
        // Live nodes repeat their status often, so only a stopped one goes silent.
        tuning: { reconnectPeriodMs: 100, statusMinIntervalMs: 50, statusHeartbeatMs: 100, repairTickMs: 50, custodyAfterMs: 800 },
      });
      cleanups.push(() => replicator.stop());
      replicators.set(nodeId, replicator);
    }
    await eventually(() => (replicators.get('lane-1')!.status().connected && replicators.get('lane-2')!.status().connected ? true : undefined), 5_000, 'connections');
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(NODES.flatMap((n) => replicators.get(n)!.status().custody)).toEqual([]);

    await replicators.get('lane-3')!.stop();
    const holders = await eventually(() => {
      const custody = ['lane-1', 'lane-2'].map((n) => [n, replicators.get(n)!.status().custody] as const);
      const taken = custody.filter(([, c]) => c.includes('lane-3'));
      return taken.length > 0 ? custody : undefined;
    }, 5_000, 'a custodian for lane-3');
    expect(holders.filter(([, c]) => c.length > 0)).toHaveLength(1);
    expect(holders.flatMap(([, c]) => c)).toEqual(['lane-3']);
  });
});
