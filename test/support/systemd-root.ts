import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readlinkSync, lstatSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/*
 * `systemd-analyze verify` checks that a unit's ExecStart= program exists and is executable. The
 * units run /usr/bin/edgepay, which a development machine does not have, so they are verified
 * inside a root of their own (`--root=`): the host's targets and slices the units refer to, the
 * units where the package puts them, and the programs they run. Absolute symbolic links would be
 * resolved inside that root, so the host's files are copied, not linked.
 */

const HOST_UNITS = '/usr/lib/systemd/system';
export const UNIT_DIR_IN_ROOT = 'usr/lib/systemd/system';

/** Programs the shipped units run that come from the host, not from edgepay (the broker's). */
export const HOST_PROGRAMS = ['/usr/sbin/mosquitto', '/bin/kill'] as const;

/** Copies the host's targets and slices into `root` (relative links kept as they are). */
export function addHostTargets(root: string): void {
  const unitDir = join(root, UNIT_DIR_IN_ROOT);
  mkdirSync(unitDir, { recursive: true });
  for (const name of readdirSync(HOST_UNITS).filter((f) => f.endsWith('.target') || f.endsWith('.slice'))) {
    const from = join(HOST_UNITS, name);
    const to = join(unitDir, name);
    if (existsSync(to)) continue;
    if (lstatSync(from).isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else if (lstatSync(from).isFile()) copyFileSync(from, to);
  }
}

/** Copies host programs into `root` at the same paths (a /bin that is a link to usr/bin stays one). */
export function addHostPrograms(root: string, programs: readonly string[] = HOST_PROGRAMS): void {
  for (const program of programs) {
    if (!existsSync(program)) throw new Error(`${program} is missing on this machine (bash scripts/test-system-packages.sh installs it)`);
    const to = join(root, program);
    if (existsSync(to)) continue;
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(program, to);
    chmodSync(to, 0o755);
  }
}

/** A root holding the tree's systemd/ units, with /usr/bin/edgepay a script running the given program of this tree (dist/ or bundle/). */
export function treeUnitsRoot(root: string, unitsDir: string, cli: string): string {
  addHostTargets(root);
  addHostPrograms(root);
  cpSync(unitsDir, join(root, UNIT_DIR_IN_ROOT), { recursive: true, filter: (src) => !/\.(json|md|conf)$/.test(src) });
  const launcher = join(root, 'usr/bin/edgepay');
  mkdirSync(dirname(launcher), { recursive: true });
  writeFileSync(launcher, `#!/bin/sh\nexec node ${cli} "$@"\n`, { mode: 0o755 });
  return root;
}

export interface VerifyResult {
  readonly status: number | null;
  readonly stderr: string;
}

/** `systemd-analyze verify --root=ROOT UNIT`: a unit name (an instance of a template too) or a path inside the root. */
export function verifyInRoot(root: string, unit: string): VerifyResult {
  const result = spawnSync('systemd-analyze', ['verify', '--man=no', `--root=${root}`, unit], { encoding: 'utf8' });
  if (result.error !== undefined) throw new Error(`systemd-analyze is missing (apt-get install systemd): ${result.error.message}`);
  return { status: result.status, stderr: result.stderr };
}

/** The name a unit file is verified as: a template as its hourly instance, the way it is enabled. */
export function verifiedName(unitFile: string): string {
  return unitFile.replace('@.', '@hourly.');
}
