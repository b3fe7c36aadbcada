import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/*
 * Where the program's files are. It runs in three shapes: from source under the test runner
 * (src/), compiled (dist/, what the tests, benchmarks and rigs run) and bundled (bundle/, what a
 * store box runs: a hundred files instead of over a thousand, so a restarted node loads faster). The folders
 * nest differently in each, so nothing here counts `../` from a module's own place.
 */

/**
 * `true` in bundle/, where the bundler (scripts/bundle.mjs) defines it; undeclared in src/ and
 * dist/. Bundled code starts bundled worker threads, everything else compiled ones.
 */
declare const EDGEPAY_BUNDLED: boolean | undefined;
export const RUNS_BUNDLED: boolean = typeof EDGEPAY_BUNDLED === 'boolean' && EDGEPAY_BUNDLED;

const PACKAGE_ROOT = findPackageRoot(new URL('./', import.meta.url));

/** The nearest folder above `start` whose package.json is edgepay's. */
function findPackageRoot(start: URL): URL {
  for (let dir = start; ; dir = new URL('../', dir)) {
    const manifest = new URL('package.json', dir);
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'edgepay') return dir;
    if (new URL('../', dir).href === dir.href) throw new Error(`no edgepay package.json above ${fileURLToPath(start)}: the program's files are not where it was installed`);
  }
}

/**
 * The runnable file of a worker entry point, e.g. `card/capture-worker` → dist/card/capture-worker.js
 * (bundle/card/capture-worker.js when this code is bundled). Worker threads load plain JavaScript,
 * so they run from dist/ also when the code starting them runs from source under the test runner.
 * Not checked: see compiledModuleUrl.
 */
export function distModuleUrl(name: string): URL {
  return new URL(`${RUNS_BUNDLED ? 'bundle' : 'dist'}/${name.replace(/^\/+/, '').replace(/\.(js|ts)$/, '')}.js`, PACKAGE_ROOT);
}

/** distModuleUrl, checked to exist, with the fix in the message. */
export function compiledModuleUrl(name: string): URL {
  const url = distModuleUrl(name);
  if (!existsSync(url)) throw new Error(`worker module ${fileURLToPath(url)} is missing: run \`npm run build\` first`);
  return url;
}

/**
 * The command line as a store box runs it (bundle/cli/main.js): what the rigs and the tests start
 * a node process with, so they measure and test the program that ships. It has no rig commands.
 */
export function storeProgramPath(): string {
  const path = fileURLToPath(new URL('bundle/cli/main.js', PACKAGE_ROOT));
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build\` first (it compiles dist/ and bundles bundle/)`);
  return path;
}

/** A file or folder shipped with the package, e.g. `devices/` (reader profiles). */
export function packagePath(relative: string): string {
  return fileURLToPath(new URL(relative, PACKAGE_ROOT));
}
