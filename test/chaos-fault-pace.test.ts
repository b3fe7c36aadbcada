import { describe, expect, it } from 'vitest';
import type { StoreNode } from '../src/rigs/store/store-node.js';
import { type ChaosTargets, FaultInjector, NODE_RESTART_DELAY_MS } from '../src/chaos/faults.js';
import { SeededRandom } from '../src/platform/random.js';

/*
 * The injector's pace and the killed node's restart delay, on stand-in boxes that record what was
 * done to them (the real processes are the chaos round's business: test/chaos-run.test.ts).
 */
function standInTargets(events: string[]): ChaosTargets {
  const node = {
    id: 'box-1',
    kill: async () => void events.push(`kill ${Date.now()}`),
    restart: async () => void events.push(`restart ${Date.now()}`),
  } as unknown as StoreNode;
  return { boxes: [{ node, gate: undefined as never, disk: undefined }], broker: undefined as never, database: undefined as never };
}

describe('the chaos fault injector', () => {
  it("with a pace, starts one fault every faultEveryMs, and starts a killed node again after systemd's delay", async () => {
    const events: string[] = [];
    const everyMs = 700;
    const injector = new FaultInjector(standInTargets(events), new SeededRandom(1), ['node-kill'], everyMs);
    injector.start();
    await new Promise((resolve) => setTimeout(resolve, everyMs * 4 + 300));
    await injector.stop();

    const starts = injector.records.map((r) => r.atMs);
    expect(starts.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < starts.length; i++) {
      expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(everyMs - 5);
      expect(starts[i]! - starts[i - 1]!).toBeLessThan(everyMs + 400);
    }
    for (const record of injector.records) {
      expect(record.heldMs).toBeGreaterThanOrEqual(NODE_RESTART_DELAY_MS - 5);
      expect(record.heldMs).toBeLessThan(NODE_RESTART_DELAY_MS + 400);
    }
    expect(events.filter((e) => e.startsWith('restart')).length).toBe(injector.records.length);
  });
});
