import { execFileSync, spawnSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useTempDir } from './support/tmp.js';

/*
 * The npm package: the compiled program and its data without the development rigs, whose
 * commands then say where they are. Packed for real (`npm pack`, scripts left out: the tree is
 * built already) and run from the unpacked tarball.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RIG_CODE = /^dist\/(audit|bench|chaos|demo|rigs|sim)\/|^dist\/cli\/(bench-commands|chaos-command|demo-command|sim-command)\./;
const tempDir = useTempDir('edgepay-npm-package-');

describe('the npm package', () => {
  it('ships the program without its rigs, and its command line names each rig and where it is', () => {
    const dir = tempDir();
    const [pack] = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' })) as { filename: string; files: { path: string }[] }[];
    const files = pack!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['dist/cli/main.js', 'dist/app/runtime.js', 'dist/app/actors/journal-writer.js', 'bundle/cli/main.js', 'devices/edgepay-sim.json']));
    expect(files.filter((f) => RIG_CODE.test(f))).toEqual([]);

    execFileSync('tar', ['-xzf', join(dir, pack!.filename), '-C', dir]);
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'package', 'node_modules'));
    const cli = join(dir, 'package', 'dist', 'cli', 'main.js');
    const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 30_000 });
    const version = run(['--version']);
    expect(version.status, version.stderr).toBe(0);
    for (const [command, script] of [
      ['chaos', 'npm run chaos'],
      ['sim', 'npm run sim'],
      ['bench', 'npm run bench'],
      ['demo-store', 'npm run demo'],
    ] as const) {
      const rig = run([command]);
      expect(rig.status, command).toBe(2);
      expect(rig.stderr).toContain(`EDGEPAY_BAD_INPUT: \`edgepay ${command}\` is not in the installed package`);
      expect(rig.stderr).toContain(script);
    }
  });
});
