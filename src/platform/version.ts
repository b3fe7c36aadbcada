import { readFileSync } from 'node:fs';
import { packagePath } from '../platform/modules.js';

let cached: string | undefined;

/** edgepay's version, from its package.json. */
export function edgepayVersion(): string {
  cached ??= (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
  return cached;
}
