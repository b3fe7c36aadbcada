import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { folderGraph, importCycles, importGraph } from './support/import-graph.js';
import { useTempDir } from './support/tmp.js';

/*
 * The source's imports run one way: no module reaches itself again through what it imports, type
 * imports included, and neither does a folder, so the folders stack up from the journal and the
 * wire to the composition root (src/app/), which alone knows every part. Services get narrow ports
 * (LaneRuntime, ObservedNode, ApiServiceContext, ObservabilityServiceContext), never the node's
 * runtime, which alone builds them; the actors' thread modules live in the root, so no domain
 * folder imports another's actor.
 */
const SRC = new URL('../src', import.meta.url).pathname;
/** The command line and the rigs that start whole nodes; no capability of the node is among them. */
const ENTRY_FOLDERS = ['bench', 'chaos', 'cli', 'demo', 'rigs', 'sim'];
const tempDir = useTempDir('edgepay-imports-');

describe('the import graph of src/', () => {
  it('has no cycle', () => {
    const graph = importGraph(SRC);
    expect(graph.size).toBeGreaterThan(300);
    expect(importCycles(graph)).toEqual([]);
  });

  it('has no cycle between folders', () => {
    const folders = folderGraph(importGraph(SRC));
    expect(folders.get('app')).toEqual(expect.arrayContaining(['api', 'lanes', 'node', 'observability', 'reconcile', 'replication']));
    expect(importCycles(folders)).toEqual([]);
  });

  it('has only the command line and the rigs import the composition root', () => {
    const importers = [...folderGraph(importGraph(SRC))].filter(([, targets]) => targets.includes('app')).map(([folder]) => folder);
    expect(importers.length).toBeGreaterThan(0);
    expect(importers.filter((folder) => !ENTRY_FOLDERS.includes(folder))).toEqual([]);
  });

  it('sees a cycle between two folders whose modules form none', () => {
    const root = tempDir();
    for (const folder of ['lanes', 'node', 'app']) mkdirSync(join(root, folder));
    writeFileSync(join(root, 'lanes', 'lane.ts'), "import type { Call } from '../node/call.js';\nexport type Lane = Call;\n");
    writeFileSync(join(root, 'node', 'call.ts'), 'export type Call = () => void;\n');
    writeFileSync(join(root, 'node', 'runtime.ts'), "import type { Lane } from '../lanes/lane.js';\nexport type Runtime = Lane;\n");
    const graph = importGraph(root);
    expect(importCycles(graph)).toEqual([]);
    expect(importCycles(folderGraph(graph))).toEqual([['lanes', 'node']]);
    writeFileSync(join(root, 'app', 'runtime.ts'), "import type { Lane } from '../lanes/lane.js';\nexport type Runtime = Lane;\n");
    writeFileSync(join(root, 'node', 'runtime.ts'), 'export {};\n');
    expect(importCycles(folderGraph(importGraph(root)))).toEqual([]);
  });

  it('finds a cycle through a type import and a re-export, and none in a straight line', () => {
    const root = tempDir();
    mkdirSync(join(root, 'a'));
    writeFileSync(join(root, 'a', 'one.ts'), "import type { Two } from '../two.js';\nexport const one = 1;\n");
    writeFileSync(join(root, 'two.ts'), "export { three } from './three.js';\nexport type Two = 2;\n");
    writeFileSync(join(root, 'three.ts'), "import { one } from './a/one.js';\nexport const three = one + 2;\n");
    writeFileSync(join(root, 'four.ts'), "import { three } from './three.js';\nexport const four = three + 1;\n");
    expect(importCycles(importGraph(root))).toEqual([['a/one.ts', 'three.ts', 'two.ts']]);
    writeFileSync(join(root, 'three.ts'), 'export const three = 3;\n');
    expect(importCycles(importGraph(root))).toEqual([]);
  });
});
