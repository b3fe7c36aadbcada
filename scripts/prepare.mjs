// npm's prepare: compiles dist/ after `npm ci` in a checkout. With --omit=dev there is no
// TypeScript to compile with (a production install of a built tree, e.g. the store package's
// staging), which made `npm ci --omit=dev` fail: then the build is skipped, saying so.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

try {
  createRequire(import.meta.url).resolve('typescript/package.json');
} catch {
  process.stderr.write('edgepay prepare: typescript is not installed (--omit=dev): not compiling; dist/ is used as it is\n');
  process.exit(0);
}
const build = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
process.exit(build.status ?? 1);
