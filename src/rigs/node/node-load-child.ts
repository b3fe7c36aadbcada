/**
 * A node process under load for the SIGTERM test: it runs the node exactly as `edgepay node run`
 * does (runNodeUntilSignal) and feeds it payments through the runtime until it stops. Every
 * durable decision is announced on stdout before anything else runs:
 *   READY
 *   ACK <seq> <idempotencyKey> <approved 0|1>
 *   REFUSED <idempotencyKey> <code>       (a payment the stopping node turned away)
 *   DONE <accepted> <answered>            (after the node stopped; accepted must equal answered)
 * Usage: node dist/rigs/node/node-load-child.js <configFile> [concurrency]
 */
import { writeSync } from 'node:fs';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { withLuhnDigit } from '../../card/luhn.js';
import { loadNodeConfig } from '../../config/node-config.js';
import { runNodeUntilSignal } from '../../app/run.js';
import type { NodeRuntime } from '../../app/runtime.js';

const [configFile, concurrencyArg] = process.argv.slice(2);
if (!configFile) {
  writeSync(2, 'usage: node-load-child.js <configFile> [concurrency]\n');
  process.exit(2);
}
const concurrency = Number(concurrencyArg ?? 16);
const config = loadNodeConfig(configFile);
const say = (line: string) => writeSync(1, `${line}\n`);

let accepted = 0;
let answered = 0;
let stopped = false;
const runId = process.pid.toString(36);

async function lane(runtime: NodeRuntime, laneNo: number): Promise<void> {
  for (let n = 0; !stopped; n++) {
    const key = `${runId}-${laneNo}-${n}`;
    const pan = withLuhnDigit(`4000${String(laneNo).padStart(3, '0')}${String(n % 1000).padStart(8, '0')}`);
    accepted++;
    try {
      const outcome = await runtime.pay({ idempotencyKey: key, amountMinor: 100 + (n % 4000), currency: 'EUR', card: { pan, expiryYymm: '2912' }, lane: `lane-${laneNo}` });
      answered++;
      if (outcome.entry) say(`ACK ${outcome.entry.seq} ${key} ${outcome.decision.approved ? 1 : 0}`);
    } catch (error) {
      answered++;
      const code = (error as { code?: string }).code ?? 'unknown';
      say(`REFUSED ${key} ${code}`);
      if (code === 'EDGEPAY_NODE_STOPPING') return;
    }
  }
}

const lanes: Promise<void>[] = [];
const result = await runNodeUntilSignal({
  config,
  registry: new Registry(),
  logger: pino({ level: 'silent' }),
  onReady: (runtime) => {
    say('READY');
    for (let i = 0; i < concurrency; i++) lanes.push(lane(runtime, i));
  },
});
stopped = true;
await Promise.all(lanes);
say(`DONE ${accepted} ${answered}`);
process.exitCode = result.exitCode;
