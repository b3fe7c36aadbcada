import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dependencyNames, dpkgInRoot, seedDpkgDatabase } from './support/dpkg-root.js';
import { HOST_PROGRAMS, UNIT_DIR_IN_ROOT, addHostPrograms, addHostTargets, verifiedName, verifyInRoot } from './support/systemd-root.js';

/*
 * The store package as a box gets it: built with `npm run package`'s script, read with dpkg-deb,
 * installed with `dpkg -i` into a root of its own (its maintainer scripts run there, never on this
 * machine), and run from there, away from this checkout, so that it can only use what it carries.
 */

const REPO = new URL('..', import.meta.url).pathname;
const BUILD_TIMEOUT_MS = 600_000;
const DEV_DEPENDENCIES = Object.keys((JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies);

let work = '';
let deb = '';
let root = '';
let listing: { mode: string; owner: string; path: string; link?: string }[] = [];
let installed: { status: number | null; stdout: string; stderr: string } = { status: null, stdout: '', stderr: '' };

function run(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: BUILD_TIMEOUT_MS, ...options });
  if (result.error !== undefined) throw result.error;
  return result;
}

/** The packaged command, from the extracted root, run outside this checkout with no NODE_PATH. */
function edgepay(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  return run(join(root, 'usr/bin/edgepay'), args, { cwd: work, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work } });
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'edgepay-deb-test-'));
  const built = run('bash', [join(REPO, 'scripts/package-deb.sh'), '--out-dir', join(work, 'out')]);
  if (built.status !== 0) throw new Error(`package-deb.sh failed (${built.status}):\n${built.stderr}`);
  deb = built.stdout.trim().split('\n').pop()!;
  listing = run('dpkg-deb', ['-c', deb])
    .stdout.trim()
    .split('\n')
    .map((line) => {
      const [mode, owner, , , , ...rest] = line.split(/\s+/);
      const [path, link] = rest.join(' ').split(' -> ');
      return { mode: mode!, owner: owner!, path: path!.replace(/^\.\//, '/'), ...(link === undefined ? {} : { link }) };
    });
  root = join(work, 'root');
  installed = installInNewRoot(root);
}, BUILD_TIMEOUT_MS);

/** `dpkg -i` of the package into `dir`, whose database holds this machine's records of what the package depends on. */
function installInNewRoot(dir: string): { status: number | null; stdout: string; stderr: string } {
  seedDpkgDatabase(dir, dependencyNames(run('dpkg-deb', ['-f', deb, 'Depends']).stdout));
  return dpkgInRoot(dir, ['-i', deb]);
}

/** uid and gid of a user in `dir`'s own /etc/passwd. */
function userInRoot(dir: string, name: string): { uid: number; gid: number } | undefined {
  const line = readFileSync(join(dir, 'etc/passwd'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (line === undefined) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

describe('the store package (scripts/package-deb.sh)', () => {
  it("installs with dpkg -i: its dependencies met by this machine's packages, its user and directories made by its postinst, every file as its md5sums say", () => {
    expect(installed.stderr).not.toMatch(/dependency problems|error/i);
    expect(installed.status).toBe(0);
    expect(dpkgInRoot(root, ['-s', 'edgepay']).stdout).toMatch(/^Status: install ok installed$/m);
    expect(dpkgInRoot(root, ['--verify', 'edgepay'])).toMatchObject({ status: 0, stdout: '' });
    const user = userInRoot(root, 'edgepay');
    expect(user).toBeDefined();
    const data = statSync(join(root, 'var/lib/edgepay'));
    expect({ uid: data.uid, gid: data.gid, mode: data.mode & 0o7777 }).toEqual({ uid: user!.uid, gid: user!.gid, mode: 0o700 });
    const secrets = statSync(join(root, 'etc/edgepay/secrets'));
    expect({ uid: secrets.uid, mode: secrets.mode & 0o7777 }).toEqual({ uid: 0, mode: 0o700 });
    // The readers' group: the user may open the readers the udev rule gives to it.
    expect(readFileSync(join(root, 'etc/group'), 'utf8')).toMatch(/^dialout:x:\d+:.*\bedgepay\b/m);
  });

  it("is named for its version and this machine's architecture, depends on Node of the addons' ABI, and installs no service", () => {
    const arch = run('dpkg', ['--print-architecture']).stdout.trim();
    expect(deb).toMatch(new RegExp(`/edgepay_0\\.1\\.0_${arch}\\.deb$`));
    const field = (name: string): string => run('dpkg-deb', ['-f', deb, name]).stdout.trim();
    expect(field('Package')).toBe('edgepay');
    expect(field('Architecture')).toBe(arch);
    const major = Number(process.versions.node.split('.')[0]);
    expect(field('Depends')).toContain(`nodejs (<< ${major + 1})`);
    expect(field('Depends')).toMatch(major === 20 ? /nodejs \(>= 20\.19\)/ : new RegExp(`nodejs \\(>= ${major}\\)`));
    expect(field('Depends')).toMatch(/libc6 \(>= [\d.]+\)/);
    const info = run('dpkg-deb', ['-I', deb]).stdout;
    expect(info).toMatch(/postinst/);
    const postinst = run('dpkg-deb', ['-I', deb, 'postinst']).stdout;
    expect(postinst).toMatch(/systemd-sysusers edgepay\.conf/);
    expect(postinst).toMatch(/systemd-tmpfiles --create edgepay\.conf/);
    expect(postinst).toMatch(/udevadm control --reload/);
    expect(postinst).not.toMatch(/systemctl\s+(enable|start|restart|--now)|deb-systemd-invoke/);
  });

  it("holds the program, its command, the units, users, directories, reader rule, broker files, docs and licence, all root's", () => {
    const paths = new Set(listing.map((e) => e.path));
    for (const path of [
      '/usr/lib/edgepay/package.json',
      '/usr/lib/edgepay/bundle/cli/main.js',
      '/usr/lib/edgepay/bundle/app/actors/journal-writer.js',
      '/usr/lib/edgepay/bundle/actors/thread-host.js',
      '/usr/lib/edgepay/node_modules/better-sqlite3/build/Release/better_sqlite3.node',
      '/usr/lib/edgepay/node_modules/unix-dgram/build/Release/unix_dgram.node',
      '/usr/lib/systemd/system/edgepay-node.service',
      '/usr/lib/systemd/system/edgepay-node.socket',
      '/usr/lib/systemd/system/edgepay-centre.service',
      '/usr/lib/systemd/system/edgepay-mosquitto.service',
      '/usr/lib/systemd/system/edgepay-journal-backup@.service',
      '/usr/lib/systemd/system/edgepay-journal-backup@.timer',
      '/usr/lib/sysusers.d/edgepay.conf',
      '/usr/lib/tmpfiles.d/edgepay.conf',
      '/usr/lib/udev/rules.d/99-edgepay-readers.rules',
      '/usr/share/edgepay/brokers/acl.template',
      '/usr/share/edgepay/brokers/mosquitto.conf',
      '/usr/share/edgepay/devices/edgepay-sim.json',
      '/usr/share/doc/edgepay/README.md',
      '/usr/share/doc/edgepay/docs/operations.md',
      '/usr/share/doc/edgepay/docs/configuration.md',
      '/usr/share/doc/edgepay/copyright',
      '/usr/share/doc/edgepay/examples/node.yaml',
      '/usr/share/doc/edgepay/examples/centre.yaml',
      '/usr/share/doc/edgepay/brokers/README.md',
      '/usr/share/doc/edgepay/brokers/bridge.conf.example',
      '/usr/share/man/man1/edgepay.1.gz',
      '/usr/share/bash-completion/completions/edgepay',
    ]) {
      expect(paths.has(path), path).toBe(true);
    }
    expect(listing.find((e) => e.path === '/usr/bin/edgepay')).toMatchObject({ link: '../lib/edgepay/bundle/cli/main.js' });
    expect(listing.find((e) => e.path === '/usr/lib/edgepay/bundle/cli/main.js')?.mode).toBe('-rwxr-xr-x');
    // The bundled program alone: no compiled tree beside it.
    expect([...paths].filter((path) => path.startsWith('/usr/lib/edgepay/dist/'))).toEqual([]);
    expect(listing.filter((e) => e.owner !== 'root/root')).toEqual([]);
    expect(readFileSync(join(root, 'usr/share/doc/edgepay/copyright'), 'utf8')).toMatch(/Apache License\s+Version 2\.0, January 2004/);
    // The manual page is the checkout's (generated from the commands), and the completion knows the store's commands.
    expect(gunzipSync(readFileSync(join(root, 'usr/share/man/man1/edgepay.1.gz'))).toString('utf8')).toBe(readFileSync(join(REPO, 'man/edgepay.1'), 'utf8'));
    const completion = readFileSync(join(root, 'usr/share/bash-completion/completions/edgepay'), 'utf8');
    for (const command of ['node', 'journal', 'reconcile', 'keygen']) expect(completion).toContain(command);
  });

  it('carries no source map, no compiler input or output, no dev dependency and no development rig', () => {
    const files = listing.map((e) => e.path);
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(files.filter((f) => /\.(c|cc|cpp|h|hpp|gyp|gypi|o|a|mk)$/.test(f))).toEqual([]);
    // The program itself is bundled JavaScript only (dependencies may carry TypeScript they never run).
    expect(files.filter((f) => f.startsWith('/usr/lib/edgepay/bundle/') && !f.endsWith('.js') && !f.endsWith('/'))).toEqual([]);
    expect(files.filter((f) => /\/(obj|obj\.target|deps)\//.test(f) && f.includes('/node_modules/better-sqlite3/'))).toEqual([]);
    for (const dev of [...DEV_DEPENDENCIES, 'esbuild', '@vitest/runner']) {
      expect(
        files.filter((f) => f.startsWith(`/usr/lib/edgepay/node_modules/${dev}/`)),
        dev,
      ).toEqual([]);
    }
    // No rig's code in any bundled file: each rig's command module and its own entry points.
    const bundled = files.filter((f) => f.startsWith('/usr/lib/edgepay/bundle/') && f.endsWith('.js'));
    expect(bundled.length).toBeGreaterThan(0);
    const rigMarkers = ['function registerBenchCommands', 'function registerDemoCommand', 'function registerChaosCommand', 'function registerSimCommand', 'function runColdStartBench', 'function runChaos'];
    for (const file of bundled) {
      const text = readFileSync(join(root, file), 'utf8');
      expect(
        rigMarkers.filter((marker) => text.includes(marker)),
        file,
      ).toEqual([]);
    }
    // Native addons: compiled for this machine, and only for it (no other platform's prebuilds).
    const addons = files.filter((f) => f.endsWith('.node'));
    expect(addons.length).toBeGreaterThanOrEqual(3);
    expect(addons.filter((f) => /prebuilds\/(?!linux-)/.test(f) || f.includes('musl'))).toEqual([]);
  });

  it('runs from the installed root on its own node_modules: version, keys, a journal, the broker ACL from its template', () => {
    expect(edgepay(['--version'])).toMatchObject({ status: 0, stdout: '0.1.0\n' });
    const keys = join(work, 'keys');
    expect(edgepay(['keygen', 'node-signing', '--out', keys]).status).toBe(0);
    expect(statSync(join(keys, 'signing.key')).mode & 0o777).toBe(0o600);
    // better-sqlite3, compiled into the package, opens the journal.
    const configFile = join(work, 'node.json');
    writeFileSync(configFile, JSON.stringify({ nodeId: 'box-1', dataDir: 'data', keys: { tokenKeyFile: 'token.key', centrePublicKeyFile: 'centre.pub', plainTokenKeyFileForDevelopment: true } }));
    expect(edgepay(['node', 'init', '--config', configFile])).toMatchObject({ status: 0, stdout: expect.stringContaining('initialized node') });
    expect(edgepay(['journal', 'verify', '--db', join(work, 'data/journal.db')]).status).toBe(0);
    // The ACL template is read through /usr/lib/edgepay/brokers, a link into /usr/share/edgepay.
    const acl = edgepay(['store', 'broker-acl', '--fleet', 'fleet-1', '--store', 'store-001', '--node', 'store-001-box-1', '--bridge-user', 'edgepay-bridge']);
    expect(acl.stderr).toBe('');
    expect(acl.stdout).toContain('store-001-box-1');
  });

  it('names the development rigs it leaves out, and says where they are', () => {
    for (const [command, script] of [
      ['bench', 'npm run bench'],
      ['demo-store', 'npm run demo'],
      ['chaos', 'npm run chaos'],
      ['sim', 'npm run sim'],
    ] as const) {
      const result = edgepay([command, '--seed', '3']);
      expect(result.status, command).toBe(2);
      expect(result.stderr).toContain(`EDGEPAY_BAD_INPUT: \`edgepay ${command}\` is not in the installed package`);
      expect(result.stderr).toContain(script);
    }
  });

  it('every unit it installs passes systemd-analyze verify in the installed root, its programs resolved there', () => {
    addHostTargets(root);
    // The broker's programs are Debian's (mosquitto, kill), not the package's; edgepay's own are not copied.
    addHostPrograms(root, HOST_PROGRAMS);
    const units = readdirSync(join(root, UNIT_DIR_IN_ROOT)).filter((f) => f.startsWith('edgepay') && /\.(service|timer)$/.test(f));
    expect(units.length).toBe(5);
    for (const unit of units) {
      const result = verifyInRoot(root, verifiedName(unit));
      expect(result.stderr.trim(), unit).toBe('');
      expect(result.status, unit).toBe(0);
    }
  });
});

describe('removing the store package', () => {
  it('takes its files away and keeps the journal and the edgepay user, purged too', () => {
    const other = join(work, 'removed-root');
    expect(installInNewRoot(other).status).toBe(0);
    const configFile = join(work, 'removed-node.json');
    const dataDir = join(other, 'var/lib/edgepay');
    writeFileSync(configFile, JSON.stringify({ nodeId: 'box-9', dataDir, keys: { tokenKeyFile: 'token.key', centrePublicKeyFile: 'centre.pub', plainTokenKeyFileForDevelopment: true } }));
    expect(run(join(other, 'usr/bin/edgepay'), ['node', 'init', '--config', configFile], { cwd: work }).status).toBe(0);
    expect(dpkgInRoot(other, ['--purge', 'edgepay']).status).toBe(0);
    expect(dpkgInRoot(other, ['-s', 'edgepay']).status).not.toBe(0);
    expect(existsSync(join(other, 'usr/bin/edgepay'))).toBe(false);
    expect(existsSync(join(other, 'usr/lib/edgepay'))).toBe(false);
    expect(existsSync(join(other, 'usr/lib/systemd/system/edgepay-node.service'))).toBe(false);
    expect(existsSync(join(dataDir, 'journal.db'))).toBe(true);
    expect(userInRoot(other, 'edgepay')).toBeDefined();
  });
});

describe('the install guide on the package', () => {
  it('runs in a scratch root holding the extracted package (scripts/check-install-guide.sh --deb)', () => {
    const result = run('bash', [join(REPO, 'scripts/check-install-guide.sh'), '--deb', deb]);
    expect(result.stderr).not.toMatch(/guide line failed/);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/ran \d+ guide lines/);
  });
});

describe('npm pack', () => {
  it('ships the built program without maps, the examples, broker files, units, devices, licence, README and docs', () => {
    const packed = run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO });
    expect(packed.status).toBe(0);
    const files = (JSON.parse(packed.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    for (const file of [
      'LICENSE',
      'README.md',
      'docs/operations.md',
      'docs/architecture.md',
      'package.json',
      'dist/cli/main.js',
      'bundle/cli/main.js',
      'bundle/actors/thread-host.js',
      'examples/node.yaml',
      'examples/centre.yaml',
      'brokers/acl.template',
      'brokers/mosquitto.conf',
      'systemd/edgepay-node.service',
      'systemd/edgepay.sysusers.conf',
      'devices/99-edgepay-readers.rules',
      'devices/edgepay-sim.json',
    ]) {
      expect(files, file).toContain(file);
    }
    expect(files.filter((f) => f.endsWith('.map') || f.endsWith('.tsbuildinfo'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/') || f.startsWith('node_modules/'))).toEqual([]);
    expect(files).toContain('npm-shrinkwrap.json');
  });

  it('installs from its tarball with the versions its shrinkwrap locks, production dependencies only (npm ci --omit=dev in the unpacked package)', () => {
    const packDir = join(work, 'npm-pack');
    mkdirSync(packDir);
    // --ignore-scripts: the dist/ this run built is packed as it is; the addons are not compiled (not what is checked here).
    const packed = run('npm', ['pack', '--ignore-scripts', '--pack-destination', packDir, '--loglevel=error'], { cwd: REPO });
    expect(packed.status, packed.stderr).toBe(0);
    const tarball = join(packDir, packed.stdout.trim().split('\n').pop()!);
    expect(run('tar', ['-xzf', tarball, '-C', packDir]).status).toBe(0);
    const app = join(packDir, 'package');
    // `npm install -g` of a tarball resolves afresh whatever its shrinkwrap says (npm/cli#5325); `npm ci` follows it.
    const installedHere = run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app });
    expect(installedHere.status, installedHere.stderr).toBe(0);
    const locked = (JSON.parse(readFileSync(join(REPO, 'npm-shrinkwrap.json'), 'utf8')) as { packages: Record<string, { version?: string; dev?: boolean }> }).packages;
    const found: string[] = [];
    const walk = (dir: string, prefixPath: string): void => {
      if (!existsSync(dir)) return;
      for (const name of readdirSync(dir)) {
        if (name.startsWith('.')) continue;
        if (name.startsWith('@')) {
          walk(join(dir, name), `${prefixPath}${name}/`);
          continue;
        }
        const at = `${prefixPath}${name}`;
        const manifest = JSON.parse(readFileSync(join(dir, name, 'package.json'), 'utf8')) as { version: string };
        found.push(at);
        expect({ at, version: manifest.version }).toEqual({ at, version: locked[at]?.version });
        expect(locked[at]?.dev, at).not.toBe(true);
        walk(join(dir, name, 'node_modules'), `${at}/node_modules/`);
      }
    };
    walk(join(app, 'node_modules'), 'node_modules/');
    for (const dependency of Object.keys((JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies)) {
      expect(found, dependency).toContain(`node_modules/${dependency}`);
    }
    // Dev dependencies some production package also needs (@types/node) are production ones there; the tools are not.
    for (const tool of ['typescript', 'vitest', 'fast-check']) expect(found).not.toContain(`node_modules/${tool}`);
  });
});
