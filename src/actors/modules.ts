import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ActorError } from './errors.js';

/**
 * Worker threads run compiled JavaScript, so an actor module is always started from dist/, even
 * when the code starting it was loaded from src/ (vitest, tsx). This file sits two levels below
 * the package root in both trees (src/actors/, dist/actors/), which is what makes the mapping work.
 */
const PACKAGE_ROOT = new URL('../../', import.meta.url);

/** `moduleUrl('actors/fixtures/echo-actor')` → file:///…/dist/actors/fixtures/echo-actor.js, checked to exist. */
export function moduleUrl(name: string): URL {
  const url = new URL(`dist/${name.replace(/^\/+/, '').replace(/\.(js|ts)$/, '')}.js`, PACKAGE_ROOT);
  if (!existsSync(url)) {
    throw new ActorError('EDGEPAY_ACTOR_MODULE_MISSING', `worker module ${fileURLToPath(url)} does not exist: run \`npm run build\` first`, { module: name, path: fileURLToPath(url) });
  }
  return url;
}
