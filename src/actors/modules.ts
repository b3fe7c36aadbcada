import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { distModuleUrl } from '../platform/modules.js';
import { ActorError } from './errors.js';

/**
 * `moduleUrl('actors/fixtures/echo-actor')` → file:///…/dist/actors/fixtures/echo-actor.js, checked
 * to exist. Actor modules always run compiled, also when the code starting them runs from source.
 */
export function moduleUrl(name: string): URL {
  const url = distModuleUrl(name);
  if (!existsSync(url)) {
    throw new ActorError('EDGEPAY_ACTOR_MODULE_MISSING', `worker module ${fileURLToPath(url)} does not exist: run \`npm run build\` first`, { module: name, path: fileURLToPath(url) });
  }
  return url;
}
