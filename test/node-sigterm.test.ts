import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Journal, verifyChain } from '../src/journal/index.js';
import { journalPathOf } from '../src/config/node-config.js';
import { newNodeConfigIn } from './support/node.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir();
const CHILD = fileURLToPath(new URL('../dist/rigs/node/node-load-child.js', import.meta.url));

describe('edgepay node: SIGTERM under load', () => {
  it('stops taking payments, answers every one in flight, closes the journal cleanly and exits 0', async () => {
    expect(existsSync(CHILD), `${CHILD} is missing: run npm run build`).toBe(true);
    const dir = tempDir();
    const config = await newNodeConfigIn(dir);
    const configFile = join(dir, 'node.json');
    writeFileSync(configFile, JSON.stringify({ nodeId: config.nodeId, dataDir: config.dataDir, keys: config.keys, log: { level: 'silent' } }));
    const child = spawn(process.execPath, [CHILD, configFile, '16'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acks = new Map<string, number>();
    let done: [number, number] | undefined;
    let stderr = '';
    let buffered = '';
    let signalled = false;
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const [kind, a, b] = line.split(' ');
        if (kind === 'ACK') acks.set(b!, Number(a));
        if (kind === 'DONE') done = [Number(a), Number(b)];
      }
      if (!signalled && acks.size >= 300) {
        signalled = true;
        child.kill('SIGTERM');
      }
    });
    const exitCode = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    expect(signalled, `child never reached 300 decisions; stderr: ${stderr}`).toBe(true);
    expect(exitCode, stderr).toBe(0);
    expect(done).toBeDefined();
    expect(done![0]).toBe(done![1]);
    const path = journalPathOf(config);
    expect(existsSync(`${path}-wal`), 'the journal was closed cleanly: no WAL left behind').toBe(false);
    const journal = Journal.open({ path, nodeId: config.nodeId });
    expect(verifyChain(journal.connection(), { nodeId: config.nodeId }).ok).toBe(true);
    for (const [key, seq] of acks) expect(journal.findByIdempotencyKey(key)?.seq, key).toBe(seq);
    journal.close();
  });
});
