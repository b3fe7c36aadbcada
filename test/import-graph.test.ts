import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importCycles, importGraph } from './support/import-graph.js';
import { useTempDir } from './support/tmp.js';

/*
 * The source's imports run one way: no module reaches itself again through what it imports, type
 * imports included. Services get narrow ports (LaneRuntime, ObservedNode, NodeDoors), never the
 * node's runtime, which alone builds them.
 */
const tempDir = useTempDir('edgepay-imports-');

describe('the import graph of src/', () => {
  it('has no cycle', () => {
    const graph = importGraph(new URL('../src', import.meta.url).pathname);
    expect(graph.size).toBeGreaterThan(300);
    expect(importCycles(graph)).toEqual([]);
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
