import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempDir } from './support/tmp.js';

/*
 * The install guide (docs/operations.md), run line by line in a scratch root by scripts/check-install-guide.sh
 * (this checkout's build laid out as the store package lays it out; test/package-deb.test.ts runs it
 * on the built package too). Only what needs a running systemd or udev is skipped, and listed.
 */

const REPO = new URL('..', import.meta.url).pathname;
const SCRIPT = join(REPO, 'scripts/check-install-guide.sh');
const tempDir = useTempDir('edgepay-guide-test-');
const TIMEOUT_MS = 180_000;

function checkGuide(args: readonly string[] = []): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', timeout: TIMEOUT_MS });
  if (result.error !== undefined) throw result.error;
  return result;
}

function guideBlock(readme: string): string {
  const section = readme.slice(readme.indexOf('# Running as a service'));
  return section.slice(section.indexOf('```sh'), section.indexOf('```\n', section.indexOf('```sh') + 5));
}

describe('the install guide (docs/operations.md, "Running as a service")', () => {
  it(
    'runs in a scratch root, every line but the systemd and udev ones, which it lists',
    () => {
      const result = checkGuide();
      expect(result.stderr).not.toMatch(/guide line failed/);
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/ran (\d+) guide lines/);
      expect(Number(/ran (\d+) guide lines/.exec(result.stdout)![1])).toBeGreaterThanOrEqual(15);
      const skipped = result.stdout
        .split('\n')
        .filter((line) => line.includes('skipped: '))
        .map((line) => line.split('skipped: ')[1]);
      expect(skipped.length).toBeGreaterThan(0);
      for (const line of skipped) expect(line).toMatch(/^(systemctl|journalctl|udevadm) /);
    },
    TIMEOUT_MS,
  );

  it('makes every key with edgepay commands: no openssl', () => {
    expect(guideBlock(readFileSync(join(REPO, 'docs', 'operations.md'), 'utf8'))).not.toMatch(/openssl/);
  });

  it(
    'fails, naming the line, when a guide line no longer works',
    () => {
      const readme = readFileSync(join(REPO, 'docs', 'operations.md'), 'utf8');
      const line = 'edgepay keygen api-token --out /etc/edgepay/secrets/api.token';
      expect(readme).toContain(line);
      const broken = join(tempDir(), 'operations.md');
      writeFileSync(broken, readme.replace(line, line.replace('api-token', 'api-tokens')));
      const result = checkGuide(['--guide', broken]);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('this guide line failed: edgepay keygen api-tokens --out /etc/edgepay/secrets/api.token');
    },
    TIMEOUT_MS,
  );

  it(
    "starts the box's node.yaml from the shipped example, and fails without that line",
    () => {
      const readme = readFileSync(join(REPO, 'docs', 'operations.md'), 'utf8');
      const line = 'install -m 0644 /usr/share/doc/edgepay/examples/node.yaml /etc/edgepay/node.yaml\n';
      expect(guideBlock(readme)).toContain(line);
      const broken = join(tempDir(), 'operations.md');
      writeFileSync(broken, readme.replace(line, ''));
      const result = checkGuide(['--guide', broken]);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/check-install-guide: .*\/etc\/edgepay\/node\.yaml/);
    },
    TIMEOUT_MS,
  );
});
