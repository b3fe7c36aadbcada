import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The package root: this file is src/platform/modules.ts or dist/platform/modules.js. */
const PACKAGE_ROOT = new URL('../../', import.meta.url);

/**
 * The compiled file of a worker entry point, e.g. `card/capture-worker` → dist/card/capture-worker.js.
 * Worker threads load plain JavaScript, so they always run from dist/, also when the code starting
 * them runs from source under the test runner. Not checked: see compiledModuleUrl.
 */
export function distModuleUrl(name: string): URL {
  return new URL(`dist/${name.replace(/^\/+/, '').replace(/\.(js|ts)$/, '')}.js`, PACKAGE_ROOT);
}

/** distModuleUrl, checked to exist, with the fix in the message. */
export function compiledModuleUrl(name: string): URL {
  const url = distModuleUrl(name);
  if (!existsSync(url)) throw new Error(`worker module ${fileURLToPath(url)} is missing: run \`npm run build\` first`);
  return url;
}

/** A file or folder shipped with the package, e.g. `devices/` (reader profiles). */
export function packagePath(relative: string): string {
  return fileURLToPath(new URL(relative, PACKAGE_ROOT));
}
