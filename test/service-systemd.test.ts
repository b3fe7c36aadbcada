import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSocket } from 'unix-dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { NODE_RESTART_DELAY_MS } from '../src/chaos/faults.js';
import { EXIT } from '../src/cli/exit-codes.js';
import { watchdogTick } from '../src/app/run.js';
import { configPath } from '../src/platform/paths.js';
import { STORE_PROGRAM, runCli } from './support/cli.js';
import { nodeConfigIn } from './support/node.js';
import { treeUnitsRoot, verifiedName, verifyInRoot } from './support/systemd-root.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-systemd-');
const UNITS_DIR = new URL('../systemd/', import.meta.url);
const cleanups: (() => unknown)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

describe('the shipped systemd units', () => {
  const units = readdirSync(UNITS_DIR).filter((f) => f.endsWith('.service') || f.endsWith('.timer') || f.endsWith('.socket'));

  it('include the node, the centre, the store broker and the journal backup', () => {
    expect(units).toEqual(expect.arrayContaining(['edgepay-node.service', 'edgepay-centre.service', 'edgepay-mosquitto.service', 'edgepay-journal-backup@.service']));
  });

  it.each(units)('%s passes systemd-analyze verify', (unit) => {
    // Inside a root holding /usr/bin/edgepay (the package's command, here running this tree's build), so
    // verify's check that ExecStart= names an executable holds; a template as an instance, the way it is enabled.
    const root = treeUnitsRoot(tempDir(), UNITS_DIR.pathname, STORE_PROGRAM);
    const result = verifyInRoot(root, verifiedName(unit));
    expect(result.stderr.trim()).toBe('');
    expect(result.status).toBe(0);
  });

  it("the edgepay units run /usr/bin/edgepay, the store package's command", () => {
    for (const unit of units.filter((u) => u.endsWith('.service') && u !== 'edgepay-mosquitto.service')) {
      expect(readFileSync(join(UNITS_DIR.pathname, unit), 'utf8'), unit).toMatch(/^ExecStart=\/usr\/bin\/edgepay (node run|centre run|journal backup) /m);
    }
  });

  it('the node and centre units read the YAML configuration the install guide names', () => {
    const readme = readFileSync(new URL('../docs/operations.md', import.meta.url), 'utf8');
    for (const [unit, file] of [
      ['edgepay-node.service', '/etc/edgepay/node.yaml'],
      ['edgepay-centre.service', '/etc/edgepay/centre.yaml'],
    ] as const) {
      expect(readFileSync(join(UNITS_DIR.pathname, unit), 'utf8'), unit).toContain(`\nExecStart=/usr/bin/edgepay ${unit === 'edgepay-node.service' ? 'node' : 'centre'} run --config ${file}\n`);
      expect(readme, file).toContain(`--config ${file} `);
    }
  });

  it('a configuration error is not restarted: node and centre exit 2 on one, and their units prevent the restart of 2, and of 2 alone', () => {
    for (const [unit, command] of [
      ['edgepay-node.service', ['node', 'run', '--config', '/nonexistent/node.yaml']],
      ['edgepay-centre.service', ['centre', 'run', '--config', '/nonexistent/centre.yaml']],
    ] as const) {
      const text = readFileSync(join(UNITS_DIR.pathname, unit), 'utf8');
      expect(runCli(command).status, unit).toBe(EXIT.usage);
      expect(text, unit).toMatch(/^Restart=on-failure$/m);
      const prevented = [...text.matchAll(/^RestartPreventExitStatus=(.*)$/gm)].flatMap((line) => line[1]!.trim().split(/\s+/));
      // 1 (a tree that gave up, the journal in use, Node's uncaught exception) and 3 (storage, system) are retried.
      expect(prevented, unit).toEqual([String(EXIT.usage)]);
    }
  });

  it('a dead node is started again after the delay the chaos round restarts it with, and systemd never gives up on it', () => {
    const text = readFileSync(join(UNITS_DIR.pathname, 'edgepay-node.service'), 'utf8');
    const restartSec = /^RestartSec=(\d+)ms$/m.exec(text);
    expect(restartSec, 'RestartSec in milliseconds').not.toBeNull();
    expect(Number(restartSec![1])).toBe(NODE_RESTART_DELAY_MS);
    // systemd's default start limit (5 in 10 s) would leave a node that fails fast down for good.
    expect(text).toMatch(/^\[Unit\][^[]*^StartLimitIntervalSec=0$/m);
  });

  it('verify fails when the program a unit runs is missing: the check the root exists for', () => {
    const root = treeUnitsRoot(tempDir(), UNITS_DIR.pathname, STORE_PROGRAM);
    rmSync(join(root, 'usr/bin/edgepay'));
    expect(verifyInRoot(root, 'edgepay-node.service').stderr).toMatch(/Command \/usr\/bin\/edgepay is not executable/);
  });
});

describe('the systemd notify protocol, over a real datagram socket', () => {
  it('READY once the tree is up, WATCHDOG while it is healthy, STOPPING on SIGTERM, and a clean exit', async () => {
    const dir = tempDir();
    const config = await nodeConfigIn(dir);
    const configFile = join(dir, 'node.json');
    writeFileSync(
      configFile,
      JSON.stringify({ nodeId: config.nodeId, dataDir: 'data', keys: { tokenKeyFile: 'token.key', centrePublicKeyFile: 'centre.pub', plainTokenKeyFileForDevelopment: true }, log: { level: 'warn' } }),
    );
    // A new box: its journal made first, as the install guide does before the service's first start.
    expect(runCli(['node', 'init', '--config', configFile])).toMatchObject({ status: 0, stdout: expect.stringContaining('initialized node') });
    const socketPath = join(dir, 'notify.sock');
    const received: string[] = [];
    const listener = createSocket('unix_dgram', (message) => received.push(message.toString('utf8')));
    listener.bind(socketPath);
    cleanups.push(() => listener.close());

    const child = spawn(process.execPath, [STORE_PROGRAM, 'node', 'run', '--config', configFile], {
      env: { ...process.env, NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: '200000' },
      stdio: 'ignore',
    });
    cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    await expect.poll(() => received.filter((m) => m === 'WATCHDOG=1').length, { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
    const ready = received.find((m) => m.startsWith('READY=1'));
    expect(ready).toBeDefined();
    expect(ready!.split('\n')).toEqual(expect.arrayContaining(['READY=1', `MAINPID=${child.pid}`, expect.stringMatching(/^STATUS=serving: 0 lanes/)]));
    // READY comes before any watchdog ping: the tree is up before systemd is told so.
    expect(received.indexOf(ready!)).toBeLessThan(received.indexOf('WATCHDOG=1'));

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const stopping = received.find((m) => m.startsWith('STOPPING=1'));
    expect(stopping).toMatch(/STATUS=stopping on SIGTERM/);
  }, 30_000);

  it('the watchdog is fed only while every child of the tree runs; otherwise the status names the ones that do not', () => {
    const sent: string[] = [];
    const notifier = { watchdog: () => sent.push('WATCHDOG=1'), status: (text: string) => sent.push(`STATUS=${text}`) };
    watchdogTick(
      [
        { id: 'payments', state: 'running' },
        { id: 'lanes', state: 'running' },
      ],
      notifier,
    );
    watchdogTick(
      [
        { id: 'payments', state: 'restarting' },
        { id: 'lanes', state: 'running' },
        { id: 'api', state: 'stopped' },
      ],
      notifier,
    );
    expect(sent).toEqual(['WATCHDOG=1', 'STATUS=restarting: payments, api']);
  });

  it('outside systemd nothing is sent and nothing breaks', () => {
    const result = spawnSync(process.execPath, [STORE_PROGRAM, 'node', 'check-config', '/nonexistent.json'], { encoding: 'utf8', env: { ...process.env, NOTIFY_SOCKET: '' } });
    expect(result.status).toBe(2);
  });
});

describe('secrets as systemd credentials', () => {
  it('"credential:NAME" resolves inside CREDENTIALS_DIRECTORY, and is refused clearly outside a unit that loads it', () => {
    expect(configPath('credential:token.key', '/etc/edgepay', { CREDENTIALS_DIRECTORY: '/run/credentials/edgepay-node.service' })).toBe('/run/credentials/edgepay-node.service/token.key');
    expect(configPath('keys/token.key', '/etc/edgepay', {})).toBe('/etc/edgepay/keys/token.key');
    expect(() => configPath('credential:token.key', '/etc/edgepay', {})).toThrow(/needs systemd's CREDENTIALS_DIRECTORY: run under a unit with LoadCredential=token.key/);
    expect(() => configPath('credential:../etc/shadow', '/etc/edgepay', { CREDENTIALS_DIRECTORY: '/run/c' })).toThrow(/credential name/);
  });
});
