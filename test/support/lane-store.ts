import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { apiAuthHeaders } from '../../src/api/client-auth.js';
import { defaultRulesConfig } from '../../src/authorize/index.js';
import { JournalReader } from '../../src/journal/journal-reader.js';
import type { JournalEntry } from '../../src/journal/entry.js';
import { type NodeConfig, journalPathOf } from '../../src/config/node-config.js';
import { NodeRuntime } from '../../src/app/runtime.js';
import { LOOPBACK_API, newNodeConfigIn } from './node.js';
import { type PtyPair, type SimulatorProcess, eventually, startPtyPair, startSimulator } from './pty.js';

/** One lane of the store under test: its reader firmware on a real pty pair, in a process of its own. */
export interface TestLane {
  readonly id: string;
  readonly pty: PtyPair;
  simulator(): SimulatorProcess;
  /** Plugs the reader back in, running `script` from its start. */
  replug(script: string): Promise<void>;
}

export interface ApiAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly json: Record<string, any>;
}

/**
 * A node whose lanes each have the simulated reader on a real pty pair, and its POS API on
 * loopback; the node can be restarted on the same data directory while the readers keep running.
 */
export interface LaneStore {
  readonly config: NodeConfig;
  readonly lanes: readonly TestLane[];
  node(): NodeRuntime;
  call(method: string, path: string, body?: unknown): Promise<ApiAnswer>;
  /** Stops the node as SIGTERM does and starts it again on the same files. */
  restart(): Promise<void>;
  /** Every journal entry under an idempotency key (the journal's own rows, read apart from the node). */
  journalEntries(idempotencyKey: string): JournalEntry[];
  close(): Promise<void>;
}

/** Results the simulated reader showed, as it printed them: "txn N: showing APPROVED (Y3)". */
export function displaysOf(lane: TestLane): string[] {
  return lane
    .simulator()
    .stderr()
    .split('\n')
    .filter((line) => /txn \d+: showing (APPROVED|DECLINED)/.test(line));
}

/** Transactions the node started on the reader: "txn N: START_TXN ...". */
export function transactionsOf(lane: TestLane): string[] {
  return lane
    .simulator()
    .stderr()
    .split('\n')
    .filter((line) => /txn \d+: START_TXN /.test(line));
}

export async function startLaneStore(dir: string, laneCount: number, cards: string | ((lane: number) => string)): Promise<LaneStore> {
  const lanes: TestLane[] = [];
  const stops: (() => Promise<unknown>)[] = [];
  for (let i = 0; i < laneCount; i++) {
    const laneDir = join(dir, `lane-${i + 1}`);
    mkdirSync(laneDir);
    const pty = await startPtyPair(laneDir);
    const script = typeof cards === 'string' ? cards : cards(i);
    const start = (s: string): SimulatorProcess => startSimulator(['reader', 'simulate', '--port', pty.readerPath, '--profile', 'edgepay-sim', '--cards', s, '--seed', String(11 + i)]);
    let sim = start(script);
    stops.push(
      () => sim.stop(),
      () => pty.kill(),
    );
    lanes.push({
      id: `lane-${i + 1}`,
      pty,
      simulator: () => sim,
      replug: async (s: string) => {
        await pty.restart();
        sim = start(s);
      },
    });
  }
  const rules = defaultRulesConfig();
  writeFileSync(join(dir, 'rules.json'), JSON.stringify(rules));
  const config = await newNodeConfigIn(dir, {
    rulesFile: 'rules.json',
    api: LOOPBACK_API,
    lanes: lanes.map((lane) => ({ id: lane.id, port: lane.pty.nodePath, profile: 'edgepay-sim' })),
  });
  let node = await NodeRuntime.start({ config, registry: new Registry() });
  const auth = apiAuthHeaders(config.api);
  const call = async (method: string, path: string, body?: unknown): Promise<ApiAnswer> => {
    const response = await fetch(`${node.apiAddress}${path}`, {
      method,
      ...(body === undefined ? { headers: auth } : { headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return { status: response.status, headers: response.headers, json: (await response.json()) as Record<string, any> };
  };
  const readersReady = async () => {
    for (const lane of lanes) {
      await eventually(
        async () => {
          const info = (await call('GET', '/v1/lanes')).json.lanes.find((l: { id: string }) => l.id === lane.id);
          return info?.reader?.state === 'ready' ? true : undefined;
        },
        10_000,
        `the reader of ${lane.id} to be ready`,
      );
    }
  };
  await readersReady();
  const reader = new JournalReader(journalPathOf(config), config.nodeId);
  return {
    config,
    lanes,
    node: () => node,
    call,
    restart: async () => {
      await node.stop();
      node = await NodeRuntime.start({ config, registry: new Registry() });
      await readersReady();
    },
    journalEntries: (key) => reader.read(1, 1_000_000).filter((entry) => entry.idempotencyKey === key),
    close: async () => {
      reader.close();
      await node.stop().catch(() => undefined);
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
    },
  };
}
