import { createRequire } from 'node:module';

let cached: string | undefined;

/** edgepay's version from its package.json: dist/observability/ and src/observability/ both sit two levels below the package root. */
export function edgepayVersion(): string {
  cached ??= (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  return cached;
}
