// npm run build, second step: bundles the compiled program (dist/) and the pure JavaScript
// packages it uses into bundle/, the form a store box runs. A node restarted after a crash then
// reads a hundred files instead of over a thousand, and Node resolves no package paths: 30 % of
// the CPU a start costs (docs/benchmarks.md, "Cold start").
//
// Usage: node scripts/bundle.mjs [--from DIST] [--out DIR] [--no-source-maps]
//   (the store package bundles its own fresh compile: scripts/package-deb.sh)
import { build } from 'esbuild';
import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const USAGE = 'usage: node scripts/bundle.mjs [--from DIST] [--out DIR] [--no-source-maps]';
let values;
try {
  ({ values } = parseArgs({
    options: { from: { type: 'string', default: resolve(root, 'dist') }, out: { type: 'string', default: resolve(root, 'bundle') }, 'no-source-maps': { type: 'boolean', default: false } },
  }));
} catch (error) {
  fail(`${error.message}\n${USAGE}`, 2);
}
const from = resolve(values.from);
const out = resolve(values.out);
const entryPoints = resolve(from, 'app/entry-points.js');
if (!existsSync(entryPoints)) fail(`--from ${from}: no compiled program there (${entryPoints} is missing); run \`npm run build\`, or tsc with --outDir ${from}`, 2);
if (out === from || from.startsWith(`${out}/`)) fail(`--out ${out}: would remove the compiled program it bundles (--from ${from}); choose another directory`, 2);
const { BUNDLE_ENTRY_POINTS } = await import(pathToFileURL(entryPoints).href);

function fail(message, code) {
  process.stderr.write(`bundle: ${message}\n`);
  process.exit(code);
}

/*
 * Left in node_modules: native addons (found beside their package at run time), packages that start
 * threads on files of their own (piscina's worker), libsodium (a WebAssembly blob a bundle would
 * only copy) and optional dependencies that are not installed (pg-native).
 */
const EXTERNAL_PACKAGES = ['better-sqlite3', 'serialport', '@serialport/*', 'unix-dgram', 'piscina', 'libsodium-wrappers', 'pg-native'];

rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: Object.fromEntries(BUNDLE_ENTRY_POINTS.map((name) => [name, resolve(from, `${name}.js`)])),
  outdir: out,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL_PACKAGES,
  // The checkout's packages, also for a compile staged elsewhere (the store package's).
  nodePaths: [resolve(root, 'node_modules')],
  // Bundled CommonJS packages require Node's own modules; an ES module has no `require` of its own.
  banner: { js: "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);" },
  // Whitespace and syntax minified: each thread holds the source of what it loads, and this keeps
  // 8-10 MiB of a node's RSS (five threads) that the bundle's comments and layout would cost.
  // Names stay as written, so a stack trace in the journal still names its functions; the
  // checkout's build writes source maps beside the bundle (node --enable-source-maps).
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  sourcemap: values['no-source-maps'] ? false : 'linked',
  define: { EDGEPAY_BUNDLED: 'true' },
  logLevel: 'warning',
});
