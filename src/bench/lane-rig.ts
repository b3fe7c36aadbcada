import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { apiAuthHeaders } from '../api/client-auth.js';
import { startLaneNode } from './lane-node.js';
import { startPtyPair } from '../rigs/readers/pty-pair.js';
import { type ReaderSim, startReaderSim } from '../rigs/readers/reader-sim.js';
import { Closers } from '../rigs/closers.js';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { generateSealKeyPair } from '../card/seal.js';
import { createMemoryCredentials } from '../platform/memory-credentials.js';
import { readerKeyPairFromSeed } from '../reader/protocol/index.js';
import type { SecureReaderFiles } from '../rigs/readers/reader-sim.js';

export interface LaneRigOptions {
  /** A fresh directory for this rig alone. */
  readonly dir: string;
  readonly profile: string;
  readonly seed: number;
  readonly pace: boolean;
  /** A reader provisioned for secure sessions, its key pinned on the lane (reader protocol 1.1). */
  readonly secure?: boolean;
}

/** One checkout lane, wired as in a store: POS API → node → pty pair → simulated reader. */
export interface LaneRig {
  readonly laneId: string;
  /** http://127.0.0.1:<port> of the node's POS API. */
  readonly apiAddress: string;
  /** What every request to it carries: the node's bearer token. */
  readonly apiHeaders: Readonly<Record<string, string>>;
  readonly sim: ReaderSim;
  /** Stops the node, the simulator and socat, in that order, whatever state they are in. */
  close(): Promise<void>;
}

const LANE_ID = 'lane-1';
const READY_TIMEOUT_MS = 10_000;

export async function startLaneRig(options: LaneRigOptions): Promise<LaneRig> {
  const cleanups = new Closers();
  const close = async (): Promise<void> => {
    // Every step runs even when an earlier one fails: a leftover socat or simulator outlives the bench.
    await cleanups.close();
  };
  try {
    mkdirSync(options.dir, { recursive: true });
    const pty = await startPtyPair(options.dir);
    cleanups.push(() => pty.close());
    const secure = options.secure === true ? await secureReader(options.dir, cleanups) : undefined;
    const sim = await startReaderSim({ port: pty.readerPath, profile: options.profile, seed: options.seed, pace: options.pace, ...(secure === undefined ? {} : { secure: secure.files }) });
    cleanups.push(() => sim.stop());
    const node = await startLaneNode({ dir: join(options.dir, 'node'), laneId: LANE_ID, port: pty.nodePath, profile: options.profile, ...(secure === undefined ? {} : { secure: secure.node }) });
    cleanups.push(() => node.stop());
    const rig: LaneRig = { laneId: LANE_ID, apiAddress: node.apiAddress, apiHeaders: apiAuthHeaders(node.config.api), sim, close };
    await waitForReaderState(rig, 'ready', READY_TIMEOUT_MS);
    return rig;
  } catch (error) {
    await close();
    throw error;
  }
}

/** The keys a secure reader and its lane share; the reader's secrets in memory, as the node's token key is. */
async function secureReader(dir: string, cleanups: Closers): Promise<{ files: SecureReaderFiles; node: { tokenKey: Buffer; centrePublicKey: Uint8Array; readerPublicKey: string } }> {
  const tokenKey = randomBytes(32);
  const seed = randomBytes(32);
  const centre = await generateSealKeyPair();
  const credentials = createMemoryCredentials({ 'reader.seed': seed.toString('base64'), 'token.key': tokenKey.toString('base64') });
  cleanups.push(async () => credentials.remove());
  const centreKeyFile = join(dir, 'reader-centre.pub');
  writeFileSync(centreKeyFile, Buffer.from(centre.publicKey).toString('base64'));
  const readerPublicKey = Buffer.from(readerKeyPairFromSeed(seed).publicKey).toString('base64');
  return {
    files: { seedFile: join(credentials.directory, 'reader.seed'), tokenKeyFile: join(credentials.directory, 'token.key'), centreKeyFile, publicKey: readerPublicKey },
    node: { tokenKey, centrePublicKey: centre.publicKey, readerPublicKey },
  };
}

/** The lane's reader as the node sees it, through the POS API. */
export async function readerState(rig: LaneRig): Promise<string> {
  const response = await fetch(`${rig.apiAddress}/v1/lanes`, { headers: rig.apiHeaders });
  const body = (await response.json()) as { lanes?: { id: string; reader?: { state?: string } | null }[] };
  return body.lanes?.find((lane) => lane.id === rig.laneId)?.reader?.state ?? 'none';
}

export async function waitForReaderState(rig: LaneRig, state: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = await readerState(rig);
  while (last !== state) {
    if (performance.now() > deadline) {
      throw new Error(`the lane's reader stayed ${last} for ${timeoutMs} ms instead of becoming ${state}; ${rig.sim.describe()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
    last = await readerState(rig);
  }
}
