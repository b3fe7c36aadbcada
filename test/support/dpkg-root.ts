import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/*
 * `dpkg -i` for real, into a root of its own rather than onto this machine: `dpkg --root=ROOT
 * --force-script-chrootless` unpacks the package there, records it in ROOT's own database and runs
 * its maintainer scripts with DPKG_ROOT=ROOT (they make the user and directories in that root).
 * ROOT's database starts with this machine's records of exactly the packages the .deb depends on,
 * so dpkg checks the Depends field against the versions installed here, as on a box.
 */

const HOST_STATUS = '/var/lib/dpkg/status';

export interface DpkgResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function dpkgInRoot(root: string, args: readonly string[]): DpkgResult {
  const result = spawnSync('dpkg', [`--root=${root}`, '--force-script-chrootless', ...args], { encoding: 'utf8', timeout: 120_000 });
  if (result.error !== undefined) throw result.error;
  return result;
}

/** The package names a Depends field names ("a (>= 1), b | c" -> a, b, c), without architecture qualifiers. */
export function dependencyNames(depends: string): string[] {
  return depends
    .split(/[,|]/)
    .map((part) => part.trim().split(/[\s(:]/)[0]!)
    .filter((name) => name !== '');
}

/** A dpkg database in `root` holding this machine's stanzas for `packages` (a missing one is an error). */
export function seedDpkgDatabase(root: string, packages: readonly string[]): void {
  const admin = join(root, 'var/lib/dpkg');
  mkdirSync(join(admin, 'info'), { recursive: true });
  mkdirSync(join(admin, 'updates'), { recursive: true });
  mkdirSync(join(root, 'etc'), { recursive: true });
  const stanzas = readFileSync(HOST_STATUS, 'utf8').split(/\n\n+/);
  const kept: string[] = [];
  for (const name of new Set(packages)) {
    const found = stanzas.filter((s) => new RegExp(`^Package: ${name.replace(/[.+]/g, '\\$&')}$`, 'm').test(s) && /^Status: install ok installed$/m.test(s));
    if (found.length === 0) throw new Error(`${name}, a dependency of the package, is not installed on this machine (dpkg -s ${name})`);
    for (const stanza of found) {
      kept.push(stanza.trim());
      const arch = /^Architecture: (.+)$/m.exec(stanza)?.[1];
      const multiArch = /^Multi-Arch: same$/m.test(stanza);
      // Their file lists: empty, the files are this machine's, not the root's.
      writeFileSync(join(admin, 'info', `${name}${multiArch && arch !== undefined ? `:${arch}` : ''}.list`), '');
    }
  }
  writeFileSync(join(admin, 'status'), `${kept.join('\n\n')}\n`);
  writeFileSync(join(admin, 'available'), '');
}
