import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

/** Relative imports and re-exports, type-only ones included: a cycle of types still ties the modules' meaning together. */
const SPECIFIER = /^(?:import|export)\s[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/gm;

/** Every .ts module under `root` with the modules under `root` it imports, by path relative to `root`. */
export function importGraph(root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) {
        const source = readFileSync(path, 'utf8');
        const targets = [...source.matchAll(SPECIFIER)].map((m) => relative(root, normalize(join(dirname(path), (m[1] ?? m[2])!)).replace(/\.js$/, '.ts')));
        graph.set(relative(root, path), [...new Set(targets)]);
      }
    }
  };
  walk(root);
  return graph;
}

/** The strongly connected components with more than one module (Tarjan): each is an import cycle. */
export function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      for (;;) {
        const w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
        if (w === v) break;
      }
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

/**
 * The same imports between top-level folders of `root` (a module directly under `root` stands for
 * itself): an edge a -> b when some module in a imports one in b. Imports inside a folder are left out.
 */
export function folderGraph(graph: ReadonlyMap<string, readonly string[]>): Map<string, string[]> {
  const folderOf = (module: string): string => module.split('/')[0]!;
  const folders = new Map<string, Set<string>>();
  for (const module of graph.keys()) folders.set(folderOf(module), folders.get(folderOf(module)) ?? new Set());
  for (const [module, targets] of graph) {
    for (const target of targets) {
      if (graph.has(target) && folderOf(target) !== folderOf(module)) folders.get(folderOf(module))!.add(folderOf(target));
    }
  }
  return new Map([...folders].map(([folder, targets]) => [folder, [...targets].sort()]));
}
