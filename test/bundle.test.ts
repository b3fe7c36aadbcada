import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { THREAD_HOST_MODULE } from '../src/actors/spare-threads.js';
import { CAPTURE_WORKER_MODULE } from '../src/card/capture-pool.js';
import { INTAKE_MODULE } from '../src/node/intake-protocol.js';
import { JOURNAL_WRITER_MODULE } from '../src/node/journal-writer-protocol.js';
import { BUNDLE_ENTRY_POINTS } from '../src/app/entry-points.js';
import { READER_MODULE } from '../src/reader/reader-actor-protocol.js';
import { UPLINK_MODULE } from '../src/reconcile/uplink-protocol.js';
import { REPLICATOR_MODULE } from '../src/replication/replicator-protocol.js';
import { CLI, STORE_PROGRAM } from './support/cli.js';

/*
 * bundle/ is what a store box runs (the store package ships it alone) and what the tests' and the
 * rigs' node processes start; `npm test` builds it. These check the bundle itself: every thread a
 * node starts has its entry, the paths the program reads resolve from it, and no rig is inside.
 */
const BUNDLE = fileURLToPath(new URL('../bundle/', import.meta.url));

function bundledFiles(dir = BUNDLE): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? bundledFiles(join(dir, entry.name)) : entry.name.endsWith('.js') ? [join(dir, entry.name)] : []));
}

function run(program: string, args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [program, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the bundled program', () => {
  it('has an entry for the command line and for every module a node starts a thread on', () => {
    const workerModules = [THREAD_HOST_MODULE, CAPTURE_WORKER_MODULE, JOURNAL_WRITER_MODULE, INTAKE_MODULE, REPLICATOR_MODULE, UPLINK_MODULE, READER_MODULE];
    expect(BUNDLE_ENTRY_POINTS).toEqual(expect.arrayContaining(['cli/main', ...workerModules]));
    for (const entry of BUNDLE_ENTRY_POINTS) expect(existsSync(join(BUNDLE, `${entry}.js`)), entry).toBe(true);
    expect(STORE_PROGRAM).toBe(join(BUNDLE, 'cli/main.js'));
  });

  it('is a hundred files where the compiled program and its packages are over a thousand, and imports nothing outside itself but packages and Node', () => {
    const files = bundledFiles();
    const compiled = bundledFiles(fileURLToPath(new URL('../dist/', import.meta.url)));
    expect(files.length).toBeLessThan(compiled.length / 2);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      // esbuild writes its own imports with double quotes, at the start of a line or as import("…"); the
      // bundled packages' comments mention paths of their own sources, which are not imports.
      for (const match of text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s*"(\.{1,2}\/[^"]+)"|\bimport\("(\.{1,2}\/[^"]+)"\)/gm)) {
        const spec = (match[1] ?? match[2])!;
        expect(existsSync(join(file, '..', spec)), `${relative(BUNDLE, file)} imports ${spec}`).toBe(true);
        expect(join(file, '..', spec).startsWith(BUNDLE), `${relative(BUNDLE, file)} reaches out of bundle/ for ${spec}`).toBe(true);
      }
    }
  });

  it('reads its version and shipped files from the package root, as the compiled program does', () => {
    expect(run(STORE_PROGRAM, ['--version'])).toEqual(run(CLI, ['--version']));
    const acl = ['store', 'broker-acl', '--fleet', 'fleet-1', '--store', 'store-001', '--node', 'store-001-box-1', '--bridge-user', 'edgepay-bridge'];
    const bundled = run(STORE_PROGRAM, acl);
    expect(bundled).toMatchObject({ status: 0, stderr: '' });
    expect(bundled.stdout).toBe(run(CLI, acl).stdout);
  });

  it('the bundler refuses a bad option, a folder with no compiled program, and an output over its input, touching nothing', () => {
    const script = fileURLToPath(new URL('../scripts/bundle.mjs', import.meta.url));
    const dist = fileURLToPath(new URL('../dist/', import.meta.url));
    const before = readFileSync(join(dist, 'cli/main.js'), 'utf8');
    const unknown = run(script, ['--frm', 'x']);
    expect(unknown).toMatchObject({ status: 2, stdout: '' });
    expect(unknown.stderr).toMatch(/Unknown option '--frm'.*\n.*usage: node scripts\/bundle\.mjs/);
    const empty = run(script, ['--from', join(BUNDLE, 'no-such-dist'), '--out', join(BUNDLE, 'no-such-out')]);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/--from .*no-such-dist: no compiled program there/);
    expect(existsSync(join(BUNDLE, 'no-such-out'))).toBe(false);
    const over = run(script, ['--out', dist]);
    expect(over.status).toBe(2);
    expect(over.stderr).toMatch(/--out .*dist: would remove the compiled program it bundles/);
    expect(readFileSync(join(dist, 'cli/main.js'), 'utf8')).toBe(before);
  });

  it('carries no development rig: their commands say where they are, and no rig code is inside', () => {
    const chaos = run(STORE_PROGRAM, ['chaos', '--minutes', '1']);
    expect(chaos.status).toBe(2);
    expect(chaos.stderr).toMatch(/`edgepay chaos` is not in the installed package.*npm run chaos/);
    expect(run(CLI, ['chaos', '--help']).stdout).toMatch(/--fault-every/);
    const markers = [
      'function registerBenchCommands',
      'function registerChaosCommand',
      'function registerSimCommand',
      'function registerDemoCommand',
      'function runChaos',
      'function runColdStartBench',
      'function takeCrashImage',
    ];
    for (const file of bundledFiles()) {
      const text = readFileSync(file, 'utf8');
      expect(
        markers.filter((marker) => text.includes(marker)),
        relative(BUNDLE, file),
      ).toEqual([]);
    }
  });
});
